"""Sets and decision variables (docs/model.md section 3.2), created only where they exist.

First stage (one copy for every scenario):
    z_o in {0,1}   option o is contracted                      `contracted[o]`
    w_g in {0,1}   agreement g is signed                       `signed[g]`
    x_ot >= 0      contracted volume, t in P_o                 `volume[o, t]`
Second stage (one copy per scenario s):
    y_ots >= 0     spot purchase, spot o, t in P_o, a_ots > 0  `spot[o, t, s]`
    I_mts in [0, storage_capacity_m]   end-of-period stock     `stock[m, t, s]`
    u_mts >= 0     unmet demand                                `unmet[m, t, s]`

Scenarios with the same availability for material m share one copy of m's second stage,
indexed by the first of them (`ModelData.recourse_of`, `planner.instance.data.recourse_groups`):
s ranges over `data.recourse_scenarios[m]` in the indices above.
"""

from __future__ import annotations

import pyomo.environ as pyo

from planner.instance.data import ModelData


def declare_sets(model: pyo.ConcreteModel, data: ModelData) -> None:
    """Index sets: sparse where variables exist only for some combinations."""
    model.commodities = pyo.Set(initialize=data.commodities, ordered=True)
    model.periods = pyo.Set(initialize=list(data.horizon), ordered=True)
    model.scenarios = pyo.Set(initialize=data.scenarios, ordered=True)
    model.options = pyo.Set(initialize=data.options, ordered=True)
    model.agreements = pyo.Set(initialize=data.agreements, ordered=True)
    model.option_periods = pyo.Set(
        dimen=2, ordered=True, initialize=[(o, t) for o in data.options for t in data.periods_of[o]]
    )
    model.recourse = pyo.Set(  # (m, s): s owns a copy of m's second stage
        dimen=2, ordered=True, initialize=[(m, s) for m in data.commodities for s in data.recourse_scenarios[m]]
    )
    model.recourse_periods = pyo.Set(
        dimen=3, ordered=True, initialize=[(m, t, s) for (m, s) in model.recourse for t in data.horizon]
    )
    model.spot_index = pyo.Set(
        dimen=3,
        ordered=True,
        initialize=[
            (o, t, s)
            for o in data.spot_options
            for t in data.periods_of[o]
            for s in data.recourse_scenarios[data.commodity_of[o]]
            if data.availability[o, t, s] > 0
        ],
    )


def declare_variables(model: pyo.ConcreteModel, data: ModelData) -> None:
    """Decision variables with their natural bounds (capacity, storage capacity)."""
    model.contracted = pyo.Var(model.options, domain=pyo.Binary)
    model.signed = pyo.Var(model.agreements, domain=pyo.Binary)
    model.volume = pyo.Var(
        model.option_periods, domain=pyo.NonNegativeReals, bounds=lambda _, o, t: (0, data.capacity[o, t])
    )
    model.spot = pyo.Var(
        model.spot_index, domain=pyo.NonNegativeReals, bounds=lambda _, o, t, s: (0, data.capacity[o, t])
    )
    model.stock = pyo.Var(
        model.recourse_periods, domain=pyo.NonNegativeReals, bounds=lambda _, m, t, s: (0, data.storage_capacity[m])
    )
    model.unmet = pyo.Var(model.recourse_periods, domain=pyo.NonNegativeReals)
