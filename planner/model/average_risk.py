"""Constraint 7 (average political risk), for materials that set it, every t:

    sum_{o in O_m} r_o x_ot <= max_avg_risk_m sum_{o in O_m} x_ot,

written sum_{o in O_m} (r_o - max_avg_risk_m) x_ot <= 0. Only options whose risk exceeds the
cap can break it; a period without such options is left out. In the elastic model a slack
per material and period, weighted per share of the material's typical volume.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from planner.instance.data import ModelData
from planner.model.family import SLACK_TOLERANCE, Checks, Rules, Violation, in_scenarios, typical_volume
from planner.model.nodes import later, row_members, row_nodes, x
from planner.model.structure import Decisions
from planner.model.variant import Variant
from planner.results.plan import Plan

if TYPE_CHECKING:
    from planner.model.builder import ModelBuilder

NUMBER, TITLE, FIRST_STAGE = "7", "average risk", True
ON_VOLUMES = True  # its rows hold contracted volumes x (a multi-stage plan decides some later)


def build(b: ModelBuilder, data: ModelData, variant: Variant, d: Decisions) -> None:
    periods = {(o, t) for o in data.options for t in data.periods_of[o]}
    index = [(m, t, *n) for m in data.commodities if data.max_avg_risk[m] is not None for t in data.horizon
             if any(data.risk[o] > data.max_avg_risk[m] and (o, t) in periods for o in data.options_of[m])
             and (not variant.fixed_first_stage or later(data, data.options_of[m], t))
             for n in ([(node,) for node in row_nodes(data, [o for o in data.options_of[m] if (o, t) in periods], t)]
                       or [()])]
    slack = (b.slack(NUMBER, "average_risk_slack", index, lambda key: 1.0 / typical_volume(data, key[0]))
             if variant.elastic else None)

    def rule(_: object, m: str, t: int, *n: str) -> object:
        cap = data.max_avg_risk[m]
        excess = sum((data.risk[o] - cap) * x(d, data, o, t, *n) for o in data.options_of[m] if (o, t) in periods)
        return excess <= (slack[(m, t, *n)] if slack is not None else 0)

    b.rows("average_risk", index, rule)


def explain(data: ModelData, slack: dict, plan: Plan, volume: dict[str, float], money: float) -> list[str]:
    reasons = []
    for (m, t, *n), value in slack.items():
        volumes = [(o, plan.x(o, t, *n)) for o in data.options_of[m] if t in data.periods_of[o]]
        total = sum(v for _, v in volumes)
        if value * volume[m] > SLACK_TOLERANCE * max(total, 1.0) and total > 0:
            reached = sum(data.risk[o] * v for o, v in volumes) / total
            reasons.append(f"{m}: max_avg_risk {data.max_avg_risk[m]:g} cannot be met in {data.periods[t]}"
                           f"{_where(data, m, t, *n)}; the volumes the other limits require average a risk of "
                           f"{reached:.3f}")
    return reasons


def _where(data: ModelData, m: str, t: int, *node: str) -> str:
    """A multi-stage row's scenarios (the information class it holds for), where not all of them."""
    options = [o for o in data.options_of[m] if t in data.periods_of[o]]
    return in_scenarios(data, row_members(data, options, t, node[0])) if node else ""


def check(data: ModelData, plan: Plan, rules: Rules) -> list[Violation]:
    checks = Checks(f"{NUMBER} {TITLE}")
    for m in data.commodities:
        if data.max_avg_risk[m] is None:
            continue
        for t in data.horizon:
            for s in data.scenarios if data.multi_stage else [None]:
                volumes = [(o, plan.x(o, t, s)) for o in data.options_of[m]]
                total = sum(v for _, v in volumes)
                excess = sum((data.risk[o] - data.max_avg_risk[m]) * v for o, v in volumes)
                checks.at_least_zero(-excess, total, f"{m} {data.periods[t]}" + (f" in {s}" if s else ""),
                                     f"average risk above {data.max_avg_risk[m]:g}")
    return checks.found
