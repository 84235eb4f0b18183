"""Scenarios from risk estimates (events.csv).

An *event* is one or more disruption rows sharing a name and a probability. Events of one
`group` exclude each other (a ban from 2027 or one from 2029, not both); the group's
remaining probability is "none of them". Events without a group are independent, each a
group of its own. A scenario picks one outcome per group; its probability is the product.

Methods:
- `exact`: every combination with positive probability.
- `sample`: N combinations drawn with a seeded generator; identical draws are merged and
  carry their frequency as probability.
- `reduce`: keeps the rare but severe combinations. Of the N kept, three quarters are the
  most probable combinations and one quarter the most severe, by the capacity they take
  away (sum over options and periods of capacity x severity, relative to demand); every
  dropped combination hands its probability to the kept one nearest to it (fewest groups
  with a different outcome; ties to the more probable). Total probability is kept and the
  severe tails keep at least their own probability.
- `auto` (what `solve` uses): `exact` when the combinations fit in N, else `reduce`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.errors import InstanceError, Problem
from planner.formatting import count as counted
from planner.instance.data import build_model_data
from planner.instance.instance import Instance
from planner.instance.schema import ENUMERATION_LIMIT, SETTING

METHODS = SETTING["events.method"].choices  # ("auto", "exact", "sample", "reduce")
NONE = ""  # the outcome "no event of this group"
NEAREST_CELLS = 2**23  # dropped x kept combinations compared at once (`_nearest`: 32 MiB)


@dataclass(frozen=True)
class Group:
    name: str
    events: tuple[str, ...]  # outcomes, NONE included when the events leave probability over
    probabilities: tuple[float, ...]


def check_events(events: pd.DataFrame, file: str, problems: list[Problem]) -> None:
    """Rows of one event share its probability and group; a group's events sum to at most 1."""
    first: dict[str, tuple[int, float, str]] = {}
    for row, event, probability, group in zip(events["_row"], events["event"], events["probability"],
                                              events["group"]):
        if event not in first:
            first[event] = (row, probability, group)
            continue
        row0, p0, g0 = first[event]
        if probability != p0:
            problems.append(Problem(file, f"event {event!r} has probability {p0:g} on row {row0}", row=row,
                                    column="probability", value=f"{probability:g}",
                                    hint="every row of an event carries the same probability"))
        if group != g0:
            problems.append(Problem(file, f"event {event!r} is in group {g0!r} on row {row0}", row=row,
                                    column="group", value=group))
    totals: dict[str, float] = {}
    for _, probability, group in first.values():
        if group:
            totals[group] = totals.get(group, 0.0) + probability
    for group, total in sorted(totals.items()):
        if total > 1 + 1e-6:
            problems.append(Problem(file, f"the events of group {group!r} exclude each other but their "
                                    f"probabilities sum to {total:.10g}, more than 1", column="probability"))


def event_groups(events: pd.DataFrame) -> list[Group]:
    """The groups of mutually exclusive events, in a canonical order."""
    first = events.drop_duplicates("event").sort_values("event", kind="stable")
    groups: dict[str, list[tuple[str, float]]] = {}
    for event, probability, group in zip(first["event"], first["probability"], first["group"]):
        groups.setdefault(group or f"event:{event}", []).append((event, float(probability)))
    result = []
    for name in sorted(groups):
        outcomes = groups[name]
        rest = 1.0 - sum(p for _, p in outcomes)
        if rest > 1e-12:
            outcomes = [(NONE, rest), *outcomes]
        result.append(Group(name, tuple(e for e, _ in outcomes), tuple(p for _, p in outcomes)))
    return result


def combination_count(groups: list[Group]) -> int:
    return math.prod(len(g.events) for g in groups)


def _name(combo: tuple[str, ...]) -> str:
    chosen = [e for e in combo if e != NONE]
    return "+".join(chosen) if chosen else "base"


def _enumerate(groups: list[Group]) -> list[tuple[tuple[str, ...], float]]:
    combos = []
    for picks in itertools.product(*(range(len(g.events)) for g in groups)):
        probability = math.prod(g.probabilities[i] for g, i in zip(groups, picks))
        if probability > 0:
            combos.append((tuple(g.events[i] for g, i in zip(groups, picks)), probability))
    return combos


def _sample(groups: list[Group], count: int, seed: int) -> list[tuple[tuple[str, ...], float]]:
    rng = np.random.default_rng(seed)
    draws = np.column_stack([rng.choice(len(g.events), size=count, p=np.array(g.probabilities) /
                                        sum(g.probabilities)) for g in groups]) if groups else np.zeros((count, 0))
    tally: dict[tuple[str, ...], int] = {}
    for row in draws.astype(int):
        combo = tuple(g.events[i] for g, i in zip(groups, row))
        tally[combo] = tally.get(combo, 0) + 1
    return [(combo, n / count) for combo, n in tally.items()]


def _severity_scores(inst: Instance, events: pd.DataFrame, groups: list[Group]) -> dict[str, float]:
    """Capacity an event takes away, relative to total demand (a severity score)."""
    data = build_model_data(inst)
    total_demand = max(sum(data.demand.values()), 1e-9)
    index = {p: t for t, p in enumerate(data.periods)}
    score: dict[str, float] = {}
    for rec in events.itertuples(index=False):
        hit = data.exposed.get((rec.scope, rec.name), set())
        lost = 0.0
        for o in hit:
            if rec.commodity not in ("*", data.commodity_of[o]):
                continue
            for t in data.periods_of[o]:
                if index[rec.start_period] <= t <= index[rec.end_period or data.periods[-1]]:
                    lost += data.capacity[o, t] * float(rec.severity)
        score[rec.event] = score.get(rec.event, 0.0) + lost / total_demand
    return score


def _reduce(combos: list[tuple[tuple[str, ...], float]], keep: int,
            score: dict[str, float]) -> list[tuple[tuple[str, ...], float]]:
    if len(combos) <= keep:
        return combos
    severity = {c: sum(score.get(e, 0.0) for e in c if e != NONE) for c, _ in combos}
    by_probability = sorted(combos, key=lambda cp: (-cp[1], _name(cp[0])))
    by_severity = sorted(combos, key=lambda cp: (-severity[cp[0]], -cp[1], _name(cp[0])))
    n_severe = max(1, keep // 4)
    kept: dict[tuple[str, ...], float] = {}
    for combo, probability in by_severity[:n_severe]:
        kept[combo] = probability
    for combo, probability in by_probability:
        if len(kept) >= keep:
            break
        kept.setdefault(combo, probability)
    kept_list = sorted(kept, key=lambda c: (-kept[c], _name(c)))
    dropped = [(combo, probability) for combo, probability in combos if combo not in kept]
    for (_, probability), nearest in zip(dropped, _nearest(kept_list, [combo for combo, _ in dropped])):
        kept[kept_list[nearest]] += probability  # (in the order of `combos`: the same sums)
    return list(kept.items())


def _nearest(kept: list[tuple[str, ...]], dropped: list[tuple[str, ...]]) -> list[int]:
    """For each dropped combination, the position in `kept` of the first kept one with the fewest
    groups of another outcome, that is with the most groups of the same outcome: each combination
    one-hot over every group's outcomes, the groups two agree on are the product of their rows
    (whole numbers, exact in floating point), as many dropped combinations at a time as make
    `NEAREST_CELLS` pairs (docs/performance.md, "Many scenarios")."""
    columns: dict[tuple[int, str], int] = {}
    for row in (*kept, *dropped):
        for group, outcome in enumerate(row):
            columns.setdefault((group, outcome), len(columns))

    def one_hot(rows: list[tuple[str, ...]]) -> np.ndarray:
        table = np.zeros((len(rows), len(columns)), dtype=np.float32)
        for i, row in enumerate(rows):
            table[i, [columns[group, outcome] for group, outcome in enumerate(row)]] = 1.0
        return table

    kept_table = one_hot(kept).T
    block = max(1, NEAREST_CELLS // max(len(kept), 1))
    nearest: list[int] = []
    for start in range(0, len(dropped), block):
        same = one_hot(dropped[start:start + block]) @ kept_table
        nearest += np.argmax(same, axis=1).tolist()  # (the first of the nearest, as min() took)
    return nearest


def generate_scenarios(inst: Instance, method: str | None = None, max_scenarios: int | None = None,
                       seed: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Scenarios and disruptions from the instance's events: (scenarios, disruptions, what was done).

    `method`, `max_scenarios` and `seed` default to the instance's (`[events]` of instance.toml).
    `auto` enumerates every combination when they number at most `max_scenarios`, reduces them
    when they can be enumerated (ENUMERATION_LIMIT), and samples them beyond."""
    method = inst.events_method if method is None else method
    max_scenarios = inst.events_max_scenarios if max_scenarios is None else max_scenarios
    seed = inst.events_seed if seed is None else seed
    events: pd.DataFrame = inst.tables["events"]
    groups = event_groups(events)
    count = combination_count(groups)
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}")
    if method == "auto":
        method = "exact" if count <= max_scenarios else "reduce" if count <= ENUMERATION_LIMIT else "sample"
    if method in ("exact", "reduce") and count > ENUMERATION_LIMIT:
        raise InstanceError([Problem(str(inst.path / "events.csv"), f"{count:,} combinations are too many to "
                                     f"enumerate for method {method} (at most {ENUMERATION_LIMIT:,})",
                                     hint="use method sample: `planner scenarios --method sample`, or "
                                          "`method = \"sample\"` under [events] in instance.toml")])
    if method == "exact":
        combos = _enumerate(groups)
    elif method == "sample":
        combos = _sample(groups, max_scenarios, seed)
    else:
        combos = _reduce(_enumerate(groups), max_scenarios, _severity_scores(inst, events, groups))
    combos.sort(key=lambda cp: (-cp[1], _name(cp[0])))
    total = sum(p for _, p in combos)
    rows, disruptions = [], []
    records = {event: part.to_dict("records") for event, part in events.groupby("event", sort=False)}
    for combo, probability in combos:
        name = _name(combo)
        chosen = [e for e in combo if e != NONE]
        rows.append({"_row": 0, "scenario": name, "probability": probability / total,
                     "description": " and ".join(chosen) if chosen else "no event"})
        for event in chosen:
            for rec in records[event]:
                disruptions.append({"_row": 0, "scenario": name, "scope": rec["scope"], "name": rec["name"],
                                    "commodity": rec["commodity"], "start_period": rec["start_period"],
                                    "end_period": rec["end_period"], "severity": rec["severity"],
                                    "price_factor": rec["price_factor"]})
    columns = ["_row", "scenario", "scope", "name", "commodity", "start_period", "end_period", "severity",
               "price_factor"]
    how = (f"{counted(len(rows), 'scenario')} from {counted(len(events['event'].unique()), 'event')} in "
           f"{counted(len(groups), 'independent group')} ({count:,} combinations), method {method}"
           + (f", seed {seed} ({counted(max_scenarios, 'draw')}, the same ones merged)" if method == "sample" else "")
           + (f": every combination, more than max_scenarios ({max_scenarios:,}), which caps sample and reduce only"
              if method == "exact" and count > max_scenarios else ""))
    return pd.DataFrame(rows), pd.DataFrame(disruptions, columns=columns), how
