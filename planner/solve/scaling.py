"""Internal scaling, so that HiGHS sees numbers near 1 whatever the user's units.

Real instances mix prices of 1e5 USD/t, penalties of 1e6, fixed costs of 1e8 and
scenario costs of 1e10: HiGHS then cannot meet its absolute tolerances (it reported
"MIP solver claims optimality, but with primal infeasibilities" on a generated 6 x 15 x
8 x 30 instance). The model is therefore built on scaled data:

    volume of material m      / V_m,  V_m = its mean demand per period (else mean capacity, else 1)
    money                     / M,    M   = median over options of unit_cost_o x V_m(o) (else 1),
                                            moved so that every cost coefficient (per-unit costs x
                                            V_m, lump sums) lies within MONEY_SPREAD of 1 where the
                                            range allows, else to the centre of the range

and the plan is scaled back before anything is reported. Figures are computed from the
unscaled plan with the original data, so they stay in the user's units exactly; only
the solver's objective and bound need multiplying by M.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, replace

from planner.instance.data import ModelData
from planner.instance.magnitudes import MONEY_SPAN
from planner.model.structure import BuiltModel
from planner.results.plan import Plan


@dataclass(frozen=True)
class Scales:
    money: float  # M
    volume: dict[str, float]  # V_m per material


# The money scale keeps every cost coefficient within this factor of 1: the square root of the
# money envelope, so that every instance the envelope admits gets coefficients in [1e-4, 1e4].
# At 1e6 (from when the envelope was 1e12) a shortage penalty 1.7e-6 in model units, beside unit
# costs near 1, left HiGHS's bound 13% above the optimum of a plan that buys nothing.
MONEY_SPREAD = math.sqrt(MONEY_SPAN)


def money_coefficients(data: ModelData, volume: dict[str, float]) -> list[float]:
    """The magnitudes of the money figures as the model sees them (per-unit costs times the
    material's typical volume, lump sums as they are), nonzero only."""
    coefficients = [data.unit_cost[o] * (1 + data.spot_premium[o]) * volume[data.commodity_of[o]]
                    for o in data.options]
    coefficients += [data.unit_cost[o] * volume[data.commodity_of[o]] for o in data.options]
    coefficients += [data.shortage_penalty[m] * volume[m] for m in data.commodities]
    coefficients += [data.holding_cost[m] * volume[m] for m in data.commodities]
    coefficients += [*data.fixed_cost.values(), *data.agreement_cost.values()]
    return [abs(c) for c in coefficients if c]


def choose_scales(data: ModelData) -> Scales:
    volume = {}
    for m in data.commodities:
        demand = [data.demand[m, t] for t in data.horizon]
        capacity = [data.capacity[o, t] for o in data.options_of[m] for t in data.periods_of[o]]
        mean = sum(demand) / len(demand) if demand else 0.0
        if mean <= 0 and capacity:
            mean = sum(capacity) / len(capacity)
        volume[m] = mean if mean > 0 else 1.0
    typical = [data.unit_cost[o] * volume[data.commodity_of[o]] for o in data.options if data.unit_cost[o] > 0]
    money = statistics.median(typical) if typical else 1.0
    spread = money_coefficients(data, volume)
    if spread:  # keep the largest and the smallest coefficient near 1: the centre of their range if need be
        low, high = min(spread), max(spread)
        if high / low > MONEY_SPREAD ** 2:
            money = math.sqrt(low * high)
        else:
            money = min(max(money, high / MONEY_SPREAD), low * MONEY_SPREAD)
    return Scales(money=money, volume=volume)


def scale_data(data: ModelData, scales: Scales) -> ModelData:
    """A copy of `data` in scaled units (see the module docstring)."""
    M, V = scales.money, scales.volume
    of = data.commodity_of
    return replace(
        data,
        demand={(m, t): d / V[m] for (m, t), d in data.demand.items()},
        capacity={(o, t): c / V[of[o]] for (o, t), c in data.capacity.items()},
        min_volume={(o, t): q / V[of[o]] for (o, t), q in data.min_volume.items()},
        initial_stock={m: s / V[m] for m, s in data.initial_stock.items()},
        storage_capacity={m: None if s is None else s / V[m] for m, s in data.storage_capacity.items()},
        unit_cost={o: c * V[of[o]] / M for o, c in data.unit_cost.items()},
        fixed_cost={o: c / M for o, c in data.fixed_cost.items()},
        agreement_cost={g: c / M for g, c in data.agreement_cost.items()},
        shortage_penalty={m: p * V[m] / M for m, p in data.shortage_penalty.items()},
        holding_cost={m: h * V[m] / M for m, h in data.holding_cost.items()},
        fixed_cost_max=None if data.fixed_cost_max is None else data.fixed_cost_max / M,
        disposal_cap=(None if data.disposal_cap is None
                      else {key: v / V[key[0]] for key, v in data.disposal_cap.items()}),
        supplied_allowance=(None if data.supplied_allowance is None else
                            {key: v / V[data.limits[key[0]].commodity] for key, v in data.supplied_allowance.items()}),
    )


def unscale_plan(plan: Plan, data: ModelData, scales: Scales) -> Plan:
    """The plan of the scaled model in the user's units."""
    V, of = scales.volume, data.commodity_of
    return Plan(
        contracted=plan.contracted,
        signed=plan.signed,
        volume={key: x * V[of[key[0]]] for key, x in plan.volume.items()},
        spot={(o, t, s): y * V[of[o]] for (o, t, s), y in plan.spot.items()},
        stock={(m, t, s): i * V[m] for (m, t, s), i in plan.stock.items()},
        unmet={(m, t, s): u * V[m] for (m, t, s), u in plan.unmet.items()},
        disposed={(m, t, s): v * V[m] for (m, t, s), v in plan.disposed.items()},
    )


def first_stage_values(built: BuiltModel, data: ModelData, scales: Scales, plan: Plan) -> list[tuple[object, float]]:
    """A plan's z, w and x as (variable, value) pairs of a model built on scaled data.

    Volumes the plan does not have are 0. In a multi-stage model only the volumes decided up
    front (before the first period's events) are the first stage; the others depend on what
    happens. Used to fix a plan's first stage (evaluation) and as a MIP start.
    """
    d = built.decisions
    values: list[tuple[object, float]] = []
    values += [(d.contracted[o], float(z)) for o, z in plan.contracted.items() if o in d.contracted]
    values += [(d.signed[g], float(w)) for g, w in plan.signed.items() if g in d.signed]
    values += [(var, plan.x(o, t, *node) / scales.volume[data.commodity_of[o]])
               for (o, t, *node), var in d.volume.items() if data.decision_period(o, t) < 0]
    return values


# a plan's value this close to its variable's bound (relative, in the scaled model) is at the bound
AT_BOUND = 1e-9


def fix_first_stage(built: BuiltModel, data: ModelData, scales: Scales, plan: Plan) -> None:
    """Fix z, w and x of a model built on scaled data to the values of `plan` (user units).

    A plan read from its CSV files has 12 significant digits: a volume at its capacity may
    then lie a last bit above it (0.086234 against 0.08623399999999999 t), and more after
    scaling. Within `AT_BOUND` of a bound it is fixed at the bound; callers check the plan
    against the instance before (`planner.studies.evaluate`).
    """
    for var, value in first_stage_values(built, data, scales, plan):
        lower, upper = var.bounds  # type: ignore[attr-defined]
        if upper is not None and upper < value <= upper + AT_BOUND * max(abs(upper), 1.0):
            value = upper
        elif lower is not None and lower - AT_BOUND * max(abs(lower), 1.0) <= value < lower:
            value = lower
        var.fix(value)  # type: ignore[attr-defined]
