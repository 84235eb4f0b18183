"""Reading a written result back: its plan from the CSV files (never from a model), the
instance as the result was made from it, and the scenarios an evaluation was made under.

`read_result` reads every table of a results folder into a `Plan`, recording what is wrong
(a row missing, extra or twice, a cell that is not a number) on its `Reader` rather than
raising: `planner.results.verify` reports those beside the constraints it checks.
`read_first_stage` is what `planner evaluate` reads, and refuses a first stage that is damaged
or breaks its own constraints. Only a folder that cannot be read as a result at all raises
`ResultsError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from planner.errors import ResultsError
from planner.instance.data import ModelData, with_stages
from planner.instance.digest import SCENARIO_FILES, changed_files
from planner.instance.instance import Instance
from planner.instance.overrides import apply_values
from planner.model.families import FAMILIES
from planner.model.family import Rules, Violation
from planner.model.family import fmt as _fmt
from planner.results.folder import (
    MAY_BE_BLANK,
    OWN_SCENARIOS,
    SUMMARY_FILE,
    TABLE_COLUMNS,
    edited_files,
    figure_fault,
    read_summary,
    read_table,
)
from planner.results.manifest import read_manifest
from planner.results.plan import Plan

KEYS: dict[str, tuple[str, ...]] = {  # the columns that identify a row of each table
    "contracts": ("option",),
    "volumes": ("option", "period"),
    "adaptive_volumes": ("option", "period", "scenarios"),
    "agreements": ("agreement",),
    "scenario_costs": ("scenario",),
    "supply": ("scenario", "commodity", "period"),
    "spot": ("scenario", "option", "period"),
    "exposure": ("commodity", "period", "scope", "name"),
}


class Reader:
    """The tables of a results folder as text, with typed access that records what is wrong."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.problems: list[Violation] = []
        # each column read as a list once: pandas' scalar access costs tens of microseconds a
        # cell, and a result has tens of thousands (the table is kept beside its lists, so that
        # its id, the key, is not reused)
        self._columns: dict[tuple[int, str], tuple[pd.DataFrame, list[str]]] = {}

    def table(self, name: str) -> pd.DataFrame:
        return read_table(self.folder, name, text=True)

    def text(self, table: pd.DataFrame, row: int, column: str) -> str:
        """The cell at position `row` of `column` as read (the tables' index is 0, 1, ...)."""
        key = (id(table), column)
        if key not in self._columns:
            self._columns[key] = (table, [str(value) for value in table[column].tolist()])
        return self._columns[key][1][row]

    def number(self, table: pd.DataFrame, row: int, column: str, default: float = 0.0) -> float:
        """The cell as a finite number; a violation (and `default`) when it is not one."""
        if column not in table.columns:
            return default
        text = self.text(table, row, column).strip()
        name = table.attrs["name"]
        if text == "" and (name, column) in MAY_BE_BLANK:
            return math.nan
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        fault = figure_fault(value)
        if fault:
            key = ", ".join(self.text(table, row, k) for k in KEYS[name])
            self.problems.append(Violation(f"{name}.csv {column}", key, math.inf, f"{text!r} {fault}"))
            return default
        return value


def table_rows(reader: Reader, table: pd.DataFrame, expected: set[tuple]) -> dict[tuple, int]:
    """Row index by key; duplicates, missing and extra rows become violations."""
    name = table.attrs["name"]
    found: dict[tuple, int] = {}
    for i, key in enumerate(zip(*(table[k] for k in KEYS[name]))):
        if key in found:
            reader.problems.append(Violation(f"{name}.csv", ", ".join(key), 1,
                                             f"row {i + 2} repeats row {found[key] + 2}"))
            continue
        found[key] = i
        if key not in expected:
            reader.problems.append(Violation(f"{name}.csv", ", ".join(key), 1, f"row {i + 2} belongs to no "
                                             f"{'/'.join(KEYS[name])} of the instance"))
    for key in sorted(expected - set(found)):
        reader.problems.append(Violation(f"{name}.csv", ", ".join(key), 1, "row is missing"))
    return {key: i for key, i in found.items() if key in expected}


@dataclass
class ReadResult:
    plan: Plan
    summary: dict
    tables: dict[str, pd.DataFrame]
    rows: dict[str, dict[tuple, int]]
    evaluation: bool


def read_result(data: ModelData, folder: Path, reader: Reader) -> ReadResult:
    """The result in `folder` read against `data`: its plan, summary and tables, and each table's
    rows by key; what is wrong in them is recorded on `reader`. ResultsError when none of its
    options is one of the instance's."""
    summary = read_summary(folder)
    tables = {name: reader.table(name) for name in TABLE_COLUMNS}
    if not set(tables["contracts"]["option"]) & set(data.options):
        raise ResultsError(f"{folder}: the result does not belong to this instance (none of its options is one "
                           "of the instance's)")
    period = data.periods
    adaptive = {(o, period[t], ";".join(data.node_members(data.decision_period(o, t), node))): (o, t, node)
                for o in data.options for t in data.periods_of[o] if not data.volume_common(o, t)
                for node in data.nodes_at(data.decision_period(o, t))}
    expected = {
        "contracts": {(o,) for o in data.options},
        "volumes": {(o, period[t]) for o in data.options for t in data.periods_of[o] if data.volume_common(o, t)},
        "adaptive_volumes": set(adaptive),
        "agreements": {(g,) for g in data.agreements},
        "scenario_costs": {(s,) for s in data.scenarios},
        "supply": {(s, m, period[t]) for s in data.scenarios for m in data.commodities for t in data.horizon},
        "spot": {(s, o, period[t]) for (o, t, s), a in data.availability.items() if data.is_spot[o] and a > 0},
    }
    rows = {name: table_rows(reader, tables[name], keys) if name != "spot" else {}
            for name, keys in expected.items()}
    rows["spot"] = _spot_rows(reader, tables["spot"], expected["spot"])
    index = {p: t for t, p in enumerate(period)}

    def flag(name: str, key: tuple) -> int:
        table, i = tables[name], rows[name].get(key)
        value = reader.number(table, i, "selected" if name == "contracts" else "signed") if i is not None else 0
        if value not in (0.0, 1.0):
            reader.problems.append(Violation(f"{name}.csv", key[0], abs(value - round(value)),
                                             f"{_fmt(value)} is not 0 or 1"))
        return int(round(value)) if value in (0.0, 1.0) else 0

    contracted = {o: flag("contracts", (o,)) for o in data.options}
    signed = {g: flag("agreements", (g,)) for g in data.agreements}
    volume = {(o, t): reader.number(tables["volumes"], rows["volumes"][o, period[t]], "volume")
              if (o, period[t]) in rows["volumes"] else 0.0
              for o in data.options for t in data.periods_of[o] if data.volume_common(o, t)}
    for key, (o, t, node) in adaptive.items():  # each scenario of the class its volume is decided in
        i = rows["adaptive_volumes"].get(key)
        value = reader.number(tables["adaptive_volumes"], i, "volume") if i is not None else 0.0
        volume.update({(o, t, s): value for s in data.node_members(data.decision_period(o, t), node)})
    spot = {(o, t, s): 0.0 for (s, o, p) in expected["spot"] for t in [index[p]]}
    for (s, o, p), i in rows["spot"].items():
        spot[o, index[p], s] = reader.number(tables["spot"], i, "volume")
    supply, su = tables["supply"], rows["supply"]

    def cell(m: str, t: int, s: str, column: str) -> float:
        i = su.get((s, m, period[t]))
        return reader.number(supply, i, column) if i is not None else 0.0

    keys = [(m, t, s) for s in data.scenarios for m in data.commodities for t in data.horizon]
    plan = Plan(contracted, signed, volume, spot,
                stock={k: cell(*k, "stock") for k in keys}, unmet={k: cell(*k, "shortage") for k in keys},
                disposed={k: cell(*k, "disposed") for k in keys})
    evaluation = isinstance(summary.get("evaluation"), dict)
    return ReadResult(plan, summary, tables, rows, evaluation)


def _spot_rows(reader: Reader, table: pd.DataFrame, possible: set[tuple]) -> dict[tuple, int]:
    """spot.csv lists the purchases made: no duplicates, and only where a purchase is possible."""
    found: dict[tuple, int] = {}
    for i, key in enumerate(zip(table["scenario"], table["option"], table["period"])):
        if key in found:
            reader.problems.append(Violation("spot.csv", ", ".join(key), 1,
                                             f"row {i + 2} repeats row {found[key] + 2}"))
        elif key not in possible:
            reader.problems.append(Violation("3 spot", ", ".join(key), 1, f"row {i + 2}: a spot purchase where none "
                                             "is possible (not a spot option, not available, or not its period)"))
        else:
            found[key] = i
    return found


def as_made(data: ModelData, folder: Path) -> ModelData:
    """`data` with the stages the result in `folder` was made with (a plan solved with
    --multi-stage is multi-stage whatever its instance.toml says)."""
    multi = read_summary(Path(folder)).get("stages") == "multi"
    return data if multi == data.multi_stage else with_stages(data, multi)


FIRST_STAGE_TABLES = ("contracts", "volumes", "adaptive_volumes", "agreements")  # what the first stage is read from


def read_first_stage(data: ModelData, folder: Path) -> Plan:
    """The plan of a results folder, to evaluate its first stage: ResultsError when it cannot be
    read as one, or when what the first stage is read from has a cell that is not a number or a
    row missing, extra or twice, or the first stage breaks a constraint of its own (contract,
    agreement, diversification, average risk, share limit, budget): a plan edited by hand or
    damaged is named as such, not evaluated (its evaluation would break rows in the user's units
    and read as numerical trouble)."""
    folder = Path(folder)
    data = as_made(data, folder)
    reader = Reader(folder)
    result = read_result(data, folder, reader)
    broken = [v for v in reader.problems if v.check.startswith(tuple(f"{name}.csv" for name in FIRST_STAGE_TABLES))]
    broken += [v for family in FAMILIES if family.FIRST_STAGE
               for v in family.check(data, result.plan, Rules(evaluation=True))]
    if broken:
        more = f" (and {len(broken) - 1} more)" if len(broken) > 1 else ""
        if _as_written(folder):
            raise ResultsError(f"{folder}: its plan cannot be evaluated: {broken[0]}{more}. Its files are as "
                               "planner wrote them, so this instance is not the one it was solved with (its "
                               "demand, limits, options or budget changed?): evaluate a plan with the instance "
                               "it was made for, and other scenarios with --scenarios")
        raise ResultsError(f"{folder}: its plan cannot be evaluated: {broken[0]}{more}; was it edited? "
                           "`planner verify` lists every problem")
    return result.plan


def _as_written(folder: Path) -> bool:
    """Whether the files the first stage is read from are those planner wrote (by the folder's
    manifest; False without one)."""
    recorded = (read_manifest(folder) or {"files": {}})["files"]
    tables = [f"{name}.csv" for name in FIRST_STAGE_TABLES]
    return all(name in recorded for name in tables if (folder / name).exists()) and \
        not set(edited_files(folder)) & set(tables)


def evaluated_under(folder: Path) -> str | None:
    """The scenario file an evaluation in `folder` was made under (`planner evaluate
    --scenarios`), as its summary.json names it; None for a solve's result, or an evaluation
    under the instance's own scenarios."""
    return scenarios_of_evaluation(read_summary(Path(folder)))


def scenarios_of_evaluation(summary: dict) -> str | None:
    """`evaluated_under`, from a result's summary already read."""
    evaluation = summary.get("evaluation")
    scenarios = evaluation.get("scenarios") if isinstance(evaluation, dict) else None
    return scenarios if isinstance(scenarios, str) and scenarios != OWN_SCENARIOS else None


def instance_as_made(inst: Instance, folder: Path) -> tuple[Instance, dict[str, float]]:
    """`inst` as the result in `folder` was made from, with the values that made it so: a sweep
    run's values applied (summary.json's `sweep_values`, key -> number), and multi-stage when
    the result is (a plan solved with --multi-stage is multi-stage whatever its instance.toml
    says; `as_made` for data)."""
    summary = read_summary(Path(folder))
    values = summary.get("sweep_values", {})
    if not isinstance(values, dict) or not all(isinstance(key, str) and finite_number(value)
                                               for key, value in values.items()):
        raise ResultsError(f"{Path(folder) / SUMMARY_FILE}: sweep_values must map keys to numbers, not {values!r}")
    values = {key: float(value) for key, value in values.items()}
    made = apply_values(inst, values) if values else inst
    if summary.get("stages") == "multi":
        made = replace(made, stages="multi")
    return made, values


def instance_changes(folder: Path, inst: Instance, other_scenarios: bool = False) -> list[str] | None:
    """The files of `inst` whose content changed since the result in `folder` was made from them
    (its summary.json's `instance_files`), by name; its scenario files left out when
    `other_scenarios` replace them. None when the result keeps no record of them."""
    ignored = SCENARIO_FILES if other_scenarios else ()
    return changed_files(read_summary(Path(folder)).get("instance_files"), inst.file_digests, ignored)


def changed_note(changed: list[str] | None, inst: Instance, folder: Path, what: str) -> str | None:
    """What to say when files of `inst` changed since the result in `folder` was made (`changed`,
    from `instance_changes`), then `what` is done about it. None when none did."""
    if not changed:
        return None
    files = ", ".join(changed)
    return f"{files} of {inst.path} changed since {folder} was made from {'them' if len(changed) > 1 else 'it'}: {what}"


def finite_number(value: object) -> bool:
    """Whether a value read from summary.json is a finite number (not a bool, text or null)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
