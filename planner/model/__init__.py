"""The sourcing model of MODEL.md section 3, built in Pyomo.

`create_model` reads top to bottom: sets, variables, constraint families 1-9, costs and
the objective. Each family lives in its own module with its formula in the docstring.
"""

from __future__ import annotations

import pyomo.environ as pyo

from planner.data import ModelData
from planner.model import balance, contracts, costs, policy, relaxation, variables


def create_model(data: ModelData, elastic: bool = False) -> pyo.ConcreteModel:
    """Build the mixed-integer sourcing model for `data`.

    `elastic` builds the diagnosis variant instead: families 4-9 get priced slack
    variables and the objective is the least total relaxation (`planner.diagnose`).
    """
    model = pyo.ConcreteModel(name=data.instance.name)

    variables.declare_sets(model, data)
    variables.declare_variables(model, data)
    costs.add_fixed_cost(model, data)

    contracts.add_contract_bounds(model, data)  # 1
    contracts.add_agreement_links(model, data)  # 2
    contracts.add_spot_limits(model, data)  # 3
    balance.add_material_balance(model, data, elastic)  # 4
    balance.add_service_level(model, data, elastic)  # 5
    policy.add_min_suppliers(model, data, elastic)  # 6
    policy.add_average_risk(model, data, elastic)  # 7
    policy.add_share_limits(model, data, elastic)  # 8
    policy.add_budget(model, data, elastic)  # 9

    costs.add_scenario_costs(model, data)
    if elastic:
        relaxation.add_relaxation_objective(model, data)
    else:
        costs.add_objective(model, data)
    return model
