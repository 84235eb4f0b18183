"""Constraint 1 (contract): q_ot z_o <= x_ot <= cap_ot z_o, for t in P_o.

q_ot = min(min_volume_o, cap_ot); the lower half exists only where q_ot > 0. An option not
contracted delivers nothing; a contracted one delivers at least its minimum volume and at
most its capacity, each period it can deliver. Multi-stage: for every copy x_ot,n of the
volume (one per information class of the period it is decided in; docs/model.md 3.6).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from planner.instance.data import ModelData
from planner.model.family import Checks, Rules, Violation
from planner.model.structure import Decisions
from planner.model.variant import Variant
from planner.results.plan import Plan, volume_copies

if TYPE_CHECKING:
    from planner.model.builder import ModelBuilder

NUMBER, TITLE, FIRST_STAGE = "1", "contract", True
ON_VOLUMES = True  # its rows hold contracted volumes x (a multi-stage plan decides some later)


def build(b: ModelBuilder, data: ModelData, variant: Variant, d: Decisions) -> None:
    keys = [key for key in data.volume_keys()  # an evaluation holds those of the first period
            if not variant.fixed_first_stage or data.decision_period(key[0], key[1]) >= 0]
    b.rows("contract_max", keys, lambda _, o, t, *n: d.volume[(o, t, *n)] <= data.capacity[o, t] * d.contracted[o])
    with_minimum = [key for key in keys if data.min_volume[key[0], key[1]] > 0]
    b.rows("contract_min", with_minimum,
           lambda _, o, t, *n: d.volume[(o, t, *n)] >= data.min_volume[o, t] * d.contracted[o])


def explain(data: ModelData, slack: dict, plan: Plan, volume: dict[str, float], money: float) -> list[str]:
    """Never relaxed (it has no slack): it cannot be the reason an instance is infeasible alone."""
    return []


def check(data: ModelData, plan: Plan, rules: Rules) -> list[Violation]:
    """Volumes within [q_ot z_o, cap_ot z_o]; a volume where z_o = 0 is measured against the
    capacity or the material's largest demand, the smaller (a capacity far above demand would
    hide it; a demand far above capacity once hid 11 t from an option not contracted)."""
    checks, period = Checks(f"{NUMBER} {TITLE}"), data.periods
    for o in data.options:
        z, m = plan.contracted[o], data.commodity_of[o]
        typical = max(data.demand[m, t] for t in data.horizon)
        for t in data.periods_of[o]:
            cap, q = data.capacity[o, t], data.min_volume[o, t]
            for node, x in volume_copies(data, plan, o, t):
                where = f"{o} {period[t]}{node}"
                checks.at_least_zero(x, cap, where, "negative volume {}", x)
                checks.at_least_zero(cap * z - x, cap if z else min(cap, typical), where,
                                     "volume {} above capacity x selected", x)
                checks.at_least_zero(x - q * z, cap, where, "volume {} below min_volume x selected", x)
    return checks.found
