"""The numbers a re-solve can change in a built model: mutable Pyomo Params.

A sensitivity study changes some numbers and solves again. These numbers enter the model
only as objective coefficients or right-hand sides, never as matrix coefficients, bounds
of variables or in which rows and columns exist, so a built and compiled model stays valid
when they change (`planner.solve.resolve`):

    risk_aversion        lambda, objective weights               (costs; with ambiguity, shape)
    ambiguity            delta, the bounds l_s, u_s of the worst case (costs)
    cvar_alpha           alpha, weight of the CVaR tail           (costs; with ambiguity, shape)
    probability[s]       p_s, objective weights                   (costs)
    fixed_cost_max       budget right-hand side                   (constraint 9)
    service_level[m]     service level right-hand side            (constraint 5)
    max_share[i]         share limit right-hand side              (constraint 8)

With ambiguity, lambda and alpha also weigh R_s and e_s inside the worst-case rows (matrix
coefficients), so there a change of either rebuilds the model. Each is declared by its
family with the function that gives its value from the data
(`ModelBuilder.param`), so `set_parameters` needs to know none of them. Which of them are set
(a budget or not, lambda zero or not) does change the model's shape; `shape_of` says what
must be equal for a built model to be reused.
"""

from __future__ import annotations

import dataclasses

from planner.instance.data import ModelData
from planner.model.structure import BuiltModel

# ModelData fields held in Params: changing only these keeps the model's shape (see shape_of).
PARAMETER_FIELDS = ("risk_aversion", "cvar_alpha", "ambiguity", "probability", "fixed_cost_max", "service_level",
                    "limits")
_IGNORED = ("instance",)  # names and notes, not numbers of the model


def set_parameters(built: BuiltModel, data: ModelData) -> None:
    """Give the model's Params the values of `data`, which must have the model's shape."""
    for param, value in built.structure.parameters:
        values = value(data)
        if param.is_indexed():
            for key in param:
                param[key].set_value(values[key])
        else:
            param.set_value(values)


def shape_of(data: ModelData) -> dict:
    """What must be equal for a model built on one data to serve another by `set_parameters`:
    every field but the parameters', and which parameters are set."""
    shape = {f.name: getattr(data, f.name) for f in dataclasses.fields(data)
             if f.name not in PARAMETER_FIELDS + _IGNORED}
    shape.update(
        cvar_terms=data.risk_aversion > 0,
        worst_case=data.ambiguity > 0,
        # in the worst-case rows lambda and alpha weigh R_s and e_s: matrix coefficients, not Params
        worst_case_weights=(data.risk_aversion, data.cvar_alpha) if data.ambiguity > 0 else None,
        budget=data.fixed_cost_max is not None,
        service_levels=[m for m, level in data.service_level.items() if level is not None],
        limits=[(limit.scope, limit.name, limit.commodity, limit.row, limit.basis) for limit in data.limits],
        scenarios=data.scenarios,
    )
    return shape
