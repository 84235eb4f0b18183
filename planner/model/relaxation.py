"""The least-relaxation objective of the elastic model (diagnosis of infeasible plans).

    minimise  sum over the slacks of the families (4-9) of weight x slack

Each family weighs its slack in a unit a planner compares across families (`planner.model.family`
modules): a share of the material's typical volume (4, 7), of its total demand (5), of the
period's demand (8), one supplier (6), a share of the budget (9). A slack of a shared
recourse copy counts once for every scenario that shares it, as if each had its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from planner.model.builder import ModelBuilder


def add_relaxation_objective(b: ModelBuilder) -> Any:
    terms = []
    for slack in b.structure.slacks:
        if slack.var.is_indexed():
            terms += [slack.weight(key) * var for key, var in slack.var.items()]
        else:
            terms.append(slack.weight(None) * slack.var)
    return b.objective("objective", sum(terms))
