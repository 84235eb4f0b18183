"""A plan, its reported figures and its result tables.

Figures are computed ex post from the plan's values with the definitions of docs/model.md
sections 3-4 (not read from the solver's objective), so they hold exactly for the plan
that is written. Nothing here touches the solver.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner.instance.data import ModelData
from planner.results.folder import TABLE_COLUMNS


@dataclass
class Plan:
    """Values of every decision variable (docs/model.md section 3.2)."""

    contracted: dict[str, int]  # z_o
    signed: dict[str, int]  # w_g
    # x_ot, t in P_o: (o, t) when decided in the first period, the same in every scenario; in a
    # multi-stage plan (o, t, s) for each scenario when decided later (docs/model.md 3.6)
    volume: dict[tuple, float]
    spot: dict[tuple[str, int, str], float]  # y_ots where it exists
    stock: dict[tuple[str, int, str], float]  # I_mts
    unmet: dict[tuple[str, int, str], float]  # u_mts
    # volume thrown away (evaluations only: it could be neither used nor stored); absent = 0
    disposed: dict[tuple[str, int, str], float] = field(default_factory=dict)

    def x(self, o: str, t: int, s: str | None = None) -> float:
        """x_ots: the volume of option o for period t in scenario s (0 where there is none)."""
        if s is not None:
            adaptive = self.volume.get((o, t, s))
            if adaptive is not None:
                return adaptive
        return self.volume.get((o, t), 0.0)

    def expected_volume(self, data: ModelData, o: str, t: int) -> float:
        """x_ot, or in a multi-stage plan its probability-weighted mean over the scenarios."""
        if (o, t) in self.volume or not data.multi_stage:
            return self.volume.get((o, t), 0.0)
        return sum(data.probability[s] * self.x(o, t, s) for s in data.scenarios)


@dataclass(frozen=True)
class Figures:
    """The reported figures (docs/model.md section 4)."""

    fixed_cost: float
    scenario_cost: dict[str, float]  # C_s
    expected_cost: float  # FC + sum_s p_s C_s, at the given probabilities
    cvar: float  # FC + CVaR_alpha(C), at the given probabilities
    objective: float  # (1 - lambda) E + lambda CVaR under the worst-case probabilities (the given ones at delta 0)
    worst_case_probability: dict[str, float]  # p* (the given probabilities at delta 0)
    worst_case_expected_cost: float  # FC + sum_s p*_s C_s
    worst_case_cvar: float  # FC + CVaR_alpha,p*(C)


def drop_idle_contracts(data: ModelData, plan: Plan) -> Plan:
    """The plan without contracts nobody would sign: no volume in any period and no cost.

    Such a z_o = 1 costs nothing and changes nothing, so the solver may return either
    value; a procurement table should not say "contract" for 0 t. It is set to 0 while
    min_suppliers still holds; then a free agreement no contracted option needs is not
    signed. Every constraint still holds and the objective is unchanged.
    """
    contracted = dict(plan.contracted)
    for m in data.commodities:
        count = sum(contracted[o] for o in data.options_of[m])
        for o in data.options_of[m]:
            idle = all(plan.x(o, t, s) == 0.0 for t in data.periods_of[o]
                       for s in (data.scenarios if data.multi_stage else [None]))
            if contracted[o] and idle and data.fixed_cost[o] == 0 and count > data.min_suppliers[m]:
                contracted[o] = 0
                count -= 1
    needed = {g for o, g in data.agreement_of.items() if contracted[o]}
    signed = {g: 0 if (w and g not in needed and data.agreement_cost[g] == 0) else w for g, w in plan.signed.items()}
    return Plan(contracted, signed, plan.volume, plan.spot, plan.stock, plan.unmet, plan.disposed)


def cvar(costs: np.ndarray, probabilities: np.ndarray, alpha: float) -> float:
    """CVaR_alpha = min_eta eta + 1/(1 - alpha) sum_s p_s max(0, C_s - eta).

    The minimum of this convex piecewise-linear function lies at a scenario cost (the
    value at risk); it is evaluated there and at its neighbours, against rounding.
    """
    order = np.argsort(costs, kind="stable")
    sorted_costs, cumulative = costs[order], np.cumsum(probabilities[order])
    k = int(np.searchsorted(cumulative, alpha - 1e-12))
    candidates = sorted_costs[max(0, k - 1): k + 2]

    def rockafellar_uryasev(eta: float) -> float:
        return eta + float(probabilities @ np.maximum(0.0, costs - eta)) / (1.0 - alpha)

    return min(rockafellar_uryasev(float(eta)) for eta in candidates)


def worst_case_probabilities(costs: np.ndarray, probabilities: np.ndarray, ambiguity: float) -> np.ndarray:
    """The probabilities in the ambiguity set that weigh the costliest scenarios most.

    The set is {p : p_s in [p_s (1 - delta), min(1, p_s (1 + delta))], sum p = 1}. Starting
    from every lower bound, the rest of the mass goes to the scenarios in order of cost,
    highest first, each up to its upper bound (ties in the given order). This p* puts the
    most probability above every threshold that any p of the set can, so it maximises every
    measure that grows with the costs, the expectation and the CVaR among them
    (docs/model.md section 3.5)."""
    lower = probabilities * (1 - ambiguity)
    upper = np.minimum(1.0, probabilities * (1 + ambiguity))
    p = lower.copy()
    rest = 1.0 - p.sum()
    for s in np.argsort(-costs, kind="stable"):
        if rest <= 0:
            break
        added = min(upper[s] - lower[s], rest)
        p[s] += added
        rest -= added
    return p


def is_worst_case(costs: np.ndarray, probabilities: np.ndarray, reported: np.ndarray, ambiguity: float,
                  alpha: float, tolerance: float) -> bool:
    """Whether `reported` is a worst case of the ambiguity set of `probabilities` for `costs`:
    each within its interval, their sum 1, and the expectation and the CVaR at level `alpha` of
    `worst_case_probabilities`, to `tolerance` (relative to the costs for money). Where
    scenarios tie in cost, any order of the tied ones gives a worst case, and costs recomputed
    from written figures may order them otherwise than the solve did (`planner verify`)."""
    worst = worst_case_probabilities(costs, probabilities, ambiguity)
    lower, upper = probabilities * (1 - ambiguity), np.minimum(1.0, probabilities * (1 + ambiguity))
    close = tolerance * max(1.0, float(np.abs(costs).max(initial=0.0)))
    return bool(np.all(reported >= lower - tolerance) and np.all(reported <= upper + tolerance)
                and abs(reported.sum() - 1) <= tolerance
                and abs(float(reported @ costs) - float(worst @ costs)) <= close
                and abs(cvar(costs, reported, alpha) - cvar(costs, worst, alpha)) <= close)


def risk_measure(costs: np.ndarray, probabilities: np.ndarray, risk_aversion: float, alpha: float,
                 ambiguity: float = 0.0) -> tuple[float, np.ndarray]:
    """max over the ambiguity set of (1 - lambda) E_p[C] + lambda CVaR_alpha,p(C), and the p
    that attains it (the given probabilities when `ambiguity` is 0)."""
    p = worst_case_probabilities(costs, probabilities, ambiguity) if ambiguity > 0 else probabilities
    value = (1 - risk_aversion) * float(p @ costs)
    if risk_aversion:
        value += risk_aversion * cvar(costs, p, alpha)
    return value, p


def scenario_costs(data: ModelData, plan: Plan) -> dict[str, float]:
    """C_s = sum_t d_t [sum_o c_o a_ots x_ot + sum_o c_o (1 + premium_o) f_mts y_ots + sum_m (h_m I + pen_m u)]."""
    cost = {s: 0.0 for s in data.scenarios}
    for (o, t, *adaptive), x in plan.volume.items():
        if x:
            price = data.discount[t] * data.unit_cost[o]
            for s in adaptive or data.scenarios:
                cost[s] += price * data.availability[o, t, s] * x
    for (o, t, s), y in plan.spot.items():
        factor = data.price_factor.get((data.commodity_of[o], t, s), 1.0)
        cost[s] += data.discount[t] * data.unit_cost[o] * (1 + data.spot_premium[o]) * factor * y
    for (m, t, s), stock in plan.stock.items():
        cost[s] += data.discount[t] * (data.holding_cost[m] * stock + data.shortage_penalty[m] * plan.unmet[m, t, s])
    return cost


def compute_figures(data: ModelData, plan: Plan) -> Figures:
    """The reported figures, computed from the plan alone."""
    fixed = sum(data.fixed_cost[o] * z for o, z in plan.contracted.items()) + sum(
        data.agreement_cost[g] * w for g, w in plan.signed.items()
    )
    cost = scenario_costs(data, plan)
    c = np.array([cost[s] for s in data.scenarios])
    p = np.array([data.probability[s] for s in data.scenarios])
    expected = fixed + float(p @ c)
    tail = fixed + cvar(c, p, data.cvar_alpha)
    lam = data.risk_aversion
    if data.ambiguity > 0:
        worst = worst_case_probabilities(c, p, data.ambiguity)
        worst_expected, worst_tail = fixed + float(worst @ c), fixed + cvar(c, worst, data.cvar_alpha)
    else:
        worst, worst_expected, worst_tail = p, expected, tail
    return Figures(fixed, cost, expected, tail, (1 - lam) * worst_expected + lam * worst_tail,
                   dict(zip(data.scenarios, map(float, worst))), worst_expected, worst_tail)


def volume_copies(data: ModelData, plan: Plan, o: str, t: int) -> list[tuple[str, float]]:
    """The copies of x_ot a rule is checked on: ("", x_ot) in a two-stage plan; in a multi-stage
    one (" in <scenario>", x_ots) for each scenario (once when decided in the first period)."""
    if not data.multi_stage or (o, t) in plan.volume:
        return [("", plan.x(o, t))]
    return [(f" in {s}", plan.x(o, t, s)) for s in data.scenarios]


def arrivals(data: ModelData, plan: Plan) -> dict[tuple[str, int, str], tuple[float, float]]:
    """What arrives of each material m in each period t and scenario s: {(m, t, s): (sum_{o in O_m}
    a_ots x_ots, sum_{o in O_m} y_ots)}, in one pass over the options and scenarios. `.get`
    throughout: a plan read back from files may hold anything."""
    availability, volume, spot = data.availability, plan.volume, plan.spot
    found = {}
    for m in data.commodities:
        for t in data.horizon:
            delivered = dict.fromkeys(data.scenarios, 0.0)
            bought = dict.fromkeys(data.scenarios, 0.0)
            for o in data.options_of[m]:
                common = volume.get((o, t), 0.0)  # x_ot, unless the plan holds a copy for s (`Plan.x`)
                for s in data.scenarios:
                    delivered[s] += availability.get((o, t, s), 0.0) * volume.get((o, t, s), common)
                    bought[s] += spot.get((o, t, s), 0.0)
            for s in data.scenarios:
                found[m, t, s] = (delivered[s], bought[s])
    return found


def result_tables(data: ModelData, plan: Plan, figures: Figures) -> dict[str, pd.DataFrame]:
    """The tidy result tables, with the columns of `TABLE_COLUMNS`, in the model's canonical order."""
    opts = data.instance.options.set_index("option").loc[data.options].reset_index()
    bloc = data.instance.countries.set_index("country")["bloc"]
    period = data.periods
    total_volume = {o: sum(plan.expected_volume(data, o, t) for t in data.periods_of[o]) for o in data.options}
    contracts = pd.DataFrame({
        "option": opts["option"], "commodity": opts["commodity"], "origin": opts["origin"],
        "processor": opts["processor"], "selected": [plan.contracted[o] for o in opts["option"]],
        "fixed_cost": opts["fixed_cost"].astype(float), "agreement": opts["agreement"],
        "risk": [data.risk[o] for o in opts["option"]], "total_volume": [total_volume[o] for o in opts["option"]],
        "origin_bloc": opts["origin"].map(bloc), "processor_bloc": opts["processor"].map(bloc),
    })
    volumes = pd.DataFrame(
        [(o, data.commodity_of[o], period[t], x) for (o, t, *adaptive), x in plan.volume.items() if not adaptive],
        columns=TABLE_COLUMNS["volumes"],
    )
    selected_per_agreement = {g: 0 for g in data.agreements}
    for o, g in data.agreement_of.items():
        selected_per_agreement[g] += plan.contracted[o]
    agreements = pd.DataFrame(
        [(g, plan.signed[g], data.agreement_cost[g], selected_per_agreement[g]) for g in data.agreements],
        columns=TABLE_COLUMNS["agreements"],
    )
    costs = pd.DataFrame(
        [(s, data.probability[s], figures.worst_case_probability[s], figures.scenario_cost[s],
          figures.fixed_cost + figures.scenario_cost[s]) for s in data.scenarios],
        columns=TABLE_COLUMNS["scenario_costs"],
    )
    supply_rows, arriving = [], arrivals(data, plan)
    for s in data.scenarios:
        for m in data.commodities:
            for t in data.horizon:
                contracted, spot = arriving[m, t, s]
                supply_rows.append((s, m, period[t], data.demand[m, t], contracted, spot,
                                    plan.unmet[m, t, s], plan.disposed.get((m, t, s), 0.0), plan.stock[m, t, s]))
    supply = pd.DataFrame(supply_rows, columns=TABLE_COLUMNS["supply"])
    spot = pd.DataFrame(
        [(s, o, data.commodity_of[o], period[t], y) for (o, t, s), y in plan.spot.items() if y > 0],
        columns=TABLE_COLUMNS["spot"],
    )
    return {
        "contracts": contracts,
        "volumes": volumes,
        "adaptive_volumes": adaptive_volume_table(data, plan),
        "agreements": agreements,
        "scenario_costs": costs,
        "supply": supply,
        "spot": spot,
        "exposure": exposure_table(data, plan),
    }


def adaptive_volume_table(data: ModelData, plan: Plan) -> pd.DataFrame:
    """The volumes decided after the first period (multi-stage plans): one row per option,
    period and information class of the period it is decided in, with the scenarios it holds
    for (joined by ";"). Empty for a two-stage plan."""
    rows = []
    if data.multi_stage:
        for o in data.options:
            for t in data.periods_of[o]:
                decided = data.decision_period(o, t)
                if data.volume_common(o, t) or (o, t) in plan.volume:
                    continue
                for node in data.nodes_at(decided):
                    rows.append((o, data.commodity_of[o], data.periods[t], data.periods[decided],
                                 ";".join(data.node_members(decided, node)), plan.x(o, t, node)))
    return pd.DataFrame(rows, columns=TABLE_COLUMNS["adaptive_volumes"])


def _share(volume: float, demand: float) -> float:
    return volume / demand if demand > 0 else np.nan


def exposure_table(data: ModelData, plan: Plan) -> pd.DataFrame:
    """Contracted volume exposed to each country and bloc, as a share of demand.

    One row per material, period and every country or bloc that some option of the
    material is exposed to (origin or processor), with the tightest share limit that
    applies (empty when none). `share` is empty where demand is 0. `supplied` is what
    arrives from the exposed options, contracted deliveries and spot buys, its
    probability-weighted mean over the scenarios (`supplied_share` of demand, and
    `supplied_share_max` in the scenario where it is largest), beside the tightest limit on
    that basis, `max_supplied_share`. In a multi-stage plan the
    contracted volume is its probability-weighted mean over the scenarios (each scenario's
    own share is checked against the limits by `planner verify`).
    """
    limit_of: dict[tuple[str, str, str, str], float] = {}
    for limit in data.limits:
        key = (limit.basis, limit.commodity, limit.scope, limit.name)
        limit_of[key] = min(limit.max_share, limit_of.get(key, 1.0))
    probability = [data.probability[s] for s in data.scenarios]
    rows = []
    for m in data.commodities:
        scopes = sorted(key for key, opts in data.exposed.items() if any(o in opts for o in data.options_of[m]))
        for t in data.horizon:
            demand = data.demand[m, t]
            # per option: its expected volume, and what arrives from it in each scenario (for every scope)
            volume_of = {o: plan.expected_volume(data, o, t) for o in data.options_of[m]}
            arriving_of = {o: [data.availability.get((o, t, s), 0.0) * plan.x(o, t, s) + plan.spot.get((o, t, s), 0.0)
                               for s in data.scenarios] for o in data.options_of[m]}
            for scope, name in scopes:
                exposed = [o for o in data.options_of[m] if o in data.exposed[scope, name]]
                volume = sum(volume_of[o] for o in exposed)
                arriving = [sum(values) for values in zip(*(arriving_of[o] for o in exposed))]
                supplied = sum(p * v for p, v in zip(probability, arriving))
                rows.append((m, data.periods[t], scope, name, volume, demand, _share(volume, demand),
                             limit_of.get(("contracted", m, scope, name), np.nan), supplied, _share(supplied, demand),
                             _share(max(arriving, default=0.0), demand),
                             limit_of.get(("supplied", m, scope, name), np.nan)))
    return pd.DataFrame(rows, columns=TABLE_COLUMNS["exposure"])
