"""A results folder read without the solver stack: its file names, and its cells as written.

Text cells that came from the user's data and start with `=`, `+`, `-`, `@`, tab or CR are
written with a `'` in front, so that spreadsheets do not run them as formulas
(`neutralise_formula`); reading undoes it (`unneutralise`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

SUMMARY_FILE = "summary.json"
WORKBOOK_FILE = "results.xlsx"
REPORT_FILE = "report.html"
EVALUATION_SUFFIX = "-evaluation"  # planner evaluate's default output: beside the results folder
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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


def read_summary(folder: Path) -> dict:
    with open(Path(folder) / SUMMARY_FILE, encoding="utf-8") as fh:
        return json.load(fh)


def read_table(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(Path(folder) / f"{name}.csv", keep_default_na=False, na_values=[""])
