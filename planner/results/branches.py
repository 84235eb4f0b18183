"""What a multi-stage plan says to do now, and how its later volumes differ by branch
(docs/model.md section 3.6), for the terminal (from the plan) and the report (from the files).

"Now" is what is decided up front: the contracts and agreements, and the volumes decided
before anything tells the scenarios apart. A branch is an information class of the first
period in which the scenarios part; its later volumes are compared with those of the most
probable branch, per option, as a mean per period over the periods from then on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from planner.instance.data import ModelData
from planner.results.plan import Plan

SHOWN_BRANCHES = 6
SHOWN_CHANGES = 3


@dataclass(frozen=True)
class Branch:
    label: str  # the events that have happened by then, or its scenarios
    probability: float
    changes: list[tuple[str, float]]  # (option, mean volume a period minus the reference branch's)


def compare_branches(nodes: dict[str, list[str]], probability: dict[str, float], options: list[str],
                     periods: list[int], volume: Callable[[str, int, str], float],
                     label: Callable[[str, list[str]], str]) -> tuple[Branch, list[Branch]]:
    """The most probable branch (the reference) and the others, most probable first, each with
    its options' mean volume a period over `periods` minus the reference's, largest first."""
    weight = {node: sum(probability[s] for s in members) for node, members in nodes.items()}

    def mean_volume(node: str, o: str) -> float:
        total = sum(probability[s] * volume(o, t, s) for s in nodes[node] for t in periods)
        return total / max(weight[node], 1e-300) / max(len(periods), 1)

    ordered = sorted(nodes, key=lambda n: -weight[n])  # stable: ties keep the canonical order
    base = {o: mean_volume(ordered[0], o) for o in options}
    others = []
    for node in ordered[1:]:
        changes = [(o, mean_volume(node, o) - base[o]) for o in options]
        changes = sorted((c for c in changes if abs(c[1]) > 1e-9 * max(1.0, abs(base[c[0]]))),
                         key=lambda c: (-abs(c[1]), c[0]))
        others.append(Branch(label(node, nodes[node]), weight[node], changes))
    return Branch(label(ordered[0], nodes[ordered[0]]), weight[ordered[0]], []), others


def expected_volumes(volumes: pd.DataFrame, adaptive: pd.DataFrame, costs: pd.DataFrame) -> pd.DataFrame:
    """volumes.csv with the adaptive volumes added at their probability-weighted mean: the
    contracted volume to expect per option and period (the columns of volumes.csv)."""
    if adaptive.empty:
        return volumes
    probability = dict(zip(costs["scenario"], costs["probability"]))
    weight = adaptive["scenarios"].map(lambda text: sum(probability[s] for s in str(text).split(";")))
    later = adaptive.assign(volume=adaptive["volume"] * weight).groupby(
        ["option", "commodity", "period"], as_index=False, sort=False)["volume"].sum()
    return pd.concat([volumes, later], ignore_index=True)


def decided_now(data: ModelData) -> list[str]:
    """The periods whose every volume is decided before the scenarios part (their labels)."""
    return [data.periods[t] for t in data.horizon
            if all(data.volume_common(o, t) for o in data.options if t in data.periods_of[o])]


def branching_periods(data: ModelData) -> list[int]:
    """The periods in which some scenarios part (more information classes than the period
    before) and some volume is still to be decided: where a plan's volumes can branch. (With one
    period, or lead times that decide every volume before any event, there are none.)"""
    if not data.multi_stage:
        return []
    counts = [1] + [len(data.nodes_at(t)) for t in data.horizon]
    last = max((data.decision_period(o, t) for o in data.options for t in data.periods_of[o]), default=-1)
    return [t for t in data.horizon if counts[t + 1] > counts[t] and t <= last]


def plan_branches(data: ModelData, plan: Plan, t0: int | None = None) -> tuple[int, Branch, list[Branch]] | None:
    """The branches of period `t0` (by default the first in which the scenarios part), its
    reference branch and the others; None for a two-stage plan or one that never branches."""
    periods = branching_periods(data)
    t0 = periods[0] if t0 is None and periods else t0
    if t0 is None:
        return None
    inst, index = data.instance, {p: i for i, p in enumerate(data.periods)}
    events = inst.tables.get("events")
    start: dict[str, int] = {}
    if inst.scenarios_generated and events is not None:
        for event, period in zip(events["event"], events["start_period"]):
            start[event] = min(start.get(event, len(data.periods)), index[period])

    def label(node: str, members: list[str]) -> str:
        if start:  # scenarios generated from events: the events begun by then that all its scenarios share
            shared = set.intersection(*(set(s.split("+")) for s in members))
            begun = sorted(e for e in shared if start.get(e, len(data.periods)) <= t0)
            return " + ".join(begun) if begun else "none of the events yet"
        return node if len(members) == 1 else f"{node} and {len(members) - 1} more like it"

    nodes = {node: data.node_members(t0, node) for node in data.nodes_at(t0)}
    reference, others = compare_branches(nodes, data.probability, data.options, list(range(t0, len(data.periods))),
                                         lambda o, t, s: plan.x(o, t, s) if t in data.periods_of[o] else 0.0, label)
    return t0, reference, others


def file_branches(volumes: pd.DataFrame, adaptive: pd.DataFrame, costs: pd.DataFrame,
                  periods: list[str]) -> tuple[str, Branch, list[Branch]] | None:
    """The same from a results folder's volumes.csv, adaptive_volumes.csv and scenario_costs.csv
    (the branches of the earliest decision period there; a branch is labelled by what the
    names of all its scenarios share)."""
    if adaptive.empty:
        return None
    order = {p: i for i, p in enumerate(periods)}
    adaptive = adaptive.assign(period=adaptive["period"].astype(str), decision_period=adaptive[
        "decision_period"].astype(str))
    first = min(adaptive["decision_period"], key=order.__getitem__)
    probability = dict(zip(costs["scenario"], costs["probability"]))
    scenarios = list(costs["scenario"])
    nodes: dict[str, list[str]] = {}
    for text in adaptive.loc[adaptive["decision_period"] == first, "scenarios"].drop_duplicates():
        members = str(text).split(";")
        nodes[members[0]] = members
    values: dict[tuple[str, str, str], float] = {}
    for o, p, text, v in zip(adaptive["option"], adaptive["period"], adaptive["scenarios"], adaptive["volume"]):
        values.update({(o, p, s): float(v) for s in str(text).split(";")})
    common = {(o, str(p)): float(v) for o, p, v in zip(volumes["option"], volumes["period"], volumes["volume"])}
    later = [p for p in periods if order[p] >= order[first]]
    options = sorted({*adaptive["option"], *volumes["option"]})
    shared = set.intersection(*(set(s.split("+")) for s in scenarios)) if scenarios else set()

    def label(node: str, members: list[str]) -> str:
        parts = set.intersection(*(set(s.split("+")) for s in members)) - shared - {"base"}
        if len(members) > 1 and parts:
            return " + ".join(sorted(parts))
        if len(members) > 1 and "base" in members:
            return "none of the events yet"
        return node if len(members) == 1 else f"{node} and {len(members) - 1} more like it"

    reference, others = compare_branches(nodes, probability, options, later,
                                         lambda o, p, s: values.get((o, p, s), common.get((o, p), 0.0)), label)
    return first, reference, others
