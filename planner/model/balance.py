"""Constraint 4 (balance), for every material m, period t and scenario s:

    I_mts = I_m,t-1,s + sum_{o in O_m} (a_ots x_ot + y_ots) + u_mts - demand_mt,
    with I_m,-1,s = initial_stock_m

(s: one per recourse copy of m). The contracted supply K_mt = sum_o x_ot is written once per
period (`contracted_supply`), so that each scenario row holds only the volume a disruption
takes away, -(1 - a_ots) x_ot (`delivered`), and x_ot appears in one row per period plus one
per scenario that disrupts it.

Stock cannot be thrown away in a plan. In the elastic model (diagnosis) a priced slack
`overflow_mts` on the right, weighted per share of the material's typical volume, measures
volume that can be neither used nor stored; in an evaluation the same variable is volume
disposed of (free; at most `ModelData.disposal_cap` per material and scenario when set).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from planner.instance.data import ModelData
from planner.model.family import SLACK_TOLERANCE, Checks, Rules, Violation, fmt, tolerance, typical_volume
from planner.model.nodes import recourse, x
from planner.model.structure import Decisions
from planner.model.variant import Variant
from planner.results.plan import Plan, arrivals

if TYPE_CHECKING:
    from planner.model.builder import ModelBuilder

NUMBER, TITLE, FIRST_STAGE = "4", "balance", False
ON_VOLUMES = False  # (not a first-stage family: built in every model)


def build(b: ModelBuilder, data: ModelData, variant: Variant, d: Decisions) -> None:
    periods = {(o, t) for o in data.options for t in data.periods_of[o]}
    index = [(m, t) for m in data.commodities for t in data.horizon
             if any((o, t) in periods for o in data.options_of[m])] if not data.multi_stage else []
    supply = b.var("contracted_supply", index)
    b.rows("contracted_supply_definition", index, lambda _, m, t: supply[m, t] == (
        sum(d.volume[o, t] for o in data.options_of[m] if (o, t) in periods)))
    recourse_periods = d.stock.index_set()
    if variant.disposal:  # free (an evaluation's, also when it is diagnosed)
        d.disposed = b.var("overflow", recourse_periods)
    elif variant.elastic:
        d.disposed = b.slack(NUMBER, "overflow", recourse_periods,
                             lambda key: len(data.recourse_members(*key)) / typical_volume(data, key[0]))

    def delivered(m: str, t: int, s: str) -> object:
        """sum_{o in O_m} (a_ots x_ot + y_ots) = K_mt - sum_{o: a_ots < 1} (1 - a_ots) x_ot + sum_o y_ots
        (multi-stage: sum_o (a_ots x_ots + y_ots), each volume its own)."""
        terms = [supply[m, t]] if (m, t) in supply else []
        for o in data.options_of[m]:
            a = data.availability.get((o, t, s))
            if a is None:  # t is not in P_o
                continue
            if data.multi_stage and a > 0:
                terms.append(a * x(d, data, o, t, s))
            elif not data.multi_stage and a < 1:
                terms.append(-(1 - a) * d.volume[o, t])
            if a > 0 and data.is_spot[o]:
                terms.append(d.spot[o, t, s])
        return sum(terms)

    def rule(_: object, m: str, t: int, s: str) -> object:
        previous = recourse(d.stock, data, m, m, t - 1, s) if t > 0 else data.initial_stock[m]
        inflow = previous + delivered(m, t, s) + d.unmet[m, t, s] - data.demand[m, t]
        if d.disposed is not None:
            inflow = inflow - d.disposed[m, t, s]
        return d.stock[m, t, s] == inflow

    b.rows("balance", recourse_periods, rule)
    if variant.disposal and data.disposal_cap is not None:
        b.rows("disposal_cap", _copies(data), lambda _, m, s: (
            sum(recourse(d.disposed, data, m, m, t, s) for t in data.horizon) <= data.disposal_cap[m, s]))


def _copies(data: ModelData) -> list[tuple[str, str]]:
    return [(m, s) for m in data.commodities for s in data.recourse_scenarios[m]]


def explain(data: ModelData, slack: dict, plan: Plan, volume: dict[str, float], money: float) -> list[str]:
    unit, periods, reasons = data.instance.unit, data.periods, []
    for (m, t, r), value in slack.items():
        excess = value * volume[m]
        total = sum(data.demand[m, u] for u in data.horizon)
        if excess > SLACK_TOLERANCE * max(total, 1.0):
            cap = data.storage_capacity[m]
            reasons += [f"{m}: in scenario {s}, {periods[t]}, {fmt(excess)} {unit} can be neither used nor "
                        f"stored (storage_capacity {fmt(cap)}); lower initial_stock, min_volume or min_suppliers, "
                        "or raise storage_capacity" for s in data.recourse_members(m, t, r)]
    return reasons


def inflows(data: ModelData, plan: Plan) -> Iterator[tuple[tuple[str, int, str], float, float]]:
    """Per material, scenario and period, in order: the key (m, t, s), what a plan's balance (4)
    leaves for stock and disposal, I_m,t-1,s + arrivals + u_mts - demand_mt, and the scale of
    the row (the largest of demand, stock before and arrivals)."""
    arriving = arrivals(data, plan)
    for m in data.commodities:
        for s in data.scenarios:
            before = data.initial_stock[m]
            for t in data.horizon:
                key = (m, t, s)
                delivered, bought = arriving[key]
                yield (key, before + delivered + bought + plan.unmet[key] - data.demand[m, t],
                       max(data.demand[m, t], before, delivered, bought))
                before = plan.stock[key]


def check(data: ModelData, plan: Plan, rules: Rules) -> list[Violation]:
    checks, period = Checks(f"{NUMBER} {TITLE}"), data.periods
    for key, inflow, scale in inflows(data, plan):
        m, t, s = key
        stock, unmet, disposed = plan.stock[key], plan.unmet[key], plan.disposed.get(key, 0.0)
        where = f"{m} {period[t]} {s}"
        balance = inflow - disposed - stock
        checks.at_least_zero(-abs(balance), scale, where, "stock {} != {}", stock, stock + balance)
        checks.at_least_zero(stock, scale, where, "negative stock {}", stock)
        checks.at_least_zero(unmet, scale, where, "negative shortage {}", unmet)
        checks.at_least_zero(disposed, scale, where, "negative disposal {}", disposed)
        if disposed > tolerance(scale) and not rules.evaluation:
            checks.found.append(Violation(checks.name, where, disposed, f"{fmt(disposed)} disposed of: a "
                                          "plan never throws stock away (only an evaluation may)"))
        if data.storage_capacity[m] is not None:
            cap = data.storage_capacity[m]
            checks.at_least_zero(cap - stock, cap, where, "stock {} above storage_capacity {}", stock, cap)
    return checks.found
