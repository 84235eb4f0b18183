"""Costs, CVaR and the objectives (docs/model.md section 3.4).

    FC  = sum_o fixed_cost_o z_o + sum_g fixed_cost_g w_g           (`fixed_cost`, not discounted)
    C_s = sum_t d_t [ sum_o unit_cost_o a_ots x_ot + sum_o unit_cost_o (1 + spot_premium_o) y_ots
                      + sum_m (holding_cost_m I_mts + shortage_penalty_m u_mts) ]
    minimise FC + (1 - lambda) sum_s p_s C_s + lambda CVaR_alpha(C)

Contracted volume is paid as delivered (a_ots x_ot). C_s is written with the cost of full
delivery factored out and the rest split by material, so that each recourse copy
(`ModelData.recourse_of`) is costed once, however many scenarios share it:

    K    = sum_{o, t in P_o} d_t unit_cost_o x_ot                   (`contract_cost`, an expression)
    R_ms = sum_{o in O_m} sum_t d_t [ - unit_cost_o (1 - a_ots) x_ot + unit_cost_o (1 + spot_premium_o) y_ots ]
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

Also declared: `expected_cost` = FC + sum_s p_s C_s and, deactivated, the tie-break objective
that minimises it (among optimal plans, one with the least expected cost: docs/model.md
section 5), and for evaluations the least volume disposed of.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from planner.instance.data import ModelData
from planner.model.builder import Domain
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
    contract_cost = b.expression("contract_cost", expr=sum(
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
                if price and a < 1:
                    terms.append(-price * (1 - a) * d.volume[o, t])
                if price and a and data.is_spot[o]:  # a = 0: no spot variable
                    terms.append(price * (1 + data.spot_premium[o]) * d.spot[o, t, s])
        for t in data.horizon:
            if data.holding_cost[m]:
                terms.append(data.discount[t] * data.holding_cost[m] * d.stock[m, t, s])
            if data.shortage_penalty[m]:
                terms.append(data.discount[t] * data.shortage_penalty[m] * d.unmet[m, t, s])
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
    objective = b.fixed_cost + (1 - lam) * mean_scenario_cost
    if data.risk_aversion > 0:  # lambda = 0: no CVaR variables at all
        eta = b.structure.value_at_risk = b.var("value_at_risk", None, Domain.REAL)
        excess = b.structure.tail_excess = b.var("tail_excess", data.scenarios)
        b.structure.tail_rows = b.rows("tail_definition", data.scenarios,
                                       lambda _, s: excess[s] >= scenario_recourse_cost[s] - eta)
        tail = sum(p[s] * excess[s] for s in data.scenarios) / (1 - alpha)
        objective = objective + lam * (contract_cost + eta + tail)
    return b.objective("objective", objective), b.objective("tiebreak_objective", expected_cost, active=False)


def add_least_disposal_objective(b: ModelBuilder, d: Decisions) -> Any:
    """minimise sum_{m,t,s} disposed_mts: the least volume thrown away (an evaluation's first
    stage; the materials and scenarios are separate, so each gets its own least disposal)."""
    return b.objective("objective", sum(d.disposed.values()))
