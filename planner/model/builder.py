"""Building a Pyomo model while recording what it declares (`planner.model.structure`).

The constraint families create their sets, variables, parameters, rows and slacks through a
`ModelBuilder`, so that none of them imports Pyomo itself: a family module can then be read
(and its `check` used by `planner verify`) without the solver stack.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import Enum
from typing import Any

from planner.instance.data import ModelData
from planner.model.pyomo_import import pyo
from planner.model.structure import Slack, Structure
from planner.model.variant import Variant


class Domain(Enum):
    NONNEGATIVE = pyo.NonNegativeReals
    REAL = pyo.Reals
    BINARY = pyo.Binary


class ModelBuilder:
    """A Pyomo model under construction for `data` (scaled) and `variant`."""

    def __init__(self, name: str, data: ModelData, variant: Variant) -> None:
        self.model = pyo.ConcreteModel(name=name)
        self.data = data
        self.variant = variant
        self.structure = Structure()
        self.fixed_cost: Any = None  # FC, once the costs declare it (the budget row uses it)

    def _add(self, name: str, component: Any) -> Any:
        setattr(self.model, name, component)
        return component

    def set(self, name: str, items: Iterable, dimen: int = 1) -> Any:
        return self._add(name, pyo.Set(initialize=list(items), dimen=dimen, ordered=True))

    def var(self, name: str, index: Any = None, domain: Domain = Domain.NONNEGATIVE,
            bounds: Callable | tuple | None = None, first_stage: bool = False) -> Any:
        args = () if index is None else (index,)
        var = self._add(name, pyo.Var(*args, domain=domain.value, bounds=bounds))
        if first_stage:
            self.structure.first_stage.append(var)
        return var

    def param(self, name: str, value: Callable[[ModelData], Any], index: Any = None) -> Any:
        """A mutable Param whose value follows from the data by `value` (recorded, so that a kept
        model can take another data's values: `planner.model.parameters.set_parameters`)."""
        if index is None:
            param = self._add(name, pyo.Param(mutable=True, initialize=value(self.data)))
        else:
            param = self._add(name, pyo.Param(index, mutable=True, initialize=value(self.data)))
        self.structure.parameters.append((param, value))
        return param

    def rows(self, name: str, index: Any, rule: Callable) -> Any:
        return self._add(name, pyo.Constraint(index, rule=rule))

    def row(self, name: str, expr: Any) -> Any:
        return self._add(name, pyo.Constraint(expr=expr))

    def expression(self, name: str, expr: Any = None, index: Any = None, rule: Callable | None = None) -> Any:
        if index is None:
            return self._add(name, pyo.Expression(expr=expr))
        return self._add(name, pyo.Expression(index, rule=rule))

    def slack(self, family: str, name: str, index: Any, weight: Callable[[Any], float]) -> Any:
        """A nonnegative slack of the elastic model for constraint family `family`."""
        args = () if index is None else (index,)
        var = self._add(name, pyo.Var(*args, domain=pyo.NonNegativeReals))
        self.structure.slacks.append(Slack(family, var, weight))
        return var

    def objective(self, name: str, expr: Any, active: bool = True) -> Any:
        objective = self._add(name, pyo.Objective(expr=expr, sense=pyo.minimize))
        if not active:
            objective.deactivate()
        return objective


def value(x: Any) -> float:
    """The value of a Pyomo expression or variable (0 for an unset variable)."""
    return float(pyo.value(x, exception=False) or 0.0)
