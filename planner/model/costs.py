"""Costs, CVaR and the objectives (docs/model.md section 3.4).

    FC  = sum_o fixed_cost_o z_o + sum_g fixed_cost_g w_g           (`fixed_cost`, not discounted)
    C_s = sum_t d_t [ sum_o unit_cost_o a_ots x_ot + sum_o unit_cost_o (1 + spot_premium_o) f_mts y_ots
                      + sum_m (holding_cost_m I_mts + shortage_penalty_m u_mts) ]
    minimise FC + (1 - lambda) sum_s p_s C_s + lambda CVaR_alpha(C)

(f_mts: the price factor of material m in t, s; 1 without a price shock.)

Contracted volume is paid as delivered (a_ots x_ot). C_s is written with the cost of full
delivery factored out and the rest split by material, so that each recourse copy
(`ModelData.recourse_of`) is costed once, however many scenarios share it:

    K    = sum_{o, t in P_o} d_t unit_cost_o x_ot                   (`contract_cost`, an expression)
    R_ms = sum_{o in O_m} sum_t d_t [ - unit_cost_o (1 - a_ots) x_ot + unit_cost_o (1 + spot_premium_o) f_mts y_ots ]
           + sum_t d_t (holding_cost_m I_mts + shortage_penalty_m u_mts)
                                                  (`recourse_cost`, a variable per copy, defined by a row)
    R_s  = sum_m R_m,r(m,s)     with r(m, s) the copy s shares       (`scenario_recourse_cost`)
    C_s  = K + R_s

CVaR_alpha(C) = min_eta eta + 1/(1 - alpha) sum_s p_s max(0, C_s - eta) (Rockafellar-Uryasev)
is linearised, and since K is the same in every scenario and CVaR is translation invariant,
CVaR_alpha(K + R) = K + CVaR_alpha(R): the tail rows carry only the recourse part,

    CVaR_alpha(C) = K + eta + 1/(1 - alpha) sum_s p_s e_s,   e_s >= R_s - eta,  e_s >= 0,

with e_s = `tail_excess[s]` and eta = `value_at_risk` (the value at risk of R). This keeps
K's many terms out of every tail row. lambda, alpha and p_s are mutable Params. The tail rows
and eta, e_s link the materials (`planner.model.structure`); R_ms marks material m's block.

With ambiguity delta > 0 (docs/model.md section 3.5) the objective is the worst case over
the set P = {p : l_s <= p_s <= u_s, sum p = 1}, l_s = p_s (1 - delta), u_s = min(1, p_s (1 +
delta)): FC + max_p [(1 - lambda) E_p[C] + lambda CVaR_alpha,p(C)]. Exchanging min over eta
and max over p (the function is convex in eta, linear in p, P compact) and taking the LP dual
of the max over p gives, with K out of the rows as before (sum p = 1):

    minimise FC + K + lambda eta + rho + sum_s (u_s beta_s - l_s gamma_s)
    s.t.     rho + beta_s - gamma_s >= (1 - lambda) R_s + lambda / (1 - alpha) e_s   (`worst_case`)
             e_s >= R_s - eta,  e_s, beta_s, gamma_s >= 0,  rho free

(without the e_s at lambda = 0). At delta = 0 its optimum is the nominal one; the nominal
model is then built as above, unchanged. l_s and u_s are mutable Params. The worst-case rows
and rho, beta_s, gamma_s link the materials as the tail rows do (`planner.model.structure`).

Multi-stage (docs/model.md section 3.6): the volumes differ by scenario, so there is no K;
each scenario has its own R_ms, which holds its contracted volumes at their delivered cost,
sum_o sum_t d_t unit_cost_o a_ots x_ots, and its copies of y, I and u.

Also declared: `expected_cost` = FC + sum_s p_s C_s and, deactivated, the tie-break objective
that minimises it (among optimal plans, one with the least expected cost: docs/model.md
section 5), and for evaluations the least volume disposed of.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from planner.instance.data import ModelData
from planner.model.builder import Domain
from planner.model.nodes import recourse, x
from planner.model.structure import Decisions

if TYPE_CHECKING:
    from planner.model.builder import ModelBuilder


def add_fixed_cost(b: ModelBuilder, data: ModelData, d: Decisions) -> Any:
    """FC = sum_o fixed_cost_o z_o + sum_g fixed_cost_g w_g (not discounted)."""
    b.fixed_cost = b.expression("fixed_cost", expr=(
        sum(data.fixed_cost[o] * d.contracted[o] for o in data.options if data.fixed_cost[o])
        + sum(data.agreement_cost[g] * d.signed[g] for g in data.agreements if data.agreement_cost[g])))
    return b.fixed_cost


def add_scenario_costs(b: ModelBuilder, data: ModelData, d: Decisions) -> tuple[Any, Any]:
    """K (`contract_cost`) and R_s (`scenario_recourse_cost`), R_ms with its defining rows."""
    contract_cost = b.expression("contract_cost", expr=0 if data.multi_stage else sum(
        data.discount[t] * data.unit_cost[o] * d.volume[o, t] for o in data.options for t in data.periods_of[o]
        if data.unit_cost[o]))
    copies = [(m, s) for m in data.commodities for s in data.recourse_scenarios[m]]
    recourse_cost = b.var("recourse_cost", copies, Domain.REAL)
    b.structure.material_costs = recourse_cost

    def recourse_rule(_: object, m: str, s: str) -> object:
        terms = []
        for o in data.options_of[m]:
            for t in data.periods_of[o]:
                price = data.discount[t] * data.unit_cost[o]
                a = data.availability[o, t, s]
                if price and data.multi_stage and a > 0:
                    terms.append(price * a * x(d, data, o, t, s))
                elif price and not data.multi_stage and a < 1:
                    terms.append(-price * (1 - a) * d.volume[o, t])
                if price and a and data.is_spot[o]:  # a = 0: no spot variable
                    factor = data.price_factor.get((m, t, s), 1.0)
                    terms.append(price * (1 + data.spot_premium[o]) * factor * recourse(d.spot, data, o, m, t, s))
        for t in data.horizon:
            if data.holding_cost[m]:
                terms.append(data.discount[t] * data.holding_cost[m] * recourse(d.stock, data, m, m, t, s))
            if data.shortage_penalty[m]:
                terms.append(data.discount[t] * data.shortage_penalty[m] * recourse(d.unmet, data, m, m, t, s))
        return recourse_cost[m, s] == sum(terms)

    b.rows("recourse_cost_definition", copies, recourse_rule)
    scenario_recourse_cost = b.expression("scenario_recourse_cost", index=data.scenarios, rule=lambda _, s: sum(
        recourse_cost[m, data.recourse_of[m, s]] for m in data.commodities))
    return contract_cost, scenario_recourse_cost


def add_objectives(b: ModelBuilder, data: ModelData, contract_cost: Any,
                   scenario_recourse_cost: Any) -> tuple[Any, Any]:
    """The objective and, deactivated, the tie-break objective (module docstring)."""
    lam = b.param("risk_aversion", lambda data: data.risk_aversion)
    alpha = b.param("cvar_alpha", lambda data: data.cvar_alpha)
    p = b.param("probability", lambda data: data.probability, index=data.scenarios)
    # sum_s p_s C_s = (sum_s p_s) K + sum_s p_s R_s, so that K's terms are written once
    mean_scenario_cost = (sum(p[s] for s in data.scenarios) * contract_cost
                          + sum(p[s] * scenario_recourse_cost[s] for s in data.scenarios))
    expected_cost = b.expression("expected_cost", expr=b.fixed_cost + mean_scenario_cost)
    if data.ambiguity > 0:
        objective = _worst_case_objective(b, data, lam, alpha, contract_cost, scenario_recourse_cost)
        return b.objective("objective", objective), b.objective("tiebreak_objective", expected_cost, active=False)
    objective = b.fixed_cost + (1 - lam) * mean_scenario_cost
    if data.risk_aversion > 0:  # lambda = 0: no CVaR variables at all
        eta, excess = _tail(b, data, scenario_recourse_cost)
        tail = sum(p[s] * excess[s] for s in data.scenarios) / (1 - alpha)
        objective = objective + lam * (contract_cost + eta + tail)
    return b.objective("objective", objective), b.objective("tiebreak_objective", expected_cost, active=False)


def _tail(b: ModelBuilder, data: ModelData, scenario_recourse_cost: Any) -> tuple[Any, Any]:
    """eta (the value at risk of R) and e_s >= R_s - eta: the CVaR's tail rows, which link the materials."""
    eta = b.structure.value_at_risk = b.var("value_at_risk", None, Domain.REAL)
    excess = b.structure.tail_excess = b.var("tail_excess", data.scenarios)
    b.structure.tail_rows = b.rows("tail_definition", data.scenarios,
                                   lambda _, s: excess[s] >= scenario_recourse_cost[s] - eta)
    return eta, excess


def _worst_case_objective(b: ModelBuilder, data: ModelData, lam: Any, alpha: Any, contract_cost: Any,
                          scenario_recourse_cost: Any) -> Any:
    """The worst case over the ambiguity set, through the LP dual of the max over p (module docstring)."""
    lower = b.param("ambiguity_lower", lambda data: {s: data.probability[s] * (1 - data.ambiguity)
                                                     for s in data.scenarios}, index=data.scenarios)
    upper = b.param("ambiguity_upper", lambda data: {s: min(1.0, data.probability[s] * (1 + data.ambiguity))
                                                     for s in data.scenarios}, index=data.scenarios)
    rho = b.structure.worst_case_level = b.var("worst_case_level", None, Domain.REAL)
    beta = b.structure.worst_case_above = b.var("worst_case_above", data.scenarios)
    gamma = b.structure.worst_case_below = b.var("worst_case_below", data.scenarios)
    objective = b.fixed_cost + contract_cost + rho + sum(upper[s] * beta[s] - lower[s] * gamma[s]
                                                         for s in data.scenarios)
    if data.risk_aversion > 0:
        eta, excess = _tail(b, data, scenario_recourse_cost)
        objective = objective + lam * eta
        cost = {s: (1 - lam) * scenario_recourse_cost[s] + lam / (1 - alpha) * excess[s] for s in data.scenarios}
    else:
        cost = {s: scenario_recourse_cost[s] for s in data.scenarios}
    b.structure.worst_case_rows = b.rows("worst_case", data.scenarios,
                                         lambda _, s: rho + beta[s] - gamma[s] >= cost[s])
    return objective


def add_least_disposal_objective(b: ModelBuilder, d: Decisions) -> Any:
    """minimise sum_{m,t,s} disposed_mts: the least volume thrown away (an evaluation's first
    stage; the materials and scenarios are separate, so each gets its own least disposal)."""
    return b.objective("objective", sum(d.disposed.values()))
