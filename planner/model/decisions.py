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
    option_periods = b.set("option_periods", [(o, t) for o in data.options for t in data.periods_of[o]], dimen=2)
    recourse = b.set("recourse", [(m, s) for m in data.commodities for s in data.recourse_scenarios[m]], dimen=2)
    recourse_periods = b.set("recourse_periods", [(m, t, s) for (m, s) in recourse for t in data.horizon], dimen=3)
    spot_index = b.set("spot_index", [(o, t, s) for o in data.spot_options for t in data.periods_of[o]
                                      for s in data.recourse_scenarios[data.commodity_of[o]]
                                      if data.availability[o, t, s] > 0], dimen=3)
    return Decisions(
        contracted=b.var("contracted", options, Domain.BINARY, first_stage=True),
        signed=b.var("signed", agreements, Domain.BINARY, first_stage=True),
        volume=b.var("volume", option_periods, bounds=lambda _, o, t: (0, data.capacity[o, t]), first_stage=True),
        spot=b.var("spot", spot_index, bounds=lambda _, o, t, s: (0, data.capacity[o, t])),
        stock=b.var("stock", recourse_periods, bounds=lambda _, m, t, s: (0, data.storage_capacity[m])),
        unmet=b.var("unmet", recourse_periods),
    )
