"""Constraint 5 (service level, cut-off robustness), for materials that set one, every s:

    sum_t u_mts <= (1 - service_level_m) sum_t demand_mt

(s: one per recourse copy of m). The level is a mutable Param (`service_level_target`): a
sweep changes it without rebuilding. In the elastic model a slack per material and scenario,
weighted per share of the material's total demand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from planner.instance.data import ModelData
from planner.model.family import SLACK_TOLERANCE, Checks, Rules, Violation, copies, horizon_copies, sharing
from planner.model.nodes import recourse
from planner.model.structure import Decisions
from planner.model.variant import Variant
from planner.results.plan import Plan

if TYPE_CHECKING:
    from planner.model.builder import ModelBuilder

NUMBER, TITLE, FIRST_STAGE = "5", "service level", False
ON_VOLUMES = False  # (not a first-stage family: built in every model)


def _levels(data: ModelData) -> dict[str, float]:
    return {m: level for m, level in data.service_level.items() if level is not None}


def build(b: ModelBuilder, data: ModelData, variant: Variant, d: Decisions) -> None:
    target = b.param("service_level_target", _levels, index=list(_levels(data)))
    if not variant.recourse_rules:
        return
    with_level = [(m, s) for m in data.commodities for s in horizon_copies(data, m)
                  if data.service_level[m] is not None]
    total = {m: sum(data.demand[m, t] for t in data.horizon) for m in data.commodities}
    slack = (b.slack(NUMBER, "service_level_slack", with_level,
                     lambda key: copies(data, *key) / max(total[key[0]], 1.0)) if variant.elastic else None)

    def rule(_: object, m: str, s: str) -> object:
        allowed = (1.0 - target[m]) * total[m]
        if slack is not None:
            allowed = allowed + slack[m, s]
        return sum(recourse(d.unmet, data, m, m, t, s) for t in data.horizon) <= allowed

    b.rows("service_level", with_level, rule)


def explain(data: ModelData, slack: dict, plan: Plan, volume: dict[str, float], money: float) -> list[str]:
    reasons = []
    for (m, r), value in slack.items():
        total = sum(data.demand[m, t] for t in data.horizon)
        if value * volume[m] > SLACK_TOLERANCE * max(total, 1.0):
            reached = 1 - sum(plan.unmet[m, t, r] for t in data.horizon) / total
            reasons += [f"{m}: service level {data.service_level[m]:g} cannot be met in scenario {s}; "
                        f"at most {reached:.4g} is reachable" for s in sharing(data, m, r)]
    return reasons


def check(data: ModelData, plan: Plan, rules: Rules) -> list[Violation]:
    checks = Checks(f"{NUMBER} {TITLE}")
    if rules.evaluation:  # an evaluation reports service levels, it does not enforce them
        return checks.found
    for m, level in _levels(data).items():
        total = sum(data.demand[m, t] for t in data.horizon)
        allowed = (1 - level) * total
        for s in data.scenarios:
            short = sum(plan.unmet[m, t, s] for t in data.horizon)
            checks.at_least_zero(allowed - short, total, f"{m} {s}", "shortage {} above {}", short, allowed)
    return checks.found
