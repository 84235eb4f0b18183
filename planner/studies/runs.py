"""The runs of a sweep: every combination of `--vary` values, or one per row of a `--design`
file, each with an id hashed from its values (its folder's name), and checked against the
instance before anything runs (`check_runs`)."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from planner.errors import OverrideError
from planner.instance.csvfile import as_one_text
from planner.instance.instance import Instance
from planner.instance.loader import parse_number
from planner.instance.overrides import MULTI_STAGE, apply_values, resolve

SHOWN_PROBLEMS = 5  # a design's problems named in one message
MAX_RUNS = 10_000  # a sweep's runs unless --max-runs says more: a slip in start:stop:count is not a million solves


@dataclass(frozen=True)
class Run:
    id: str
    values: dict[str, float]


def _at_most(count: int, most: int, what: str, unit: str = "runs") -> None:
    """Refuse a sweep larger than `most` runs before it is made (`what` makes `count` `unit`)."""
    if count > most:
        raise OverrideError(f"{what} makes {count:,} {unit}, more than the {most:,} runs a sweep may have: a slip "
                            "in a count? (--max-runs allows more)")


def parse_values(text: str, most: int = MAX_RUNS) -> list[float]:
    """`a,b,c` or `start:stop:count` (inclusive, evenly spaced), at most `most` values."""
    if not text.strip():
        raise OverrideError("no values after '=': expected values as a,b,c or start:stop:count")
    try:
        if ":" in text and "," not in text:
            start, stop, count = text.split(":")
            asked = float(count)
            n = int(asked) if math.isfinite(asked) else 0
            if n < 1 or asked != n:
                raise OverrideError(f"{text!r}: the count of start:stop:count is a whole number of at least 1, "
                                    f"not {count.strip()!r}")
            _at_most(n, most, repr(text), "values")
            # rounded to 12 digits: 0.6, not 0.6000000000000001
            return [float(f"{v:.12g}") for v in np.linspace(float(start), float(stop), n)]
        items = text.split(",")
        if items[-1].strip() == "":  # a trailing comma, as a list typed by hand often has
            items.pop()
        if any(not item.strip() for item in items):
            raise OverrideError(f"{text!r}: a value is missing between two commas")
        return [float(v) for v in items]
    except ValueError:
        raise OverrideError(f"{text!r}: expected values as a,b,c or start:stop:count") from None


def parse_vary(option: str, most: int = MAX_RUNS) -> tuple[str, list[float]]:
    key, sep, values = option.rpartition("=")  # (a name may hold "="; values never do)
    if not sep or not key.strip():
        raise OverrideError(f"--vary {option!r}: expected KEY=VALUES")
    return as_one_text(key.strip()), parse_values(values, most)


def run_id(values: dict[str, float]) -> str:
    text = json.dumps(sorted((k, repr(float(v))) for k, v in values.items()))
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def grid(varies: list[tuple[str, list[float]]], most: int = MAX_RUNS) -> list[Run]:
    """Every combination of the varied values, at most `most` of them."""
    _at_most(math.prod(len(v) for _, v in varies), most, "the grid of --vary")
    keys = [k for k, _ in varies]
    runs = [dict(zip(keys, combo)) for combo in itertools.product(*(v for _, v in varies))]
    return [Run(run_id(v), v) for v in runs]


def distinct(runs: list[Run]) -> list[Run]:
    """`runs` without those that repeat an earlier one's values (the same id), in order: a design
    with a row twice, or `--vary` with a value twice, solved such a run twice (side by side with
    workers, into one folder) and listed it twice in sweep.csv."""
    first: dict[str, Run] = {}
    for run in runs:
        first.setdefault(run.id, run)
    return list(first.values())


def design(path: Path, most: int = MAX_RUNS) -> list[Run]:
    """One run per row of a CSV whose columns are keys, at most `most` rows. Read as instance
    files are (`csvfile`: any delimiter and encoding a spreadsheet writes, file:row:column in
    every message); a blank cell keeps the instance's value, any other must be a number (a
    decimal comma in a file with ';')."""
    from planner.instance.csvfile import read_raw_table

    table = read_raw_table(Path(path), str(path), fold_case=False)
    if table.problems:
        raise OverrideError("; ".join(str(p) for p in table.problems[:SHOWN_PROBLEMS])
                            + " (a sweep design is a CSV with one column per key and one row per run)")
    if not table.records:
        raise OverrideError(f"{path}: names its keys ({', '.join(repr(k) for k in table.header)}) but holds no "
                            "runs: one row per run below the header")
    _at_most(len(table.records), most, str(path))
    runs = []
    for row, cells in table.records:
        values = {}
        for key, text in cells.items():
            if text:
                values[key] = _design_number(text, table.delimiter, f"{path}:{row}:{key}")
        runs.append(Run(run_id(values), values))
    return runs


def _design_number(text: str, delimiter: str, where: str) -> float:
    """A design's cell by the rule of instance files' numbers (`loader.parse_number`)."""
    try:
        return parse_number(text, decimal_comma=delimiter == ";")
    except ValueError:
        raise OverrideError(f"{where}: {text!r}: expected a number") from None


def check_runs(inst: Instance, runs: list[Run]) -> None:
    """Every key resolves and every value fits, before anything runs."""
    if not runs:
        raise OverrideError("the sweep has no runs: give --vary or --design")
    problems = []
    for key in sorted({k for run in runs for k in run.values}):
        if key.startswith("events.") and inst.events_ignored:
            problems.append(f"{key!r} would change nothing: the instance's scenarios.csv takes precedence over "
                            "events.csv, so the events do not make its scenarios (vary scenarios.NAME.probability, "
                            "or remove scenarios.csv and disruptions.csv)")
            continue
        try:
            resolve(inst, key)
        except OverrideError as exc:
            problems.append(str(exc))
    if problems:
        raise OverrideError("\n".join(problems))
    for run in runs:
        apply_values(inst, run.values, regenerate_scenarios=False)  # raises on values out of range


# Keys whose values can make a run's model larger than the base instance's: the scenarios an
# instance's events make (their settings and every cell of events.csv), the stages, the periods
# an option can deliver in (its capacity) and when its volumes are decided (its lead time). Other
# keys change numbers of the same model.
MAX_SIZED = 8  # the runs of other shapes than the base's (events unchanged) counted before a sweep starts


def _shape_key(key: str) -> bool:
    if key.startswith("events.") or key == MULTI_STAGE:
        return True
    return key.startswith(("options.", "capacity.")) and key.endswith((".capacity", ".lead_time"))


def shape_of(values: dict[str, float]) -> dict[str, float]:
    """The values of a run's keys that can make its model larger than the base's (`_shape_key`)."""
    return {key: value for key, value in values.items() if _shape_key(key)}


def shapes(runs: list[Run]) -> list[Run]:
    """A run of each other shape of model than the base instance's that `runs` make (the first
    run with those `shape_of` values), the likeliest largest first: of the runs that change the
    events (each generates its scenarios again), only the one that keeps the most scenarios,
    multi-stage if one is; then at most `MAX_SIZED` of the others, multi-stage first."""
    found: dict[str, Run] = {}
    for run in runs:
        shape = shape_of(run.values)
        if shape:
            found.setdefault(run_id(shape), run)
    regenerating, others = [], []
    for run in found.values():
        (regenerating if any(key.startswith("events.") for key in run.values) else others).append(run)
    largest = min(regenerating, default=None, key=lambda run: (-run.values.get("events.max_scenarios", 0.0),
                                                               -run.values.get(MULTI_STAGE, 0.0)))
    others.sort(key=lambda run: -run.values.get(MULTI_STAGE, 0.0))
    return ([largest] if largest else []) + others[:MAX_SIZED]
