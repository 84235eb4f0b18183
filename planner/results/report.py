"""A self-contained HTML report of a results folder: headline figures, charts, tables.

Charts are drawn with matplotlib and embedded as inline SVG, so the file needs no
network access (and no other file) to be viewed. Everything comes from the results
folder alone (summary.json and the CSV tables), so a report can be made wherever the
folder travels. Every piece of user text is HTML-escaped.
"""

from __future__ import annotations

import html
import io
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["text.parse_math"] = False  # "$" in a currency or name is text, not TeX
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from planner.results.folder import read_summary, read_table, unneutralise  # noqa: E402
from planner.results.ownership import GENERATOR, write_file  # noqa: E402
from planner.status import has_plan  # noqa: E402

BINDING_TOLERANCE = 1e-6
_GENERATOR = f'<meta name="generator" content="{GENERATOR}">'
CONTRACT_COLUMNS = ["option", "commodity", "origin", "processor", "fixed_cost", "agreement", "total_volume"]
BLOC_COLOURS = {"china": "#c0392b", "russia": "#8e44ad", "ukraine": "#f1c40f", "allies": "#2e86c1",
                "domestic": "#1e8449", "global_south": "#e67e22"}
STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1150px;color:#222}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0}
th,td{padding:.25em .6em;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child,td.text{text-align:left}
tr.binding td{background:#fdecea;font-weight:600}
.figures td:first-child{font-weight:600}.note{color:#666;font-size:.9em}
figure{margin:0}svg{max-width:100%;height:auto}
"""


def _svg(fig: plt.Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _money(value: float | None, currency: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.2f} {html.escape(str(currency))}"


def _table(frame: pd.DataFrame, table_id: str, row_classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for i, record in enumerate(frame.itertuples(index=False)):
        cells = []
        for value in record:
            if isinstance(value, float):
                cells.append("<td></td>" if math.isnan(value) else f"<td>{value:,.6g}</td>")
            elif isinstance(value, (int, np.integer)):
                cells.append(f"<td>{value}</td>")
            else:
                cells.append(f'<td class="text">{html.escape(str(unneutralise(value)))}</td>')
        cls = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def volumes_chart(volumes: pd.DataFrame, contracts: pd.DataFrame, supply: pd.DataFrame, unit: str) -> str:
    """Contracted volume per material and period, stacked by bloc of origin, with demand."""
    bloc = dict(zip(contracts["option"], contracts["origin_bloc"]))
    data = volumes.assign(bloc=volumes["option"].map(bloc))
    materials = list(dict.fromkeys(supply["commodity"]))
    periods = list(dict.fromkeys(supply["period"].astype(str)))
    demand = supply.drop_duplicates(["commodity", "period"]).set_index(["commodity", "period"])["demand"]
    blocs = sorted(set(data["bloc"].dropna()))
    cols = 2 if len(materials) > 1 else 1
    rows = math.ceil(len(materials) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(11, 3.1 * rows), squeeze=False)
    x = np.arange(len(periods))
    for ax, m in zip(axes.flat, materials):
        bottom = np.zeros(len(periods))
        table = data[data["commodity"] == m].pivot_table(index="period", columns="bloc", values="volume",
                                                          aggfunc="sum").reindex(periods).fillna(0.0)
        for b in blocs:
            if b in table.columns and table[b].sum() > 0:
                ax.bar(x, table[b].to_numpy(), bottom=bottom, label=b, color=BLOC_COLOURS.get(b, "#7f8c8d"))
                bottom += table[b].to_numpy()
        ax.plot(x, [demand.get((m, p), 0.0) for p in periods], color="black", marker="o", lw=1.5, label="demand")
        ax.set_title(m, fontsize=10)
        ax.set_xticks(x, periods, fontsize=7, rotation=45)
        ax.set_ylabel(unit, fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
    for ax in list(axes.flat)[len(materials):]:
        ax.axis("off")
    handles, labels = [], []
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="upper center", ncol=min(7, len(labels)), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    return _svg(fig)


def scenario_costs_chart(costs: pd.DataFrame, summary: dict) -> str:
    """Distribution of total scenario costs (probability-weighted) with expected cost and CVaR."""
    fig, ax = plt.subplots(figsize=(10, 3.6))
    values, weights = costs["total_cost"].to_numpy(float), costs["probability"].to_numpy(float)
    bins = min(30, max(5, len(values)))
    ax.hist(values, bins=bins, weights=weights, color="#5d6d7e", edgecolor="white")
    ax.axvline(summary["expected_cost"], color="#1e8449", lw=2, label=f"expected cost {summary['expected_cost']:,.0f}")
    ax.axvline(summary["cvar"], color="#c0392b", lw=2, ls="--",
               label=f"CVaR {summary['cvar_alpha']:g}: {summary['cvar']:,.0f}")
    ax.set_xlabel(f"total cost per scenario ({summary.get('currency', '')})", fontsize=9)
    ax.set_ylabel("probability", fontsize=9)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return _svg(fig)


def shortage_table(supply: pd.DataFrame) -> pd.DataFrame:
    """Total shortage per scenario and material as a share of that material's total demand."""
    total = supply.groupby(["scenario", "commodity"])[["shortage", "demand"]].sum()
    share = (total["shortage"] / total["demand"].where(total["demand"] > 0)).fillna(0.0)
    return share.unstack("commodity").fillna(0.0)


def shortages_chart(shares: pd.DataFrame) -> str:
    """Heat map: scenarios down, materials across, shortage share of demand in each cell."""
    fig, ax = plt.subplots(figsize=(10, 0.28 * len(shares) + 1.6))
    image = ax.imshow(shares.to_numpy(), aspect="auto", cmap="Reds", vmin=0, vmax=max(0.01, shares.to_numpy().max()))
    ax.set_xticks(range(len(shares.columns)), shares.columns, fontsize=8, rotation=30, ha="right")
    ax.set_yticks(range(len(shares.index)), shares.index, fontsize=7)
    fig.colorbar(image, ax=ax, label="shortage / demand", fraction=0.03)
    fig.tight_layout()
    return _svg(fig)


def binding_rows(exposure: pd.DataFrame) -> pd.DataFrame:
    """Exposure rows that carry a share limit, with a `binding` flag."""
    limited = exposure[exposure["max_share"].notna()].copy()
    limited["binding"] = limited["share"].fillna(0.0) >= limited["max_share"] - BINDING_TOLERANCE
    return limited


def _page(title: str, sections: list[str]) -> str:
    """A whole HTML page; `title` is already escaped."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">{_GENERATOR}<title>{title}</title>'
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(sections) + "\n</body></html>\n")


def render_report(results: Path) -> str:
    """The HTML report of the results folder `results`."""
    results = Path(results)
    summary = read_summary(results)
    tables = {name: read_table(results, name) for name in
              ("contracts", "volumes", "agreements", "scenario_costs", "supply", "exposure")}
    for name in ("volumes", "supply", "exposure"):
        tables[name]["period"] = tables[name]["period"].astype(str)
    currency, unit = summary.get("currency", ""), summary.get("unit", "")
    costs = tables["scenario_costs"]
    worst = costs.loc[costs["total_cost"].idxmax()]
    gap = summary.get("mip_gap")
    figures = [
        ("status", html.escape(str(summary["status"]))),
        ("MIP gap", "-" if gap is None else f"{gap:.4%}"),
        ("objective", _money(summary["objective"], currency)),
        ("fixed cost", _money(summary["fixed_cost"], currency)),
        ("expected cost", _money(summary["expected_cost"], currency)),
        (f"CVaR {summary['cvar_alpha']:g} (mean of the worst {1 - summary['cvar_alpha']:.0%})",
         _money(summary["cvar"], currency)),
        ("worst scenario",
         f"{_money(worst['total_cost'], currency)} ({html.escape(str(unneutralise(worst['scenario'])))})"),
        ("risk aversion", f"{summary['risk_aversion']:g}"),
    ]
    headline = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in figures)
    limited = binding_rows(tables["exposure"])
    shares = shortage_table(tables["supply"])
    selected = tables["contracts"][tables["contracts"]["selected"] == 1]
    exposure_html = (
        _table(limited[["commodity", "period", "scope", "name", "contracted", "demand", "share", "max_share"]],
               "table-exposure", ["binding" if b else "" for b in limited["binding"]])
        if not limited.empty else '<p id="table-exposure" class="note">This instance sets no share limits.</p>'
    )
    name = html.escape(str(summary["instance"]))
    sections = [
        f"<h1>Sourcing plan: {name}</h1>",
        '<section id="headline"><h2>Headline</h2>'
        f'<table class="figures" id="table-headline">{headline}</table></section>',
        '<section id="volumes"><h2>Contracted volume by bloc of origin, with demand</h2>'
        f'<figure id="chart-volumes">{volumes_chart(tables["volumes"], tables["contracts"], tables["supply"], unit)}'
        "</figure></section>",
        '<section id="exposure"><h2>Exposure against share limits</h2>'
        '<p class="note">Contracted volume exposed to a country or bloc (origin or processor) as a share of '
        f"demand; highlighted rows bind (share at the limit).</p>{exposure_html}</section>",
        '<section id="scenario-costs"><h2>Distribution of scenario costs</h2>'
        f'<figure id="chart-scenario-costs">{scenario_costs_chart(costs, summary)}</figure></section>',
        '<section id="shortages"><h2>Shortages by scenario and material</h2>'
        '<p class="note">Total unmet demand over the horizon as a share of total demand.</p>'
        f'<figure id="chart-shortages">{shortages_chart(shares)}</figure>'
        f'{_table(shares.reset_index(), "table-shortages")}</section>',
        '<section id="contracts"><h2>Contracts</h2>'
        f'{_table(selected[CONTRACT_COLUMNS], "table-contracts")}</section>',
        f'<p class="note">planner {html.escape(str(summary.get("planner_version", "")))}, '
        f'{html.escape(str(summary.get("solver", "")))}.</p>',
    ]
    return _page(f"planner report: {name}", sections)


def render_sweep_report(folder: Path) -> str:
    """The HTML report of a sweep folder: its charts and its table."""
    from planner.studies.charts import sweep_figures, why_no_chart
    from planner.studies.sweep import SWEEP_FILE

    table = pd.read_csv(Path(folder) / SWEEP_FILE, keep_default_na=False, na_values=[""])
    keys = list(table.columns[: list(table.columns).index("id")])
    charts = "".join(f'<figure id="chart-{html.escape(name.removesuffix(".png"))}">{_svg(fig)}</figure>'
                     for name, fig in sweep_figures(table, keys).items())
    if not charts:
        charts = f'<p class="note">No chart: {html.escape(why_no_chart(table))}.</p>'
    shown = table[[c for c in table.columns if not c.startswith("share_")]]
    failed = int((~table["status"].map(has_plan)).sum())
    title = html.escape(Path(folder).resolve().name)
    sections = [
        f"<h1>Sweep: {title}</h1>",
        f'<section id="headline"><p>{len(table)} runs over {html.escape(", ".join(keys))}; '
        f"{failed} without a plan.</p></section>",
        f'<section id="charts"><h2>Charts</h2>{charts}</section>',
        f'<section id="runs"><h2>Runs</h2>{_table(shown, "table-sweep")}'
        '<p class="note">Bloc shares per material are in sweep.csv; each run\'s full results in runs/ID/.</p>'
        "</section>",
    ]
    return _page(f"planner sweep: {title}", sections)


def write_report(results: Path, out: Path) -> Path:
    """Write the HTML report of a results or sweep folder to `out` (whole, then moved into place;
    an existing file only when planner wrote it, `planner.ownership.write_file`)."""
    from planner.studies.sweep import SWEEP_FILE

    text = render_sweep_report(results) if (Path(results) / SWEEP_FILE).is_file() else render_report(results)
    return write_file(Path(out), lambda path: path.write_text(text, encoding="utf-8"))
