"""Constraint 9 (budget), when set:

    sum_o fixed_cost_o z_o + sum_g fixed_cost_g w_g <= fixed_cost_max

fixed_cost_max is a mutable Param. The row sums over every material's contracts: it links
the materials. In the elastic model one slack, weighted per share of the budget (at least
the largest fixed cost, and 1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from planner.formatting import cents
from planner.instance.data import ModelData
from planner.model.family import SLACK_TOLERANCE, Checks, Rules, Violation
from planner.model.structure import Decisions
from planner.model.variant import Variant
from planner.results.plan import Plan

if TYPE_CHECKING:
    from planner.model.builder import ModelBuilder

NUMBER, TITLE, FIRST_STAGE = "9", "budget", True
ON_VOLUMES = False  # its rows hold z and w only


def _fixed_cost(data: ModelData, plan: Plan) -> float:
    return (sum(data.fixed_cost[o] * z for o, z in plan.contracted.items())
            + sum(data.agreement_cost[g] * w for g, w in plan.signed.items()))


def build(b: ModelBuilder, data: ModelData, variant: Variant, d: Decisions) -> None:
    budget = b.param("fixed_cost_max", lambda data: data.fixed_cost_max or 0.0)
    if data.fixed_cost_max is None:
        return
    allowed = budget
    if variant.elastic:
        scale = max([data.fixed_cost_max or 0.0, 1.0, *data.fixed_cost.values(), *data.agreement_cost.values()])
        allowed = allowed + b.slack(NUMBER, "budget_slack", None, lambda _: 1.0 / scale)
    b.structure.budget_row = b.row("budget", b.fixed_cost <= allowed)


def explain(data: ModelData, slack: dict, plan: Plan, volume: dict[str, float], money: float) -> list[str]:
    excess = sum(slack.values()) * money
    if excess <= SLACK_TOLERANCE * max(data.fixed_cost_max, 1):
        return []
    return [f"budget: fixed_cost_max {cents(data.fixed_cost_max)} is too small; the other limits need at least "
            f"{cents(data.fixed_cost_max + excess)} {data.instance.currency} of fixed costs"]


def check(data: ModelData, plan: Plan, rules: Rules) -> list[Violation]:
    checks = Checks(f"{NUMBER} {TITLE}")
    if data.fixed_cost_max is not None:
        fixed = _fixed_cost(data, plan)
        checks.at_least_zero(data.fixed_cost_max - fixed, data.fixed_cost_max, "fixed costs",
                             f"{cents(fixed)} above {cents(data.fixed_cost_max)}")
    return checks.found
