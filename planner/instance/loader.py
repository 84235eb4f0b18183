"""Loading and validating an instance folder (docs/model.md section 2).

`load_instance` reads every file, applies every default and checks every rule of the
format, collecting all problems before it fails with an `InstanceError` that lists each
as ``file:row:column: value: what was expected``. Column specifications live in
`planner.instance.schema`.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import pandas as pd

from planner.errors import InstanceError, Problem, did_you_mean
from planner.formatting import unshowable
from planner.instance.csvfile import RawTable, read_raw_table
from planner.instance.digest import file_digests
from planner.instance.events import check_events
from planner.instance.instance import Instance
from planner.instance.magnitudes import magnitude_problems
from planner.instance.schema import SETTINGS, TABLES, Column, Kind, Table
from planner.instance.settings_file import read_settings
from planner.paths import stand_in, what_is_at

PROBABILITY_TOLERANCE = 1e-6
BASE_SCENARIO = "base"
_ISO3 = re.compile(r"^[A-Z]{3}$")
# Thousands grouping is accepted only where it cannot be misread: with a decimal part.
_GROUPED_DECIMAL_POINT = re.compile(r"^[+-]?\d{1,3}(,\d{3})+\.\d+$")  # 1,000.5
_GROUPED_DECIMAL_COMMA = re.compile(r"^[+-]?\d{1,3}([. \u00a0]\d{3})+,\d+$")  # 1.000,5
_AMBIGUOUS_POINT = re.compile(r"^[+-]?[1-9]\d{0,2}(\.\d{3})+$")  # 1.000 where commas are decimal: 1 or 1000?
_TRUE = {"1", "1.0", "true", "yes", "y"}
_FALSE = {"0", "0.0", "false", "no", "n"}


# --------------------------------------------------------------------------- cells


def _parse_number(text: str, col: Column, decimal_comma: bool) -> float:
    """Parse one numeric cell; raises ValueError with what was expected."""
    if col.is_fraction and text.endswith("%"):
        return parse_number(text[:-1].strip(), decimal_comma) * 0.01
    return parse_number(text, decimal_comma)


def parse_number(text: str, decimal_comma: bool) -> float:
    """A number as a spreadsheet writes it (a decimal comma where the file's delimiter is ';',
    thousands grouped unambiguously); raises ValueError with what was expected."""
    t = text
    if decimal_comma:
        if _AMBIGUOUS_POINT.match(t):
            raise ValueError("expected a plain number (is '.' a thousands separator, as in 1.000 for one "
                             "thousand, or a decimal point? In a file with ';' write 1000 or 1,0)")
        if _GROUPED_DECIMAL_COMMA.match(t):
            t = t.replace(".", "").replace(" ", "").replace("\u00a0", "")
        t = t.replace(",", ".") if t.count(",") == 1 and "." not in t else t
    elif _GROUPED_DECIMAL_POINT.match(t):
        t = t.replace(",", "")
    if "_" in t or "," in t:
        raise ValueError("expected a plain number (is ',' a thousands separator or a decimal comma?)")
    try:
        number = float(t)
    except ValueError:
        raise ValueError("expected a number") from None
    if not math.isfinite(number):
        raise ValueError("expected a finite number")
    return number


def _check_bounds(number: float, col: Column) -> None:
    low_ok = col.lower is None or (number > col.lower if col.lower_open else number >= col.lower)
    high_ok = col.upper is None or (number < col.upper if col.upper_open else number <= col.upper)
    if not (low_ok and high_ok):
        raise ValueError(f"expected a number {col.bounds_text()}")


class _UncheckedPeriod(ValueError):
    """A period cell that cannot be checked: instance.toml's periods could not be read."""


def _parse_cell(text: str, col: Column, periods: tuple[str, ...], decimal_comma: bool) -> object:
    """Typed value of one non-empty cell; raises ValueError with what was expected."""
    if col.kind is Kind.TEXT:
        if held := unshowable(text):  # (a stray one, pasted in: the workbook of the results could not be written)
            raise ValueError(f"{held}, which no spreadsheet or report can show: retype the text")
        if col.choices and text not in col.choices:
            raise ValueError(f"expected {col.bounds_text()}")
        return text
    if col.kind is Kind.PERIOD:
        if not periods:
            raise _UncheckedPeriod()
        if text not in periods:
            raise ValueError(f"expected a period of instance.toml ({', '.join(periods)})")
        return text
    if col.kind is Kind.FLAG:
        if text.casefold() in _TRUE:
            return 1
        if text.casefold() in _FALSE:
            return 0
        raise ValueError("expected 0 or 1")
    number = _parse_number(text, col, decimal_comma)
    _check_bounds(number, col)
    if col.kind is Kind.INTEGER:
        if number != int(number):
            raise ValueError("expected a whole number")
        return int(number)
    return number


def _empty_value(col: Column) -> object:
    if col.default is not None:
        return col.default
    return "" if col.kind in (Kind.TEXT, Kind.PERIOD) else math.nan


def _parse_table(raw: RawTable, spec: Table, periods: tuple[str, ...],
                 problems: list[Problem], warnings: list[Problem]) -> pd.DataFrame:
    known = [c.name for c in spec.columns]
    if not raw.header:  # unreadable or empty: already reported, nothing more to say
        return pd.DataFrame(columns=["_row", *known])
    present = set(raw.header)
    missing = [c for c in spec.columns if c.required and c.name not in present]
    for col in missing:
        problems.append(Problem(raw.file, "required column is missing from the header", row=1,
                                column=col.name, hint=did_you_mean(col.name, present - set(known))))
    for name in raw.header:
        if name and name not in known:
            hint = did_you_mean(name, known) or f"known columns: {', '.join(known)}"
            warnings.append(Problem(raw.file, "column is not part of the format and is ignored",
                                    row=1, column=name, hint=hint))
    decimal_comma = raw.delimiter == ";"
    records: list[dict[str, object]] = []
    unchecked: dict[str, list[tuple[int, str]]] = {}  # column -> (row, period) it could not check
    unkeyed: set[int] = set()  # rows with a key cell that could not be read: no duplicates of anything
    for row_number, cells in raw.records:
        record: dict[str, object] = {"_row": row_number}
        for col in spec.columns:
            text = cells.get(col.name, "")
            if not text:
                if col.required and col not in missing:
                    problems.append(Problem(raw.file, "is required but empty", row=row_number, column=col.name))
                    if col.name in spec.key:
                        unkeyed.add(row_number)
                record[col.name] = _empty_value(col)
                continue
            if col.allow_star and text == "*":
                record[col.name] = text
                continue
            try:
                record[col.name] = _parse_cell(text, col, periods, decimal_comma)
            except ValueError as exc:
                if isinstance(exc, _UncheckedPeriod):
                    unchecked.setdefault(col.name, []).append((row_number, text))
                else:
                    problems.append(Problem(raw.file, str(exc), row=row_number, column=col.name, value=text))
                record[col.name] = _empty_value(col)
                if col.name in spec.key:
                    unkeyed.add(row_number)
        records.append(record)
    for column, cells in unchecked.items():  # one problem per column, not one per row: the cause is one
        (row, first), more = cells[0], len(cells) - 1
        likewise = f"; likewise {more} more row{'s' if more != 1 else ''} of this column" if more else ""
        problems.append(Problem(raw.file, "cannot be checked against the periods of instance.toml, which could not "
                                          f"be read (see there){likewise}", row=row, column=column, value=first))
    frame = pd.DataFrame(records, columns=["_row", *known])
    _check_duplicates(frame, spec, raw.file, problems, unkeyed)
    return frame


def _check_duplicates(frame: pd.DataFrame, spec: Table, file: str, problems: list[Problem],
                      unkeyed: set[int]) -> None:
    """Rows with the same key; a row whose key could not be read is no duplicate (two periods
    mistyped differently were both empty, and 'the same')."""
    if not spec.key or frame.empty:
        return
    first_row: dict[tuple, int] = {}
    for rec in frame[["_row", *spec.key]].itertuples(index=False):
        if rec[0] in unkeyed:
            continue
        key = tuple(rec[1:])
        if key in first_row:
            problems.append(Problem(
                file, f"duplicate {'/'.join(spec.key)}: row {first_row[key]} has the same", row=rec[0],
                column=spec.key[-1], value=":".join(str(k) for k in key)))
        else:
            first_row[key] = rec[0]


# --------------------------------------------------------------------------- cross-table rules


def _check_references(inst: Instance, files: dict[str, str], broken: set[str], problems: list[Problem],
                      warnings: list[Problem]) -> None:
    countries = inst.countries
    blocs = set(countries["bloc"])
    names = {
        "commodities": set(inst.commodities["commodity"]),
        "countries": set(countries["country"]),
        "options": set(inst.options["option"]),
        "agreements": set(inst.agreements["agreement"]),
        "scenarios": set(inst.scenarios["scenario"]),
    }
    for spec in TABLES:
        frame = inst.tables[spec.stem]
        for col in spec.columns:
            if col.refers_to is None or col.refers_to in broken:  # no cascade from an unreadable file
                continue
            pool = names[col.refers_to]
            for row, value in zip(frame["_row"], frame[col.name]):
                if value == "" or (col.allow_star and value == "*") or value in pool:
                    continue
                where = f"{col.refers_to}.csv" if col.refers_to != "scenarios" or files.get("scenarios") else \
                    "scenarios (no scenarios.csv: only 'base')"
                problems.append(Problem(files[spec.stem], f"unknown {col.name}: not in {where}", row=row,
                                        column=col.name, value=value, hint=did_you_mean(value, pool)))
    for stem in ("limits", "disruptions", "events") if "countries" not in broken else ():
        frame = inst.tables[stem]
        for row, scope, name in zip(frame["_row"], frame["scope"], frame["name"]):
            pool = names["countries"] if scope == "country" else blocs if scope == "bloc" else None
            if pool is not None and name and name not in pool:
                what = "country of countries.csv" if scope == "country" else "bloc of countries.csv"
                problems.append(Problem(files[stem], f"unknown {scope}: expected a {what}", row=row,
                                        column="name", value=name, hint=did_you_mean(name, pool)))

    options = inst.options
    for row, spot, agreement in zip(options["_row"], options["spot"], options["agreement"]):
        if spot == 1 and agreement:
            problems.append(Problem(files["options"], "an option cannot be both spot and gated by an agreement",
                                    row=row, column="agreement", value=agreement,
                                    hint="set spot to 0 or leave agreement empty"))
    for row, code in zip(countries["_row"], countries["country"]):
        if code and not _ISO3.match(code):
            warnings.append(Problem(files["countries"], "is not an ISO 3166 alpha-3 code (three capital letters)",
                                    row=row, column="country", value=code))

    if not inst.scenarios.empty:
        total = float(inst.scenarios["probability"].sum())
        if abs(total - 1.0) > PROBABILITY_TOLERANCE + 1e-12:  # 1e-12: binary rounding of decimal input
            problems.append(Problem(files["scenarios"], f"probabilities sum to {total:.9g}, expected 1 (within 1e-6)",
                                    column="probability"))

    order = {p: i for i, p in enumerate(inst.periods)}
    for stem in ("disruptions", "events"):
        dis = inst.tables[stem]
        for row, start, end in zip(dis["_row"], dis["start_period"], dis["end_period"]):
            if start in order and end in order and order[end] < order[start]:
                problems.append(Problem(files[stem], f"end_period comes before start_period {start!r}",
                                        row=row, column="end_period", value=end))
    check_events(inst.tables["events"], files.get("events", "events.csv"), problems)


def check_rules(inst: Instance) -> list[Problem]:
    """The format's cross-table rules (references, probabilities, event groups, periods) and the
    magnitudes planner solves reliably, on an instance changed in memory, as a sweep changes
    it: a value that a file could not hold is refused here too."""
    files = {spec.stem: spec.file for spec in TABLES}
    if inst.scenarios_generated:
        files["scenarios"] = ""
    problems: list[Problem] = []
    _check_references(inst, files, set(), problems, [])
    if not problems:
        labels = {spec.stem: spec.file for spec in TABLES} | {"instance.toml": "instance.toml"}
        problems += magnitude_problems(inst.tables, len(inst.periods), labels, inst.fixed_cost_max)
    return problems


# --------------------------------------------------------------------------- entry point


def load_instance(path: str | Path, replace: dict[str, Path | None] | None = None,
                  scenarios_from_events: bool = True) -> Instance:
    """Read and validate the instance folder at `path`.

    `replace` reads some tables from other files (by stem: {"scenarios": path}; None for
    "absent"), as `planner evaluate --scenarios` does. Without `scenarios_from_events`, an
    instance with events.csv and no scenarios.csv keeps the single base scenario (for `planner
    scenarios`, which generates them with its own options). Raises `InstanceError` listing
    every problem found. Warnings (ignored columns, codes that do not look like ISO
    3166) are kept on `Instance.warnings`.
    """
    replace = replace or {}
    folder = Path(path)
    if not folder.is_dir():
        hint = "expected a folder holding instance.toml and the CSV files"
        raise InstanceError([Problem(str(folder), "is not a folder", hint=hint)])
    try:
        os.stat(folder / "instance.toml")
    except (FileNotFoundError, NotADirectoryError):
        pass  # said below
    except PermissionError as exc:  # nothing in it can be read: one problem, not one per file
        raise InstanceError([Problem(str(folder), f"cannot be read: {exc.strerror}",
                                     hint="the folder's permissions do not let you open it")]) from None
    problems: list[Problem] = []
    warnings: list[Problem] = []
    settings = read_settings(folder / "instance.toml", str(folder / "instance.toml"), problems, warnings)
    periods: tuple[str, ...] = settings["periods"] or ()

    files: dict[str, str] = {}
    broken: set[str] = set()
    tables: dict[str, pd.DataFrame] = {}
    known_files = {spec.file for spec in TABLES}
    for spec in TABLES:
        file_path = replace.get(spec.stem, folder / spec.file)
        shown = str(file_path)
        found = "nothing" if file_path is None else what_is_at(file_path)
        if found == "nothing":
            if spec.required:
                meant = file_path and stand_in(file_path.parent, file_path.name)
                problems.append(Problem(shown, "is missing", hint=meant[1] if meant else f"required: one row per "
                                        f"{spec.row}"))
                broken.add(spec.stem)  # what refers to it is not checked against nothing
            elif file_path is not None and (meant := stand_in(file_path.parent, file_path.name)):
                if not meant[0].endswith(".csv"):  # (a *.csv file is warned of below, as not of the format)
                    warnings.append(Problem(shown, "is absent, so nothing is read for it", hint=meant[1]))
            tables[spec.stem] = pd.DataFrame(columns=["_row", *(c.name for c in spec.columns)])
            continue
        if found == "other":
            problems.append(Problem(shown, "is not a regular file", hint="expected a CSV text file"))
            broken.add(spec.stem)
            tables[spec.stem] = pd.DataFrame(columns=["_row", *(c.name for c in spec.columns)])
            continue
        files[spec.stem] = shown
        raw = read_raw_table(file_path, shown)
        problems.extend(raw.problems)
        if not raw.header:
            broken.add(spec.stem)
        tables[spec.stem] = _parse_table(raw, spec, periods, problems, warnings)
    for extra in sorted(p for p in folder.glob("*.csv") if not p.name.startswith(".planner")):
        if extra.name not in known_files:
            warnings.append(Problem(str(extra), "is not part of the format and is ignored",
                                    hint=did_you_mean(extra.name, known_files)))

    if "scenarios" not in files:
        tables["scenarios"] = pd.DataFrame(
            [{"_row": 0, "scenario": BASE_SCENARIO, "probability": 1.0, "description": "the only scenario"}])

    held = {s.attribute: settings[s.key] for s in SETTINGS}
    held.update(name=settings["name"] or folder.name, periods=periods)
    instance = Instance(path=folder, **held, tables=tables, warnings=warnings)
    files.setdefault("scenarios", "")
    _check_references(instance, files, broken, problems, warnings)
    if not problems:
        labels = {spec.stem: files.get(spec.stem) or str(folder / spec.file) for spec in TABLES}
        labels["instance.toml"] = str(folder / "instance.toml")
        problems += magnitude_problems(tables, len(periods), labels, instance.fixed_cost_max)
    if problems:
        rank = {str(folder / name): i for i, name in enumerate(["instance.toml", *(t.file for t in TABLES)])}
        problems.sort(key=lambda p: (rank.get(p.file, len(rank)), p.row or 0))
        raise InstanceError(problems)
    _fill_defaults(instance)
    instance.file_digests = file_digests(folder, skipped=[spec.file for spec in TABLES if spec.stem in replace])
    if scenarios_from_events:
        _scenarios_from_events(instance, files)
    return instance


def _scenarios_from_events(inst: Instance, files: dict[str, str]) -> None:
    """Without scenarios.csv, an instance with events.csv gets its scenarios generated."""
    if inst.tables["events"].empty:
        return
    if files.get("scenarios"):
        inst.events_ignored = True
        inst.notes.append(f"scenarios.csv is used and {files['events']} is ignored: when both exist, scenarios.csv "
                          "(with disruptions.csv) takes precedence; remove them to generate scenarios from the events")
        return
    if not inst.disruptions.empty:
        raise InstanceError([Problem(files["disruptions"], "cannot be used with events.csv alone",
                                     hint="scenarios are generated from events.csv; remove disruptions.csv "
                                     "or write scenarios.csv too")])
    from planner.instance.events import generate_scenarios  # needs the validated instance

    scenarios, disruptions, how = generate_scenarios(inst)
    inst.tables["scenarios"], inst.tables["disruptions"] = scenarios, disruptions
    inst.scenarios_generated = True
    own = Path(files["events"]) == Path(inst.path) / "events.csv"
    inst.notes.append(f"scenarios generated from {'events.csv' if own else files['events']}: {how}")


def _fill_defaults(inst: Instance) -> None:
    """Defaults that depend on other columns: processor = origin, periods at the ends."""
    options, disruptions, periods = inst.options, inst.disruptions, inst.periods
    if not options.empty:
        options["processor"] = options["processor"].where(options["processor"] != "", options["origin"])
        options["available_from"] = options["available_from"].where(options["available_from"] != "", periods[0])
    for table in (disruptions, inst.tables["events"]):
        if not table.empty:
            table["end_period"] = table["end_period"].where(table["end_period"] != "", periods[-1])
