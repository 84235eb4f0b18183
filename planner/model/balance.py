"""Constraint families 4-5: material balance and service level, per scenario."""

from __future__ import annotations

import pyomo.environ as pyo

from planner.instance.data import ModelData


def add_contracted_supply(model: pyo.ConcreteModel, data: ModelData) -> None:
    """K_mt = sum_{o in O_m, t in P_o} x_ot: contracted volume of m in period t (`contracted_supply`)."""
    index = [(m, t) for m in data.commodities for t in data.horizon
             if any((o, t) in model.option_periods for o in data.options_of[m])]
    model.contracted_supply = pyo.Var(index, domain=pyo.NonNegativeReals)
    model.contracted_supply_definition = pyo.Constraint(index, rule=lambda mdl, m, t: mdl.contracted_supply[m, t] == (
        sum(mdl.volume[o, t] for o in data.options_of[m] if (o, t) in mdl.option_periods)))


def delivered_expression(model: pyo.ConcreteModel, data: ModelData, m: str, t: int, s: str) -> pyo.Expression:
    """sum_{o in O_m} (a_ots x_ot + y_ots) = K_mt - sum_{o: a_ots < 1} (1 - a_ots) x_ot + sum_o y_ots."""
    terms = [model.contracted_supply[m, t]] if (m, t) in model.contracted_supply else []
    for o in data.options_of[m]:
        a = data.availability.get((o, t, s))
        if a is None:  # t is not in P_o
            continue
        if a < 1:
            terms.append(-(1 - a) * model.volume[o, t])
        if a > 0 and data.is_spot[o]:
            terms.append(model.spot[o, t, s])
    return sum(terms)


def add_material_balance(model: pyo.ConcreteModel, data: ModelData, overflow: bool = False) -> None:
    """Constraint 4 (balance), for every m, t, s (s: one per recourse copy of m):

        I_mts = I_m,t-1,s + sum_{o in O_m} (a_ots x_ot + y_ots) + u_mts - demand_mt,
        with I_m,-1,s = initial_stock_m,

    with the contracted supply K_mt factored out of the deliveries (`delivered_expression`),
    so that x_ot appears in one row per period plus one per scenario that disrupts it.

    With `overflow` (diagnosis and evaluation only): `- overflow_mts` on the right, volume
    that could be neither used nor stored (the planning model cannot throw stock away).
    """
    add_contracted_supply(model, data)
    if overflow:
        model.overflow = pyo.Var(model.recourse_periods, domain=pyo.NonNegativeReals)

    def rule(mdl: pyo.ConcreteModel, m: str, t: int, s: str) -> pyo.Expression:
        previous = mdl.stock[m, t - 1, s] if t > 0 else data.initial_stock[m]
        inflow = previous + delivered_expression(mdl, data, m, t, s) + mdl.unmet[m, t, s] - data.demand[m, t]
        if overflow:
            inflow = inflow - mdl.overflow[m, t, s]
        return mdl.stock[m, t, s] == inflow

    model.balance = pyo.Constraint(model.recourse_periods, rule=rule)
    if overflow and data.disposal_cap is not None:
        model.disposal_cap = pyo.Constraint(
            list(model.recourse),
            rule=lambda mdl, m, s: sum(mdl.overflow[m, t, s] for t in data.horizon) <= data.disposal_cap[m, s])


def add_least_disposal_objective(model: pyo.ConcreteModel) -> None:
    """minimise sum_{m,t,s} overflow_mts: the least volume thrown away (an evaluation's first
    stage; the materials and scenarios are separate, so each gets its own least disposal)."""
    model.objective = pyo.Objective(expr=sum(model.overflow.values()), sense=pyo.minimize)


def add_service_level(model: pyo.ConcreteModel, data: ModelData, elastic: bool = False) -> None:
    """Constraint 5 (service level), for materials that set one, every s (one per recourse copy):

        sum_t u_mts <= (1 - service_level_m) sum_t demand_mt   (+ service_level_slack_ms, elastic)
    """
    with_level = [(m, s) for (m, s) in model.recourse if data.service_level[m] is not None]
    if elastic:
        model.service_level_slack = pyo.Var(with_level, domain=pyo.NonNegativeReals)

    def rule(mdl: pyo.ConcreteModel, m: str, s: str) -> pyo.Expression:
        total_demand = sum(data.demand[m, t] for t in data.horizon)
        allowed = (1.0 - mdl.service_level_target[m]) * total_demand
        if elastic:
            allowed = allowed + mdl.service_level_slack[m, s]
        return sum(mdl.unmet[m, t, s] for t in data.horizon) <= allowed

    model.service_level = pyo.Constraint(with_level, rule=rule)
