"""Explaining infeasible plans: the smallest relaxations that make a plan possible.

When no plan meets every constraint, the elastic model (`create_model(data,
Variant(elastic=True))`) gives each limit that can cause it a priced slack (families 4-9:
stock that can be neither used nor stored, service levels, minimum suppliers, average risk,
share limits, budget). Minimising the total relaxation, measured in shares of demand,
suppliers and shares of the budget (`planner.model.relaxation`), shows which limits
conflict and how far; each family turns its nonzero slacks into sentences in the user's
terms (its `explain`).
"""

from __future__ import annotations

from dataclasses import replace

from planner.errors import SolveError
from planner.instance.data import ModelData
from planner.model.build import create_model
from planner.model.builder import value
from planner.model.families import FAMILIES
from planner.model.variant import Variant
from planner.results.plan import Plan
from planner.solve.readout import plan_from_model
from planner.solve.scaling import Scales, fix_first_stage, scale_data, unscale_plan
from planner.solve.session import SolveOptions, solve_model

# The gap the elastic model is solved to, at least: it says which limits conflict and by about how
# much, and a solve asked for a gap near HiGHS's tolerances (1e-9 on an objective near 1) could not
# prove its least relaxation to that gap, so the diagnosis failed (`status solver_error`).
DIAGNOSIS_GAP = 1e-6
ELASTIC = Variant(elastic=True)  # the planning model's
# When every relaxation is too small to report against the instance's volumes and money (each
# family's `explain`): the limits conflict, but only by amounts near the solver's tolerances
NEAR_TOLERANCE = ("the limits conflict only by amounts too small to name against this instance's volumes and "
                  "costs (near the solver's tolerances): check the units of its smallest figures (initial_stock, "
                  "storage_capacity, min_volume, capacities) against its demand")


def explain_infeasibility(data: ModelData, scales: Scales, options: SolveOptions,
                          variant: Variant = ELASTIC, fixed: Plan | None = None) -> list[str]:
    """The relaxations that make the instance feasible, one sentence each, in family order.

    `data` is in the user's units; the elastic model is built on its scaled copy and every
    value read from it is scaled back before it is reported. An evaluation's diagnosis builds
    its elastic `variant` (first stage fixed to `fixed`'s).
    """
    built = create_model(scale_data(data, scales), variant)
    if fixed is not None:
        fix_first_stage(built, data, scales, fixed)
    report = solve_model(built, 0.0, replace(options, tiebreak=False, progress=None, log=False,
                                             mip_gap=max(options.mip_gap, DIAGNOSIS_GAP)))
    if not report.has_plan:
        raise SolveError(report.status, f"could not diagnose the infeasible plan (status {report.status})")
    plan = unscale_plan(plan_from_model(built, data), data, scales)
    explain = {family.NUMBER: family.explain for family in FAMILIES}
    reasons: list[str] = []
    for slack in built.structure.slacks:
        values = ({key: value(var) for key, var in slack.var.items()} if slack.var.is_indexed()
                  else {None: value(slack.var)})
        reasons += explain[slack.family](data, values, plan, scales.volume, scales.money)
    return reasons or [NEAR_TOLERANCE]
