"""Constraint 2 (agreement): z_o <= w_g for every option o gated by agreement g.

An option that exists only through a political agreement can be contracted only when the
agreement is signed. The agreements link the materials (one deal gates options of several):
w_g is a linking column and these rows the links of the decomposition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from planner.instance.data import ModelData
from planner.model.family import Checks, Rules, Violation
from planner.model.structure import Decisions
from planner.model.variant import Variant
from planner.results.plan import Plan

if TYPE_CHECKING:
    from planner.model.builder import ModelBuilder

NUMBER, TITLE, FIRST_STAGE = "2", "agreement", True
ON_VOLUMES = False  # its rows hold z and w only


def build(b: ModelBuilder, data: ModelData, variant: Variant, d: Decisions) -> None:
    b.structure.agreements = d.signed
    b.structure.agreement_links = b.rows(
        "agreement_link", list(data.agreement_of), lambda _, o: d.contracted[o] <= d.signed[data.agreement_of[o]])


def explain(data: ModelData, slack: dict, plan: Plan, volume: dict[str, float], money: float) -> list[str]:
    """Never relaxed (it has no slack): it cannot be the reason an instance is infeasible alone."""
    return []


def check(data: ModelData, plan: Plan, rules: Rules) -> list[Violation]:
    checks = Checks(f"{NUMBER} {TITLE}")
    for o, g in data.agreement_of.items():
        checks.at_least_zero(plan.signed[g] - plan.contracted[o], 1, o, f"selected without agreement {g}")
    return checks.found
