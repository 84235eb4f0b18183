"""The numbers a re-solve can change in a built model: mutable Pyomo Params.

A sensitivity study changes some numbers and solves again. These numbers enter the model
only as objective coefficients or right-hand sides, never as matrix coefficients, bounds
of variables or in which rows and columns exist, so a built and compiled model stays valid
when they change (`planner.solve.resolve`):

    risk_aversion        lambda, objective weights               (costs)
    cvar_alpha           alpha, weight of the CVaR tail           (costs)
    probability[s]       p_s, objective weights                   (costs)
    fixed_cost_max       budget right-hand side                   (constraint 9)
    service_level[m]     service level right-hand side            (constraint 5)
    max_share[i]         share limit right-hand side              (constraint 8)

Which of them are set (a budget or not, lambda zero or not) does change the model's shape;
`shape_of` says what must be equal for a built model to be reused.
"""

from __future__ import annotations

import dataclasses

import pyomo.environ as pyo

from planner.instance.data import ModelData

# ModelData fields held in Params: changing only these keeps the model's shape (see shape_of).
PARAMETER_FIELDS = ("risk_aversion", "cvar_alpha", "probability", "fixed_cost_max", "service_level", "limits")
_IGNORED = ("instance",)  # names and notes, not numbers of the model


def declare_parameters(model: pyo.ConcreteModel, data: ModelData) -> None:
    """Declare the Params of the module docstring, with the values of `data`."""
    model.risk_aversion = pyo.Param(mutable=True, initialize=data.risk_aversion)
    model.cvar_alpha = pyo.Param(mutable=True, initialize=data.cvar_alpha)
    model.probability = pyo.Param(model.scenarios, mutable=True, initialize=data.probability)
    model.fixed_cost_max = pyo.Param(mutable=True, initialize=data.fixed_cost_max or 0.0)
    levels = {m: level for m, level in data.service_level.items() if level is not None}
    model.service_level_target = pyo.Param(list(levels), mutable=True, initialize=levels)
    model.max_share = pyo.Param(range(len(data.limits)), mutable=True,
                                initialize={i: limit.max_share for i, limit in enumerate(data.limits)})


def set_parameters(model: pyo.ConcreteModel, data: ModelData) -> None:
    """Give the Params the values of `data`, which must have the model's shape."""
    model.risk_aversion.set_value(data.risk_aversion)
    model.cvar_alpha.set_value(data.cvar_alpha)
    for s in data.scenarios:
        model.probability[s].set_value(data.probability[s])
    model.fixed_cost_max.set_value(data.fixed_cost_max or 0.0)
    for m in model.service_level_target:
        model.service_level_target[m].set_value(data.service_level[m])
    for i, limit in enumerate(data.limits):
        model.max_share[i].set_value(limit.max_share)


def shape_of(data: ModelData) -> dict:
    """What must be equal for a model built on one data to serve another by `set_parameters`:
    every field but the parameters', and which parameters are set."""
    shape = {f.name: getattr(data, f.name) for f in dataclasses.fields(data)
             if f.name not in PARAMETER_FIELDS + _IGNORED}
    shape.update(
        cvar_terms=data.risk_aversion > 0,
        budget=data.fixed_cost_max is not None,
        service_levels=[m for m, level in data.service_level.items() if level is not None],
        limits=[(limit.scope, limit.name, limit.commodity, limit.row) for limit in data.limits],
        scenarios=data.scenarios,
    )
    return shape
