"""The result tables as one Excel workbook, ready for procurement spreadsheets.

- A sheet per table, numbers stored as numbers with a number format per column kind
  (`planner.results.columns`: money in the currency, volumes in the unit, shares and gaps
  in percent), periods as numbers where they are numbers, a frozen header and an
  autofilter on every sheet.
- `summary`: the headline figures, the agreements signed, the worst scenario, the worst
  case and the hedging metrics, each with its format.
- Two pivot-style sheets: contracted volume by material x period, and by material and bloc
  of origin x period.

Text is stored as text: every text cell is written with the string type, so a value such as
"=HYPERLINK(...)" from user data shows as text and can never run as a formula.

A table longer than a sheet holds (Excel's 1,048,576 rows, the header one of them) goes on
in sheets of its own, `supply (2)`, `supply (3)`, ..., each with the header: a result of
20 materials x 15 periods x 5,000 scenarios has 1.5 million rows of supply, and writing its
workbook failed after the solve, with the result itself (both are written as one). The
workbook is written by XlsxWriter, row by row with the sheets on disk (`constant_memory`):
openpyxl, which wrote it before, held every cell as an object (README, "Reports", has the
measurements).
"""

from __future__ import annotations

import io
import math
import tempfile
from pathlib import Path

import pandas as pd
import xlsxwriter

from planner.errors import OutputError
from planner.formatting import csv_value, evaluation_findings, unbounded_vss
from planner.results.branches import expected_volumes
from planner.results.columns import Kind, kind_of
from planner.results.folder import TABLE_COLUMNS, read_summary, read_table, scenario_probabilities, unneutralise
from planner.results.ownership import GENERATOR, write_file

MAX_WIDTH = 60
PIVOT_SHEETS = ("volume by material", "volume by bloc")
SHEET_ROWS = 1_048_576  # Excel's rows per sheet, the header one of them


def _quoted(text: str) -> str:
    return '"' + text.replace('"', "") + '"'


def number_format(kind: Kind, currency: str, unit: str, small: bool = False) -> str:
    """Excel's number format for a column kind ("General" for text); `small`: for figures below 1
    (an instance in billions of a currency, in kilotonnes), money and volumes show up to 6
    decimals where they showed 0.02 for 0.0237 and 0.00 for 0.004."""
    digits = "0.00####" if small else "0.00"
    return {
        Kind.MONEY: f"#,##{digits} {_quoted(currency)}" if currency else f"#,##{digits}",
        Kind.VOLUME: f"#,##{digits} {_quoted(unit)}" if unit else f"#,##{digits}",
        Kind.SHARE: "0.0%",
        Kind.GAP: "0.0000%",
        Kind.PROBABILITY: "0.0000",
        Kind.RATIO: "0.000",
        Kind.FLAG: "0",
        Kind.COUNT: "#,##0",
        Kind.PERIOD: "0",
        Kind.SECONDS: "#,##0.0",
        Kind.NUMBER: "General",
    }.get(kind, "General")


def _value(value: object) -> object:
    """The cell's value: what the CSV files hold (numbers to 12 significant digits)."""
    value = value.item() if hasattr(value, "item") else value
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float):
        return csv_value(value)
    return unneutralise(value)


class _Sheet:
    """One worksheet written row by row: numbers as numbers in their format, text as text
    (never a formula), the widths of its columns taken from its first rows."""

    def __init__(self, book: _Book, title: str, formats: list[str], widths: list[int]) -> None:
        self.book, self.formats = book, [book.format(f) for f in formats]
        self.sheet = book.workbook.add_worksheet(title)
        for j, width in enumerate(widths):
            self.sheet.set_column(j, j, min(MAX_WIDTH, width + 2))
        self.sheet.freeze_panes(1, 0)
        self.rows, self.columns = 0, len(widths)  # (rows written so far: put sets it)

    def header(self, names: list[object], fmt: str = "General") -> None:
        for j, name in enumerate(names):
            self.put(0, j, name, self.book.format(fmt, bold=True))

    def append(self, values: list[object] | tuple[object, ...]) -> None:
        row = self.rows
        for j, value in enumerate(values):
            self.put(row, j, value, self.formats[j] if j < len(self.formats) else None)
        self.rows = row + 1  # (a row of blanks too)

    def put(self, row: int, column: int, value: object, fmt: object = None) -> None:
        self.rows = max(self.rows, row + 1)
        value = _value(value)
        if value is None:
            return
        if isinstance(value, bool):
            self.sheet.write_boolean(row, column, value, fmt)
        elif isinstance(value, (int, float)):
            self.sheet.write_number(row, column, value, fmt)
        else:
            self.sheet.write_string(row, column, str(value), fmt)

    def close(self) -> None:
        """The autofilter over the header and every row written."""
        if self.columns:
            self.sheet.autofilter(0, 0, max(self.rows - 1, 0), self.columns - 1)


class _Book:
    """The workbook and its cell formats, one per number format (bold for headers)."""

    def __init__(self, output: io.BytesIO, tmpdir: str) -> None:
        self.workbook = xlsxwriter.Workbook(output, {
            "constant_memory": True, "tmpdir": tmpdir, "strings_to_formulas": False, "strings_to_numbers": False,
            "strings_to_urls": False, "nan_inf_to_errors": True})
        self.workbook.set_properties({"author": GENERATOR})  # how planner recognises a workbook it wrote
        self._formats: dict[tuple[str, bool], object] = {}

    def format(self, number_format: str, bold: bool = False) -> object:
        key = (number_format, bold)
        if key not in self._formats:
            self._formats[key] = self.workbook.add_format({"num_format": number_format, "bold": bold})
        return self._formats[key]


def _small(column: pd.Series) -> bool:
    """Whether a column's figures are all below 1 and some not 0 (they need more than cents)."""
    numbers = pd.to_numeric(column, errors="coerce").abs()
    return bool(numbers.max() < 1 and (numbers > 0).any()) if numbers.notna().any() else False


def _column_width(name: str, column: pd.Series, kind: Kind, currency: str, unit: str, small: bool) -> int:
    """About how many characters the widest cell of a column shows in its number format (a column
    narrower than a number shows ### in its place): its largest figure with cents (4 more
    decimals in a column of small figures) and the currency or unit after money or volumes; text
    as it is. From every row, not the first ones: a spot table's large buys came later."""
    if column.dtype.kind not in "fiub" or column.isna().all():
        lengths = column.dropna().astype(str).str.len()
        return max(len(str(name)), int(lengths.max()) if len(lengths) else 0)
    numbers = column.astype(float)
    biggest = numbers.abs().max()
    text = f"{biggest:,.2f}" if column.dtype.kind == "f" else f"{int(biggest):,}"
    suffix = {Kind.MONEY: currency, Kind.VOLUME: unit}.get(kind, "")
    shown = len(text) + bool((numbers < 0).any()) + 4 * small + (len(suffix) + 1 if suffix else 0)
    return max(len(str(name)), shown)


def _numeric_periods(frame: pd.DataFrame) -> pd.DataFrame:
    """Periods as numbers where every one is a whole number ("2026" -> 2026)."""
    if "period" in frame.columns:
        text = frame["period"].astype(str)
        if len(text) and text.str.fullmatch(r"-?\d{1,9}").all():
            return frame.assign(period=text.astype(int))
    return frame


def _sheets(book: _Book, title: str, frame: pd.DataFrame, currency: str, unit: str) -> None:
    """`frame` on sheet `title`, and where it is longer than a sheet holds, on `title (2)`, ..."""
    frame = _numeric_periods(frame)
    small = [kind_of(c) in (Kind.MONEY, Kind.VOLUME) and _small(frame[c]) for c in frame.columns]  # (formats' own)
    formats = [number_format(kind_of(c), currency, unit, tiny) for c, tiny in zip(frame.columns, small)]
    widths = [_column_width(name, frame[name], kind_of(name), currency, unit, tiny)
              for name, tiny in zip(frame.columns, small)]
    per_sheet = SHEET_ROWS - 1
    for part, start in enumerate(range(0, max(len(frame), 1), per_sheet), start=1):
        sheet = _Sheet(book, title if part == 1 else f"{title} ({part})", formats, widths)
        sheet.header(list(map(str, frame.columns)))
        for record in frame.iloc[start:start + per_sheet].itertuples(index=False):
            sheet.append(record)
        sheet.close()


def summary_rows(summary: dict, tables: dict[str, pd.DataFrame]) -> list[tuple[str, object, Kind]]:
    """The summary sheet: (figure, value, kind) rows."""
    rows: list[tuple[str, object, Kind]] = []
    for key, value in summary.items():
        if not isinstance(value, (dict, list)):
            rows.append((key, value, kind_of(key) if key != "scenarios" else Kind.COUNT))
    for key, value in (summary.get("model") or {}).items():
        rows.append((f"model.{key}", value, Kind.COUNT))
    for key, value in (summary.get("worst_case") or {}).items():
        rows.append((f"worst_case.{key}", value, Kind.MONEY))
    agreements = tables.get("agreements")
    if agreements is not None:
        signed = agreements[agreements["signed"] == 1]["agreement"].map(unneutralise)
        rows.append(("agreements signed", ", ".join(map(str, signed)) or "none", Kind.TEXT))
    costs = tables.get("scenario_costs")
    if costs is not None and not costs.empty:
        worst = costs.loc[costs["total_cost"].idxmax()]
        rows += [("worst scenario", unneutralise(worst["scenario"]), Kind.TEXT),
                 ("worst scenario total_cost", float(worst["total_cost"]), Kind.MONEY),
                 ("worst scenario probability", float(worst["probability"]), Kind.PROBABILITY)]
    evaluation = summary.get("evaluation")
    if isinstance(evaluation, dict):
        rows += [(f"evaluation.{key}", str(evaluation.get(key, "")), Kind.TEXT)
                 for key in ("plan", "scenarios", "rules")]
        if costs is not None:
            rows += [(what, finding, Kind.TEXT)
                     for what, finding in evaluation_findings(evaluation, scenario_probabilities(costs))]
    metrics = summary.get("metrics") or {}
    for key in ("evpi", "wait_and_see", "vss", "eev", "eev_shortfalls_paid", "expected_value_problem"):
        if metrics.get(key) is not None:
            rows.append((f"metrics.{key}", metrics[key], Kind.MONEY))
        elif key == "vss" and "evpi" in metrics:  # unbounded: why, where a spreadsheet would show nothing
            rows.append(("metrics.vss", unbounded_vss(metrics), Kind.TEXT))
    oos = metrics.get("out_of_sample") or {}
    if "expected_cost" in oos:
        rows += [("metrics.out_of_sample.expected_cost", oos["expected_cost"], Kind.MONEY),
                 ("metrics.out_of_sample.ci95_low", oos["ci95"][0], Kind.MONEY),
                 ("metrics.out_of_sample.ci95_high", oos["ci95"][1], Kind.MONEY),
                 ("metrics.out_of_sample.samples", oos["samples"], Kind.COUNT)]
    for key, value in (metrics.get("price_of_robustness") or {}).items():
        rows.append((f"metrics.price_of_robustness.{key}", value, Kind.MONEY))
    return rows


def _summary_sheet(book: _Book, summary: dict, tables: dict[str, pd.DataFrame]) -> None:
    currency, unit = str(summary.get("currency", "")), str(summary.get("unit", ""))
    rows = summary_rows(summary, tables)
    sheet = _Sheet(book, "summary", [], [max(len(k) for k, _, _ in rows), 24])
    sheet.header(["figure", "value"])
    for i, (key, value, kind) in enumerate(rows, start=1):
        sheet.put(i, 0, key)
        small = isinstance(value, (int, float)) and 0 < abs(value) < 1
        sheet.put(i, 1, value, book.format(number_format(kind, currency, unit, small)))
    sheet.close()


def pivot_tables(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Contracted volume by material x period, and by material and bloc of origin x period
    (a multi-stage plan's later volumes at their probability-weighted mean)."""
    volumes = _numeric_periods(expected_volumes(tables["volumes"], tables["adaptive_volumes"],
                                                tables["scenario_costs"]))
    bloc = dict(zip(tables["contracts"]["option"], tables["contracts"]["origin_bloc"]))
    by_material = volumes.pivot_table(index="commodity", columns="period", values="volume", aggfunc="sum",
                                      fill_value=0.0, sort=False)
    by_bloc = volumes.assign(origin_bloc=volumes["option"].map(bloc)).pivot_table(
        index=["commodity", "origin_bloc"], columns="period", values="volume", aggfunc="sum", fill_value=0.0,
        sort=False)
    for frame in (by_material, by_bloc):
        frame["total"] = frame.sum(axis=1)
    return {PIVOT_SHEETS[0]: by_material, PIVOT_SHEETS[1]: by_bloc}


def _pivot_sheet(book: _Book, title: str, frame: pd.DataFrame, unit: str) -> None:
    names = list(frame.index.names)
    small = _small(pd.Series(frame.to_numpy().ravel()))
    widths = ([max(12, *(len(str(x)) for x in frame.index.get_level_values(n))) for n in range(len(names))]
              + [max(10, _column_width(str(c), frame[c].astype(float), Kind.VOLUME, "", unit, small))
                 for c in frame.columns])
    volumes = number_format(Kind.VOLUME, "", unit, small)
    sheet = _Sheet(book, title, ["General"] * len(names) + [volumes] * len(frame.columns), widths)
    sheet.header([*names, *frame.columns], "0")  # periods as numbers where they are
    for key, values in frame.iterrows():
        labels = key if isinstance(key, tuple) else (key,)
        sheet.append([*labels, *map(float, values)])
    sheet.close()


def workbook_from_tables(summary: dict, tables: dict[str, pd.DataFrame], out: Path) -> Path:
    """Write `summary` and `tables` to the workbook `out`, whole or not at all (`write_file`)."""
    currency, unit = str(summary.get("currency", "")), str(summary.get("unit", ""))

    content = io.BytesIO()  # the zip built in memory: a full disk then fails a plain write, not the zip's
    try:
        with tempfile.TemporaryDirectory(prefix="planner-workbook-") as tmpdir:  # the sheets, while written
            book = _Book(content, tmpdir)
            _summary_sheet(book, summary, tables)
            for name in TABLE_COLUMNS:
                _sheets(book, name, tables[name], currency, unit)
            for title, frame in pivot_tables(tables).items():
                _pivot_sheet(book, title, frame, unit)
            book.workbook.close()
    except OSError as exc:  # the temporary folder's disk full
        raise OutputError(f"cannot write {out}: {exc.strerror or exc} (in {tempfile.gettempdir()})") from None
    return write_file(Path(out), lambda path: path.write_bytes(content.getvalue()), option="--xlsx")


def workbook_from_results(results: Path, out: Path) -> Path:
    """The workbook of a results folder (summary.json and the CSV tables)."""
    tables = {name: read_table(results, name) for name in TABLE_COLUMNS}
    return workbook_from_tables(read_summary(results), tables, out)
