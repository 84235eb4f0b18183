"""The sourcing model of docs/model.md section 3, built in Pyomo.

`create_model` reads top to bottom: sets, variables, constraint families 1-9, costs and
the objective. Each family lives in its own module with its formula in the docstring.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyomo.environ as pyo

from planner.instance.data import ModelData
from planner.model import balance, contracts, costs, parameters, policy, relaxation, variables


@dataclass(frozen=True)
class Variant:
    """Which form of the model to build.

    - `elastic`: diagnosis of infeasible plans: families 4-9 get priced slacks and the
      objective is the least total relaxation (`planner.solve.diagnose`).
    - `fixed_first_stage`: evaluation of a given plan: families 1, 2 and 6-9 (first stage
      only) are left out; the caller fixes z, w and x (`planner.studies.evaluate`).
    - `service_levels`: whether family 5 is enforced.
    - `disposal`: volume that can be neither used nor stored may be thrown away at no cost,
      at most `ModelData.disposal_cap` per material and scenario when that is set.
    - `least_disposal`: the objective is the least volume thrown away (the first of the two
      stages of an evaluation, `planner.studies.evaluate`).
    """

    elastic: bool = False
    fixed_first_stage: bool = False
    service_levels: bool = True
    disposal: bool = False
    least_disposal: bool = False


PLAN = Variant()


def create_model(data: ModelData, variant: Variant = PLAN) -> pyo.ConcreteModel:
    """Build the mixed-integer sourcing model for `data` (by default the planning model)."""
    elastic = variant.elastic
    model = pyo.ConcreteModel(name=data.instance.name)

    variables.declare_sets(model, data)
    parameters.declare_parameters(model, data)
    variables.declare_variables(model, data)
    costs.add_fixed_cost(model, data)

    if not variant.fixed_first_stage:
        contracts.add_contract_bounds(model, data)  # 1
        contracts.add_agreement_links(model, data)  # 2
    contracts.add_spot_limits(model, data)  # 3
    balance.add_material_balance(model, data, overflow=elastic or variant.disposal)  # 4
    if variant.service_levels:
        balance.add_service_level(model, data, elastic)  # 5
    if not variant.fixed_first_stage:
        policy.add_min_suppliers(model, data, elastic)  # 6
        policy.add_average_risk(model, data, elastic)  # 7
        policy.add_share_limits(model, data, elastic)  # 8
        policy.add_budget(model, data, elastic)  # 9

    costs.add_scenario_costs(model, data)
    if elastic:
        relaxation.add_relaxation_objective(model, data)
    elif variant.least_disposal:
        balance.add_least_disposal_objective(model)
    else:
        costs.add_objective(model, data)
    return model
