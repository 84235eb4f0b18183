"""Explaining infeasible plans: the smallest relaxations that make a plan possible.

When no plan meets every constraint, the elastic model (`create_model(data, Variant(elastic=True))`)
gives each limit that can cause it a priced slack: service level per material and
scenario, minimum suppliers, average risk, share limits, budget, and storage overflow
(volume that can be neither used nor stored). Minimising the total relaxation, measured
in shares of demand, suppliers and shares of the budget, shows which limits conflict and
how far; each nonzero slack becomes one sentence in the user's terms.
"""

from __future__ import annotations

from dataclasses import replace

import pyomo.environ as pyo

from planner.instance.data import ModelData
from planner.errors import SolveError
from planner.model import Variant, create_model
from planner.results.plan import plan_from_model
from planner.solve.scaling import Scales, scale_data, unscale_plan
from planner.solve.session import SolveOptions, solve_model

SLACK_TOLERANCE = 1e-6  # relative to the quantity relaxed


def _value(var: pyo.Var) -> float:
    return float(var.value or 0.0)


def explain_infeasibility(data: ModelData, scales: Scales, options: SolveOptions) -> list[str]:
    """The relaxations that make the instance feasible, one sentence each.

    `data` is in the user's units; the elastic model is built on its scaled copy and
    every value read from it is scaled back before it is reported.
    """
    model = create_model(scale_data(data, scales), Variant(elastic=True))
    report = solve_model(model, 0.0, replace(options, tiebreak=False, progress=None, log=False))
    if not report.has_plan:
        raise SolveError(report.status, f"could not diagnose the infeasible plan (status {report.status})")
    plan = unscale_plan(plan_from_model(model, data), data, scales)
    V, M = scales.volume, scales.money
    unit, periods = data.instance.unit, data.periods
    reasons: list[str] = []
    total = {m: sum(data.demand[m, t] for t in data.horizon) for m in data.commodities}

    if hasattr(model, "service_level_slack"):
        for (m, r), var in model.service_level_slack.items():
            if _value(var) * V[m] > SLACK_TOLERANCE * max(total[m], 1.0):
                unmet = sum(plan.unmet[m, t, r] for t in data.horizon)
                reached = 1 - unmet / total[m]
                reasons += [f"{m}: service level {data.service_level[m]:g} cannot be met in scenario {s}; "
                            f"at most {reached:.4g} is reachable" for s in data.sharing(m, r)]
    if hasattr(model, "min_suppliers_slack"):
        for m, var in model.min_suppliers_slack.items():
            if _value(var) > 0.5:
                possible = data.min_suppliers[m] - round(_value(var))
                reasons.append(f"{m}: min_suppliers {data.min_suppliers[m]} cannot be met; at most {possible} "
                               f"of its {len(data.options_of[m])} options can be contracted within the other limits")
    if hasattr(model, "average_risk_slack"):
        for (m, t), var in model.average_risk_slack.items():
            volumes = [(o, plan.volume[o, t]) for o in data.options_of[m] if (o, t) in plan.volume]
            total_volume = sum(v for _, v in volumes)
            if _value(var) * V[m] > SLACK_TOLERANCE * max(total_volume, 1.0) and total_volume > 0:
                reached = sum(data.risk[o] * v for o, v in volumes) / total_volume
                reasons.append(f"{m}: max_avg_risk {data.max_avg_risk[m]:g} cannot be met in {periods[t]}; the "
                               f"volumes the other limits require average a risk of {reached:.3f}")
    if hasattr(model, "share_limit_slack"):
        for (i, t), var in model.share_limit_slack.items():
            limit = data.limits[i]
            demand = data.demand[limit.commodity, t]
            slack = _value(var) * V[limit.commodity]
            if slack > SLACK_TOLERANCE * max(demand, 1.0):
                needed = limit.max_share * demand + slack
                share = f"{needed / demand:.4g} of demand" if demand > 0 else f"{needed:,.6g} {unit} (demand is 0)"
                reasons.append(f"{limit.commodity}: share limit {limit.max_share:g} on {limit.scope} {limit.name} "
                               f"(limits.csv row {limit.row}) cannot be met in {periods[t]}; at least {share} "
                               "must be contracted from it")
    if hasattr(model, "budget_slack") and _value(model.budget_slack) * M > SLACK_TOLERANCE * max(
            data.fixed_cost_max, 1):
        needed = data.fixed_cost_max + _value(model.budget_slack) * M
        reasons.append(f"budget: fixed_cost_max {data.fixed_cost_max:,.2f} is too small; the other limits need at "
                       f"least {needed:,.2f} {data.instance.currency} of fixed costs")
    for (m, t, r), var in model.overflow.items():
        excess = _value(var) * V[m]
        if excess > SLACK_TOLERANCE * max(total[m], 1.0):
            cap = data.storage_capacity[m]
            reasons += [f"{m}: in scenario {s}, {periods[t]}, {excess:,.6g} {unit} can be neither used nor "
                        f"stored (storage_capacity {cap:g}); lower initial_stock, min_volume or min_suppliers, "
                        "or raise storage_capacity" for s in data.sharing(m, r)]
    return reasons
