"""Constraint families 1-3: contracts, agreements, spot purchases."""

from __future__ import annotations

import pyomo.environ as pyo

from planner.instance.data import ModelData


def add_contract_bounds(model: pyo.ConcreteModel, data: ModelData) -> None:
    """Constraint 1 (contract): q_ot z_o <= x_ot <= cap_ot z_o, for t in P_o.

    q_ot = min(min_volume_o, cap_ot); the lower half exists only where q_ot > 0.
    """
    model.contract_max = pyo.Constraint(
        model.option_periods, rule=lambda mdl, o, t: mdl.volume[o, t] <= data.capacity[o, t] * mdl.contracted[o]
    )
    with_minimum = [(o, t) for (o, t) in model.option_periods if data.min_volume[o, t] > 0]
    model.contract_min = pyo.Constraint(
        with_minimum, rule=lambda mdl, o, t: mdl.volume[o, t] >= data.min_volume[o, t] * mdl.contracted[o]
    )


def add_agreement_links(model: pyo.ConcreteModel, data: ModelData) -> None:
    """Constraint 2 (agreement): z_o <= w_g for every option o gated by agreement g."""
    model.agreement_link = pyo.Constraint(
        list(data.agreement_of),
        rule=lambda mdl, o: mdl.contracted[o] <= mdl.signed[data.agreement_of[o]],
    )


def add_spot_limits(model: pyo.ConcreteModel, data: ModelData) -> None:
    """Constraint 3 (spot): y_ots <= a_ots (cap_ot - x_ot).

    Spot buys use the capacity left after the contract, scaled by availability.
    """

    def rule(mdl: pyo.ConcreteModel, o: str, t: int, s: str) -> pyo.Expression:
        a = data.availability[o, t, s]
        return mdl.spot[o, t, s] + a * mdl.volume[o, t] <= a * data.capacity[o, t]

    model.spot_limit = pyo.Constraint(model.spot_index, rule=rule)
