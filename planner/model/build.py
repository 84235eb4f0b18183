"""`create_model`: the sourcing model of docs/model.md section 3, built in Pyomo.

It reads top to bottom: sets and decision variables, the fixed cost, the constraint
families 1-9 (one module each, `planner.model.families`), the scenario costs and the
objective (the objectives that are no cost, the least relaxation and the least disposal, get no
cost rows). It returns a `BuiltModel` that declares its structure (first-stage columns, linking
rows and columns, slacks, parameters: `planner.model.structure`).
"""

from __future__ import annotations

from typing import Any

from planner.instance.data import ModelData
from planner.memory import check_memory
from planner.model import costs, decisions, relaxation
from planner.model.builder import ModelBuilder
from planner.model.families import FAMILIES
from planner.model.structure import BuiltModel, Decisions
from planner.model.variant import PLAN, Variant


def create_model(data: ModelData, variant: Variant = PLAN) -> BuiltModel:
    """Build the mixed-integer sourcing model for `data` (by default the planning model);
    `MemoryShortage` first where it would not fit in the memory free (`planner.memory`)."""
    check_memory(data, variant)
    b = ModelBuilder(data.instance.name, data, variant)
    d, objective, tiebreak = declare_model(b, data, variant)
    return BuiltModel(b.model, data, variant, d, b.structure, objective, tiebreak)


def declare_model(b: ModelBuilder, data: ModelData, variant: Variant) -> tuple[Decisions, Any, Any]:
    """Declare the model of `data` through `b`: its decisions, the objective and the tie-break
    objective (None where there is none). `planner.model.size` counts the same declarations."""
    d = decisions.declare(b, data)
    costs.add_fixed_cost(b, data, d)
    for family in FAMILIES:
        # an evaluation holds the first stage; a multi-stage one still decides the later volumes,
        # and every one keeps the first-stage families' rules on the recourse (8b)
        later_volumes = data.multi_stage and family.ON_VOLUMES
        recourse = getattr(family, "RECOURSE_ROWS", False)
        if not (variant.fixed_first_stage and family.FIRST_STAGE and not later_volumes and not recourse):
            family.build(b, data, variant, d)
    tiebreak = None
    # no cost rows where the objective is no cost: unused, their magnitudes could only make HiGHS
    # reject a plan (a diagnosis once failed so)
    if variant.elastic:
        objective = relaxation.add_relaxation_objective(b)
    elif variant.least_disposal:
        objective = costs.add_least_disposal_objective(b, d)
    else:
        contract_cost, scenario_recourse_cost = costs.add_scenario_costs(b, data, d)
        objective, tiebreak = costs.add_objectives(b, data, contract_cost, scenario_recourse_cost)
    return d, objective, tiebreak
