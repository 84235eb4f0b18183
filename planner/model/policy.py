"""Constraint families 6-9: the buyer's policy limits (first stage)."""

from __future__ import annotations

import pyomo.environ as pyo

from planner.instance.data import ModelData
from planner.errors import InfeasibleError


def add_min_suppliers(model: pyo.ConcreteModel, data: ModelData, elastic: bool = False) -> None:
    """Constraint 6 (diversification), for materials that set it:

        sum_{o in O_m} z_o >= min_suppliers_m   (- min_suppliers_slack_m, elastic)
    """
    with_minimum = [m for m in data.commodities if data.min_suppliers[m] > 0]
    for m in with_minimum:
        if len(data.options_of[m]) < data.min_suppliers[m] and not elastic:
            raise InfeasibleError([
                f"{m}: min_suppliers is {data.min_suppliers[m]} but only {len(data.options_of[m])} "
                "options supply it"
            ])
    if elastic:
        model.min_suppliers_slack = pyo.Var(with_minimum, domain=pyo.NonNegativeReals)

    def rule(mdl: pyo.ConcreteModel, m: str) -> pyo.Expression:
        count = sum(mdl.contracted[o] for o in data.options_of[m])
        if elastic:
            count = count + mdl.min_suppliers_slack[m]
        return count >= data.min_suppliers[m]

    model.min_suppliers = pyo.Constraint(with_minimum, rule=rule)


def add_average_risk(model: pyo.ConcreteModel, data: ModelData, elastic: bool = False) -> None:
    """Constraint 7 (average political risk), for materials that set it, every t:

        sum_{o in O_m} r_o x_ot <= max_avg_risk_m sum_{o in O_m} x_ot,
    written as sum_{o in O_m} (r_o - max_avg_risk_m) x_ot <= 0 (+ average_risk_slack_mt,
    elastic). Only options whose risk exceeds the cap can violate it; a period without such
    options is left out.
    """
    index = [
        (m, t)
        for m in data.commodities
        if data.max_avg_risk[m] is not None
        for t in data.horizon
        if any(data.risk[o] > data.max_avg_risk[m] and (o, t) in model.option_periods for o in data.options_of[m])
    ]

    if elastic:
        model.average_risk_slack = pyo.Var(index, domain=pyo.NonNegativeReals)

    def rule(mdl: pyo.ConcreteModel, m: str, t: int) -> pyo.Expression:
        cap = data.max_avg_risk[m]
        excess = sum((data.risk[o] - cap) * mdl.volume[o, t] for o in data.options_of[m]
                     if (o, t) in mdl.option_periods)
        return excess <= (mdl.average_risk_slack[m, t] if elastic else 0)

    model.average_risk = pyo.Constraint(index, rule=rule)


def add_share_limits(model: pyo.ConcreteModel, data: ModelData, elastic: bool = False) -> None:
    """Constraint 8 (share limit), for each row of limits.csv, matching m, and t:

        sum_{o in O_m exposed to the scope} x_ot <= max_share * demand_mt   (+ share_limit_slack, elastic)

    An option is exposed when its origin or processor is the country, or lies in the bloc.
    Combinations with no exposed option are trivially met and left out.
    """
    exposed_options = {
        (i, t): [
            o
            for o in data.options_of[limit.commodity]
            if o in data.exposed.get((limit.scope, limit.name), ()) and (o, t) in model.option_periods
        ]
        for i, limit in enumerate(data.limits)
        for t in data.horizon
    }
    index = [key for key, options in exposed_options.items() if options]
    if elastic:
        model.share_limit_slack = pyo.Var(index, domain=pyo.NonNegativeReals)

    def rule(mdl: pyo.ConcreteModel, i: int, t: int) -> pyo.Expression:
        limit = data.limits[i]
        allowed = mdl.max_share[i] * data.demand[limit.commodity, t]
        if elastic:
            allowed = allowed + mdl.share_limit_slack[i, t]
        return sum(mdl.volume[o, t] for o in exposed_options[i, t]) <= allowed

    model.share_limit = pyo.Constraint(index, rule=rule)


def add_budget(model: pyo.ConcreteModel, data: ModelData, elastic: bool = False) -> None:
    """Constraint 9 (budget), when set:

        sum_o fixed_cost_o z_o + sum_g fixed_cost_g w_g <= fixed_cost_max   (+ budget_slack, elastic)
    """
    if data.fixed_cost_max is not None:
        allowed = model.fixed_cost_max
        if elastic:
            model.budget_slack = pyo.Var(domain=pyo.NonNegativeReals)
            allowed = allowed + model.budget_slack
        model.budget = pyo.Constraint(expr=model.fixed_cost <= allowed)
