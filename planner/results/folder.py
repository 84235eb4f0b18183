"""A results folder read without the solver stack: its file names, its tables' columns, and its
cells as written.

Text cells that came from the user's data and start with `=`, `+`, `-`, `@`, tab or CR are
written with a `'` in front, so that spreadsheets do not run them as formulas
(`neutralise_formula`); reading undoes it (`unneutralise`).

Every command that reads a result (verify, evaluate, report, compare, a sweep) reads it here: a
file missing, not text, not CSV or JSON, a column missing or a cell that is not a number where
a number belongs (or one beyond any figure planner writes, `figure_fault`) raises
`ResultsError` naming the file (and the row and column), never a crash further on (a results
folder edited by hand, or damaged).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from planner.errors import ResultsError
from planner.formatting import UNSHOWABLE, unshowable
from planner.instance.csvfile import sniff_delimiter

SUMMARY_FILE = "summary.json"
FAILED_FILE = "failed.json"  # in place of summary.json, a sweep run that ended without a plan: why
RUNS = "runs"  # in a sweep's folder, one folder per run
WORKBOOK_FILE = "results.xlsx"
REPORT_FILE = "report.html"
EVALUATION_SUFFIX = "-evaluation"  # planner evaluate's default output: beside the results folder
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

TABLE_COLUMNS: dict[str, list[str]] = {  # the tables of a results folder (README, "Results")
    "contracts": ["option", "commodity", "origin", "processor", "selected", "fixed_cost", "agreement", "risk",
                  "total_volume", "origin_bloc", "processor_bloc"],
    "volumes": ["option", "commodity", "period", "volume"],
    "adaptive_volumes": ["option", "commodity", "period", "decision_period", "scenarios", "volume"],
    "agreements": ["agreement", "signed", "fixed_cost", "options_selected"],
    "scenario_costs": ["scenario", "probability", "worst_case_probability", "cost", "total_cost"],
    "supply": ["scenario", "commodity", "period", "demand", "delivered", "spot", "shortage", "disposed", "stock"],
    "spot": ["scenario", "option", "commodity", "period", "volume"],
    "exposure": ["commodity", "period", "scope", "name", "contracted", "demand", "share", "max_share", "supplied",
                 "supplied_share", "supplied_share_max", "max_supplied_share"],
}
OPTIONAL_COLUMNS = {"supply": {"disposed"}, "scenario_costs": {"worst_case_probability"},  # not in older results
                    "exposure": {"supplied", "supplied_share", "supplied_share_max", "max_supplied_share"}}
OPTIONAL_TABLES = {"adaptive_volumes"}  # not in older results: read as empty
NEVER_EMPTY = {"contracts", "scenario_costs", "supply", "exposure"}  # a row per option, scenario, material, ...
MAY_BE_BLANK = {("exposure", column) for column in ("share", "max_share", "supplied_share", "supplied_share_max",
                                                     "max_supplied_share")}  # (no demand, no limit)
TEXT_COLUMNS = {"option", "commodity", "origin", "processor", "agreement", "origin_bloc", "processor_bloc", "scenario",
                "period", "scope", "name", "scenarios", "decision_period"}
# no figure planner writes comes near it: its inputs are at most 1e15 in magnitude (docs/model.md section 5),
# so a volume or a cost is below 1e31, and a total over ten million cells below 1e38
LARGEST_FIGURE = 1e40
# what a summary.json holds whatever the result (the readers index these)
SUMMARY_TEXT = ("instance", "status")
SUMMARY_NUMBERS = ("risk_aversion", "cvar_alpha")

OWN_SCENARIOS = "instance"  # an evaluation's `scenarios` in summary.json when they are the instance's own


def default_output_dir(name: str) -> Path:
    """results/<instance name>, relative to the current folder."""
    return Path("results") / name


def neutralise_formula(text: object) -> object:
    """Prefix a quote to text cells a spreadsheet would run as a formula (user data only)."""
    if isinstance(text, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def unneutralise(text: object) -> object:
    """Undo `neutralise_formula` for text read back from our own CSV files."""
    if isinstance(text, str) and text.startswith("'") and text[1:2] in _FORMULA_START:
        return text[1:]
    return text


def scenario_probabilities(costs: pd.DataFrame) -> dict[str, float]:
    """Each scenario's probability by its name, from a result's scenario_costs table."""
    return dict(zip(map(unneutralise, costs["scenario"]), costs["probability"]))


def read_json_file(path: Path) -> dict:
    """A JSON object planner wrote; `ResultsError` when it is missing or is not one."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"{path}: is missing") from None
    except OSError as exc:  # its permissions, a folder in its place
        raise ResultsError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ResultsError(f"{path}: cannot be read ({exc})") from None
    if not isinstance(document, dict):
        raise ResultsError(f"{path}: expected a JSON object")
    return document


def edited_files(folder: Path) -> list[str]:
    """The data files of a results or sweep folder (not of its sub-folders) changed since planner
    wrote them, by the folder's manifest: read as they are now, so a report or comparison shows
    what was edited, which `planner verify` would name. None for a folder without a manifest."""
    from planner.results.manifest import changed_files

    return [name for name in changed_files(Path(folder)) if name.endswith((".csv", ".json"))]  # not a report


def read_summary(folder: Path, numbers: tuple[str, ...] = ()) -> dict:
    """summary.json of a results folder, a JSON object with its instance, status and risk settings
    and the figures `numbers` as finite numbers; `ResultsError` otherwise."""
    path = Path(folder) / SUMMARY_FILE
    why = None if path.exists() else without_plan(Path(folder)) or _a_sweep(Path(folder))
    if why:
        raise ResultsError(why)
    return checked_summary(read_json_file(path), path, numbers)


def without_plan(folder: Path) -> str | None:
    """Why `folder` has no plan when it is a sweep run that ended without one (failed.json in place
    of summary.json, with how it ended); None for any other folder."""
    path = Path(folder) / FAILED_FILE
    if not path.is_file():
        return None
    try:
        status = read_json_file(path).get("status")
    except ResultsError:
        status = None
    ended = f"{status}; " if isinstance(status, str) and not unshowable(status) else ""
    return f"{folder}: a sweep run that ended without a plan ({ended}{FAILED_FILE} says why): there is no plan to read"


def _a_sweep(folder: Path) -> str | None:
    """What to give instead of `folder` when it is a sweep's (by its manifest); None otherwise."""
    from planner.results.manifest import Kind, read_manifest

    if (read_manifest(folder) or {}).get("kind") != Kind.SWEEP:
        return None
    return f"{folder}: a sweep's folder, not one result: give one of its runs, in {folder / RUNS}"


def checked_summary(summary: dict, path: Path, numbers: tuple[str, ...] = ()) -> dict:
    """`summary`, read from `path`, as `read_summary` takes it; `ResultsError` otherwise."""
    wrong = [key for key in SUMMARY_TEXT if not isinstance(summary.get(key), str)]
    wrong += [key for key in SUMMARY_NUMBERS + numbers if not _is_number(summary.get(key))]
    if wrong:
        raise ResultsError(f"{path}: {', '.join(wrong)}: missing, or not as planner wrote it (the instance and "
                           "status text, the figures numbers)")
    held = [key for key, value in summary.items() if any(unshowable(text) for text in _texts([key, value]))]
    if held:
        raise ResultsError(f"{path}: a control character in {', '.join(map(repr, held))}, which planner never "
                           "writes: damaged or edited by hand?")
    return summary


def _texts(value: object) -> Iterator[str]:
    """Every text in a JSON value: its strings, and its objects' keys, at any depth."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _texts(key)
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def figure_fault(value: float) -> str:
    """What is wrong with `value` as a figure of a result planner wrote ("" when nothing): not a
    number (text, blank), infinite (1e400), or beyond any figure planner writes (1e308, which
    matplotlib's ticks overflow on)."""
    if math.isnan(value):
        return "is not a number"
    if math.isinf(value):
        return "is not a finite number"
    if abs(value) > LARGEST_FIGURE:
        return f"is beyond any figure planner writes (at most {LARGEST_FIGURE:g} in magnitude)"
    return ""


def first_wrong_figure(numbers: pd.Series, wrong: pd.Series) -> int | None:
    """The first row of `numbers` that `wrong` marks (a cell that was not read as a number), or
    whose figure is infinite or beyond LARGEST_FIGURE; None when there is none."""
    wrong = wrong | (numbers.abs() > LARGEST_FIGURE)
    return int(wrong.to_numpy().argmax()) if wrong.any() else None


INFERRED_TEXT = ("id", "status", "reason")  # text in a sweep's table, whatever it looks like


def read_inferred(path: Path, columns: list[str]) -> pd.DataFrame:
    """A CSV file planner wrote whose columns vary (a sweep's table), each column's type inferred
    by pandas (blank cells NaN) but INFERRED_TEXT's: a run's id is 10 hex digits, one in sixty
    reads as a number (3470957e12), and where every id of a sweep did (a sweep of one run) it
    was taken for 3.470957e+18, its folder not found; `ResultsError` when it cannot be read or
    lacks one of `columns`."""
    return _read_csv(path, columns, keep_default_na=False, na_values=[""], dtype=dict.fromkeys(INFERRED_TEXT, str))


def _layout(path: Path) -> tuple[str, str]:
    """The delimiter and encoding of a results CSV as a spreadsheet may have saved it again (a
    plan edited in Excel to be evaluated): planner writes commas and UTF-8; Excel in a language
    with decimal commas writes semicolons, and its "Unicode text" UTF-16 with tabs. Sniffed from
    the header row, as instance files are (`csvfile.sniff_delimiter`)."""
    with open(path, "rb") as fh:
        head = fh.read(65536)
    encoding = "utf-16" if head.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    return sniff_delimiter(head.decode(encoding, errors="replace")), encoding


def _read_csv(path: Path, columns: list[str], **options: object) -> pd.DataFrame:
    try:
        delimiter, encoding = _layout(path)
        table = pd.read_csv(path, sep=delimiter, encoding=encoding,
                            **({"decimal": ","} if delimiter == ";" else {}), **options)
        table.attrs["decimal_comma"] = delimiter == ";"
    except FileNotFoundError:
        raise ResultsError(f"{path}: is missing") from None
    except OSError as exc:
        raise ResultsError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:  # (saved again by a spreadsheet in its local code page)
        raise ResultsError(f"{path}: byte 0x{exc.object[exc.start:exc.start + 1].hex()} is not UTF-8 text: save it "
                           "as 'CSV UTF-8' (Excel) or with character set 'Unicode (UTF-8)' (LibreOffice)") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ResultsError(f"{path}: cannot be read as a table planner wrote ({exc})") from None
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ResultsError(f"{path}: missing columns {', '.join(missing)}")
    return table


def read_csv_file(path: Path, columns: list[str], text: bool = True,
                  blank: frozenset[str] = frozenset()) -> pd.DataFrame:
    """A CSV file planner wrote, every cell as text (`text`; formulas unneutralised) or with the
    columns not in TEXT_COLUMNS as numbers (blank cells NaN, allowed only in the columns `blank`);
    `ResultsError` when it cannot be read, lacks one of `columns`, or holds something else than a
    number where one belongs."""
    table = _read_csv(path, columns, dtype=str, keep_default_na=False, na_values=[])
    for column in table.columns:
        if said := unshowable(str(column)):
            raise ResultsError(f"{path}:1: the column {column!r} {said}, which planner never "
                               "writes: damaged or edited by hand?")
        table[column] = table[column].map(unneutralise)
        held = table[column].str.contains(UNSHOWABLE)
        if held.any():  # (planner writes none: the loader refuses them; a workbook cannot hold them)
            row = int(held.to_numpy().argmax())
            value = table[column].iloc[row]
            raise ResultsError(f"{path}:{row + 2}:{column}: {value!r} {unshowable(value)}, which planner never "
                               "writes: damaged or edited by hand?")
        if table.attrs.get("decimal_comma") and column not in TEXT_COLUMNS:  # saved again as 0,5
            table[column] = table[column].str.replace(",", ".", regex=False)
    if text:
        return table
    for column in table.columns:
        if column in TEXT_COLUMNS:
            continue
        cells = table[column].str.strip()
        numbers = pd.to_numeric(cells.where(cells != ""), errors="coerce")
        row = first_wrong_figure(numbers, numbers.isna() & ((cells != "") | (column not in blank)))
        if row is not None:  # (planner writes every figure finite and bounded: 1e400 or 1e308 was edited in)
            raise ResultsError(f"{path}:{row + 2}:{column}: {table[column].iloc[row]!r} "
                               f"{figure_fault(numbers.iloc[row])}")
        table[column] = numbers
    return table


def read_table(folder: Path, name: str, text: bool = False) -> pd.DataFrame:
    """The table `name` of a results folder (`read_csv_file`); an optional table that is absent
    reads as empty."""
    path = Path(folder) / f"{name}.csv"
    if name in OPTIONAL_TABLES and not path.is_file():
        table = pd.DataFrame(columns=TABLE_COLUMNS[name], dtype=str if text else object)
    elif not path.is_file():
        raise ResultsError(f"{path}: is missing; a results folder holds {', '.join(TABLE_COLUMNS)} (.csv)")
    else:
        required = [c for c in TABLE_COLUMNS[name] if c not in OPTIONAL_COLUMNS.get(name, ())]
        table = read_csv_file(path, required, text, frozenset(c for t, c in MAY_BE_BLANK if t == name))
        if not text and name in NEVER_EMPTY and table.empty:
            raise ResultsError(f"{path}: has no rows")
    table.attrs["name"] = name  # (verify names the table in what it reports)
    return table
