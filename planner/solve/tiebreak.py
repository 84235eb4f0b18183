"""The tie-break stage (docs/model.md section 5, "Ties at lambda = 1").

At lambda = 1 the expected cost has no weight, scenarios outside the CVaR tail do not count at
all, and optimal plans may buy needlessly there. After the first solve the objective is capped
at its incumbent value and the expected cost is minimised, warm-started from the first plan.
The gap and bound reported are those of the first, objective-defining stage. Below lambda = 1
the expected cost carries weight 1 - lambda, so an optimal plan cannot buy needlessly, and the
stage is not run.

When the decomposition phase bounded the first stage, the binaries every plan within the cap
shares (`planner.solve.decomposition.fixing`) are fixed at the plan's values for the stage:
branch and bound is left the near-ties only.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import highspy
import numpy as np

from planner.solve.compile import Compiled
from planner.solve.highs import HighsRun, RunStatus, columns_fixed, in_use, set_costs
from planner.solve.highs_checks import has_feasible_solution
from planner.status import GAP_FLOOR, within_gap

# A tie-break may exceed the first stage's objective by this relative amount, no more.
TIEBREAK_RELATIVE_SLACK = 1e-9


def cap(objective: float, lower: float = -math.inf, gap: float = math.inf) -> float:
    """The most a tie-break's plan may cost for the first stage's objective `objective` (with its
    offset): that objective and its slack, but no more than half the room the solve's bound
    `lower` leaves within its `gap` (so that the plan stays proven at the gap asked for)."""
    slack = TIEBREAK_RELATIVE_SLACK * max(1.0, abs(objective))
    if math.isfinite(lower):
        slack = min(slack, max(0.0, 0.5 * (lower + gap * max(abs(objective), GAP_FLOOR) - objective)))
    return objective + slack


def least_expected_cost(h: highspy.Highs, compiled: Compiled, plan: np.ndarray, deadline: float | None,
                        clock: Callable[[], float], polish: Callable[[np.ndarray, float | None], np.ndarray | None],
                        shared_binaries: Callable[[np.ndarray, float, float | None], np.ndarray],
                        lower: float = -math.inf, gap: float = math.inf) -> tuple[str, np.ndarray]:
    """The stage from `plan` (all columns) on `h`, which holds `compiled`: minimise the expected
    cost subject to objective <= the plan's; returns ("applied" or "no change", the plan kept).

    `shared_binaries(plan, cap, deadline)` gives the integer columns to fix at the plan's values
    (those every plan with objective <= cap shares; none without a bound); `polish(plan,
    deadline)` the cheapest plan with a plan's integers, or None. With the first stage's bound
    `lower` and the solve's `gap`, the cap leaves the plan proven at that gap (`cap`), and a plan
    HiGHS returns beyond it (by its tolerances) is not taken. HiGHS is left as it was found
    (the cap row removed, the first objective and the bounds restored), so that a session can
    be solved again.
    """
    most = cap(compiled.value(plan), lower, gap)  # on the objective, with its offset
    fixed = shared_binaries(plan, most, deadline)
    nz = np.flatnonzero(compiled.objective)
    h.addRow(-highspy.kHighsInf, most - compiled.objective_offset, len(nz), nz.astype(np.int32),
             compiled.objective[nz])
    set_costs(h, compiled.tiebreak, compiled.tiebreak_offset)
    try:
        with columns_fixed(h, compiled.lp, fixed, np.round(plan[fixed])):
            pending = [plan]  # handed to branch and bound once, as a user solution
            status = HighsRun(h, deadline, clock, provide=lambda: pending.pop() if pending else None).wait()
            if not has_feasible_solution(h) or status is RunStatus.INFEASIBLE:
                return str(status), plan
            found = np.asarray(h.getSolution().col_value)
            polished = polish(found, deadline)
            second = found if polished is None else polished
    finally:
        if not in_use(h):  # (after Ctrl-C HiGHS may still be stopping)
            h.deleteRows(1, np.array([h.getNumRow() - 1], dtype=np.int32))
            set_costs(h, compiled.objective, compiled.objective_offset)
    scale = max(1.0, abs(compiled.tiebreak @ plan))
    better = (compiled.tiebreak @ second < compiled.tiebreak @ plan - 1e-9 * scale
              and (not math.isfinite(lower) or within_gap(compiled.value(second), lower, gap)))
    return ("applied" if better else "no change"), (second if better else plan)
