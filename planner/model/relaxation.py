"""The least-relaxation objective of the elastic model (diagnosis of infeasible plans).

    minimise  sum_m,t,s overflow_mts / V_m + sum_m,s service_level_slack_ms / D_m
              + sum_m min_suppliers_slack_m + sum_m,t average_risk_slack_mt / V_m
              + sum_limit,t share_limit_slack / max(demand_mt, V_m) + budget_slack / B

with D_m the total demand of m, V_m its mean demand per period (at least 1) and B the
budget (at least the largest fixed cost, and 1). A slack of a shared recourse copy counts
once for every scenario that shares it, as if each scenario had its own. Each slack is so measured in a unit a
planner compares across families: a share of demand, one supplier, a share of the budget.
"""

from __future__ import annotations

import pyomo.environ as pyo

from planner.instance.data import ModelData


def add_relaxation_objective(model: pyo.ConcreteModel, data: ModelData) -> None:
    """Declare `objective` as the weighted total of the slacks the elastic families added."""
    horizon = len(data.periods)
    total = {m: sum(data.demand[m, t] for t in data.horizon) for m in data.commodities}
    volume = {m: max(total[m] / horizon, 1.0) for m in data.commodities}
    copies = {(m, r): len(data.sharing(m, r)) for (m, r) in model.recourse}
    terms = [copies[m, s] * model.overflow[m, t, s] / volume[m] for (m, t, s) in model.overflow]
    if hasattr(model, "service_level_slack"):
        terms += [copies[m, s] * model.service_level_slack[m, s] / max(total[m], 1.0)
                  for (m, s) in model.service_level_slack]
    if hasattr(model, "min_suppliers_slack"):
        terms += [model.min_suppliers_slack[m] for m in model.min_suppliers_slack]
    if hasattr(model, "average_risk_slack"):
        terms += [model.average_risk_slack[m, t] / volume[m] for (m, t) in model.average_risk_slack]
    if hasattr(model, "share_limit_slack"):
        for (i, t) in model.share_limit_slack:
            m = data.limits[i].commodity
            terms.append(model.share_limit_slack[i, t] / max(data.demand[m, t], volume[m]))
    if hasattr(model, "budget_slack"):
        scale = max([data.fixed_cost_max or 0.0, 1.0, *data.fixed_cost.values(), *data.agreement_cost.values()])
        terms.append(model.budget_slack / scale)
    model.objective = pyo.Objective(expr=sum(terms), sense=pyo.minimize)
