"""Addressing and changing any number of an instance in memory (the keys of planner sweep).

Keys:
- a setting of instance.toml: `risk.aversion`, `risk.cvar_alpha`, `risk.ambiguity`,
  `budget.fixed_cost_max`, `discount_rate`; for an instance whose scenarios come from
  events.csv, `events.max_scenarios` and `events.seed` (the scenarios are generated again);
- a cell, `TABLE.ROW.COLUMN`: ROW is the row's key, its key columns joined by `:`
  (`commodities.gallium.service_level`, `options.RU-REE-1.capacity`,
  `limits.bloc:china:*.max_share`, `demand.gallium:2027.demand`); for events.csv ROW is
  the event's name and the change applies to all its rows;
- `scenarios.NAME.probability`: the other scenarios are rescaled so the total stays 1;
- `decisions.multi_stage`: 0 for a two-stage plan, 1 for a multi-stage one
  (`[decisions] stages` of instance.toml).

A key that addresses nothing is an error before anything runs. Values are checked against
the column's range. Changing an event regenerates the scenarios it generated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pandas as pd

from planner.errors import OverrideError, did_you_mean
from planner.formatting import key_values
from planner.instance.instance import Instance
from planner.instance.loader import check_rules
from planner.instance.schema import SETTING, SETTINGS, TABLES, Kind

# the settings a sweep can vary, each with the `Instance` attribute that holds it
_SETTING_FIELDS = {s.key: s.attribute for s in SETTINGS if s.kind in ("number", "integer")}
_EVENT_SETTINGS = ("events.max_scenarios", "events.seed")  # they regenerate the scenarios
_TABLES = {t.stem: t for t in TABLES}
MULTI_STAGE = "decisions.multi_stage"  # 0 or 1: the stages setting as a number a sweep can vary


@dataclass(frozen=True)
class Target:
    key: str
    table: str | None  # None: a setting
    rows: tuple[int, ...] = ()  # positions in the table
    column: str = ""


def _row_keys(inst: Instance, stem: str) -> dict[str, list[int]]:
    frame = inst.tables[stem]
    spec = _TABLES[stem]
    key_columns = spec.key or (("event",) if stem == "events" else ())
    keys: dict[str, list[int]] = {}
    for position, values in enumerate(zip(*(frame[c] for c in key_columns))):
        keys.setdefault(":".join(str(v) for v in values), []).append(position)
    return keys


def resolve(inst: Instance, key: str) -> Target:
    """The setting or cells `key` addresses; raises OverrideError with a hint when none."""
    if key in _EVENT_SETTINGS and not inst.scenarios_generated:
        raise OverrideError(f"{key!r} addresses nothing: the scenarios of {inst.name} are not generated from "
                            "events.csv" + (" (scenarios.csv takes precedence)" if inst.events_ignored else ""))
    if key in _SETTING_FIELDS or key == MULTI_STAGE:
        return Target(key, None)
    stem, _, rest = key.partition(".")
    row, _, column = rest.rpartition(".")
    if stem not in _TABLES or stem == "disruptions":
        known = [*_SETTING_FIELDS, MULTI_STAGE, *(f"{t}.ROW.COLUMN" for t in _TABLES if t != "disruptions")]
        hint = (did_you_mean(key, list(_SETTING_FIELDS)) or did_you_mean(stem, list(_TABLES))
                or "keys: " + ", ".join(known))
        raise OverrideError(f"{key!r} addresses nothing: expected a setting or TABLE.ROW.COLUMN ({hint})")
    spec = _TABLES[stem]
    numeric = [c.name for c in spec.columns if c.kind in (Kind.NUMBER, Kind.INTEGER, Kind.FLAG)]
    if column not in numeric:
        raise OverrideError(f"{key!r}: {stem}.csv has no numeric column {column!r} "
                        f"({did_you_mean(column, numeric) or 'numeric columns: ' + ', '.join(numeric)})")
    rows = _row_keys(inst, stem)
    if row not in rows:
        key_columns = spec.key or (("event",) if stem == "events" else ())
        add = (f"a sweep varies what the instance holds: add the row to {stem}.csv first (ROW is its "
               f"{', '.join(key_columns)}, joined by ':')")
        if not rows:
            raise OverrideError(f"{key!r}: {inst.name} has no rows in {stem}.csv; {add}")
        hint = did_you_mean(row, list(rows)) or f"rows: {', '.join(list(rows)[:8])}; {add}"
        raise OverrideError(f"{key!r}: {stem}.csv has no row {row!r} ({hint})")
    return Target(key, stem, tuple(rows[row]), column)


def whole_number_key(key: str) -> bool:
    """Whether `key` (a sweep key: a setting, decisions.multi_stage or TABLE.ROW.COLUMN) holds
    whole numbers only: an integer setting, an integer or 0/1 column, or the stages switch."""
    if key == MULTI_STAGE:
        return True
    if key in SETTING:
        return SETTING[key].kind == "integer"
    stem, _, rest = key.partition(".")
    column = rest.rpartition(".")[2]
    spec = _TABLES.get(stem)
    kinds = {c.name: c.kind for c in spec.columns} if spec is not None else {}
    return kinds.get(column) in (Kind.INTEGER, Kind.FLAG)


def _check_value(target: Target, value: float) -> float:
    """`value` if `target` can hold it (as an int for a whole-number setting); else OverrideError."""
    if not math.isfinite(value):
        raise OverrideError(f"{target.key}: {value} is not a finite number")
    if target.key == MULTI_STAGE:
        if value not in (0.0, 1.0):
            raise OverrideError(f"{target.key}: {value:g} is not 0 (two-stage) or 1 (multi-stage)")
        return value
    if target.table is None:
        setting = SETTING[target.key]
        low, high, low_open, open_high = setting.lower, setting.upper, False, setting.upper_open
    else:
        col = _TABLES[target.table].column(target.column)
        low, high, low_open, open_high = col.lower, col.upper, col.lower_open, col.upper_open
    whole = whole_number_key(target.key)
    if whole and value != int(value):
        raise OverrideError(f"{target.key}: {value:g} is not a whole number")
    if (low is not None and (value < low or (low_open and value == low))) or (
            high is not None and (value > high or (open_high and value == high))):
        raise OverrideError(f"{target.key}: {value:g} is out of range")
    return int(value) if whole and target.table is None else value


def apply_values(inst: Instance, values: dict[str, float], regenerate_scenarios: bool = True) -> Instance:
    """A copy of `inst` with `values` (key -> number) set; `inst` is not changed.

    Values that change the events generate the scenarios again, unless `regenerate_scenarios`
    is False: a check of the values alone (`planner.studies.runs.check_runs`), since a generation
    raises nothing the base instance's did not (the values change numbers, not which events
    exclude each other), and a reduction to many scenarios takes a while (docs/performance.md,
    "Many scenarios")."""
    targets = {key: resolve(inst, key) for key in values}
    settings = {}
    tables = dict(inst.tables)
    regenerate = False
    for key, value in values.items():
        target = targets[key]
        value = _check_value(target, float(value))
        if target.key == MULTI_STAGE:
            settings["stages"] = "multi" if value else "two"
            continue
        if target.table is None:
            settings[_SETTING_FIELDS[key]] = value
            regenerate |= key in _EVENT_SETTINGS
            continue
        frame = tables[target.table] = tables[target.table].copy()
        positions = list(target.rows)
        frame.loc[frame.index[positions], target.column] = value
        if target.table == "scenarios" and target.column == "probability":
            _rescale_others(frame, positions, value, key)
        regenerate |= target.table == "events"
    changed = replace(inst, tables=tables, notes=list(inst.notes), **settings)
    problems = check_rules(changed)
    if problems:
        shown = key_values(values)
        raise OverrideError(f"{shown}: " + "; ".join(str(p) for p in problems)
                            + " (a sweep value must be one the file could hold)")
    if regenerate and regenerate_scenarios and inst.scenarios_generated:
        from planner.instance.events import generate_scenarios

        changed.tables["scenarios"], changed.tables["disruptions"], _ = generate_scenarios(changed)
    return changed


def _rescale_others(frame: pd.DataFrame, positions: list[int], value: float, key: str) -> None:
    others = [i for i in range(len(frame)) if i not in positions]
    rest = float(frame["probability"].iloc[others].sum())
    if rest <= 0 and value < 1:
        raise OverrideError(f"{key}: the other scenarios have probability 0 and cannot take the rest, {1 - value:g}")
    index = frame.index[others]
    frame.loc[index, "probability"] = frame.loc[index, "probability"] * ((1 - value) / rest if rest > 0 else 0.0)
