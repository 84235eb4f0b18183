"""How large a model will be, counted before it is built (`model_size`).

The model's declarations (`planner.model.build.declare_model`) run through a builder that
counts the keys of every indexed variable and row family instead of building them: each
variable and row of the model is counted once, none is created, and no row's rule is called
(a stand-in variable serves every key wherever an expression is written at once, as the
objective is). The count equals what `create_model` builds (tests/test_memory.py checks it on
generated instances of every shape), at a small part of its time and memory, so that a model
too large for the machine's memory is refused before minutes of building end in the
out-of-memory killer (`planner.memory`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from planner.instance.data import ModelData
from planner.model.build import declare_model
from planner.model.builder import Domain, ModelBuilder
from planner.model.pyomo_import import pyo
from planner.model.variant import PLAN, Variant


@dataclass(frozen=True)
class ModelSize:
    """Columns and rows of a model."""

    variables: int
    rows: int

    @property
    def units(self) -> int:
        return self.variables + self.rows


class _EveryKey:
    """An indexed variable or expression, counted: the same stand-in for every key of `index`."""

    def __init__(self, stand_in: Any, index: Any) -> None:
        self.stand_in, self.index = stand_in, index

    def __getitem__(self, key: object) -> Any:
        return self.stand_in

    def index_set(self) -> Any:
        return self.index

    def items(self) -> Iterable[tuple[Any, Any]]:
        return ((key, self.stand_in) for key in self.index)

    def values(self) -> Iterable[Any]:
        return (self.stand_in for _ in self.index)


class _CountingBuilder(ModelBuilder):
    """A `ModelBuilder` that counts variables and rows and builds none of them (parameters,
    small, are built as they are)."""

    def __init__(self, data: ModelData, variant: Variant) -> None:
        super().__init__("size", data, variant)
        self.variables = 0
        self.row_count = 0
        self._stand_in = pyo.Var()
        self._stand_in.construct()

    @staticmethod
    def _count(index: Any) -> int:
        return 1 if index is None else len(index)

    def set(self, name: str, items: Iterable, dimen: int = 1) -> Any:
        return list(items)

    def var(self, name: str, index: Any = None, domain: Domain = Domain.NONNEGATIVE,
            bounds: Callable | tuple | None = None, first_stage: bool = False) -> Any:
        self.variables += self._count(index)
        return self._stand_in if index is None else _EveryKey(self._stand_in, index)

    def slack(self, family: str, name: str, index: Any, weight: Callable[[Any], float]) -> Any:
        return self.var(name, index)

    def rows(self, name: str, index: Any, rule: Callable) -> Any:
        self.row_count += self._count(index)

    def row(self, name: str, expr: Any) -> Any:
        self.row_count += 1

    def expression(self, name: str, expr: Any = None, index: Any = None, rule: Callable | None = None) -> Any:
        return expr if index is None else _EveryKey(self._stand_in, index)

    def objective(self, name: str, expr: Any, active: bool = True) -> Any:
        return expr


def model_size(data: ModelData, variant: Variant = PLAN) -> ModelSize:
    """The variables and rows `create_model(data, variant)` builds, counted without building it."""
    counter = _CountingBuilder(data, variant)
    declare_model(counter, data, variant)
    return ModelSize(counter.variables, counter.row_count)
