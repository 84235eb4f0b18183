"""Constraint 6 (diversification), for materials that set it:

    sum_{o in O_m} z_o >= min_suppliers_m

It counts contracted options, not distinct countries. In the elastic model a slack per
material, weighted one per supplier.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from planner.errors import InfeasibleError
from planner.formatting import count
from planner.instance.data import ModelData
from planner.model.family import Checks, Rules, Violation
from planner.model.structure import Decisions
from planner.model.variant import Variant
from planner.results.plan import Plan

if TYPE_CHECKING:
    from planner.model.builder import ModelBuilder

NUMBER, TITLE, FIRST_STAGE = "6", "diversification", True
ON_VOLUMES = False  # its rows hold z and w only


def build(b: ModelBuilder, data: ModelData, variant: Variant, d: Decisions) -> None:
    with_minimum = [m for m in data.commodities if data.min_suppliers[m] > 0]
    for m in with_minimum:
        if len(data.options_of[m]) < data.min_suppliers[m] and not variant.elastic:
            raise InfeasibleError([f"{m}: min_suppliers is {data.min_suppliers[m]} but only "
                                   f"{count(len(data.options_of[m]), 'option')} can supply it"])
    slack = b.slack(NUMBER, "min_suppliers_slack", with_minimum, lambda _: 1.0) if variant.elastic else None

    def rule(_: object, m: str) -> object:
        contracted = sum(d.contracted[o] for o in data.options_of[m])
        if slack is not None:
            contracted = contracted + slack[m]
        return contracted >= data.min_suppliers[m]

    b.rows("min_suppliers", with_minimum, rule)


def explain(data: ModelData, slack: dict, plan: Plan, volume: dict[str, float], money: float) -> list[str]:
    return [f"{m}: min_suppliers {data.min_suppliers[m]} cannot be met; at most "
            f"{data.min_suppliers[m] - round(value)} of its {count(len(data.options_of[m]), 'option')} can be "
            "contracted within the other limits" for m, value in slack.items() if value > 0.5]


def check(data: ModelData, plan: Plan, rules: Rules) -> list[Violation]:
    checks = Checks(f"{NUMBER} {TITLE}")
    for m in data.commodities:
        if data.min_suppliers[m]:
            contracted = sum(plan.contracted[o] for o in data.options_of[m])
            checks.at_least_zero(contracted - data.min_suppliers[m], 1, m,
                                 f"{count(contracted, 'option')} contracted, at least {data.min_suppliers[m]} required")
    return checks.found
