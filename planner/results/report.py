"""A self-contained HTML report of a results folder or a sweep folder.

Charts are inline SVG (`planner.results.plots`), tables formatted by column kind
(`planner.results.pages`), so the file needs no network and no other file. Everything
comes from the folder alone (summary.json and the CSV tables), so a report can be made
wherever the folder travels. Full width on screen; prints to A4.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import pandas as pd

from planner.errors import ResultsError
from planner.formatting import count, evaluation_findings, gap, money, percent, probability, unbounded_vss, volume
from planner.results import pages
from planner.results.branches import expected_volumes, file_branches
from planner.results.folder import (
    OWN_SCENARIOS,
    TABLE_COLUMNS,
    figure_fault,
    first_wrong_figure,
    read_inferred,
    read_summary,
    read_table,
    scenario_probabilities,
    unneutralise,
)
from planner.results.ownership import write_file
from planner.results.plots import (
    MAX_HEATMAP_ROWS,
    scenario_costs_chart,
    shortage_table,
    shortages_chart,
    svg,
    volumes_chart,
)
from planner.status import has_plan

BINDING_TOLERANCE = 1e-6
NEAR_BINDING = 0.05  # a share within 5 percentage points of its limit is near-binding
CONTRACT_COLUMNS = ["option", "commodity", "origin", "processor", "fixed_cost", "agreement", "total_volume"]
EXPOSURE_COLUMNS = ["commodity", "period", "scope", "name", "contracted", "demand", "share", "max_share", "supplied",
                    "supplied_share", "supplied_share_max", "max_supplied_share"]
SWEEP_COLUMNS = ["status", "objective", "expected_cost", "cvar", "fixed_cost", "mip_gap", "seconds"]
SWEEP_FIGURES = ("objective", "expected_cost", "cvar")  # what the sweep's charts draw


def binding_rows(exposure: pd.DataFrame) -> pd.DataFrame:
    """Exposure rows that carry a share limit, tightest first, with `headroom` (limit minus
    share, on the limit's basis: the contracted share, or the supplied one in the scenario
    where it is largest) and `binding` / `near` flags."""
    exposure = _with_supply(exposure)
    limited = exposure[exposure["max_share"].notna() | exposure["max_supplied_share"].notna()].copy()
    limited["headroom"] = pd.concat([
        (limited["max_share"] - limited["share"].fillna(0.0)).fillna(math.inf),
        (limited["max_supplied_share"] - limited["supplied_share_max"].fillna(0.0)).fillna(math.inf)],
        axis=1).min(axis=1)
    limited["above"] = limited["headroom"] < -BINDING_TOLERANCE  # only an evaluation's held contracts
    limited["binding"] = ~limited["above"] & (limited["headroom"] <= BINDING_TOLERANCE)
    limited["near"] = ~limited["above"] & ~limited["binding"] & (limited["headroom"] <= NEAR_BINDING)
    return limited.sort_values(["headroom", "commodity", "period"], kind="stable")


def _with_supply(exposure: pd.DataFrame) -> pd.DataFrame:
    """The exposure table with the supplied columns (empty in results older than them)."""
    missing = [c for c in TABLE_COLUMNS["exposure"] if c not in exposure.columns]
    return exposure.assign(**dict.fromkeys(missing, math.nan)) if missing else exposure


def supply_shares(exposure: pd.DataFrame) -> pd.DataFrame:
    """Per material and bloc: the contracted and the supplied share of demand (deliveries and
    spot buys), mean over the periods, and the largest supplied share in any period and
    scenario: what each bloc really supplies, beside what is contracted from it."""
    blocs = _with_supply(exposure)
    blocs = blocs[blocs["scope"] == "bloc"]
    table = blocs.groupby(["commodity", "name"], sort=False).agg(
        share=("share", "mean"), supplied_share=("supplied_share", "mean"),
        supplied_share_max=("supplied_share_max", "max")).reset_index()
    return table.rename(columns={"name": "bloc", "share": "mean share",
                                 "supplied_share": "mean supplied_share",
                                 "supplied_share_max": "highest supplied_share"})


def _evaluated(summary: dict, costs: pd.DataFrame) -> list[tuple[str, str]]:
    """An evaluation's own rows of the headline: which plan, under which scenarios and rules, and
    what it found (`formatting.evaluation_findings`); none for a solve."""
    evaluation = summary.get("evaluation")
    if not isinstance(evaluation, dict):
        return []
    under = evaluation.get("scenarios")
    findings = evaluation_findings(evaluation, scenario_probabilities(costs))
    return [("evaluated", f"the plan in {evaluation.get('plan')} under "
                          + ("its own scenarios" if under == OWN_SCENARIOS else f"the scenarios of {under}")),
            ("rules", str(evaluation.get("rules", ""))),
            *findings]


def _headline(summary: dict, costs: pd.DataFrame, evaluated: list[tuple[str, str]]) -> list[tuple[str, str]]:
    currency = summary.get("currency", "")
    worst = costs.loc[costs["total_cost"].idxmax()]
    rows = [
        *evaluated,
        ("status", str(summary["status"])),
        ("MIP gap", gap(summary.get("mip_gap"))),
        ("objective", money(summary["objective"], currency)),
        ("fixed cost", money(summary["fixed_cost"], currency)),
        ("expected cost", money(summary["expected_cost"], currency)),
        (f"CVaR {summary['cvar_alpha']:g} (mean of the worst {percent(1 - summary['cvar_alpha'])})",
         money(summary["cvar"], currency)),
        ("worst scenario", f"{money(worst['total_cost'], currency)} ({unneutralise(worst['scenario'])}, "
                           f"p {probability(worst['probability'])})"),
        ("risk aversion", f"{summary['risk_aversion']:g}"),
    ]
    if summary.get("ambiguity"):
        worst_case = summary.get("worst_case") or {}
        rows += [("ambiguity", f"probabilities within {percent(summary['ambiguity'])} of the given ones"),
                 ("worst-case expected cost", money(worst_case.get("expected_cost"), currency)),
                 ("worst-case CVaR", money(worst_case.get("cvar"), currency))]
    metrics = summary.get("metrics") or {}
    if metrics:
        rows.append(("EVPI (perfect information)", money(metrics.get("evpi"), currency)))
        rows.append(("VSS (stochastic solution)",
                     money(metrics["vss"], currency) if metrics.get("vss") is not None else unbounded_vss(metrics)))
        oos = metrics.get("out_of_sample") or {}
        if "expected_cost" in oos:
            low, high = oos["ci95"]
            rows.append((f"out of sample ({oos['samples']:,} draws)",
                         f"{money(oos['expected_cost'], currency)} (95% CI {money(low)} to {money(high)})"))
        robust = metrics.get("price_of_robustness")
        if robust:
            rows.append(("price of robustness", f"worst case {money(robust['worst_case_saved'], currency)} lower; "
                         f"{money(robust['nominal_cost'], currency)} more at the given probabilities"))
    return rows


def _periods(periods: list[str], all_periods: list[str]) -> str:
    """Periods as runs of consecutive ones: "2026-2030, 2033"."""
    index = {p: i for i, p in enumerate(all_periods)}
    runs: list[list[str]] = []
    for p in sorted(periods, key=index.__getitem__):
        if runs and index[p] == index[runs[-1][-1]] + 1:
            runs[-1].append(p)
        else:
            runs.append([p])
    return ", ".join(r[0] if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def limit_summary(limited: pd.DataFrame) -> pd.DataFrame:
    """One row per share limit (material, scope, name): where it binds, where it comes near,
    and the highest share, tightest limits first."""
    all_periods = list(dict.fromkeys(limited["period"]))
    rows = []
    for (m, scope, name), part in limited.groupby(["commodity", "scope", "name"], sort=False):
        rows.append({"commodity": m, "scope": scope, "name": name, "max_share": part["max_share"].iloc[0],
                     "max_supplied_share": part["max_supplied_share"].iloc[0],
                     "highest share": part["share"].fillna(0.0).max(),
                     "highest supplied_share": part["supplied_share_max"].max(),
                     "above in": _periods(list(part.loc[part["above"], "period"]), all_periods),
                     "binding in": _periods(list(part.loc[part["binding"], "period"]), all_periods),
                     "near in": _periods(list(part.loc[part["near"], "period"]), all_periods),
                     "headroom": part["headroom"].min()})
    return pd.DataFrame(rows).sort_values(["headroom", "commodity"], kind="stable")


def _exposure_section(exposure: pd.DataFrame, currency: str, unit: str) -> str:
    limited = binding_rows(exposure)
    shares = supply_shares(exposure)
    real = pages.folded(f"what each bloc supplies, spot buys included, against what is contracted from it "
                        f"({len(shares)} rows)", pages.table(shares, "table-supply-shares"), "supply-shares")
    if limited.empty:
        return pages.note("This instance sets no share limits.", "table-exposure") + real
    summary = limit_summary(limited)
    classes = ["binding" if a or b else "near" if n else "" for a, b, n in
               zip(summary["above in"] != "", summary["binding in"] != "", summary["near in"] != "")]
    every = pages.table(limited[EXPOSURE_COLUMNS], "table-exposure-rest", currency, unit,
                        ["binding" if a or b else "near" if n else "" for a, b, n in
                         zip(limited["above"], limited["binding"], limited["near"])])
    summary = summary.drop(columns=["headroom"] + [c for c in ("max_share", "max_supplied_share")
                                                   if summary[c].isna().all()]
                           + (["above in"] if (summary["above in"] == "").all() else []))
    return (pages.table(summary, "table-exposure", currency, unit, classes)
            + pages.folded(f"every period ({len(limited)} rows), tightest first", every, "exposure-rest") + real)


def _branches_section(tables: dict[str, pd.DataFrame], summary: dict, periods: list[str]) -> str:
    """A multi-stage plan: what is decided now, and each branch's volume changes."""
    now = sorted(set(tables["volumes"]["period"]) - set(tables["adaptive_volumes"]["period"].astype(str)),
                 key=periods.index)
    if tables["adaptive_volumes"].empty:
        return pages.section("decisions", "Decided now, and later by branch", pages.note(
            "Decided now: every contract and agreement, and every volume (volumes.csv): no volume waits for events."))
    parts = [pages.note("Decided now: every contract and agreement, and "
                        + (f"the volumes of {now[0]}" + (f"-{now[-1]}" if len(now) > 1 else "") if now
                           else "the volumes of the first period")
                        + " (volumes.csv); the later volumes follow events (adaptive_volumes.csv).")]
    found = file_branches(tables["volumes"], tables["adaptive_volumes"], tables["scenario_costs"], periods)
    if found is not None:
        first, reference, others = found
        rows = [{"branch": b.label, "probability": b.probability,
                 "largest changes (a period)": "; ".join(f"{o} {'+' if v > 0 else ''}"
                                                         f"{volume(v, summary.get('unit', ''))}"
                                                         for o, v in b.changes[:5]) or "the same volumes"}
                for b in others]
        parts.append(pages.note(f"From {first}, each branch's contracted volume a period against the most "
                                f"likely one, {reference.label} (p {probability(reference.probability)})."))
        parts.append(pages.table(pd.DataFrame(rows, columns=["branch", "probability", "largest changes (a period)"]),
                                 "table-branches"))
    return pages.section("decisions", "Decided now, and later by branch", *parts)


def render_report(results: Path) -> str:
    """The HTML report of the results folder `results`."""
    results = Path(results)
    summary = read_summary(results, numbers=("objective", "fixed_cost", "expected_cost", "cvar"))
    tables = {name: read_table(results, name) for name in
              ("contracts", "volumes", "agreements", "scenario_costs", "supply", "exposure")}
    adaptive = results / "adaptive_volumes.csv"
    tables["adaptive_volumes"] = (read_table(results, "adaptive_volumes") if adaptive.is_file()
                                  else pd.DataFrame(columns=TABLE_COLUMNS["adaptive_volumes"]))
    for name in ("volumes", "supply", "exposure"):
        tables[name]["period"] = tables[name]["period"].astype(str)
    currency, unit = summary.get("currency", ""), summary.get("unit", "")
    costs = tables["scenario_costs"]
    shares = shortage_table(tables["supply"])
    selected = tables["contracts"][tables["contracts"]["selected"] == 1]
    agreements = tables["agreements"]
    shown_shares = shares.loc[shares.sum(axis=1).sort_values(ascending=False, kind="stable").index[:MAX_HEATMAP_ROWS]]
    more = len(shares) - len(shown_shares)
    name = str(summary["instance"])
    evaluated = _evaluated(summary, costs)
    volumes_svg = volumes_chart(expected_volumes(tables["volumes"], tables["adaptive_volumes"], costs),
                                tables["contracts"], tables["supply"], unit)
    sections = [
        f"<h1>{'Evaluation of a sourcing plan' if evaluated else 'Sourcing plan'}: {html.escape(name)}</h1>",
        pages.section("headline", "Headline",
                      pages.figures_table(_headline(summary, costs, evaluated), "table-headline")),
        *([_branches_section(tables, summary, list(dict.fromkeys(tables["supply"]["period"])))]
          if summary.get("stages") == "multi" else []),
        pages.section("agreements", "Agreements",
                      pages.table(agreements, "table-agreements", currency, unit) if not agreements.empty
                      else pages.note("This instance has no agreements.", "table-agreements")),
        pages.section("volumes", "Contracted volume by bloc of origin, with demand"
                      + (" (expected over the scenarios)" if not tables["adaptive_volumes"].empty else ""),
                      f'<figure id="chart-volumes">{volumes_svg}</figure>'),
        pages.section("exposure", "Exposure against share limits",
                      pages.note("Volume exposed to a country or bloc (origin or processor) as a share of "
                                 "demand, contracted and supplied (deliveries and spot buys, the largest over the "
                                 "scenarios), one row per limit, tightest first: red where it binds (the share at "
                                 f"the limit) in some period, orange where it comes within {percent(NEAR_BINDING)} "
                                 "points of it"
                                 + ("; in an evaluation, also red where the held contracts go above it (\"above "
                                    "in\"), which the evaluation cannot undo." if evaluated
                                    else ".")),
                      _exposure_section(tables["exposure"], currency, unit)),
        pages.section("scenario-costs", "Distribution of scenario costs",
                      f'<figure id="chart-scenario-costs">{scenario_costs_chart(costs, summary)}</figure>'),
        pages.section("shortages", "Shortages by scenario and material",
                      pages.note("Total unmet demand over the horizon as a share of total demand"
                                 + (f"; the {len(shown_shares)} scenarios with the most shortage ({more} more in "
                                    "supply.csv)." if more else ".")),
                      f'<figure id="chart-shortages">{shortages_chart(shares)}</figure>',
                      pages.table(shown_shares.reset_index().rename(columns=lambda c: c if c == "scenario"
                                                                    else f"share_{c}"), "table-shortages")),
        pages.section("contracts", "Contracts", pages.table(selected[CONTRACT_COLUMNS], "table-contracts",
                                                            currency, unit)),
        pages.note(f"planner {summary.get('planner_version', '')}, {summary.get('solver', '')}."),
    ]
    return pages.page(f"planner report: {name}", sections)


def _sweep_table(table: pd.DataFrame, keys: list[str], currency: str) -> str:
    """The runs, formatted; a run without a plan on one line: its status and reason across the
    figures' columns."""
    columns = [*keys, "id", *[c for c in SWEEP_COLUMNS if c in table.columns]]
    planned = table[table["status"].map(has_plan)]
    formatted = pages.table(planned[columns], "table-sweep", currency) if not planned.empty else ""
    failed = table[~table["status"].map(has_plan)]
    if failed.empty:
        return formatted
    rows = []
    for record in failed.itertuples(index=False):
        values = dict(zip(table.columns, record))
        cells = "".join(f'<td class="num">{html.escape(str(values[k]))}</td>' for k in keys)
        reason = str(unneutralise(values.get("reason", "")) or "")
        rows.append(f'<tr class="no-plan">{cells}<td class="text">{html.escape(str(values["id"]))}</td>'
                    f'<td class="text" colspan="{len(columns) - len(keys) - 1}">'
                    f'{html.escape(str(values["status"]))}: {html.escape(reason)}</td></tr>')
    head = "".join(f"<th>{html.escape(c)}</th>" for c in [*keys, "id", "status and reason"])
    return (formatted + "<h3>Runs without a plan</h3>"
            f'<table id="table-sweep-failed"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _sweep_runs(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """A sweep's table and its keys (the columns before `id`), the keys and the figures the charts
    draw as numbers (blank for a run without a plan); `ResultsError` otherwise. A damaged sweep.csv,
    a figure's column renamed or text where a figure belongs, was an internal error in its chart."""
    table = read_inferred(path, ["id", "status", *SWEEP_FIGURES])
    keys = list(table.columns[: list(table.columns).index("id")])
    table["status"] = table["status"].astype(str)
    for column in [*keys, *SWEEP_FIGURES]:
        numbers = pd.to_numeric(table[column], errors="coerce")
        row = first_wrong_figure(numbers, numbers.isna() & table[column].notna())
        if row is not None:
            cell = table[column].iloc[row]  # (text, or a number as pandas read it)
            shown = repr(cell) if isinstance(cell, str) else f"{float(cell):g}"
            raise ResultsError(f"{path}:{row + 2}:{column}: {shown} {figure_fault(numbers.iloc[row])}")
        table[column] = numbers
    return table, keys


def render_sweep_report(folder: Path) -> str:
    """The HTML report of a sweep folder: its charts and its runs."""
    from planner.studies.charts import sweep_figures, why_no_chart
    from planner.studies.sweep import SWEEP_FILE, first_run_summary

    table, keys = _sweep_runs(Path(folder) / SWEEP_FILE)
    first = first_run_summary(folder)
    currency, instance = str(first.get("currency", "")), str(first.get("instance", ""))
    charts = "".join(f'<figure id="chart-{html.escape(name.removesuffix(".png"))}">{svg(fig)}</figure>'
                     for name, fig in sweep_figures(table, keys, currency).items())
    if not charts:
        charts = pages.note(f"No chart: {why_no_chart(table)}.")
    failed = int((~table["status"].map(has_plan)).sum())
    title = Path(folder).resolve().name
    sections = [
        f"<h1>Sweep{f' of {html.escape(instance)}' if instance else ''}: {html.escape(title)}</h1>",
        f'<section id="headline"><p>{count(len(table), "run")}'
        f'{f" of {html.escape(instance)}" if instance else ""} over '
        f'{html.escape(", ".join(keys))}; {failed} without a plan.</p></section>',
        pages.section("charts", "Charts", charts),
        pages.section("runs", "Runs", _sweep_table(table, keys, currency),
                      pages.note("Bloc shares per material are in sweep.csv; each run's full results in runs/ID/.")),
    ]
    return pages.page(f"planner sweep: {title}", sections)


def write_report(results: Path, out: Path) -> Path:
    """Write the HTML report of a results or sweep folder to `out` (whole, then moved into place;
    an existing file only when planner wrote it, `planner.results.ownership.write_file`)."""
    from planner.studies.sweep import SWEEP_FILE

    text = render_sweep_report(results) if (Path(results) / SWEEP_FILE).is_file() else render_report(results)
    return write_file(Path(out), lambda path: path.write_text(text, encoding="utf-8"))
