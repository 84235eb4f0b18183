"""Writing results safely: a folder at a time, all or nothing (`planner.results.ownership`)."""

from __future__ import annotations

import json
import math
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from planner.errors import OutputError
from planner.formatting import csv_values
from planner.results.folder import REPORT_FILE, SUMMARY_FILE, WORKBOOK_FILE, neutralise_formula
from planner.results.manifest import Kind, read_manifest, record_files, staged_file
from planner.results.ownership import inspect, staged_folder

if TYPE_CHECKING:
    from planner.solve.pipeline import Outcome


def _json_ready(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, StrEnum):
        return str(value)
    return value


def write_csv(path: Path, table: pd.DataFrame) -> None:
    """A table as CSV: text cells a spreadsheet would run as a formula are neutralised, and
    numbers are written rounded to 12 significant digits (`formatting.csv_values`: no float noise)."""
    safe = table.copy()
    for col in safe.columns:
        if pd.api.types.is_float_dtype(safe[col]):
            safe[col] = csv_values(safe[col].tolist())
        elif not pd.api.types.is_numeric_dtype(safe[col]):
            safe[col] = safe[col].map(neutralise_formula)
    safe.to_csv(path, index=False, lineterminator="\n")


def write_tables(folder: Path, tables: dict[str, pd.DataFrame]) -> None:
    """One CSV per table (`write_csv`)."""
    for name, table in tables.items():
        write_csv(folder / f"{name}.csv", table)


def write_json(path: Path, content: dict) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(_json_ready(content), fh, indent=2)
        fh.write("\n")


def write_results(outcome: Outcome, folder: Path, force: bool = False, xlsx: bool = False, report: bool = False,
                  kind: Kind = Kind.RESULTS) -> Path:
    """Write summary.json and the result CSVs into `folder`, all or nothing.

    The folder is written beside its target and swapped in whole (`planner.results.ownership`): an
    earlier result of planner's is replaced, anything planner did not write is refused.
    `xlsx` adds the workbook `results.xlsx`, `report` the HTML report `report.html`.
    """
    folder = Path(folder)
    with staged_folder(folder, kind, force) as staging:
        write_tables(staging, outcome.tables)
        summary = _json_ready(outcome.summary())
        if xlsx:
            from planner.results.workbook import workbook_from_tables  # openpyxl only when asked for

            workbook_from_tables(summary, outcome.tables, staging / WORKBOOK_FILE)
        write_json(staging / SUMMARY_FILE, summary)
        if report:
            from planner.results.report import render_report  # matplotlib only when asked for

            (staging / REPORT_FILE).write_text(render_report(staging), encoding="utf-8")
    return folder


def _scenario_frames(scenarios: pd.DataFrame, disruptions: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {"scenarios": scenarios.drop(columns=["_row"]), "disruptions": disruptions.drop(columns=["_row"])}


def write_scenario_folder(folder: Path, scenarios: pd.DataFrame, disruptions: pd.DataFrame,
                          force: bool = False) -> Path:
    """scenarios.csv and disruptions.csv as a folder of their own (planner scenarios --out)."""
    with staged_folder(folder, Kind.SCENARIOS, force) as staging:
        write_tables(staging, _scenario_frames(scenarios, disruptions))
    return Path(folder)


def write_scenarios_into(instance_folder: Path, scenarios: pd.DataFrame, disruptions: pd.DataFrame,
                         force: bool = False) -> list[Path]:
    """scenarios.csv and disruptions.csv into an instance folder (planner scenarios --into-instance).

    An existing file there is replaced only when planner wrote it (recorded in the folder's
    manifest; `force` when it changed since); a file of the user's is never touched.
    """
    folder = Path(instance_folder)
    frames = _scenario_frames(scenarios, disruptions)
    manifest = read_manifest(folder)
    recorded = manifest["files"] if manifest else {}
    owned = inspect(folder)
    for name in frames:
        path = folder / f"{name}.csv"
        if not path.exists():
            continue
        if path.name not in recorded:
            raise OutputError(f"{path} exists and planner did not write it; planner never replaces it: remove it "
                              "yourself, or write the scenarios to a folder of their own with --out")
        if path.name in owned.changed and not force:
            raise OutputError(f"{path} was written by planner but changed since; pass --force to replace it")
    written = []
    for name, frame in frames.items():
        path = folder / f"{name}.csv"
        try:
            with staged_file(path) as staging:
                write_csv(staging, frame)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
        written.append(path)
    record_files(folder, [p.name for p in written])
    return written
