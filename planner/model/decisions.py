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

Multi-stage (docs/model.md section 3.6): x_ots, y_ots, I_mts and u_mts have one copy per
information class of the period they are decided in (x: max(0, t - lead_time_o); the others:
t), named after the class's representative scenario: `volume[o, t, n]`, `spot[o, t, n]`,
`stock[m, t, n]`, `unmet[m, t, n]`. `x` and `recourse` give the copy a scenario uses, so that
the families write their rows the same way in both.
"""

from __future__ import annotations

from planner.instance.data import ModelData
from planner.model.builder import Domain, ModelBuilder
from planner.model.structure import Decisions


def declare(b: ModelBuilder, data: ModelData) -> Decisions:
    """The index sets (sparse where variables exist only for some combinations) and the
    decision variables with their natural bounds (capacity, storage capacity)."""
    b.set("commodities", data.commodities)
    b.set("periods", data.horizon)
    b.set("scenarios", data.scenarios)
    options = b.set("options", data.options)
    agreements = b.set("agreements", data.agreements)
    volume_keys = data.volume_keys()
    option_periods = b.set("option_periods", volume_keys, dimen=len(volume_keys[0]) if volume_keys else 2)
    if data.multi_stage:
        recourse_index = [(m, t, n) for m in data.commodities for t in data.horizon for n in data.nodes_at(t)]
    else:
        recourse_index = [(m, t, s) for m in data.commodities for s in data.recourse_scenarios[m]
                          for t in data.horizon]
    recourse_periods = b.set("recourse_periods", recourse_index, dimen=3)
    spot_index = b.set("spot_index", [(o, t, n) for o in data.spot_options for t in data.periods_of[o]
                                      for n in data.recourse_nodes(data.commodity_of[o], t)
                                      if data.availability[o, t, n] > 0], dimen=3)
    return Decisions(
        contracted=b.var("contracted", options, Domain.BINARY, first_stage=True),
        signed=b.var("signed", agreements, Domain.BINARY, first_stage=True),
        volume=b.var("volume", option_periods, bounds=lambda _, o, t, *n: (0, data.capacity[o, t]),
                     first_stage=not data.multi_stage),
        spot=b.var("spot", spot_index, bounds=lambda _, o, t, s: (0, data.capacity[o, t])),
        stock=b.var("stock", recourse_periods, bounds=lambda _, m, t, s: (0, data.storage_capacity[m])),
        unmet=b.var("unmet", recourse_periods),
    )
