"""What a built model declares about itself, so that no caller probes it for components.

`create_model` returns a `BuiltModel`: the Pyomo model with its decisions (the variables of
docs/model.md section 3.2), its objectives, and its `Structure`:

- `first_stage`: the variables decided once for every scenario (z, w, x), which an
  evaluation fixes and a MIP start gives;
- the rows and columns that link the materials (the CVaR tail rows, the worst-case rows of an
  ambiguity set, the budget row; the value at risk, the tail excesses, the worst case's
  columns and the agreements signed) and the links z_o <= w_g:
  without them the model falls apart into one block per material (`planner.solve.decomposition`);
- `material_costs`: each material's recourse cost R_ms, which marks its block;
- `slacks`: the priced slacks of the elastic model, each with its family and weight;
- `parameters`: the mutable Params and how their values follow from the data, so that a
  kept model can be given another data of the same shape (`planner.model.parameters`).

Nothing here imports Pyomo: the components are held as the objects the builder made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from planner.instance.data import ModelData
from planner.model.variant import Variant


@dataclass
class Slack:
    """A slack of the elastic model: which family it relaxes, and its weight per index."""

    family: str  # the constraint number in docs/model.md
    var: Any
    weight: Callable[[Any], float]


@dataclass
class Structure:
    first_stage: list[Any] = field(default_factory=list)
    tail_rows: Any = None  # CVaR tail rows, one per scenario (linking)
    budget_row: Any = None  # constraint 9 (linking)
    value_at_risk: Any = None  # eta (linking)
    tail_excess: Any = None  # e_s (linking)
    agreements: Any = None  # w_g (linking)
    agreement_links: Any = None  # z_o <= w_g, constraint 2
    material_costs: Any = None  # R_ms
    worst_case_rows: Any = None  # the ambiguity set's rows (docs/model.md 3.5): they link the materials too
    worst_case_level: Any = None  # rho (linking)
    worst_case_above: Any = None  # beta_s (linking)
    worst_case_below: Any = None  # gamma_s (linking)
    slacks: list[Slack] = field(default_factory=list)
    parameters: list[tuple[Any, Callable[[ModelData], Any]]] = field(default_factory=list)


@dataclass
class Decisions:
    """The variables of docs/model.md section 3.2."""

    contracted: Any  # z_o
    signed: Any  # w_g
    volume: Any  # x_ot
    spot: Any  # y_ots
    stock: Any  # I_mts
    unmet: Any  # u_mts
    disposed: Any = None  # volume thrown away (elastic and evaluation models only)


@dataclass
class BuiltModel:
    """A Pyomo model of the sourcing problem, with what it declares about itself."""

    model: Any  # pyo.ConcreteModel
    data: ModelData  # the data it was built on (in the scaled units of `planner.solve.scaling`)
    variant: Variant
    decisions: Decisions
    structure: Structure
    objective: Any
    tiebreak: Any = None  # the least expected cost among optimal plans (planning models)
