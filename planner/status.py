"""How a solve ended and how its plan was proven: the words summary.json, sweep.csv and the
terminal use, with what callers need to know of them."""

from __future__ import annotations

import sys
from enum import StrEnum

GAP_FLOOR = 1e-6  # the least |objective| (model units, where costs are near 1) a relative gap is measured against


def gap_floor(money_scale: float) -> float:
    """GAP_FLOOR model units in the user's money, for a model whose costs are scaled by
    `money_scale` (`planner.solve.scaling`): what a solve reports as `gap_floor` and verify
    recomputes."""
    return GAP_FLOOR * money_scale


def relative_gap(upper: float, lower: float, floor: float = GAP_FLOOR) -> float:
    """(upper - lower) / max(|upper|, floor), at least 0: the gap summary.json, sweep.csv and the
    progress line report between a plan of objective `upper` and a bound `lower`. In the user's
    money the floor is GAP_FLOOR model units (`SolveReport.gap_floor`), the floor of the proof."""
    return max(0.0, upper - lower) / max(abs(upper), floor)


BOUND_NOISE = 1e-5  # model units: how far above a plan HiGHS's bound lies from its tolerances alone


def _distance(upper: float, lower: float) -> float:
    """upper - lower; for a bound above the plan by more than BOUND_NOISE, its excess."""
    excess = lower - upper
    return excess if excess > BOUND_NOISE else upper - lower


def proof_gap(upper: float, lower: float) -> float:
    """The gap to which the bound `lower` proves a plan of objective `upper`, relative to
    max(|upper|, GAP_FLOOR). No valid bound lies above a plan: a bound above it by more than
    BOUND_NOISE shows a numerical error of that size and counts as a gap as large; within
    BOUND_NOISE it is the tolerances' noise (seen up to 1.5e-6), and the plan is proven."""
    return max(0.0, _distance(upper, lower)) / max(abs(upper), GAP_FLOOR)


# The least relative gap a proof is held to: a few units in the last place of a double. A bound
# and an objective summed in other orders differ by that much when they are the same number
# (--mip-gap 0 on the four-supplier example: 2.0e-16), so a smaller gap asked for, 0 included,
# is proven to this resolution instead of refused as a precision error.
RESOLUTION = 4 * sys.float_info.epsilon


def within_gap(upper: float, lower: float, gap: float) -> bool:
    """Whether a plan of objective `upper` is proven by the bound `lower` at the relative `gap`
    (`proof_gap`), or to RESOLUTION where `gap` is below it: the rule by which every part of a
    solve judges a proof."""
    return _distance(upper, lower) <= max(gap, RESOLUTION) * max(abs(upper), GAP_FLOOR)


class Status(StrEnum):
    """The status of a solve."""

    OPTIMAL = "optimal"  # within the requested gap, proven
    TIME_LIMIT = "time_limit"  # the time limit ended the solve; the best plan found, its gap reported
    NODE_LIMIT = "node_limit"  # the node limit ended the solve; likewise
    INFEASIBLE = "infeasible"  # no plan meets every constraint
    NO_PLAN = "no_plan"  # a limit ended the solve before any plan was found
    SOLVER_ERROR = "solver_error"  # HiGHS failed (numerical trouble, memory)
    INVALID = "invalid"  # the input was refused before solving (a sweep run's values)
    ERROR = "error"  # any other failure of a sweep run (its reason says which)

    @property
    def has_plan(self) -> bool:
        return self in (Status.OPTIMAL, Status.TIME_LIMIT, Status.NODE_LIMIT)


class Method(StrEnum):
    """What found and proved the plan."""

    BRANCH_AND_BOUND = "branch and bound"
    DECOMPOSITION = "decomposition"
    DECOMPOSITION_THEN_BRANCH_AND_BOUND = "decomposition, then branch and bound"

    @property
    def used_decomposition(self) -> bool:
        return self is not Method.BRANCH_AND_BOUND


def has_plan(status: str) -> bool:
    """Whether a status read from a file (any text) belongs to a written plan."""
    try:
        return Status(status).has_plan
    except ValueError:
        return False
