"""What a solve reports about the plan it stored (`planner.solve.session`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from planner.solve.highs import SOLVER_NAME
from planner.status import Method, Status


@dataclass
class SolveReport:
    """What the solver says about the plan now stored in the model's variables."""

    status: Status
    has_plan: bool
    best_bound: float | None = None  # in the user's money, with the objective's constant
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
