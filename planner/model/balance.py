"""Constraint families 4-5: material balance and service level, per scenario."""

from __future__ import annotations

import pyomo.environ as pyo

from planner.data import ModelData


def delivered_expression(model: pyo.ConcreteModel, data: ModelData, m: str, t: int, s: str) -> pyo.Expression:
    """sum_{o in O_m} (a_ots x_ot + y_ots): what arrives of material m in period t, scenario s."""
    terms = []
    for o in data.options_of[m]:
        a = data.availability.get((o, t, s), 0.0)  # absent: t is not in P_o
        if a > 0:
            terms.append(a * model.volume[o, t])
            if data.is_spot[o]:
                terms.append(model.spot[o, t, s])
    return sum(terms)


def add_material_balance(model: pyo.ConcreteModel, data: ModelData, overflow: bool = False) -> None:
    """Constraint 4 (balance), for every m, t, s:

        I_mts = I_m,t-1,s + sum_{o in O_m} (a_ots x_ot + y_ots) + u_mts - demand_mt,
        with I_m,-1,s = initial_stock_m.

    With `overflow` (diagnosis and evaluation only): `- overflow_mts` on the right, volume
    that could be neither used nor stored (the planning model cannot throw stock away).
    """
    if overflow:
        model.overflow = pyo.Var(model.commodities, model.periods, model.scenarios, domain=pyo.NonNegativeReals)

    def rule(mdl: pyo.ConcreteModel, m: str, t: int, s: str) -> pyo.Expression:
        previous = mdl.stock[m, t - 1, s] if t > 0 else data.initial_stock[m]
        inflow = previous + delivered_expression(mdl, data, m, t, s) + mdl.unmet[m, t, s] - data.demand[m, t]
        if overflow:
            inflow = inflow - mdl.overflow[m, t, s]
        return mdl.stock[m, t, s] == inflow

    model.balance = pyo.Constraint(model.commodities, model.periods, model.scenarios, rule=rule)


def add_service_level(model: pyo.ConcreteModel, data: ModelData, elastic: bool = False) -> None:
    """Constraint 5 (service level), for materials that set one, every s:

        sum_t u_mts <= (1 - service_level_m) sum_t demand_mt   (+ service_level_slack_ms, elastic)
    """
    with_level = [(m, s) for m in data.commodities if data.service_level[m] is not None for s in data.scenarios]
    if elastic:
        model.service_level_slack = pyo.Var(with_level, domain=pyo.NonNegativeReals)

    def rule(mdl: pyo.ConcreteModel, m: str, s: str) -> pyo.Expression:
        total_demand = sum(data.demand[m, t] for t in data.horizon)
        allowed = (1.0 - data.service_level[m]) * total_demand  # type: ignore[operator]
        if elastic:
            allowed = allowed + mdl.service_level_slack[m, s]
        return sum(mdl.unmet[m, t, s] for t in data.horizon) <= allowed

    model.service_level = pyo.Constraint(with_level, rule=rule)
