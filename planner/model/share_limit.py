"""Constraint 8 (share limit), for each row of limits.csv, each matching material m and each t.

(8a) basis `contracted` (the default): what is contracted,

    sum of x_ot over the options of m exposed to the row's country or bloc <= max_share * demand_mt

(8b) basis `supplied`: what arrives, in every scenario s (contracted deliveries and spot buys),

    sum over the same options of (a_ots x_ot + y_ots) <= max_share * demand_mt

An option is exposed when its origin or processor is the country, or lies in the bloc.
Combinations with no exposed option are trivially met and left out. max_share is a mutable
Param (`max_share`, one per expanded limit). (8b) has a row per recourse copy of m (two-stage)
or information class (multi-stage), and holds in evaluations too: it limits the spot buys and
later volumes an evaluation decides again, past what the held contracts hold
(`ModelData.supplied_allowance`; shortages stay possible, but a multi-stage plan's later
volumes may then break another rule on volumes, such as average risk: the evaluation is
diagnosed as a plan is, `planner.solve.pipeline.STRESS_DIAGNOSIS`). A row
with nothing left to decide there (no spot buy possible, every volume held) limits nothing and
is left out: its constant sides, equal where the held contracts already exceed the limit
(`ModelData.supplied_allowance`), could differ in their last bit, and Pyomo refuses such a row
as "trivially infeasible". In the elastic model a slack per row, weighted per share of demand
(at least the material's typical volume).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from planner.instance.data import ModelData
from planner.model.family import SLACK_TOLERANCE, Checks, Rules, Violation, fmt, in_scenarios, typical_volume
from planner.model.nodes import later, row_members, row_nodes, x
from planner.model.structure import Decisions
from planner.model.variant import Variant
from planner.results.plan import Plan

if TYPE_CHECKING:
    from planner.model.builder import ModelBuilder

NUMBER, TITLE, FIRST_STAGE = "8", "share limit", True
CONTRACTED, SUPPLIED = "contracted", "supplied"  # the bases of limits.csv
RECOURSE_ROWS = True  # (8b) holds spot buys: an evaluation, which decides them again, keeps it
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
             if options and data.limits[key[0]].basis == CONTRACTED
             and (not variant.fixed_first_stage or later(data, options, key[1]))
             for n in ([(node,) for node in row_nodes(data, options, key[1])] or [()])]
    supplied = [(i, t, r) for (i, t), options in exposed_options.items()
                if options and data.limits[i].basis == SUPPLIED
                for r in data.recourse_nodes(data.limits[i].commodity, t)
                if not variant.fixed_first_stage or later(data, options, t)
                or any(data.is_spot[o] and data.availability[o, t, r] > 0 for o in options)]

    def weight(key: tuple) -> float:
        m = data.limits[key[0]].commodity
        return 1.0 / max(data.demand[m, key[1]], typical_volume(data, m))

    slack = b.slack(NUMBER, "share_limit_slack", index, weight) if variant.elastic else None
    supplied_slack = b.slack(NUMBER, "supplied_share_slack", supplied, weight) if variant.elastic else None

    def rule(_: object, i: int, t: int, *n: str) -> object:
        limit = data.limits[i]
        allowed = max_share[i] * data.demand[limit.commodity, t]
        if slack is not None:
            allowed = allowed + slack[(i, t, *n)]
        return sum(x(d, data, o, t, *n) for o in exposed_options[i, t]) <= allowed

    def supplied_rule(_: object, i: int, t: int, r: str) -> object:
        limit = data.limits[i]
        allowed = max_share[i] * data.demand[limit.commodity, t]
        if supplied_slack is not None:
            allowed = allowed + supplied_slack[i, t, r]
        if data.supplied_allowance:  # an evaluation: contracts held up front may already exceed it
            allowed = allowed + data.supplied_allowance.get((i, t, r), 0.0)
        arriving = []
        for o in exposed_options[i, t]:
            a = data.availability[o, t, r]
            if a > 0:
                arriving.append(a * x(d, data, o, t, r))
                if data.is_spot[o]:
                    arriving.append(d.spot[o, t, r])
        return sum(arriving) <= allowed

    b.rows("share_limit", index, rule)
    b.rows("supplied_share_limit", supplied, supplied_rule)


def explain(data: ModelData, slack: dict, plan: Plan, volume: dict[str, float], money: float) -> list[str]:
    reasons = []
    for (i, t, *rest), value in slack.items():
        limit = data.limits[i]
        demand = data.demand[limit.commodity, t]
        excess = value * volume[limit.commodity]
        if excess > SLACK_TOLERANCE * max(demand, 1.0):
            needed = limit.max_share * demand + excess
            share = (f"{needed / demand:.4g} of demand" if demand > 0
                     else f"{fmt(needed)} {data.instance.unit} (demand is 0)")
            where = data.periods[t] + _where(data, i, t, *rest)
            verb = "contracted from it" if limit.basis == CONTRACTED else "supplied by it (spot included)"
            reasons.append(f"{limit.commodity}: share limit {limit.max_share:g} on {limit.scope} {limit.name} "
                           f"(limits.csv row {limit.row}{', basis supplied' if limit.basis == SUPPLIED else ''}) "
                           f"cannot be met in {where}; at least "
                           f"{share} must be {verb}")
    return reasons


def _where(data: ModelData, i: int, t: int, *node: str) -> str:
    """The scenarios a row of limit i in period t holds for, where not all of them: (8b) its
    recourse copy's, a multi-stage (8a) row's information class."""
    if not node:
        return ""
    limit = data.limits[i]
    if limit.basis == SUPPLIED:
        return in_scenarios(data, data.recourse_members(limit.commodity, t, node[0]))
    exposed = data.exposed.get((limit.scope, limit.name), ())
    options = [o for o in data.options_of[limit.commodity] if o in exposed and t in data.periods_of[o]]
    return in_scenarios(data, row_members(data, options, t, node[0]))


def check(data: ModelData, plan: Plan, rules: Rules) -> list[Violation]:
    checks = Checks(f"{NUMBER} {TITLE}")
    for limit in data.limits:
        exposed = data.exposed.get((limit.scope, limit.name), set())
        for t in data.horizon:
            for s in data.scenarios if data.multi_stage or limit.basis == SUPPLIED else [None]:
                allowed = limit.max_share * data.demand[limit.commodity, t]
                volume = sum(_exposed_volume(data, plan, limit.basis, o, t, s)
                             for o in data.options_of[limit.commodity] if o in exposed)
                if rules.evaluation and limit.basis == SUPPLIED:  # what held contracts deliver may exceed it
                    allowed = max(allowed, sum(_exposed_volume(data, plan, CONTRACTED, o, t, s)
                                               * data.availability.get((o, t, s), 0.0)
                                               for o in data.options_of[limit.commodity] if o in exposed))
                checks.at_least_zero(allowed - volume, data.demand[limit.commodity, t],
                                     f"{limit.scope} {limit.name} {limit.commodity} {data.periods[t]}"
                                     + (f" in {s}" if s else ""), "{} exposed, at most {}", volume, allowed)
    return checks.found


def _exposed_volume(data: ModelData, plan: Plan, basis: str, o: str, t: int, s: str | None) -> float:
    """Option o's share-limited volume in t (scenario s): contracted x_ots, or what arrives,
    a_ots x_ots + y_ots."""
    if basis == CONTRACTED:
        return plan.x(o, t, s)
    return data.availability.get((o, t, s), 0.0) * plan.x(o, t, s) + plan.spot.get((o, t, s), 0.0)
