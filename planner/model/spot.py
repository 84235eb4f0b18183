"""Constraint 3 (spot): y_ots <= a_ots (cap_ot - x_ot).

Spot buys use the capacity the contract leaves, as far as it is available in the scenario.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from planner.instance.data import ModelData
from planner.model.family import Checks, Rules, Violation
from planner.model.nodes import x
from planner.model.structure import Decisions
from planner.model.variant import Variant
from planner.results.plan import Plan

if TYPE_CHECKING:
    from planner.model.builder import ModelBuilder

NUMBER, TITLE, FIRST_STAGE = "3", "spot", False
ON_VOLUMES = False  # (not a first-stage family: built in every model)


def build(b: ModelBuilder, data: ModelData, variant: Variant, d: Decisions) -> None:
    def rule(_: object, o: str, t: int, s: str) -> object:
        a = data.availability[o, t, s]
        return d.spot[o, t, s] + a * x(d, data, o, t, s) <= a * data.capacity[o, t]

    b.rows("spot_limit", d.spot.index_set(), rule)


def explain(data: ModelData, slack: dict, plan: Plan, volume: dict[str, float], money: float) -> list[str]:
    """Never relaxed (it has no slack): it cannot be the reason an instance is infeasible alone."""
    return []


def check(data: ModelData, plan: Plan, rules: Rules) -> list[Violation]:
    checks, period = Checks(f"{NUMBER} {TITLE}"), data.periods
    for (o, t, s), y in plan.spot.items():
        room = data.availability[o, t, s] * (data.capacity[o, t] - plan.x(o, t, s))
        where = f"{o} {period[t]} {s}"
        checks.at_least_zero(y, data.capacity[o, t], where, "negative spot purchase {}", y)
        checks.at_least_zero(room - y, data.capacity[o, t], where, "spot {} above available {}", y, room)
    return checks.found
