"""Which form of the model to build."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    """Which form of the model to build.

    - `elastic`: diagnosis of infeasible plans: the families that can make a plan impossible
      (4-9) get priced slacks, and the objective is the least total relaxation
      (`planner.solve.diagnose`).
    - `fixed_first_stage`: evaluation of a given plan: the families of the first stage only
      (1, 2 and 6-9) are left out; the caller fixes z, w and x (`planner.studies.evaluate`).
    - `recourse_rules`: whether service levels (5) are enforced: a plan is made under them; an
      evaluation reports them, unless it measures a plan under the planning model's rules (VSS).
    - `disposal`: volume that can be neither used nor stored may be thrown away at no cost,
      at most `ModelData.disposal_cap` per material and scenario when that is set.
    - `least_disposal`: the objective is the least volume thrown away (the first of the two
      stages of an evaluation).
    """

    elastic: bool = False
    fixed_first_stage: bool = False
    recourse_rules: bool = True
    disposal: bool = False
    least_disposal: bool = False


PLAN = Variant()
