"""Constraint 8 (share limit), for each row of limits.csv, each matching material m and each t:

    sum of x_ot over the options of m exposed to the row's country or bloc <= max_share * demand_mt

An option is exposed when its origin or processor is the country, or lies in the bloc.
Combinations with no exposed option are trivially met and left out. max_share is a mutable
Param (`max_share`, one per expanded limit). In the elastic model a slack per limit and
period, weighted per share of demand (at least the material's typical volume).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from planner.instance.data import ModelData
from planner.model.family import SLACK_TOLERANCE, Checks, Rules, Violation, fmt, typical_volume
from planner.model.nodes import later, row_nodes, x
from planner.model.structure import Decisions
from planner.model.variant import Variant
from planner.results.plan import Plan

if TYPE_CHECKING:
    from planner.model.builder import ModelBuilder

NUMBER, TITLE, FIRST_STAGE = "8", "share limit", True
ON_VOLUMES = True  # its rows hold contracted volumes x (a multi-stage plan decides some later)


def build(b: ModelBuilder, data: ModelData, variant: Variant, d: Decisions) -> None:
    max_share = b.param("max_share", lambda data: {i: limit.max_share for i, limit in enumerate(data.limits)},
                        index=range(len(data.limits)))
    periods = {(o, t) for o in data.options for t in data.periods_of[o]}
    exposed_options = {
        (i, t): [o for o in data.options_of[limit.commodity]
                 if o in data.exposed.get((limit.scope, limit.name), ()) and (o, t) in periods]
        for i, limit in enumerate(data.limits) for t in data.horizon
    }
    index = [(*key, *n) for key, options in exposed_options.items()  # an evaluation holds the first period's
             if options and (not variant.fixed_first_stage or later(data, options, key[1]))
             for n in ([(node,) for node in row_nodes(data, options, key[1])] or [()])]

    def weight(key: tuple) -> float:
        m = data.limits[key[0]].commodity
        return 1.0 / max(data.demand[m, key[1]], typical_volume(data, m))

    slack = b.slack(NUMBER, "share_limit_slack", index, weight) if variant.elastic else None

    def rule(_: object, i: int, t: int, *n: str) -> object:
        limit = data.limits[i]
        allowed = max_share[i] * data.demand[limit.commodity, t]
        if slack is not None:
            allowed = allowed + slack[(i, t, *n)]
        return sum(x(d, data, o, t, *n) for o in exposed_options[i, t]) <= allowed

    b.rows("share_limit", index, rule)


def explain(data: ModelData, slack: dict, plan: Plan, volume: dict[str, float], money: float) -> list[str]:
    reasons = []
    for (i, t, *_), value in slack.items():
        limit = data.limits[i]
        demand = data.demand[limit.commodity, t]
        excess = value * volume[limit.commodity]
        if excess > SLACK_TOLERANCE * max(demand, 1.0):
            needed = limit.max_share * demand + excess
            share = (f"{needed / demand:.4g} of demand" if demand > 0
                     else f"{fmt(needed)} {data.instance.unit} (demand is 0)")
            reasons.append(f"{limit.commodity}: share limit {limit.max_share:g} on {limit.scope} {limit.name} "
                           f"(limits.csv row {limit.row}) cannot be met in {data.periods[t]}; at least {share} "
                           "must be contracted from it")
    return reasons


def check(data: ModelData, plan: Plan, rules: Rules) -> list[Violation]:
    checks = Checks(f"{NUMBER} {TITLE}")
    for limit in data.limits:
        exposed = data.exposed.get((limit.scope, limit.name), set())
        for t in data.horizon:
            allowed = limit.max_share * data.demand[limit.commodity, t]
            for s in data.scenarios if data.multi_stage else [None]:
                volume = sum(plan.x(o, t, s) for o in data.options_of[limit.commodity] if o in exposed)
                checks.at_least_zero(allowed - volume, data.demand[limit.commodity, t],
                                     f"{limit.scope} {limit.name} {limit.commodity} {data.periods[t]}"
                                     + (f" in {s}" if s else ""), f"{fmt(volume)} exposed, at most {fmt(allowed)}")
    return checks.found
