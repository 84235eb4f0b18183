"""The HTML report and the Excel workbook, tested for real.

The HTML is parsed and every chart and table checked against the CSVs; it is rendered in
headless Chromium; the workbook is read back with openpyxl and converted back to CSV by
LibreOffice. Chromium and LibreOffice are installed by .ci/run; outside CI the two tests
that need them are skipped when the programs are missing.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from html.parser import HTMLParser

import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import four_suppliers
from openpyxl import load_workbook

from planner import cli
from planner.results.plan import TABLE_COLUMNS

IN_CI = os.environ.get("CI") == "true"


def _program(*names):
    found = next((shutil.which(n) for n in names if shutil.which(n)), None)
    if found is None and not IN_CI:
        pytest.skip(f"{names[0]} is not installed (CI installs it)")
    assert found, f"{names[0]} must be installed in CI"
    return found


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """The bundled four-supplier instance with a formula-like and a markup-like option name."""
    base = tmp_path_factory.mktemp("report")
    folder = four_suppliers(base / "inst")
    text = (folder / "options.csv").read_text()
    text = text.replace("CN2,", "=HYPERLINK(1),").replace("RU1,", "<b>RU1</b>,")
    (folder / "options.csv").write_text(text)
    (folder / "limits.csv").write_text("scope,name,commodity,max_share\nbloc,china,*,0.4\nbloc,russia,*,0.9\n")
    out = base / "res"
    result = CliRunner().invoke(cli.main, ["solve", str(folder), "--out", str(out), "--xlsx", "--report"])
    assert result.exit_code == 0, result.output
    return out


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.stack, self.svgs_in, self.rows, self.row_classes = set(), [], {}, {}, {}
        self.external = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for key in ("src", "href"):
            if str(attrs.get(key, "")).startswith(("http:", "https:", "//")):
                self.external.append(attrs[key])
        if tag in ("link", "script") and (attrs.get("src") or attrs.get("href")):
            self.external.append(tag)
        owner = next((i for i in reversed(self.stack) if i), None)
        if tag == "svg" and owner:
            self.svgs_in[owner] = self.svgs_in.get(owner, 0) + 1
        if tag == "tr" and owner:
            self.rows[owner] = self.rows.get(owner, 0) + 1
            if attrs.get("class") == "binding":
                self.row_classes[owner] = self.row_classes.get(owner, 0) + 1
        self.stack.append(attrs.get("id") if tag in ("figure", "table", "section") else None)

    def handle_endtag(self, tag):
        if self.stack:
            self.stack.pop()


def test_html_report_has_every_chart_and_table(results):
    html = (results / "report.html").read_text()
    parsed = _Collector()
    parsed.feed(html)
    for section in ("headline", "volumes", "exposure", "scenario-costs", "shortages", "contracts"):
        assert section in parsed.ids, section
    for chart in ("chart-volumes", "chart-scenario-costs", "chart-shortages"):
        assert parsed.svgs_in.get(chart, 0) >= 1, chart
    assert parsed.external == [], "the report must not need the network"

    summary = json.loads((results / "summary.json").read_text())
    assert f"{summary['objective']:,.2f} USD" in html and f"{summary['cvar']:,.2f} USD" in html
    exposure = pd.read_csv(results / "exposure.csv")
    limited = exposure[exposure["max_share"].notna()]
    assert parsed.rows["table-exposure"] == len(limited) + 1  # + header
    binding = (limited["share"].fillna(0) >= limited["max_share"] - 1e-6).sum()
    assert binding >= 1 and parsed.row_classes.get("table-exposure", 0) == binding
    contracts = pd.read_csv(results / "contracts.csv")
    assert parsed.rows["table-contracts"] == int(contracts["selected"].sum()) + 1
    supply = pd.read_csv(results / "supply.csv")
    assert parsed.rows["table-shortages"] == supply["scenario"].nunique() + 1


def test_user_text_is_escaped(results):
    html = (results / "report.html").read_text()
    assert "<b>RU1</b>" not in html


def test_report_renders_in_a_headless_browser(results, tmp_path):
    chromium = _program("chromium", "chromium-browser", "google-chrome")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([chromium, *flags, "--dump-dom", (results / "report.html").as_uri()],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    assert dom.count("<svg") >= 3 and "Sourcing plan: four-suppliers" in dom
    shot = tmp_path / "report.png"
    subprocess.run([chromium, *flags, "--window-size=1200,1600", f"--screenshot={shot}",
                    (results / "report.html").as_uri()], capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 20_000


def _csv(results, name):
    return pd.read_csv(results / f"{name}.csv", keep_default_na=False, na_values=[""], dtype={"period": str})


def _same(a, b):
    if isinstance(a, float) and math.isnan(a):
        return b is None or b == "" or (isinstance(b, float) and math.isnan(b))
    if isinstance(a, (int, float)):
        return isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9)
    return str(a) == str(b)


def test_workbook_holds_the_csv_values_as_typed_cells(results):
    book = load_workbook(results / "results.xlsx")
    assert book.sheetnames == ["summary", *TABLE_COLUMNS]
    for name, columns in TABLE_COLUMNS.items():
        sheet, table = book[name], _csv(results, name)
        assert [c.value for c in sheet[1]] == columns
        assert sheet.freeze_panes == "A2"
        assert all(sheet.column_dimensions[chr(65 + j)].width > 0 for j in range(len(columns)))
        assert sheet.max_row == len(table) + 1 or (table.empty and sheet.max_row == 1)
        for i, record in enumerate(table.itertuples(index=False), start=2):
            for j, expected in enumerate(record, start=1):
                cell = sheet.cell(row=i, column=j)
                if isinstance(expected, str):
                    expected = expected[1:] if expected.startswith("'=") else expected
                    assert cell.data_type == "s", (name, i, j)
                elif not (isinstance(expected, float) and math.isnan(expected)):
                    assert cell.data_type == "n", (name, i, j)
                assert _same(expected, cell.value), (name, i, j, expected, cell.value)
    summary = json.loads((results / "summary.json").read_text())
    figures = {row[0].value: row[1].value for row in book["summary"].iter_rows(min_row=2)}
    # openpyxl writes 16 significant digits (Excel keeps 15): equal to the last one or two ulps
    assert _same(summary["objective"], figures["objective"]) and figures["status"] == "optimal"


def test_workbook_cannot_run_formulas(results):
    sheet = load_workbook(results / "results.xlsx")["contracts"]
    cells = [c for row in sheet.iter_rows() for c in row if c.value == "=HYPERLINK(1)"]
    assert cells and all(c.data_type == "s" for c in cells)


def test_libreoffice_reads_the_workbook_back_to_our_csvs(results, tmp_path):
    soffice = _program("soffice", "libreoffice")
    subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}",
                    "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
                    "--outdir", str(tmp_path), str(results / "results.xlsx")],
                   capture_output=True, timeout=180, check=True)
    for name in TABLE_COLUMNS:
        ours = _csv(results, name)
        theirs = pd.read_csv(tmp_path / f"results-{name}.csv", keep_default_na=False, na_values=[""],
                             dtype={"period": str})
        assert list(theirs.columns) == list(ours.columns), name
        assert len(theirs) == len(ours), name
        for a, b in zip(ours.itertuples(index=False), theirs.itertuples(index=False)):
            for x, y in zip(a, b):
                x = x[1:] if isinstance(x, str) and x.startswith("'=") else x
                assert (math.isclose(x, y, rel_tol=1e-13, abs_tol=1e-9) if isinstance(x, (int, float))
                        and not (isinstance(x, float) and math.isnan(x)) else _same(x, y)), (name, x, y)


def test_report_command_writes_html_and_workbook(results, tmp_path):
    runner = CliRunner()
    out = runner.invoke(cli.main, ["report", str(results), "--out", str(tmp_path / "r.html"),
                                   "--xlsx", str(tmp_path / "r.xlsx")])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert load_workbook(tmp_path / "r.xlsx").sheetnames[0] == "summary"
    bad = runner.invoke(cli.main, ["report", str(tmp_path)])
    assert bad.exit_code == cli.EXIT_INVALID_INPUT and "not a results folder" in bad.output
