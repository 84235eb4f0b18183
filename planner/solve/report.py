"""What a solve reports about the plan it stored (`planner.solve.session`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from planner.solve.highs import SOLVER_NAME
from planner.status import GAP_FLOOR, Method, Status


@dataclass
class SolveReport:
    """What the solver says about the plan now stored in the model's variables."""

    status: Status
    has_plan: bool
    best_bound: float | None = None  # in the user's money, with the objective's constant
    # GAP_FLOOR model units in the user's money: the least |objective| the gap is measured against,
    # as the proof measured it (an optimum of 0 USD and a bound of -2.6e-14 USD: a gap of 5e-9, not 2.6e-4)
    gap_floor: float = GAP_FLOOR
    transfer_seconds: float = 0.0
    solve_seconds: float = 0.0
    sizes: dict[str, int] = field(default_factory=dict)
    solver: str = SOLVER_NAME
    tiebreak: str = "not run"  # "applied", "no change", "not run", or the stage's status
    tiebreak_seconds: float = 0.0  # of solve_seconds, in the tie-break stage
    method: Method = Method.BRANCH_AND_BOUND
    decomposition_rounds: int = 0
    decomposition_seconds: float = 0.0  # of solve_seconds, in the decomposition phase
    # whether HiGHS solved again at highs.STRICT_TOLERANCE because its first plan broke a constraint
    # in the user's units (planner.solve.pipeline.solve_data); the seconds of both solves are counted
    strict_tolerances: bool = False
    # when HiGHS ended optimal but its bound does not prove the best plan to the gap asked for (also
    # after a branch and bound with strict tolerances): the relative gap it does prove
    unproven_gap: float | None = None
