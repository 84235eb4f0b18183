"""Costs, CVaR and the objective (docs/model.md section 3.4)."""

from __future__ import annotations

import pyomo.environ as pyo

from planner.instance.data import ModelData


def add_fixed_cost(model: pyo.ConcreteModel, data: ModelData) -> None:
    """FC = sum_o fixed_cost_o z_o + sum_g fixed_cost_g w_g (not discounted)."""
    model.fixed_cost = pyo.Expression(
        expr=sum(data.fixed_cost[o] * model.contracted[o] for o in data.options if data.fixed_cost[o])
        + sum(data.agreement_cost[g] * model.signed[g] for g in data.agreements if data.agreement_cost[g])
    )


def add_scenario_costs(model: pyo.ConcreteModel, data: ModelData) -> None:
    """The scenario costs C_s, through their parts:

        C_s = sum_t d_t [ sum_o unit_cost_o a_ots x_ot + sum_o unit_cost_o (1 + spot_premium_o) y_ots
                          + sum_m (holding_cost_m I_mts + shortage_penalty_m u_mts) ].

    Contracted volume is paid as delivered (a_ots x_ot). Written with the cost of full
    delivery factored out and the rest split by material, so that each recourse copy
    (`ModelData.recourse_of`) is costed once, however many scenarios share it:

        K = sum_{o, t in P_o} d_t unit_cost_o x_ot                  (`contract_cost`, an expression)
        R_ms = sum_{o in O_m} sum_t d_t [ - unit_cost_o (1 - a_ots) x_ot + unit_cost_o (1 + spot_premium_o) y_ots ]
               + sum_t d_t (holding_cost_m I_mts + shortage_penalty_m u_mts)
                                                  (`recourse_cost`, a variable per copy, defined by a row)
        R_s = sum_m R_m,r(m,s)     with r(m, s) the copy s shares    (`scenario_recourse_cost`)
        C_s = K + R_s                    (not a component: the objective uses K and R_s)

    K is the same in every scenario, so it has no row of its own: it enters the objective
    as costs of x directly, and the CVaR rows see only R_s (`add_objective`).
    """
    model.contract_cost = pyo.Expression(expr=sum(
        data.discount[t] * data.unit_cost[o] * model.volume[o, t] for (o, t) in model.option_periods
        if data.unit_cost[o]))
    model.recourse_cost = pyo.Var(model.recourse, domain=pyo.Reals)

    def recourse_rule(mdl: pyo.ConcreteModel, m: str, s: str) -> pyo.Expression:
        terms = []
        for o in data.options_of[m]:
            for t in data.periods_of[o]:
                price = data.discount[t] * data.unit_cost[o]
                a = data.availability[o, t, s]
                if price and a < 1:
                    terms.append(-price * (1 - a) * mdl.volume[o, t])
                if price and a and data.is_spot[o]:  # a = 0: no spot variable
                    terms.append(price * (1 + data.spot_premium[o]) * mdl.spot[o, t, s])
        for t in data.horizon:
            if data.holding_cost[m]:
                terms.append(data.discount[t] * data.holding_cost[m] * mdl.stock[m, t, s])
            if data.shortage_penalty[m]:
                terms.append(data.discount[t] * data.shortage_penalty[m] * mdl.unmet[m, t, s])
        return mdl.recourse_cost[m, s] == sum(terms)

    model.recourse_cost_definition = pyo.Constraint(model.recourse, rule=recourse_rule)
    model.scenario_recourse_cost = pyo.Expression(model.scenarios, rule=lambda mdl, s: sum(
        mdl.recourse_cost[m, data.recourse_of[m, s]] for m in data.commodities))


def add_objective(model: pyo.ConcreteModel, data: ModelData) -> None:
    """minimise FC + (1 - lambda) sum_s p_s C_s + lambda CVaR_alpha(C), with

        CVaR_alpha(C) = min_eta eta + 1/(1 - alpha) sum_s p_s max(0, C_s - eta)

    linearised (Rockafellar-Uryasev). The contract cost K is the same in every scenario,
    and CVaR is translation invariant, CVaR_alpha(K + R) = K + CVaR_alpha(R), so the tail
    rows carry only the recourse part R_s = C_s - K:

        CVaR_alpha(C) = K + eta + 1/(1 - alpha) sum_s p_s e_s,   e_s >= R_s - eta,  e_s >= 0,

    with e_s = `tail_excess[s]` and eta = `value_at_risk` (the value at risk of R, not of C).
    This keeps K's many terms out of every tail row, which is exact and leaves HiGHS a
    sparser model. Also declares `expected_cost` = FC + sum_s p_s C_s and, deactivated,
    `tiebreak_objective`, which minimises it: the second, lexicographic stage that
    returns among optimal plans one with the least expected cost.
    """
    lam, alpha, p = model.risk_aversion, model.cvar_alpha, model.probability  # Params (parameters.py)
    # sum_s p_s C_s = (sum_s p_s) K + sum_s p_s R_s, so that K's terms are written once
    mean_scenario_cost = (sum(p[s] for s in model.scenarios) * model.contract_cost
                          + sum(p[s] * model.scenario_recourse_cost[s] for s in model.scenarios))
    model.expected_cost = pyo.Expression(expr=model.fixed_cost + mean_scenario_cost)
    objective = model.fixed_cost + (1 - lam) * mean_scenario_cost
    if data.risk_aversion > 0:  # lambda = 0: no CVaR variables at all
        model.value_at_risk = pyo.Var(domain=pyo.Reals)
        model.tail_excess = pyo.Var(model.scenarios, domain=pyo.NonNegativeReals)
        model.tail_definition = pyo.Constraint(
            model.scenarios,
            rule=lambda mdl, s: mdl.tail_excess[s] >= mdl.scenario_recourse_cost[s] - mdl.value_at_risk,
        )
        tail = sum(p[s] * model.tail_excess[s] for s in model.scenarios) / (1 - alpha)
        cvar = model.contract_cost + model.value_at_risk + tail
        objective = objective + lam * cvar
    model.objective = pyo.Objective(expr=objective, sense=pyo.minimize)
    model.tiebreak_objective = pyo.Objective(expr=model.expected_cost, sense=pyo.minimize)
    model.tiebreak_objective.deactivate()
