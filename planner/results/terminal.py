"""The few lines a solve, its metrics and an evaluation print on the terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from planner.formatting import count, evaluation_findings, percent, probability, share, unbounded_vss, volume
from planner.formatting import gap as _gap
from planner.formatting import money as _money
from planner.results.branches import SHOWN_BRANCHES, SHOWN_CHANGES, branching_periods, decided_now, plan_branches

if TYPE_CHECKING:
    from planner.instance.data import ModelData
    from planner.results.plan import Plan
    from planner.solve.pipeline import Outcome


def worst_case_leaning(given: dict[str, float], worst: dict[str, float], cost: dict[str, float],
                       shown: int = 3) -> str:
    """The costliest scenarios the worst case weighs above their given probability."""
    raised = sorted((s for s in given if worst[s] > given[s] + 1e-12), key=lambda s: (-cost[s], s))
    parts = [f"{s} (p {probability(given[s])} -> {probability(worst[s])})" for s in raised[:shown]]
    if len(raised) > shown:
        parts.append(f"{len(raised) - shown} more")
    return ", ".join(parts) if parts else "none (the given probabilities are already the worst)"


def format_summary(outcome: Outcome) -> str:
    """A few lines for the terminal: status, costs, chosen options per material."""
    inst, f, data = outcome.instance, outcome.figures, outcome.data
    gap = outcome.mip_gap
    lines = [
        f"{inst.name}: {outcome.report.status}"
        + (f" (gap {_gap(gap)}, best bound {_money(outcome.report.best_bound, inst.currency)})"
           if gap is not None else ""),
        f"  objective      {_money(f.objective, inst.currency)}"
        f"   (risk aversion {inst.risk_aversion:g}, CVaR level {inst.cvar_alpha:g})",
        f"  expected cost  {_money(f.expected_cost, inst.currency)}",
        f"  CVaR           {_money(f.cvar, inst.currency)}",
        f"  fixed cost     {_money(f.fixed_cost, inst.currency)}",
    ]
    if data.ambiguity > 0:
        lines.append(f"  worst case     probabilities within {percent(data.ambiguity)} of the given ones: "
                     "expected cost "
                     f"{_money(f.worst_case_expected_cost, inst.currency)}, "
                     f"CVaR {_money(f.worst_case_cvar, inst.currency)}")
        leaning = worst_case_leaning(data.probability, f.worst_case_probability, f.scenario_cost)
        lines.append(f"    it leans on  {leaning}")
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
        volume = {o: sum(outcome.plan.expected_volume(data, o, t) for t in data.periods_of[o])
                  for o in data.options_of[m] if outcome.plan.contracted[o]}
        total = sum(volume.values())
        ranked = sorted(volume, key=lambda o: (-volume[o], o))
        parts = [f"{o.removeprefix(m + ':')} {volume[o] / total:.0%}" if total > 0 else o.removeprefix(m + ":")
                 for o in ranked[:5]]
        if len(ranked) > 5:
            parts.append(f"+{len(ranked) - 5} more")
        short = weighted_shortage.get(m, 0.0) / total_demand[m] if total_demand.get(m, 0) > 0 else 0.0
        text = f"{len(ranked)} contract{'s' if len(ranked) != 1 else ''}: {', '.join(parts)}" if ranked else "none"
        lines.append(f"    {m:<{width}}  {text}; shortage {share(short)}")
    lines += format_branches(data, outcome.plan, inst.unit)
    return "\n".join(lines)


def format_branches(data: ModelData, plan: Plan, unit: str) -> list[str]:
    """A multi-stage plan: what is decided now, and how later volumes differ by branch."""
    if not data.multi_stage:
        return []
    now = decided_now(data)
    if len(now) == len(data.periods):
        return ["  decided now    every contract and agreement above, and every volume (volumes.csv): "
                "no volume waits for events"]
    lines = ["  decided now    every contract and agreement above"
             + (f", and the volumes of {now[0]}" + (f"-{now[-1]}" if len(now) > 1 else "") if now else "")
             + " (volumes.csv); later volumes follow events (adaptive_volumes.csv)"]
    for t0 in branching_periods(data)[:2]:  # the first two points where the scenarios part
        _, reference, others = plan_branches(data, plan, t0)
        lines.append(f"  then, from {data.periods[t0]}: contracted volume a period against the most likely branch, "
                     f"{reference.label} (p {probability(reference.probability)}):")
        for branch in others[:SHOWN_BRANCHES]:
            changes = ", ".join(f"{o} {'+' if v > 0 else ''}{volume(v, unit)}"
                                for o, v in branch.changes[:SHOWN_CHANGES])
            lines.append(f"    if {branch.label} (p {probability(branch.probability)}): "
                         f"{changes or 'the same volumes'}")
        if len(others) > SHOWN_BRANCHES:
            lines.append(f"    ... {len(others) - SHOWN_BRANCHES} more branches in adaptive_volumes.csv")
    return lines


def format_metrics(metrics: dict, currency: str, expected_cost: float) -> str:
    """The hedging metrics (planner.evaluate.hedging_metrics) for the terminal."""
    lines = ["  what hedging is worth:",
             f"    EVPI (perfect information)     {_money(metrics['evpi'], currency)}"
             f"   (wait-and-see {_money(metrics['wait_and_see'], currency)})"]
    if metrics["vss"] is None:
        lines.append(f"    VSS (stochastic solution)      {unbounded_vss(metrics)}")
        lines.append(f"      under a stress test's rules instead (shortfalls paid for, its contracts held), the "
                     f"expected-value plan costs {_money(metrics['eev_shortfalls_paid'], currency)}")
    else:
        lines.append(f"    VSS (stochastic solution)      {_money(metrics['vss'], currency)}"
                     f"   (the expected-value plan costs {_money(metrics['eev'], currency)})")
    oos = metrics["out_of_sample"]
    if "expected_cost" in oos:
        low, high = oos["ci95"]
        lines.append(f"    out of sample ({oos['samples']:,} draws, seed {oos['seed']}): expected cost "
                     f"{_money(oos['expected_cost'], currency)}, 95% CI [{_money(low)}, {_money(high)}]; "
                     f"in sample {_money(expected_cost, currency)}")
    else:
        lines.append(f"    out of sample: {oos['note']}")
    stages = metrics.get("stages")
    if stages:
        lines.append(f"    value of flexibility: {_money(stages['value_of_flexibility'], currency)} "
                     f"(every volume fixed up front: {_money(stages['contracts_up_front'], currency)}); "
                     "foresight bias of the two-stage "
                     f"model: {_money(stages['foresight_bias'], currency)} (two-stage optimum "
                     f"{_money(stages['two_stage'], currency)})")
    for g, deal in (metrics.get("agreements") or {}).items():
        if deal["worth"] is None:
            lines.append(f"    agreement {g}: indispensable (without it no plan meets every constraint)")
            continue
        parts = [f"{m} {_money(p['contribution'], currency)}" for m, p in deal["materials"].items()
                 if p["contribution"] is not None]
        lines.append(f"    agreement {g}: worth {_money(deal['worth'], currency)} net of its "
                     f"{_money(deal['fixed_cost'], currency)}, so it pays up to a price of "
                     f"{_money(deal['break_even_price'], currency)}"
                     + (f"; its part by material (each removed alone): {', '.join(parts)}" if len(parts) > 1 else ""))
    robust = metrics.get("price_of_robustness")
    if robust:
        tolerance = robust.get("solver_tolerance", 0.0)
        lines.append(f"    price of robustness: the worst case saves {_money(robust['worst_case_saved'], currency)} "
                     f"against the plan for the given probabilities (worst case "
                     f"{_money(robust['nominal_plan_worst_case'], currency)}); at the given probabilities it costs "
                     f"{_money(robust['nominal_cost'], currency)} more "
                     f"(nominal optimum {_money(robust['nominal_optimum'], currency)})")
        if max(abs(robust["worst_case_saved"]), abs(robust["nominal_cost"])) <= tolerance:
            lines.append(f"      both are within the solves' gaps ({_money(tolerance, currency)}): the plans are "
                         "equally good as far as the solver can tell; solve with a smaller --mip-gap to separate them")
        elif min(abs(robust["worst_case_saved"]), abs(robust["nominal_cost"])) <= tolerance:
            lines.append(f"      a figure within the solves' gaps ({_money(tolerance, currency)}) "
                         "cannot be told from 0")
    return "\n".join(lines)


def format_evaluation(outcome: Outcome) -> str:
    """An evaluated plan for the terminal: costs, then shortages per scenario."""
    f, data, inst = outcome.figures, outcome.data, outcome.instance
    lines = [f"evaluation of the plan under {count(len(data.scenarios), 'scenario')}:",
             f"  expected cost  {_money(f.expected_cost, inst.currency)}",
             f"  CVaR           {_money(f.cvar, inst.currency)}   (level {data.cvar_alpha:g})",
             f"  objective      {_money(f.objective, inst.currency)}   (risk aversion {data.risk_aversion:g})"]
    evaluation = (outcome.extra or {}).get("evaluation", {})
    lines += [f"  {what} {finding}" for what, finding in
              evaluation_findings(evaluation, data.probability, data.service_level)]
    missed = evaluation.get("service_levels_missed") or {}
    supply = outcome.tables["supply"]
    totals = supply.groupby(["scenario", "commodity"])[["shortage", "demand"]].sum()
    ranked = sorted(data.scenarios, key=lambda s: (-data.probability[s], s))
    for s in ranked[:20]:
        parts = []
        for m in data.commodities:
            short, demand = totals.at[(s, m), "shortage"], totals.at[(s, m), "demand"]
            if short > 1e-9 and demand > 0:
                parts.append(f"{m} {share(short / demand)}" + (" (below its service level)" if s in missed.get(m, ())
                                                                else ""))
        lines.append(f"  {s} (p {probability(data.probability[s])}): "
                     f"cost {_money(f.fixed_cost + f.scenario_cost[s], inst.currency)}; "
                     f"shortage {', '.join(parts) if parts else 'none'}")
    if len(ranked) > 20:
        lines.append(f"  ... {len(ranked) - 20} more in scenario_costs.csv and supply.csv")
    return "\n".join(lines)
