"""Derived data (docs/model.md section 3.1), computed once from a validated instance.

Periods are integer indices t = 0..T-1 in `periods` order. Everything the model, the
results and the verifier need is here as plain dictionaries keyed by names and indices.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from dataclasses import dataclass, field, replace

from planner.instance.instance import Instance
from planner.instance.stages import BEFORE, information_nodes, members


@dataclass(frozen=True)
class ShareLimit:
    """One expanded row of limits.csv: constraint 8 for one material."""

    scope: str  # "country" or "bloc"
    name: str
    commodity: str
    max_share: float
    row: int  # row of limits.csv
    basis: str = "contracted"  # "contracted" (8a) or "supplied" (8b)


@dataclass
class ModelData:
    """Sets and parameters of the sourcing model."""

    instance: Instance
    periods: list[str]
    commodities: list[str]
    options: list[str]
    scenarios: list[str]
    agreements: list[str]
    probability: dict[str, float]
    discount: list[float]  # d_t
    demand: dict[tuple[str, int], float]  # (m, t) -> demand_mt, every pair
    commodity_of: dict[str, str]
    options_of: dict[str, list[str]]  # O_m
    periods_of: dict[str, list[int]]  # P_o
    capacity: dict[tuple[str, int], float]  # cap_ot, every t (0 outside availability)
    min_volume: dict[tuple[str, int], float]  # q_ot for t in P_o
    availability: dict[tuple[str, int, str], float]  # a_ots for t in P_o
    price_factor: dict[tuple[str, int, str], float]  # f_mts where it is not 1: spot prices of m in t, s
    # Scenarios that disrupt no option of m differently share m's recourse (see `recourse_groups`):
    recourse_of: dict[tuple[str, str], str]  # (m, s) -> the scenario whose recourse s shares
    recourse_scenarios: dict[str, list[str]]  # m -> scenarios that own a recourse copy
    risk: dict[str, float]  # r_o
    unit_cost: dict[str, float]
    fixed_cost: dict[str, float]
    spot_premium: dict[str, float]
    spot_options: list[str]
    is_spot: dict[str, bool]
    agreement_of: dict[str, str]  # option -> agreement, gated options only
    agreement_cost: dict[str, float]
    exposed: dict[tuple[str, str], set[str]]  # (scope, name) -> options exposed to it
    limits: list[ShareLimit]
    shortage_penalty: dict[str, float]
    holding_cost: dict[str, float]
    initial_stock: dict[str, float]
    storage_capacity: dict[str, float | None]  # None: unlimited
    service_level: dict[str, float | None]
    min_suppliers: dict[str, int]
    max_avg_risk: dict[str, float | None]
    risk_aversion: float
    cvar_alpha: float
    ambiguity: float  # delta: each p_s may lie in [p_s (1 - delta), min(1, p_s (1 + delta))]
    fixed_cost_max: float | None
    # evaluations only: most volume of m thrown away over the horizon in scenario s (a recourse copy)
    disposal_cap: dict[tuple[str, str], float] | None = None
    # evaluations only: (limit, t, recourse copy) -> how far the held contracts alone exceed a
    # share limit on what is supplied (8b); the row allows that much more
    supplied_allowance: dict[tuple[int, int, str], float] | None = None
    # multi-stage plans (docs/model.md section 3.6): periods ahead of delivery an option's volume
    # is fixed, and (t, s) -> the representative of s's information class in t; None: two-stage
    lead_time: dict[str, int] = field(default_factory=dict)
    info_node: dict[tuple[int, str], str] | None = None

    @property
    def horizon(self) -> range:
        return range(len(self.periods))

    @functools.cached_property
    def _sharing(self) -> dict[tuple[str, str], list[str]]:
        members: dict[tuple[str, str], list[str]] = {}
        for s in self.scenarios:
            for m in self.commodities:
                members.setdefault((m, self.recourse_of[m, s]), []).append(s)
        return members

    def sharing(self, m: str, r: str) -> list[str]:
        """The scenarios whose recourse for m is that of scenario r (r among them)."""
        return self._sharing[m, r]

    # -- decision nodes: where each decision is taken (one per scenario group sharing it) -----------

    @property
    def multi_stage(self) -> bool:
        return self.info_node is not None

    @functools.cached_property
    def _members(self) -> dict[tuple[int, str], list[str]]:
        return members(self.info_node or {}, self.scenarios)

    def decision_period(self, o: str, t: int) -> int:
        """When x_ot is decided: t - lead_time_o in a multi-stage plan, -1 (up front, before
        anything is known) when that is before the first period, as in a two-stage plan."""
        return max(BEFORE, t - self.lead_time.get(o, 0)) if self.multi_stage else BEFORE

    def nodes_at(self, t: int) -> list[str]:
        """The information classes of period t (their representatives; multi-stage)."""
        return [n for (u, n) in self._members if u == t]

    def node_members(self, t: int, node: str) -> list[str]:
        return self._members[t, node]

    def volume_common(self, o: str, t: int) -> bool:
        """Whether x_ot is one decision for every scenario: always in a two-stage model; in a
        multi-stage one when nothing tells the scenarios apart yet in the period it is decided."""
        return not self.multi_stage or len(self.nodes_at(self.decision_period(o, t))) == 1

    def volume_key(self, o: str, t: int, s: str) -> tuple:
        """The key of the volume variable scenario s uses for x_ot: (o, t), or (o, t, node) with
        the node of s in the period x_ot is decided."""
        if not self.multi_stage:
            return (o, t)
        return (o, t, self.info_node[self.decision_period(o, t), s])  # type: ignore[index]

    def volume_keys(self) -> list[tuple]:
        if not self.multi_stage:
            return [(o, t) for o in self.options for t in self.periods_of[o]]
        return [(o, t, n) for o in self.options for t in self.periods_of[o]
                for n in self.nodes_at(self.decision_period(o, t))]

    def volume_members(self, key: tuple) -> list[str]:
        """The scenarios that share the volume variable `key`."""
        if len(key) == 2:
            return self.scenarios
        o, t, node = key
        return self.node_members(self.decision_period(o, t), node)

    def recourse_node(self, m: str, t: int, s: str) -> str:
        """The copy of m's period-t recourse (spot, stock, shortage) scenario s uses."""
        return self.info_node[t, s] if self.multi_stage else self.recourse_of[m, s]  # type: ignore[index]

    def recourse_nodes(self, m: str, t: int) -> list[str]:
        return self.nodes_at(t) if self.multi_stage else self.recourse_scenarios[m]

    def recourse_members(self, m: str, t: int, node: str) -> list[str]:
        return self.node_members(t, node) if self.multi_stage else self.sharing(m, node)


def recourse_groups(commodities: list[str], scenarios: list[str], options_of: dict[str, list[str]],
                    periods_of: dict[str, list[int]], availability: dict[tuple[str, int, str], float],
                    price_factor: dict[tuple[str, int, str], float], horizon: range,
                    ) -> dict[tuple[str, str], str]:
    """(m, s) -> the first scenario (in `scenarios` order) with the same availability and spot
    prices for m.

    The second stage of material m in scenario s (y, I, u of m; constraints 3-5; its part
    of C_s) depends on s only through a_ots for o in O_m and the price factors f_mts.
    Scenarios with equal a_ots and f_mts have
    equal recourse problems; since the objective never decreases when a C_s grows, each
    scenario's optimal recourse minimises its own cost, so one copy serves all of them and
    the optimum is unchanged (how many copies this saves: docs/performance.md, "Performance").
    """
    shared: dict[tuple[str, str], str] = {}
    for m in commodities:
        first: dict[tuple[float | None, ...], str] = {}
        for s in scenarios:
            pattern = (tuple(availability[o, t, s] for o in options_of[m] for t in periods_of[o])
                       + tuple(price_factor.get((m, t, s), 1.0) for t in horizon))
            shared[m, s] = first.setdefault(pattern, s)
    return shared


def with_scenarios(data: ModelData, probability: dict[str, float], availability: dict[tuple[str, int, str], float],
                   price_factor: dict[tuple[str, int, str], float]) -> ModelData:
    """`data` with other scenarios (names and probabilities, a_ots and f_mts for each), shared
    recourse redone."""
    scenarios = list(probability)
    recourse_of, info_node = _recourse(data.multi_stage, data.commodities, scenarios, data.options,
                                       data.options_of, data.periods_of, availability, price_factor, data.horizon)
    return replace(data, scenarios=scenarios, probability=probability, availability=availability,
                   price_factor=price_factor, recourse_of=recourse_of,
                   recourse_scenarios=_owners(data.commodities, scenarios, recourse_of), info_node=info_node)


def with_stages(data: ModelData, multi: bool) -> ModelData:
    """`data` as a two-stage or a multi-stage model."""
    recourse_of, info_node = _recourse(multi, data.commodities, data.scenarios, data.options, data.options_of,
                                       data.periods_of, data.availability, data.price_factor, data.horizon)
    return replace(data, recourse_of=recourse_of, recourse_scenarios=_owners(data.commodities, data.scenarios,
                                                                             recourse_of), info_node=info_node)


def _recourse(multi: bool, commodities: list[str], scenarios: list[str], options: list[str],
              options_of: dict[str, list[str]], periods_of: dict[str, list[int]],
              availability: dict[tuple[str, int, str], float], price_factor: dict[tuple[str, int, str], float],
              horizon: range) -> tuple[dict[tuple[str, str], str], dict[tuple[int, str], str] | None]:
    """Who shares whose recourse, and the information classes. Two-stage: scenarios with the same
    availability and prices for m share m's recourse (`recourse_groups`). Multi-stage: each
    scenario has its own cost (its contracted volume differs), and the decisions of each period
    are shared by the scenarios indistinguishable then (`planner.instance.stages`)."""
    if not multi:
        return recourse_groups(commodities, scenarios, options_of, periods_of, availability, price_factor,
                               horizon), None
    nodes = information_nodes(scenarios, horizon, options, periods_of, availability, commodities, price_factor)
    return {(m, s): s for m in commodities for s in scenarios}, nodes


def _owners(commodities: list[str], scenarios: list[str], recourse_of: dict[tuple[str, str], str]) -> dict:
    return {m: [s for s in scenarios if recourse_of[m, s] == s] for m in commodities}


def _optional(value: float) -> float | None:
    return None if value != value else float(value)  # NaN -> None


def build_model_data(inst: Instance) -> ModelData:
    """Derive the model's sets and parameters from a validated instance (`MemoryShortage` when
    they would not fit in the memory available: `planner.memory`)."""
    from planner.memory import check_data_memory

    periods = list(inst.periods)
    index = {p: t for t, p in enumerate(periods)}
    horizon = range(len(periods))
    # Canonical (sorted) order: the same instance gives the same model, and so the same plan,
    # whatever the order of the rows in its files.
    commodities = sorted(inst.commodities["commodity"])
    scenarios = sorted(inst.scenarios["scenario"])
    countries = inst.countries.set_index("country")
    bloc_of = countries["bloc"].to_dict()
    country_risk = countries["risk"].to_dict()

    options = inst.options.sort_values("option", kind="stable")
    option_names = list(options["option"])
    capacity: dict[tuple[str, int], float] = {}
    for o, cap in zip(options["option"], options["capacity"]):
        for t in horizon:
            capacity[o, t] = float(cap)
    for o, p, cap in zip(inst.capacity["option"], inst.capacity["period"], inst.capacity["capacity"]):
        capacity[o, index[p]] = float(cap)

    periods_of: dict[str, list[int]] = {}
    options_of: dict[str, list[str]] = {m: [] for m in commodities}
    exposed: dict[tuple[str, str], set[str]] = defaultdict(set)
    risk, agreement_of = {}, {}
    for rec in options.itertuples(index=False):  # sorted: options_of[m] in canonical order
        o = rec.option
        t0 = index[rec.available_from]
        periods_of[o] = [t for t in horizon if t >= t0 and capacity[o, t] > 0]
        options_of[rec.commodity].append(o)
        risk[o] = max(country_risk[rec.origin], country_risk[rec.processor])
        if rec.agreement:
            agreement_of[o] = rec.agreement
        for country in {rec.origin, rec.processor}:
            exposed["country", country].add(o)
            exposed["bloc", bloc_of[country]].add(o)
    check_data_memory(sum(map(len, periods_of.values())), len(scenarios))
    min_volume_of = dict(zip(options["option"], options["min_volume"]))
    min_volume = {(o, t): min(float(min_volume_of[o]), capacity[o, t]) for o in option_names for t in periods_of[o]}

    commodity_of = dict(zip(options["option"], options["commodity"]))
    severity: dict[tuple[str, int, str], float] = {}
    for rec in inst.disruptions.itertuples(index=False):
        hit = exposed.get((rec.scope, rec.name), set())
        first, last = index[rec.start_period], index[rec.end_period]
        for o in hit:
            if rec.commodity != "*" and commodity_of[o] != rec.commodity:
                continue
            for t in periods_of[o]:
                if first <= t <= last:
                    key = (o, t, rec.scenario)
                    severity[key] = max(severity.get(key, 0.0), float(rec.severity))
    availability = {
        (o, t, s): 1.0 - severity.get((o, t, s), 0.0) for o in option_names for t in periods_of[o] for s in scenarios
    }
    # f_mts: the largest price factor of the rows of s that hit m in t (every row counts, 1 by
    # default); 1 where no row hits. Only factors other than 1 are kept.
    factors: dict[tuple[str, int, str], float] = {}
    for rec in inst.disruptions.itertuples(index=False):
        for m in commodities if rec.commodity == "*" else [rec.commodity]:
            for t in range(index[rec.start_period], index[rec.end_period] + 1):
                key = (m, t, rec.scenario)
                factors[key] = max(factors.get(key, -math.inf), float(rec.price_factor))
    price_factor = {key: factor for key, factor in factors.items() if factor != 1.0}

    recourse_of, info_node = _recourse(inst.stages == "multi", commodities, scenarios, option_names, options_of,
                                       periods_of, availability, price_factor, horizon)
    demand = {(m, t): 0.0 for m in commodities for t in horizon}
    for m, p, d in zip(inst.demand["commodity"], inst.demand["period"], inst.demand["demand"]):
        demand[m, index[p]] = float(d)

    limits = []
    lim = inst.limits.sort_values(["scope", "name", "commodity"], kind="stable")
    for row, scope, name, commodity, share, basis in zip(
        lim["_row"], lim["scope"], lim["name"], lim["commodity"], lim["max_share"], lim["basis"]
    ):
        for m in commodities if commodity == "*" else [commodity]:
            limits.append(ShareLimit(scope, name, m, float(share), int(row), basis or "contracted"))

    com = inst.commodities.set_index("commodity")
    return ModelData(
        instance=inst,
        periods=periods,
        commodities=commodities,
        options=option_names,
        scenarios=scenarios,
        agreements=sorted(inst.agreements["agreement"]),
        probability=dict(zip(inst.scenarios["scenario"], map(float, inst.scenarios["probability"]))),
        discount=[(1.0 + inst.discount_rate) ** (-t) for t in horizon],
        demand=demand,
        commodity_of=commodity_of,
        options_of=options_of,
        periods_of=periods_of,
        capacity=capacity,
        min_volume=min_volume,
        availability=availability,
        price_factor=price_factor,
        recourse_of=recourse_of,
        recourse_scenarios=_owners(commodities, scenarios, recourse_of),
        risk=risk,
        unit_cost=dict(zip(options["option"], map(float, options["unit_cost"]))),
        fixed_cost=dict(zip(options["option"], map(float, options["fixed_cost"]))),
        spot_premium=dict(zip(options["option"], map(float, options["spot_premium"]))),
        spot_options=[o for o, spot in zip(options["option"], options["spot"]) if spot == 1],
        is_spot={o: spot == 1 for o, spot in zip(options["option"], options["spot"])},
        agreement_of=agreement_of,
        agreement_cost=dict(zip(inst.agreements["agreement"], map(float, inst.agreements["fixed_cost"]))),
        exposed=dict(exposed),
        limits=limits,
        shortage_penalty={m: float(v) for m, v in com["shortage_penalty"].items()},
        holding_cost={m: float(v) for m, v in com["holding_cost"].items()},
        initial_stock={m: float(v) for m, v in com["initial_stock"].items()},
        storage_capacity={m: _optional(v) for m, v in com["storage_capacity"].items()},
        service_level={m: _optional(v) for m, v in com["service_level"].items()},
        min_suppliers={m: int(v) for m, v in com["min_suppliers"].items()},
        max_avg_risk={m: _optional(v) for m, v in com["max_avg_risk"].items()},
        risk_aversion=float(inst.risk_aversion),
        cvar_alpha=float(inst.cvar_alpha),
        ambiguity=float(inst.ambiguity),
        fixed_cost_max=inst.fixed_cost_max,
        lead_time={o: int(v) for o, v in zip(options["option"], options["lead_time"])},
        info_node=info_node,
    )
