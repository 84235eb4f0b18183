"""The result tables as one Excel workbook: a sheet per table, typed cells, frozen headers.

Numbers are stored as numbers and text as text: every text cell is written with the
string type, so a value such as "=HYPERLINK(...)" from user data shows as text and can
never run as a formula (no quote prefix is needed, unlike in the CSV files).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from planner.results.folder import read_summary, read_table, unneutralise
from planner.results.ownership import GENERATOR, write_file
from planner.results.plan import TABLE_COLUMNS

MAX_WIDTH = 60


def _put(sheet, row: int, column: int, value: object) -> None:  # noqa: ANN001 - openpyxl worksheet
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return
    cell = sheet.cell(row=row, column=column)
    if isinstance(value, (bool, int, float)) and not isinstance(value, str):
        cell.value = value
    else:
        cell.value = str(value)
        cell.data_type = "s"  # text, never a formula


def _sheet(workbook: Workbook, title: str, frame: pd.DataFrame) -> None:
    sheet = workbook.create_sheet(title=title)
    bold = Font(bold=True)
    for j, name in enumerate(frame.columns, start=1):
        _put(sheet, 1, j, name)
        sheet.cell(row=1, column=j).font = bold
    for i, record in enumerate(frame.itertuples(index=False), start=2):
        for j, value in enumerate(record, start=1):
            _put(sheet, i, j, value.item() if hasattr(value, "item") else unneutralise(value))
    for j, name in enumerate(frame.columns, start=1):
        longest = max([len(str(name)), *(len(f"{v:,.6g}" if isinstance(v, float) else str(v))
                                          for v in frame.iloc[:200, j - 1])])
        sheet.column_dimensions[get_column_letter(j)].width = min(MAX_WIDTH, longest + 2)
    sheet.freeze_panes = "A2"


def workbook_from_tables(summary: dict, tables: dict[str, pd.DataFrame], out: Path) -> Path:
    """Write `summary` (as a key/value sheet) and `tables` to the workbook `out`, whole or not at all."""
    workbook = Workbook()
    workbook.properties.creator = GENERATOR  # how planner recognises a workbook it wrote
    workbook.remove(workbook.active)
    flat = {k: v for k, v in summary.items() if not isinstance(v, dict)}
    flat.update({f"model.{k}": v for k, v in summary.get("model", {}).items()})
    _sheet(workbook, "summary", pd.DataFrame({"figure": list(flat), "value": list(flat.values())}))
    for name in TABLE_COLUMNS:
        _sheet(workbook, name, tables[name])
    return write_file(Path(out), workbook.save, option="--xlsx")


def workbook_from_results(results: Path, out: Path) -> Path:
    """The workbook of a results folder (summary.json and the CSV tables)."""
    tables = {name: read_table(results, name) for name in TABLE_COLUMNS}
    return workbook_from_tables(read_summary(results), tables, out)
