"""Writing results safely, and the short summary printed on the terminal."""

from __future__ import annotations

import json
import math
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from planner.errors import OutputError
from planner.results.ownership import TEMP_PREFIX, Kind, inspect, read_manifest, record_files, staged_folder

if TYPE_CHECKING:
    from planner.solve.pipeline import Outcome

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


def _json_ready(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, StrEnum):
        return str(value)
    return value


def write_tables(folder: Path, tables: dict[str, pd.DataFrame]) -> None:
    """One CSV per table; text cells a spreadsheet would run as a formula are neutralised."""
    for name, table in tables.items():
        safe = table.copy()
        for col in safe.columns:
            if not pd.api.types.is_numeric_dtype(safe[col]):
                safe[col] = safe[col].map(neutralise_formula)
        safe.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")


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


def _money(value: float, currency: str) -> str:
    return f"{value:,.2f} {currency}"


def format_summary(outcome: Outcome) -> str:
    """A few lines for the terminal: status, costs, chosen options per material."""
    inst, f, data = outcome.instance, outcome.figures, outcome.data
    gap = outcome.mip_gap
    lines = [
        f"{inst.name}: {outcome.report.status}"
        + (f" (gap {gap:.4%}, best bound {outcome.report.best_bound:,.2f})" if gap is not None else ""),
        f"  objective      {_money(f.objective, inst.currency)}"
        f"   (risk aversion {inst.risk_aversion:g}, CVaR level {inst.cvar_alpha:g})",
        f"  expected cost  {_money(f.expected_cost, inst.currency)}",
        f"  CVaR           {_money(f.cvar, inst.currency)}",
        f"  fixed cost     {_money(f.fixed_cost, inst.currency)}",
    ]
    signed = [g for g, w in outcome.plan.signed.items() if w]
    if signed:
        lines.append(f"  agreements     {', '.join(signed)}")
    supply = outcome.tables["supply"]
    probability = supply["scenario"].map(data.probability)
    weighted_shortage = (supply["shortage"] * probability).groupby(supply["commodity"]).sum()
    total_demand = supply.groupby("commodity")["demand"].sum() / len(data.scenarios)
    width = max(len(m) for m in data.commodities)
    lines.append("  contracts by material (share of contracted volume), expected shortage:")
    for m in data.commodities:
        volume = {o: sum(outcome.plan.volume.get((o, t), 0.0) for t in data.periods_of[o])
                  for o in data.options_of[m] if outcome.plan.contracted[o]}
        total = sum(volume.values())
        ranked = sorted(volume, key=lambda o: (-volume[o], o))
        parts = [f"{o.removeprefix(m + ':')} {volume[o] / total:.0%}" if total > 0 else o.removeprefix(m + ":")
                 for o in ranked[:5]]
        if len(ranked) > 5:
            parts.append(f"+{len(ranked) - 5} more")
        share = weighted_shortage.get(m, 0.0) / total_demand[m] if total_demand.get(m, 0) > 0 else 0.0
        text = f"{len(ranked)} contract{'s' if len(ranked) != 1 else ''}: {', '.join(parts)}" if ranked else "none"
        lines.append(f"    {m:<{width}}  {text}; shortage {share:.1%}")
    return "\n".join(lines)


def format_metrics(metrics: dict, currency: str, expected_cost: float) -> str:
    """The hedging metrics (planner.evaluate.hedging_metrics) for the terminal."""
    lines = ["  what hedging is worth:",
             f"    EVPI (perfect information)     {_money(metrics['evpi'], currency)}"
             f"   (wait-and-see {metrics['wait_and_see']:,.2f})"]
    if metrics["vss"] is None:
        lines.append(f"    VSS (stochastic solution)      unbounded: {metrics['vss_note']}")
        lines.append(f"      paying its shortfalls instead, the expected-value plan costs "
                     f"{metrics['eev_shortfalls_paid']:,.2f}")
    else:
        lines.append(f"    VSS (stochastic solution)      {_money(metrics['vss'], currency)}"
                     f"   (the expected-value plan costs {metrics['eev']:,.2f})")
    oos = metrics["out_of_sample"]
    if "expected_cost" in oos:
        low, high = oos["ci95"]
        lines.append(f"    out of sample ({oos['samples']:,} draws, seed {oos['seed']}): expected cost "
                     f"{oos['expected_cost']:,.2f}, 95% CI [{low:,.2f}, {high:,.2f}]; in sample {expected_cost:,.2f}")
    else:
        lines.append(f"    out of sample: {oos['note']}")
    return "\n".join(lines)


def format_evaluation(outcome: Outcome) -> str:
    """An evaluated plan for the terminal: costs, then shortages per scenario."""
    f, data, inst = outcome.figures, outcome.data, outcome.instance
    lines = [f"evaluation of the plan under {len(data.scenarios)} scenario(s):",
             f"  expected cost  {_money(f.expected_cost, inst.currency)}",
             f"  CVaR           {_money(f.cvar, inst.currency)}   (level {data.cvar_alpha:g})",
             f"  objective      {_money(f.objective, inst.currency)}   (risk aversion {data.risk_aversion:g})"]
    supply = outcome.tables["supply"]
    totals = supply.groupby(["scenario", "commodity"])[["shortage", "demand"]].sum()
    ranked = sorted(data.scenarios, key=lambda s: (-data.probability[s], s))
    for s in ranked[:20]:
        parts = []
        for m in data.commodities:
            short, demand = totals.at[(s, m), "shortage"], totals.at[(s, m), "demand"]
            if short > 1e-9 and demand > 0:
                parts.append(f"{m} {short / demand:.1%}")
        lines.append(f"  {s} (p {data.probability[s]:.4g}): cost {f.fixed_cost + f.scenario_cost[s]:,.2f}; "
                     f"shortage {', '.join(parts) if parts else 'none'}")
    if len(ranked) > 20:
        lines.append(f"  ... {len(ranked) - 20} more in scenario_costs.csv and supply.csv")
    return "\n".join(lines)


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
        staging = folder / f"{TEMP_PREFIX}{name}.csv"
        try:
            write_tables(folder, {f"{TEMP_PREFIX}{name}": frame})
            staging.replace(path)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
        finally:
            staging.unlink(missing_ok=True)
        written.append(path)
    record_files(folder, [p.name for p in written])
    return written


def read_summary(folder: Path) -> dict:
    with open(Path(folder) / SUMMARY_FILE, encoding="utf-8") as fh:
        return json.load(fh)


def read_table(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(Path(folder) / f"{name}.csv", keep_default_na=False, na_values=[""])
