"""Writing results safely, and the short summary printed on the terminal."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from planner.errors import OutputError
from planner.pipeline import Outcome
from planner.results import TABLE_COLUMNS

SUMMARY_FILE = "summary.json"
WORKBOOK_FILE = "results.xlsx"
REPORT_FILE = "report.html"
EVALUATION_FOLDER = "evaluation"  # planner evaluate's default output inside a results folder
RESULT_FILES = frozenset({SUMMARY_FILE, WORKBOOK_FILE, REPORT_FILE, EVALUATION_FOLDER,
                          *(f"{name}.csv" for name in TABLE_COLUMNS)})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def default_output_dir(outcome: Outcome) -> Path:
    return Path("results") / outcome.instance.name


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


def _is_previous_result(folder: Path) -> bool:
    entries = {p.name for p in folder.iterdir()}
    return SUMMARY_FILE in entries and entries <= RESULT_FILES


def _json_ready(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    return value


def write_results(outcome: Outcome, folder: Path, force: bool = False, xlsx: bool = False) -> Path:
    """Write summary.json and the result CSVs into `folder`, all or nothing.

    Files go to a temporary folder beside it, which is moved into place only when every
    file is complete. An existing earlier result is replaced; a folder holding anything
    else is refused unless `force`. `xlsx` adds the workbook `results.xlsx`.
    """
    folder = Path(folder)
    if folder.exists():
        if not folder.is_dir():
            raise OutputError(f"{folder} exists and is not a folder")
        if any(folder.iterdir()) and not _is_previous_result(folder) and not force:
            raise OutputError(
                f"{folder} holds files that are not an earlier result; choose another --out or pass --force"
            )
    parent = folder.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=parent))
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)  # mkdtemp makes it private; a result folder follows the umask
    except OSError as exc:
        raise OutputError(f"cannot write to {parent}: {exc.strerror}") from None
    try:
        for name, table in outcome.tables.items():
            safe = table.copy()
            for col in safe.columns:
                if not pd.api.types.is_numeric_dtype(safe[col]):
                    safe[col] = safe[col].map(neutralise_formula)
            safe.to_csv(staging / f"{name}.csv", index=False, lineterminator="\n")
        summary = _json_ready(outcome.summary())
        if xlsx:
            from planner.workbook import workbook_from_tables  # openpyxl only when asked for

            workbook_from_tables(summary, outcome.tables, staging / WORKBOOK_FILE)
        with open(staging / SUMMARY_FILE, "w", encoding="utf-8") as fh:
            json.dump(summary, fh, indent=2)
            fh.write("\n")
        if folder.exists():
            retired = parent / f".{folder.name}.old-{os.getpid()}"
            folder.rename(retired)
            staging.rename(folder)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            staging.rename(folder)
    except OSError as exc:
        raise OutputError(f"cannot write results to {folder}: {exc}") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
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


def write_scenario_files(folder: Path, scenarios: pd.DataFrame, disruptions: pd.DataFrame, force: bool) -> None:
    """scenarios.csv and disruptions.csv, refusing to overwrite unless `force`."""
    folder = Path(folder)
    targets = [folder / "scenarios.csv", folder / "disruptions.csv"]
    existing = [str(t) for t in targets if t.exists()]
    if existing and not force:
        raise OutputError(f"{', '.join(existing)} exist; pass --force to overwrite or choose --out")
    folder.mkdir(parents=True, exist_ok=True)
    for frame, target in zip((scenarios, disruptions), targets):
        staging = target.with_name(f".{target.name}.tmp")
        frame.drop(columns=["_row"]).to_csv(staging, index=False, lineterminator="\n")
        staging.replace(target)


def read_summary(folder: Path) -> dict:
    with open(Path(folder) / SUMMARY_FILE, encoding="utf-8") as fh:
        return json.load(fh)


def read_table(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(Path(folder) / f"{name}.csv", keep_default_na=False, na_values=[""])
