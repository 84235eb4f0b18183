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
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from planner.formatting import csv_value, evaluation_findings, unbounded_vss
from planner.results.branches import expected_volumes
from planner.results.columns import Kind, kind_of
from planner.results.folder import TABLE_COLUMNS, read_summary, read_table, scenario_probabilities, unneutralise
from planner.results.ownership import GENERATOR, write_file

MAX_WIDTH = 60
PIVOT_SHEETS = ("volume by material", "volume by bloc")


def _quoted(text: str) -> str:
    return '"' + text.replace('"', "") + '"'


def number_format(kind: Kind, currency: str, unit: str) -> str:
    """Excel's number format for a column kind ("General" for text)."""
    return {
        Kind.MONEY: f"#,##0.00 {_quoted(currency)}" if currency else "#,##0.00",
        Kind.VOLUME: f"#,##0.00 {_quoted(unit)}" if unit else "#,##0.00",
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


def _put(sheet, row: int, column: int, value: object, fmt: str = "General") -> None:  # noqa: ANN001 - worksheet
    value = _value(value)
    if value is None:
        return
    cell = sheet.cell(row=row, column=column)
    if isinstance(value, (bool, int, float)):
        cell.value = value
        cell.number_format = fmt
    else:
        cell.value = str(value)
        cell.data_type = "s"  # text, never a formula


def _numeric_periods(frame: pd.DataFrame) -> pd.DataFrame:
    """Periods as numbers where every one is a whole number ("2026" -> 2026)."""
    if "period" in frame.columns:
        text = frame["period"].astype(str)
        if len(text) and text.str.fullmatch(r"-?\d{1,9}").all():
            return frame.assign(period=text.astype(int))
    return frame


def _finish(sheet, widths: list[int]) -> None:  # noqa: ANN001 - worksheet
    for j, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(j)].width = min(MAX_WIDTH, width + 2)
    sheet.freeze_panes = "A2"
    if sheet.max_row >= 1 and sheet.max_column >= 1:
        sheet.auto_filter.ref = sheet.dimensions


def _sheet(workbook: Workbook, title: str, frame: pd.DataFrame, currency: str, unit: str) -> None:
    sheet = workbook.create_sheet(title=title)
    frame = _numeric_periods(frame)
    bold = Font(bold=True)
    formats = [number_format(kind_of(c), currency, unit) for c in frame.columns]
    for j, name in enumerate(frame.columns, start=1):
        _put(sheet, 1, j, str(name))
        sheet.cell(row=1, column=j).font = bold
    for i, record in enumerate(frame.itertuples(index=False), start=2):
        for j, value in enumerate(record, start=1):
            _put(sheet, i, j, value, formats[j - 1])
    widths = [max([len(str(name)), *(len(f"{v:,.2f}") if isinstance(v, float) else len(str(v))
                                     for v in frame.iloc[:200, j])]) for j, name in enumerate(frame.columns)]
    _finish(sheet, widths)


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


def _summary_sheet(workbook: Workbook, summary: dict, tables: dict[str, pd.DataFrame]) -> None:
    sheet = workbook.create_sheet(title="summary")
    currency, unit = str(summary.get("currency", "")), str(summary.get("unit", ""))
    for j, name in enumerate(("figure", "value"), start=1):
        _put(sheet, 1, j, name)
        sheet.cell(row=1, column=j).font = Font(bold=True)
    rows = summary_rows(summary, tables)
    for i, (key, value, kind) in enumerate(rows, start=2):
        _put(sheet, i, 1, key)
        _put(sheet, i, 2, value, number_format(kind, currency, unit))
    _finish(sheet, [max(len(k) for k, _, _ in rows), 24])


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


def _pivot_sheet(workbook: Workbook, title: str, frame: pd.DataFrame, unit: str) -> None:
    sheet = workbook.create_sheet(title=title)
    names = list(frame.index.names)
    fmt = number_format(Kind.VOLUME, "", unit)
    for j, name in enumerate([*names, *frame.columns], start=1):
        _put(sheet, 1, j, name, "0")  # periods as numbers where they are
        sheet.cell(row=1, column=j).font = Font(bold=True)
    for i, (key, values) in enumerate(frame.iterrows(), start=2):
        labels = key if isinstance(key, tuple) else (key,)
        for j, label in enumerate(labels, start=1):
            _put(sheet, i, j, label)
        for j, value in enumerate(values, start=len(labels) + 1):
            _put(sheet, i, j, float(value), fmt)
    _finish(sheet, [max(12, *(len(str(x)) for x in frame.index.get_level_values(n))) for n in range(len(names))]
            + [14] * len(frame.columns))


def workbook_from_tables(summary: dict, tables: dict[str, pd.DataFrame], out: Path) -> Path:
    """Write `summary` and `tables` to the workbook `out`, whole or not at all."""
    workbook = Workbook()
    workbook.properties.creator = GENERATOR  # how planner recognises a workbook it wrote
    workbook.remove(workbook.active)
    currency, unit = str(summary.get("currency", "")), str(summary.get("unit", ""))
    _summary_sheet(workbook, summary, tables)
    for name in TABLE_COLUMNS:
        _sheet(workbook, name, tables[name], currency, unit)
    for title, frame in pivot_tables(tables).items():
        _pivot_sheet(workbook, title, frame, unit)
    content = io.BytesIO()  # built in memory: a full disk then fails a plain write, not openpyxl's zip
    workbook.save(content)  # (whose later clean-up printed a traceback of its own)
    return write_file(Path(out), lambda path: path.write_bytes(content.getvalue()), option="--xlsx")


def workbook_from_results(results: Path, out: Path) -> Path:
    """The workbook of a results folder (summary.json and the CSV tables)."""
    tables = {name: read_table(results, name) for name in TABLE_COLUMNS}
    return workbook_from_tables(read_summary(results), tables, out)
