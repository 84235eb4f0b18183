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
import re
import shutil
import subprocess
import warnings
from html import unescape
from html.parser import HTMLParser

import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import FOUR_SUPPLIERS, four_suppliers
from openpyxl import load_workbook

from planner import cli
from planner.formatting import money
from planner.results.columns import kind_of
from planner.results.plan import TABLE_COLUMNS
from planner.results.workbook import PIVOT_SHEETS

FORMATS = {"objective": '#,##0.00 "USD"', "fixed_cost": '#,##0.00 "USD"', "cost": '#,##0.00 "USD"',
           "total_cost": '#,##0.00 "USD"', "volume": '#,##0.00 "t"', "total_volume": '#,##0.00 "t"',
           "demand": '#,##0.00 "t"', "share": "0.0%", "max_share": "0.0%", "probability": "0.0000"}

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
    result = CliRunner().invoke(cli.main, ["solve", str(folder), "--out", str(out), "--xlsx", "--report", "--metrics",
                                           "--samples", "10"])
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
    for section in SECTIONS:
        assert section in parsed.ids, section
    for chart in ("chart-volumes", "chart-scenario-costs", "chart-shortages"):
        assert parsed.svgs_in.get(chart, 0) >= 1, chart
    assert parsed.external == [], "the report must not need the network"

    summary = json.loads((results / "summary.json").read_text())
    assert money(summary["objective"], "USD") in html and money(summary["cvar"], "USD") in html
    exposure = pd.read_csv(results / "exposure.csv")
    limited = exposure[exposure["max_share"].notna()]
    headroom = limited["max_share"] - limited["share"].fillna(0)
    binding = int((headroom <= 1e-6).sum())
    limits = limited.assign(binding=headroom <= 1e-6).groupby(["commodity", "scope", "name"])["binding"].any()
    assert binding >= 1 and parsed.rows["table-exposure"] == len(limits) + 1  # one row per limit, + header
    assert parsed.row_classes.get("table-exposure", 0) == int(limits.sum())
    assert parsed.rows["table-exposure-rest"] == len(limited) + 1  # every period, folded
    assert parsed.row_classes.get("table-exposure-rest", 0) == binding
    contracts = pd.read_csv(results / "contracts.csv")
    assert parsed.rows["table-contracts"] == int(contracts["selected"].sum()) + 1
    agreements = pd.read_csv(results / "agreements.csv")
    assert parsed.rows.get("table-agreements", 1) == len(agreements) + 1 and "table-agreements" in parsed.ids
    supply = pd.read_csv(results / "supply.csv")
    assert parsed.rows["table-shortages"] == supply["scenario"].nunique() + 1


@pytest.mark.parametrize("cost", [2.388567e15, 0.0, -3.5e9, 7.25])
def test_scenario_costs_that_coincide_are_drawn_at_any_magnitude(cost):
    """Every scenario of a result costing 2.388567e15 USD (a hunt's instance with money scaled by 1e6, whose
    plan buys nothing): numpy could not make 9 finite-sized bins within the half-unit around them, and
    the report was an internal error. The chart is drawn, its bars around the one cost."""
    from planner.results.plots import scenario_costs_chart

    costs = pd.DataFrame({"total_cost": [cost] * 9, "probability": [1 / 9] * 9})
    chart = scenario_costs_chart(costs, {"currency": "USD", "expected_cost": cost, "cvar": cost, "cvar_alpha": 0.9})
    assert chart.startswith("<svg") and "total cost per scenario" in chart


def test_user_text_is_escaped(results):
    html = (results / "report.html").read_text()
    assert "<b>RU1</b>" not in html


SECTIONS = ("headline", "agreements", "volumes", "exposure", "scenario-costs", "shortages", "contracts")
E_NOTATION = re.compile(r"\d(\.\d+)?[eE][+-]?\d")
# Run in the page by the test only: what a reader sees (body text and the charts' text), how far
# the page runs over the window's width, and which elements stick out.
PROBE = """<script>
const svgText = Array.from(document.querySelectorAll('svg text')).map(t => t.textContent);
const wide = Array.from(document.querySelectorAll('table, figure, svg, p, h1, h2'))
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).map(e => e.id || e.tagName);
document.body.setAttribute('data-probe', JSON.stringify({
  overflow: document.documentElement.scrollWidth - window.innerWidth, wide: wide,
  text: document.body.innerText, svgText: svgText,
  sections: Array.from(document.querySelectorAll('section')).map(s => s.id)}));
</script>"""


def _chromium(tmp_path):
    chromium = _program("chromium", "chromium-browser", "google-chrome")
    return [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}"]


def _probe(browser, page, tmp_path, width):
    """The page as Chromium lays it out in a window `width` pixels wide."""
    copy = tmp_path / f"probe-{width}-{page.name}"
    copy.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    dom = subprocess.run([*browser, f"--window-size={width},1200", "--virtual-time-budget=5000", "--dump-dom",
                          copy.as_uri()], capture_output=True, text=True, check=True).stdout
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, dom[:500]
    return json.loads(unescape(found.group(1)))


def _rendered_properly(browser, page, tmp_path, sections):
    """At a desktop width and at A4's printable width: no overflow, no e-notation, every section;
    printed to PDF on A4 pages. Returns the text a reader sees at the desktop width."""
    seen = ""
    for width in (1280, 700):  # 700 px: A4 less 12 mm margins, at 96 dpi
        probe = _probe(browser, page, tmp_path, width)
        seen = seen or probe["text"]
        assert probe["overflow"] <= 0 and probe["wide"] == [], (width, probe["overflow"], probe["wide"])
        for text in [probe["text"], *probe["svgText"]]:
            assert not E_NOTATION.search(text), (width, E_NOTATION.search(text).group(0), text[:200])
        assert [s for s in sections if s not in probe["sections"]] == []
    pdf = tmp_path / f"{page.stem}.pdf"
    subprocess.run([*browser, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.as_uri()],
                   capture_output=True, check=True)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf.read_bytes())
    assert boxes and all(abs(float(w) - 595.3) < 2 and abs(float(h) - 841.9) < 2 for w, h in boxes), boxes[:3]
    shot = tmp_path / f"{page.stem}.png"
    subprocess.run([*browser, "--window-size=1280,1600", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, check=True)
    assert shot.stat().st_size > 20_000
    return seen


def test_bundled_report_renders_cleanly_in_a_headless_browser(tmp_path):
    browser = _chromium(tmp_path)
    result = CliRunner().invoke(cli.main, ["solve", "--out", str(tmp_path / "res"), "--report"])
    assert result.exit_code == 0, result.output
    _rendered_properly(browser, tmp_path / "res" / "report.html", tmp_path, SECTIONS)


def test_a_report_with_hedging_metrics_renders_cleanly(results, tmp_path):
    """The hedging metrics' rows as a reader sees them (the bundled instance's take 134 solves;
    its rows are formatted alike)."""
    seen = _rendered_properly(_chromium(tmp_path), results / "report.html", tmp_path,
                              ("headline", "volumes", "scenario-costs", "contracts"))
    assert "EVPI (perfect information)" in seen and "VSS (stochastic solution)" in seen, seen[:1500]


def test_sweep_report_with_a_failed_run_renders_cleanly(tmp_path):
    browser = _chromium(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli.main, ["sweep", "four-suppliers", "--vary",
                                      "commodities.rare_earth_oxide.service_level=0,0.5,0.99",
                                      "--vary", "risk.aversion=0,1", "--out", str(tmp_path / "sw"), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(cli.main, ["report", str(tmp_path / "sw")]).exit_code == 0
    page = tmp_path / "sw" / "report.html"
    parsed = _Collector()
    parsed.feed(page.read_text())
    table = pd.read_csv(tmp_path / "sw" / "sweep.csv")
    failed = int((table["status"] == "infeasible").sum())
    assert failed >= 2 and parsed.rows["table-sweep-failed"] == failed + 1  # one line each
    assert parsed.rows["table-sweep"] == len(table) - failed + 1
    _rendered_properly(browser, page, tmp_path, ("headline", "charts", "runs"))


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
    assert book.sheetnames == ["summary", *TABLE_COLUMNS, *PIVOT_SHEETS]
    for name, columns in TABLE_COLUMNS.items():
        sheet, table = book[name], _csv(results, name)
        assert [c.value for c in sheet[1]] == columns
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == sheet.dimensions
        assert all(sheet.column_dimensions[chr(65 + j)].width > 0 for j in range(len(columns)))
        assert sheet.max_row == len(table) + 1 or (table.empty and sheet.max_row == 1)
        for i, record in enumerate(table.itertuples(index=False), start=2):
            for j, expected in enumerate(record, start=1):
                cell = sheet.cell(row=i, column=j)
                if columns[j - 1] == "period":
                    assert cell.data_type == "n" and str(cell.value) == expected, (name, i)  # a number
                    continue
                if isinstance(expected, str):
                    expected = expected[1:] if expected.startswith("'=") else expected
                    assert cell.data_type == "s", (name, i, j)
                elif not (isinstance(expected, float) and math.isnan(expected)):
                    assert cell.data_type == "n", (name, i, j)
                    assert cell.number_format == FORMATS.get(columns[j - 1], cell.number_format), (name, columns[j - 1])
                assert _same(expected, cell.value), (name, i, j, expected, cell.value)
    summary = json.loads((results / "summary.json").read_text())
    figures = {row[0].value: row[1] for row in book["summary"].iter_rows(min_row=2)}
    assert _same(summary["objective"], figures["objective"].value) and figures["status"].value == "optimal"
    assert figures["objective"].number_format == FORMATS["objective"] and figures["mip_gap"].number_format == "0.0000%"
    costs = _csv(results, "scenario_costs")
    worst = costs.loc[costs["total_cost"].idxmax()]
    assert figures["worst scenario"].value == worst["scenario"]
    assert _same(worst["total_cost"], figures["worst scenario total_cost"].value)
    assert figures["agreements signed"].value == "none"  # four suppliers have no agreements
    assert _same(summary["metrics"]["evpi"], figures["metrics.evpi"].value)


def test_a_table_longer_than_a_sheet_goes_on_in_sheets_of_its_own(results, tmp_path, monkeypatch):
    """Excel holds 1,048,576 rows a sheet: a result with more rows of supply (20 materials x 15
    periods x 5,000 scenarios) failed to write its workbook after the solve, and its result with
    it. A table goes on in sheets `supply (2)`, ..., each with its header, filter and frozen row:
    read one after the other they are the CSV's rows (here with sheets of 4 rows, the header one)."""
    import planner.results.workbook as workbook

    monkeypatch.setattr(workbook, "SHEET_ROWS", 4)
    workbook.workbook_from_results(results, tmp_path / "w.xlsx")
    book = load_workbook(tmp_path / "w.xlsx")
    for name, columns in TABLE_COLUMNS.items():
        table = _csv(results, name)
        parts = [name] + [f"{name} ({k})" for k in range(2, -(-len(table) // 3) + 1)]
        assert [s for s in book.sheetnames if s == name or s.startswith(f"{name} (")] == parts
        rows = []
        for part in parts:
            sheet = book[part]
            assert [c.value for c in sheet[1]] == columns
            assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == sheet.dimensions and sheet.max_row <= 4
            rows += [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
        assert len(rows) == len(table)
        for row, record in zip(rows, table.itertuples(index=False)):
            assert all(_same(expected[1:] if isinstance(expected, str) and expected.startswith("'=") else expected,
                             value) for expected, value in zip(record, row)), (name, row, record)


def test_figures_below_one_keep_their_digits_in_the_workbook(results, tmp_path):
    """A result in millions of a currency (its costs all below 1): the workbook showed 0.0237 M
    USD as 0.02 and 0.004 as 0.00, as the terminal did. Money and volume columns whose figures
    are all below 1, and such figures of the summary, show up to 6 decimals; the others cents."""
    from planner.results.folder import read_summary, read_table
    from planner.results.workbook import workbook_from_tables

    tables = {name: read_table(results, name) for name in TABLE_COLUMNS}
    tables["scenario_costs"] = tables["scenario_costs"].assign(cost=lambda t: t["cost"] * 1e-6)
    summary = {**read_summary(results), "objective": 0.0237365}
    workbook_from_tables(summary, tables, tmp_path / "w.xlsx")
    book = load_workbook(tmp_path / "w.xlsx")
    costs = book["scenario_costs"]
    assert costs["D2"].number_format == '#,##0.00#### "USD"' and costs["E2"].number_format == FORMATS["total_cost"]
    figures = {row[0].value: row[1] for row in book["summary"].iter_rows(min_row=2)}
    assert figures["objective"].number_format == '#,##0.00#### "USD"'
    assert figures["expected_cost"].number_format == '#,##0.00 "USD"'


def _as_shown(value: object, number_format: str) -> str:
    """A cell as a spreadsheet shows it in its number format (the formats planner writes)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return str(value)
    suffix = number_format.split('"')[1] if '"' in number_format else ""
    body = number_format.split(" ")[0]
    if body.endswith("%"):
        decimals = len(body.split(".")[1]) - 1 if "." in body else 0
        text = f"{value * 100:,.{decimals}f}%"
    elif "." in body:
        fraction = body.split(".")[1]
        text = f"{value:,.{len(fraction)}f}"
        while text.endswith("0") and len(text.split(".")[1]) > fraction.count("0"):
            text = text[:-1]
    else:
        text = f"{value:,.0f}" if "#,##" in body else str(value)
    return f"{text} {suffix}" if suffix else text


@pytest.mark.parametrize("money", [1.0, 1e-6])
def test_every_number_fits_its_column_in_the_workbook(results, tmp_path, money):
    """A column narrower than a number shows ### in its place: LibreOffice showed ### for the
    costs of four-suppliers (13,078.95 USD in a column of 11 characters) and for the large spot
    buys of the bundled instance that come after the first 200 rows. Every number, as its format
    shows it, fits its column; in millions of a currency too (figures below 1, 6 decimals)."""
    from openpyxl.utils import get_column_letter

    from planner.results.folder import read_summary, read_table
    from planner.results.workbook import workbook_from_tables

    tables = {name: read_table(results, name) for name in TABLE_COLUMNS}
    for name, table in tables.items():
        for column in table.columns:
            if kind_of(column).value == "money":
                tables[name] = tables[name].assign(**{column: table[column] * money})
    workbook_from_tables(read_summary(results), tables, tmp_path / "w.xlsx")
    book = load_workbook(tmp_path / "w.xlsx")
    for sheet in book.worksheets:
        widths = {}
        for dimension in sheet.column_dimensions.values():  # (a run of columns of one width is one entry)
            for index in range(dimension.min, dimension.max + 1):
                widths[get_column_letter(index)] = dimension.width - 0.71
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                    shown = _as_shown(cell.value, cell.number_format)
                    assert len(shown) <= widths[cell.column_letter], (sheet.title, cell.coordinate, shown)


def test_pivot_sheets_add_up_to_the_volumes(results):
    book = load_workbook(results / "results.xlsx")
    volumes = _csv(results, "volumes")
    contracts = _csv(results, "contracts")
    by_material = book["volume by material"]
    periods = [c.value for c in by_material[1]][1:-1]
    assert periods == sorted(int(p) for p in volumes["period"].unique())
    for row in by_material.iter_rows(min_row=2):
        material = row[0].value
        part = volumes[volumes["commodity"] == material]
        for period, cell in zip(periods, row[1:-1]):
            assert math.isclose(cell.value, part[part["period"] == str(period)]["volume"].sum(), abs_tol=1e-9)
            assert cell.number_format == FORMATS["volume"]
        assert math.isclose(row[-1].value, part["volume"].sum(), abs_tol=1e-9)
    bloc = dict(zip(contracts["option"], contracts["origin_bloc"]))
    by_bloc = book["volume by bloc"]
    for row in by_bloc.iter_rows(min_row=2):
        material, origin = row[0].value, row[1].value
        part = volumes[(volumes["commodity"] == material) & (volumes["option"].map(bloc) == origin)]
        assert math.isclose(row[-1].value, part["volume"].sum(), abs_tol=1e-9)
    assert by_bloc.auto_filter.ref == by_bloc.dimensions and by_bloc.freeze_panes == "A2"


def test_workbook_cannot_run_formulas(results):
    sheet = load_workbook(results / "results.xlsx")["contracts"]
    cells = [c for row in sheet.iter_rows() for c in row if c.value == "=HYPERLINK(1)"]
    assert cells and all(c.data_type == "s" for c in cells)


def test_libreoffice_reads_the_workbook_back_to_our_csvs(results, tmp_path):
    soffice = _program("soffice", "libreoffice")
    subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}",
                    "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
                    "--outdir", str(tmp_path), str(results / "results.xlsx")],
                   capture_output=True, check=True)
    for name in TABLE_COLUMNS:
        ours = _csv(results, name)
        theirs = pd.read_csv(tmp_path / f"results-{name}.csv", keep_default_na=False, na_values=[""],
                             dtype={"period": str})
        assert list(theirs.columns) == list(ours.columns), name
        assert len(theirs) == len(ours), name
        for a, b in zip(ours.itertuples(index=False), theirs.itertuples(index=False)):
            for x, y in zip(a, b):
                x = x[1:] if isinstance(x, str) and x.startswith("'=") else x
                if isinstance(y, str) and y.endswith("%"):  # a percentage format: LibreOffice writes "42.42...%"
                    y = float(y[:-1]) / 100
                assert (math.isclose(x, y, rel_tol=1e-11, abs_tol=1e-9) if isinstance(x, (int, float))
                        and not (isinstance(x, float) and math.isnan(x)) else _same(x, y)), (name, x, y)
    # saved again by LibreOffice, the number formats are still there
    subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}",
                    "--convert-to", "xlsx", "--outdir", str(tmp_path / "again"), str(results / "results.xlsx")],
                   capture_output=True, check=True)
    again = load_workbook(tmp_path / "again" / "results.xlsx")
    assert again.sheetnames == ["summary", *TABLE_COLUMNS, *PIVOT_SHEETS]
    header = [c.value for c in again["scenario_costs"][1]]
    cell = again["scenario_costs"].cell(row=2, column=header.index("total_cost") + 1)
    assert "USD" in cell.number_format and "#,##0.00" in cell.number_format
    header = [c.value for c in again["exposure"][1]]
    assert "%" in again["exposure"].cell(row=2, column=header.index("share") + 1).number_format


def test_report_command_writes_html_and_workbook(results, tmp_path):
    runner = CliRunner()
    out = runner.invoke(cli.main, ["report", str(results), "--out", str(tmp_path / "r.html"),
                                   "--xlsx", str(tmp_path / "r.xlsx")])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert load_workbook(tmp_path / "r.xlsx").sheetnames[0] == "summary"
    bad = runner.invoke(cli.main, ["report", str(tmp_path)])
    assert bad.exit_code == cli.EXIT_INVALID_INPUT and "not a results folder" in bad.output


def test_a_result_edited_by_hand_is_reported_and_compared_with_a_warning(results, tmp_path):
    """report and compare read a result as it is; a table changed since planner wrote it (by its
    manifest) is named on stderr, with the command that checks it. An unedited one is not."""
    folder = tmp_path / "res"
    shutil.copytree(results, folder)
    runner = CliRunner()
    clean = runner.invoke(cli.main, ["report", str(folder), "--out", str(tmp_path / "a.html")])
    assert clean.exit_code == 0 and "warning" not in clean.stderr
    contracts = folder / "contracts.csv"
    contracts.write_text(contracts.read_text().replace("500", "400", 1))
    edited = runner.invoke(cli.main, ["report", str(folder), "--out", str(tmp_path / "b.html")])
    assert edited.exit_code == 0
    assert f"warning: {contracts} was changed since planner wrote it" in edited.stderr
    compared = runner.invoke(cli.main, ["compare", str(results), str(folder), "--out", str(tmp_path / "cmp")])
    assert compared.exit_code == 0 and compared.stderr.count("was changed since planner wrote it") == 1


def _damage(folder, how):
    """One way a results folder gets damaged or edited by hand."""
    path = folder / how[0]
    if how[1] == "removed":
        path.unlink()
    elif how[1] == "truncated":
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    elif how[1] == "latin-1":
        path.write_bytes(path.read_bytes() + "x,\xe9\n".encode("latin-1"))
    elif how[1] in ("text in a number", "blank number", "infinite number", "huge number", "control character"):
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        table.loc[0, how[2]] = {"text in a number": "lots", "infinite number": "1e400", "huge number": "1e308",
                                "control character": "C\x00N1"}.get(how[1], "")
        table.to_csv(path, index=False)
    elif how[1] == "header only":
        path.write_text(path.read_text().splitlines()[0] + "\n")
    elif how[1] == "column dropped":
        pd.read_csv(path, dtype=str, keep_default_na=False).drop(columns=[how[2]]).to_csv(path, index=False)
    elif how[1] == "figure as text":
        summary = json.loads(path.read_text())
        summary[how[2]] = "n/a"
        path.write_text(json.dumps(summary))
    elif how[1] == "control character in a key":
        summary = json.loads(path.read_text())
        summary[how[2]]["x\x01"] = 1
        path.write_text(json.dumps(summary))
    elif how[1] == "control character in a column":
        lines = path.read_text().splitlines(keepends=True)
        path.write_text(lines[0].rstrip("\n") + ",\x0b\n" + "".join(line.rstrip("\n") + ",1\n" for line in lines[1:]))


DAMAGE = {  # what was done, and what the message must name
    "summary truncated": (("summary.json", "truncated"), "summary.json: cannot be read"),
    "objective as text": (("summary.json", "figure as text", "objective"), "summary.json: objective: missing"),
    "contracts removed": (("contracts.csv", "removed"), "contracts.csv: is missing"),
    "supply not UTF-8": (("supply.csv", "latin-1"), "supply.csv: byte 0xe9 is not UTF-8 text: save it as 'CSV UTF-8'"),
    "text in a volume": (("volumes.csv", "text in a number", "volume"), "volumes.csv:2:volume: 'lots' is not a number"),
    "an infinite volume": (("volumes.csv", "infinite number", "volume"),  # (the report's charts gave numpy's warnings)
                           "volumes.csv:2:volume: '1e400' is not a finite number"),
    "a volume near the float limit": (("volumes.csv", "huge number", "volume"),  # (matplotlib's ticks overflowed)
                                      "volumes.csv:2:volume: '1e308' is beyond any figure planner writes"),
    "a NUL in a name": (("contracts.csv", "control character", "option"),  # (the workbook was an internal error)
                        "contracts.csv:2:option: 'C\\x00N1' holds the control character U+0000"),
    "a control character in a column's name": (("volumes.csv", "control character in a column"),
                                               "volumes.csv:1: the column '\\x0b' holds the control character U+000B"),
    "a control character in the summary": (("summary.json", "control character in a key", "model"),
                                           "summary.json: a control character in 'model'"),
    "share column dropped": (("exposure.csv", "column dropped", "share"), "exposure.csv: missing columns share"),
    "a blank cost": (("scenario_costs.csv", "blank number", "total_cost"),
                     "scenario_costs.csv:2:total_cost: '' is not a number"),
    "costs emptied to the header": (("scenario_costs.csv", "header only"), "scenario_costs.csv: has no rows"),
}


@pytest.mark.parametrize("command", ["report", "compare", "verify"])
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_result_is_named_not_a_crash(results, tmp_path, damage, command):
    """A results folder edited by hand or damaged (found by a fuzzing hunt: report and compare
    crashed on 8 of 30): each reading command names the file (row, column) and exits 3."""
    how, message = DAMAGE[damage]
    folder = tmp_path / "res"
    shutil.copytree(results, folder)
    _damage(folder, how)
    args = {"report": ["report", str(folder), "--out", str(tmp_path / "r.html"), "--xlsx", str(tmp_path / "w.xlsx")],
            "compare": ["compare", str(results), str(folder), "--out", str(tmp_path / "cmp")],
            "verify": ["verify", str(results.parent / "inst"), str(folder)]}[command]
    result = CliRunner().invoke(cli.main, args)
    if command == "verify" and how[1] in ("figure as text", "text in a number", "blank number", "header only",
                                          "infinite number", "huge number"):
        assert result.exit_code == cli.EXIT_VERIFY_FAILED, result.output  # violations, reported with the rest
        assert how[1] not in ("infinite number", "huge number") or message.split(": ", 1)[1] in result.output, \
            result.output
        return
    assert result.exit_code == cli.EXIT_INVALID_INPUT, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "cmp").exists() and not (tmp_path / "w.xlsx").exists()


def test_a_damaged_sweep_run_or_design_is_named_not_a_crash(tmp_path):
    folder = four_suppliers(tmp_path / "inst")
    runner = CliRunner()
    sweep = ["sweep", str(folder), "--vary", "risk.aversion=0,1", "--out", str(tmp_path / "sw"), "--workers", "1"]
    assert runner.invoke(cli.main, sweep).exit_code == 0
    next((tmp_path / "sw" / "runs").glob("*/summary.json")).write_text("{not json")
    result = runner.invoke(cli.main, ["compare", str(tmp_path / "sw"), "--out", str(tmp_path / "cmp")])
    assert result.exit_code == cli.EXIT_INVALID_INPUT and "summary.json: cannot be read" in result.output
    result = runner.invoke(cli.main, sweep)  # a rerun sees the change before it reads anything
    assert result.exit_code == cli.EXIT_OUTPUT and "summary.json changed since" in result.output
    (tmp_path / "design.csv").write_bytes(b"")
    result = runner.invoke(cli.main, ["sweep", str(folder), "--design", str(tmp_path / "design.csv"),
                                      "--out", str(tmp_path / "sw2")])
    assert result.exit_code == cli.EXIT_INVALID_INPUT and "design.csv: is empty" in result.output


def test_an_edited_plan_is_not_evaluated(results, tmp_path):
    """A volume given by hand to an option the plan does not contract (found by the hunt: the
    evaluation broke a balance in the user's units and said "numerical trouble", exit 6): the
    first stage is checked as verify checks it, and the message names the broken constraint."""
    folder = tmp_path / "res"
    shutil.copytree(results, folder)
    contracts = pd.read_csv(folder / "contracts.csv", dtype=str, keep_default_na=False)
    idle = contracts.loc[contracts["selected"] == "0", "option"].iloc[0]
    volumes = pd.read_csv(folder / "volumes.csv", dtype=str, keep_default_na=False)
    volumes.loc[volumes["option"] == idle, "volume"] = "50"
    volumes.to_csv(folder / "volumes.csv", index=False)
    result = CliRunner().invoke(cli.main, ["evaluate", str(results.parent / "inst"), str(folder),
                                           "--out", str(tmp_path / "ev")])
    assert result.exit_code == cli.EXIT_INVALID_INPUT, result.output
    assert "its plan cannot be evaluated: 1 contract" in result.output and idle in result.output
    assert not (tmp_path / "ev").exists()


def test_a_plan_evaluated_with_another_instance_is_not_called_edited(results, tmp_path):
    """A plan evaluated with a copy of its instance whose limits changed (a stress test of
    lower demand met the same way: the contracts then break the share limits): the message
    asked "was it edited?" of a plan planner wrote and nobody touched. Its files are as the
    manifest records them, so the message says the instance is not the one it was solved with."""
    instance = tmp_path / "inst"
    shutil.copytree(results.parent / "inst", instance)
    (instance / "limits.csv").write_text("scope,name,commodity,max_share\nbloc,china,*,0.1\n")
    result = CliRunner().invoke(cli.main, ["evaluate", str(instance), str(results), "--out", str(tmp_path / "ev")])
    assert result.exit_code == cli.EXIT_INVALID_INPUT, result.output
    assert "its plan cannot be evaluated: 8 share limit: bloc china" in result.output
    assert "this instance is not the one it was solved with" in result.output and "edited" not in result.output
    assert not (tmp_path / "ev").exists()


def test_an_evaluation_under_an_instance_changed_since_the_solve_says_which_files_changed(results, tmp_path):
    """A plan evaluated with a copy of its instance whose demand was tripled since (the held
    contracts still fit its rules): the evaluation gave other figures than the plan's own and
    said nothing of it. The result keeps each instance file's SHA-256 (`instance_files`), and
    evaluate, its summary, terminal, report and workbook, and verify name the files changed."""
    instance = tmp_path / "inst"
    shutil.copytree(results.parent / "inst", instance)
    demand = pd.read_csv(instance / "demand.csv")
    demand["demand"] *= 3
    demand.to_csv(instance / "demand.csv", index=False)
    runner = CliRunner()
    result = runner.invoke(cli.main, ["evaluate", str(instance), str(results), "--out", str(tmp_path / "ev")])
    assert result.exit_code == 0, result.output
    assert f"note: demand.csv of {instance} changed since {results} was made from it: the plan is evaluated " \
           "under the files as they are now, so its figures are not the solve's" in result.output
    assert "  instance demand.csv changed since the plan was solved" in result.output
    evaluation = json.loads((tmp_path / "ev" / "summary.json").read_text())["evaluation"]
    assert evaluation["instance_changed"] == ["demand.csv"]
    report = ["report", str(tmp_path / "ev"), "--out", str(tmp_path / "r.html"), "--xlsx", str(tmp_path / "w.xlsx")]
    assert runner.invoke(cli.main, report).exit_code == 0
    assert "demand.csv changed since the plan was solved" in (tmp_path / "r.html").read_text(encoding="utf-8")
    sheet = load_workbook(tmp_path / "w.xlsx", read_only=True)["summary"]
    assert any("demand.csv changed since" in str(cell) for row in sheet.iter_rows(values_only=True) for cell in row)
    checked = runner.invoke(cli.main, ["verify", str(instance), str(results), "--json"])
    assert checked.exit_code == cli.EXIT_VERIFY_FAILED
    assert json.loads(checked.stdout)["instance_changed"] == ["demand.csv"]
    assert f"note: demand.csv of {instance} changed since {results} was made from it: it is checked" in checked.stderr

    # the instance it was solved with: nothing changed, nothing said
    same = runner.invoke(cli.main, ["evaluate", str(results.parent / "inst"), str(results), "--out",
                                    str(tmp_path / "ev0")])
    assert same.exit_code == 0 and "changed since" not in same.output
    assert json.loads((tmp_path / "ev0" / "summary.json").read_text())["evaluation"]["instance_changed"] == []
    # other scenarios given: the instance's own scenario files are not what is evaluated under
    (instance / "demand.csv").write_bytes((results.parent / "inst" / "demand.csv").read_bytes())
    (instance / "scenarios.csv").write_text((instance / "scenarios.csv").read_text() + "\n")
    stress = tmp_path / "stress"
    stress.mkdir()
    (stress / "scenarios.csv").write_text("scenario,probability\nall-cut,1\n")
    (stress / "disruptions.csv").write_text("scenario,scope,name,commodity,start_period,end_period,severity\n"
                                            "all-cut,bloc,china,*,2026,,1\n")
    other = runner.invoke(cli.main, ["evaluate", str(instance), str(results), "--scenarios",
                                     str(stress / "scenarios.csv"), "--out", str(tmp_path / "ev1")])
    assert other.exit_code == 0, other.output
    assert "changed since" not in other.output


def _saved_by_a_spreadsheet(path, delimiter: str, encoding: str, decimal_comma: bool) -> None:
    """`path` as Excel saves a CSV again: CRLF, its delimiter and encoding, decimal commas in a
    language that writes them (every number but those in text columns)."""
    import csv
    import io

    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    numeric = re.compile(r"^-?\d+(\.\d+)?(e-?\d+)?$")
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow([cell.replace(".", ",") if decimal_comma and numeric.match(cell) else cell for cell in row])
    path.write_bytes(buffer.getvalue().encode(encoding))


@pytest.mark.parametrize("delimiter, encoding, decimal_comma", [(";", "utf-8-sig", True), ("\t", "utf-16", False)],
                         ids=["european-excel", "unicode-text"])
def test_a_plan_saved_again_by_a_spreadsheet_is_read(results, tmp_path, delimiter, encoding, decimal_comma):
    """A plan opened in Excel and saved again (to evaluate a change to it): in a language with
    decimal commas Excel writes semicolons and 47,37; its "Unicode text" is UTF-16 with tabs.
    Every reader refused it: "contracts.csv: missing columns option, commodity, ..." (the header
    read as one column). Results are read as instance files are: the delimiter sniffed from the
    header, the encoding from its mark, decimal commas with semicolons; and a volume changed
    there is the plan evaluated."""
    folder = tmp_path / "res"
    shutil.copytree(results, folder)
    for name in ("contracts.csv", "volumes.csv", "supply.csv", "scenario_costs.csv"):
        _saved_by_a_spreadsheet(folder / name, delimiter, encoding, decimal_comma)
    instance = str(results.parent / "inst")
    runner = CliRunner()
    checked = runner.invoke(cli.main, ["verify", instance, str(folder)])
    assert checked.exit_code == 0, checked.output
    original = runner.invoke(cli.main, ["evaluate", instance, str(results), "--out", str(tmp_path / "e0"), "--json"])
    again = runner.invoke(cli.main, ["evaluate", instance, str(folder), "--out", str(tmp_path / "e1"), "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["summary"]["objective"] == pytest.approx(
        json.loads(original.stdout)["summary"]["objective"], rel=1e-9)
    for command in (["report", str(folder), "--out", str(tmp_path / "r.html"), "--xlsx", str(tmp_path / "w.xlsx")],
                    ["compare", str(results), str(folder), "--out", str(tmp_path / "cmp")]):
        assert runner.invoke(cli.main, command).exit_code == 0

    volumes = folder / "volumes.csv"  # a volume lowered there, as a user would
    text = volumes.read_bytes().decode(encoding)
    lines = text.split("\r\n")
    row = next(i for i, line in enumerate(lines[1:], 1)  # one the plan contracts
               if line and float(line.split(delimiter)[-1].replace(",", ".")) > 20)
    cells = lines[row].split(delimiter)
    cells[-1] = "10,5" if decimal_comma else "10.5"
    lines[row] = delimiter.join(cells)
    volumes.write_bytes("\r\n".join(lines).encode(encoding))
    edited = runner.invoke(cli.main, ["evaluate", instance, str(folder), "--out", str(tmp_path / "e2")])
    assert edited.exit_code == 0, edited.output
    evaluated = pd.read_csv(tmp_path / "e2" / "volumes.csv")
    assert evaluated.loc[evaluated["option"] == cells[0], "volume"].iloc[0] == 10.5


def test_a_plan_saved_again_in_a_local_code_page_is_named_with_the_remedy(results, tmp_path):
    """Excel's plain "CSV" on Windows writes the local code page: a name with 'Ô' became byte 0xd4,
    and the readers said "cannot be read as a table planner wrote ('utf-8' codec can't decode
    byte 0xd4 in position 73: invalid continuation byte)". They name the byte and the remedy, as
    the loader does for instance files."""
    folder = tmp_path / "res"
    shutil.copytree(results, folder)
    contracts = folder / "contracts.csv"
    contracts.write_bytes(contracts.read_text(encoding="utf-8").replace("china", "chinÔ").encode("cp1252"))
    for command in ("verify", "evaluate"):
        result = CliRunner().invoke(cli.main, [command, str(results.parent / "inst"), str(folder)])
        assert result.exit_code == cli.EXIT_INVALID_INPUT, result.output
        assert f"{contracts}: byte 0xd4 is not UTF-8 text: save it as 'CSV UTF-8' (Excel)" in result.output


def test_a_result_that_keeps_no_record_of_its_instance_files_is_evaluated_without_a_word_of_them(results, tmp_path):
    """A result written before planner kept `instance_files` (or with them removed): nothing can be
    told, so nothing is said, and the evaluation records null."""
    folder = tmp_path / "res"
    shutil.copytree(results, folder)
    summary = json.loads((folder / "summary.json").read_text())
    del summary["instance_files"]
    (folder / "summary.json").write_text(json.dumps(summary))
    result = CliRunner().invoke(cli.main, ["evaluate", str(results.parent / "inst"), str(folder),
                                           "--out", str(tmp_path / "ev")])
    assert result.exit_code == 0, result.output
    assert "changed since" not in result.output
    assert json.loads((tmp_path / "ev" / "summary.json").read_text())["evaluation"]["instance_changed"] is None


@pytest.mark.parametrize("command", ["report", "compare", "verify", "evaluate"])
def test_a_result_of_an_older_layout_is_read(results, tmp_path, command):
    """A result without adaptive_volumes.csv (written before multi-stage plans): every reader takes
    the table as empty (the results hunt found verify and evaluate crashing on it, a regression
    of this stop's reading of results, fixed within it)."""
    folder = tmp_path / "res"
    shutil.copytree(results, folder)
    (folder / "adaptive_volumes.csv").unlink()
    args = {"report": ["report", str(folder), "--out", str(tmp_path / "r.html")],
            "compare": ["compare", str(results), str(folder), "--out", str(tmp_path / "cmp")],
            "verify": ["verify", str(results.parent / "inst"), str(folder)],
            "evaluate": ["evaluate", str(results.parent / "inst"), str(folder), "--out", str(tmp_path / "ev")]}[command]
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 0, result.output


def test_names_in_a_script_matplotlib_has_no_glyphs_for_draw_without_warnings(tmp_path):
    """A material named in Chinese: the report's charts keep it as text for the browser to draw,
    and matplotlib, which only measures it, printed "UserWarning: Glyph 31232 missing from
    font(s) DejaVu Sans" for each character at each step of each chart (about 60 lines), as did
    a sweep's charts. Now nothing is said; the report's charts hold the name."""
    folder = tmp_path / "inst"
    shutil.copytree(FOUR_SUPPLIERS, folder)
    for path in folder.glob("*.csv"):
        path.write_text(path.read_text(encoding="utf-8").replace("rare_earth_oxide", "稀土氧化物"), encoding="utf-8")
    runner = CliRunner()
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        solved = runner.invoke(cli.main, ["solve", str(folder), "--out", str(tmp_path / "res"), "--report", "-q"])
        swept = runner.invoke(cli.main, ["sweep", str(folder), "--vary",
                                         "commodities.稀土氧化物.shortage_penalty=900,1000",
                                         "--out", str(tmp_path / "sw"), "--workers", "1"])
    assert solved.exit_code == 0 and swept.exit_code == 0, (solved.output, swept.output)
    assert not [str(w.message) for w in warned if "Glyph" in str(w.message)]
    page = (tmp_path / "res" / "report.html").read_text(encoding="utf-8")
    charts = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert charts and any("稀土氧化物" in chart for chart in charts)
    assert list((tmp_path / "sw").glob("*.png"))


def test_long_names_are_shortened_in_the_charts_not_squeezed(tmp_path):
    """Eleven independent events (the bundled instance's, their groups dropped) name a scenario by
    all of them, up to 157 characters: the heat map of shortages had no room left for its cells,
    and matplotlib said "Tight layout not applied" on stderr. Now a long name keeps its start and
    end in the charts; the tables keep the whole name."""
    from helpers import REPO

    folder = tmp_path / "inst"
    shutil.copytree(REPO / "instances" / "us-critical-minerals", folder)
    events = pd.read_csv(folder / "events.csv", dtype=str, keep_default_na=False)
    events.drop(columns="group").to_csv(folder / "events.csv", index=False)
    (folder / "instance.toml").write_text((folder / "instance.toml").read_text() + "\n[events]\nmax_scenarios = 40\n")
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        solved = CliRunner().invoke(cli.main, ["solve", str(folder), "--out", str(tmp_path / "res"), "--report",
                                               "--node-limit", "1", "-q"])
    assert solved.exit_code == 0, solved.output
    assert not [str(w.message) for w in warned if "layout" in str(w.message)]
    names = pd.read_csv(tmp_path / "res" / "scenario_costs.csv")["scenario"]
    longest = max(names, key=len)
    assert len(longest) > 100
    charts = "".join(re.findall(r"<svg.*?</svg>", (tmp_path / "res" / "report.html").read_text(encoding="utf-8"),
                                flags=re.S))
    assert longest not in charts and longest[:31] + "\u2026" + longest[-16:] in charts


def test_a_damaged_sweep_folder_is_named_in_its_report_and_comparison(tmp_path):
    """Found by a scan over damaged sweep folders: a figure's column of sweep.csv renamed, or text
    where a figure belongs, was an internal error in the sweep's chart (KeyError 'cvar'); a line
    of the first run's contracts.csv twice was one in the comparison of contracts ("the truth
    value of a Series is ambiguous"). Each is named, exit 3, nothing written."""
    folder = four_suppliers(tmp_path / "inst")
    runner = CliRunner()
    sweep = ["sweep", str(folder), "--vary", "risk.aversion=0,1", "--out", str(tmp_path / "sw"), "--workers", "1"]
    assert runner.invoke(cli.main, sweep).exit_code == 0
    table = tmp_path / "sw" / "sweep.csv"
    good = table.read_text()
    for damaged, message in ((good.replace(",cvar,", ",cvarr,", 1), "sweep.csv: missing columns cvar"),
                             (good.replace(good.splitlines()[1].split(",")[3], "lots", 1),
                              "sweep.csv:2:objective: 'lots' is not a number"),
                             (good.replace(good.splitlines()[1].split(",")[3], "-1e308", 1),
                              "sweep.csv:2:objective: -1e+308 is beyond any figure planner writes")):
        table.write_text(damaged)
        result = runner.invoke(cli.main, ["report", str(tmp_path / "sw"), "--out", str(tmp_path / "r.html")])
        assert result.exit_code == cli.EXIT_INVALID_INPUT and message in result.output, result.output
        assert not (tmp_path / "r.html").exists()
    table.write_text(good)
    first = next(iter(pd.read_csv(table)["id"]))
    contracts = tmp_path / "sw" / "runs" / first / "contracts.csv"
    lines = contracts.read_text().splitlines(keepends=True)
    contracts.write_text("".join([*lines[:2], lines[1], *lines[2:]]))
    result = runner.invoke(cli.main, ["compare", str(tmp_path / "sw"), "--out", str(tmp_path / "cmp")])
    assert result.exit_code == cli.EXIT_INVALID_INPUT, result.output
    assert f"contracts.csv:3:option: {lines[1].split(',')[0]!r} appears twice" in result.output, result.output
    assert not (tmp_path / "cmp").exists()


SCRIPT_G = "\u210a"  # SCRIPT SMALL G: not in DejaVu Sans; in fonts matplotlib carries itself (STIX, DejaVu Math)


def _has_glyph(family: str, character: str) -> bool:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    properties = font_manager.FontProperties()
    properties.set_family(family)
    path = font_manager.findfont(properties, fallback_to_default=False)
    return ord(character) in FT2Font(path).get_charmap()


def test_fonts_for_adds_a_font_that_has_what_matplotlibs_own_lacks():
    """A name with a character DejaVu Sans has no glyph for showed a box in a sweep's PNG chart
    even on a machine with a font that has it: matplotlib draws from its default font only.
    `fonts_for` finds fonts of the machine for the missing characters, none when nothing is
    missing, and none for a character no font has (matplotlib's placeholder font, a glyph
    for every character, is not one)."""
    from planner.results.plots import fonts_for

    assert fonts_for(["rare_earth_oxide 1,000.5 USD"]) == []
    chosen = fonts_for([f"{SCRIPT_G}allium"])
    assert chosen and any(_has_glyph(family, SCRIPT_G) for family in chosen)
    assert fonts_for(["\U0010fffd"]) == []


def test_a_sweep_chart_draws_a_character_matplotlibs_own_font_lacks_from_another(tmp_path):
    """The sweep's PNG chart of a key naming a material with that character: drawn without a
    missing glyph, from a font that has it, and the chart's other text keeps its font."""
    from planner.studies.charts import sweep_figures

    key = f"commodities.{SCRIPT_G}allium.shortage_penalty"
    table = pd.DataFrame({key: [1.0, 2.0], "status": ["optimal", "optimal"], "objective": [3.0, 4.0],
                          "expected_cost": [2.0, 3.0], "cvar": [5.0, 6.0]})
    (figure,) = sweep_figures(table, [key], "USD").values()
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        figure.savefig(tmp_path / "chart.png", format="png")
    assert not [str(w.message) for w in warned if "missing from font" in str(w.message)]
    label = figure.axes[0].xaxis.label
    assert label.get_text() == key and any(_has_glyph(family, SCRIPT_G) for family in label.get_fontfamily())


def test_an_unbounded_vss_is_explained_in_the_report_and_the_workbook(results, tmp_path):
    """With VSS unbounded the report said "the expected-value plan breaks a service level" whatever
    the plan broke (a limit on what is supplied, now), and the workbook left VSS out. Both show
    the note summary.json holds."""
    folder = tmp_path / "res"
    shutil.copytree(results, folder)
    summary = json.loads((folder / "summary.json").read_text())
    note = "the expected-value plan breaks a limit on what is supplied (x): its cost is unbounded"
    summary["metrics"].update(vss=None, eev=None, vss_note=note, eev_shortfalls_paid=1.0)
    (folder / "summary.json").write_text(json.dumps(summary))
    result = CliRunner().invoke(cli.main, ["report", str(folder), "--out", str(tmp_path / "r.html"),
                                           "--xlsx", str(tmp_path / "r.xlsx")])
    assert result.exit_code == 0, result.output
    assert f"unbounded: {note}" in unescape((tmp_path / "r.html").read_text(encoding="utf-8"))
    rows = dict(row[:2] for row in load_workbook(tmp_path / "r.xlsx")["summary"].iter_rows(values_only=True))
    assert rows["metrics.vss"] == f"unbounded: {note}"
