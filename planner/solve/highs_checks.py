"""Whether what HiGHS returns can be taken as it is: a plan that holds with its fixed columns at
exactly their values (`fixed_leak`, `run_fixed`), an objective that belongs to the plan returned
(`solution_is_consistent`), a plan at all (`has_feasible_solution`). The callers act on the
answers (solve again, drop a bound); HiGHS itself is run by `planner.solve.highs`.
"""

from __future__ import annotations

from collections.abc import Callable

import highspy
import numpy as np
import scipy.sparse as sp

from planner.solve.highs import RunStatus, option_set

# How far a row may break its bounds, in model units, once the columns an LP held fixed are set
# exactly to their values (`fixed_leak`): ten times HiGHS's primal feasibility tolerance.
LEAK_TOLERANCE = 1e-6


def fixed_leak(h: highspy.Highs, matrix: sp.csc_matrix, row_lower: np.ndarray, row_upper: np.ndarray,
               columns: np.ndarray, values: np.ndarray) -> float:
    """How much further the rows of the solution of `h` (an LP with `columns` fixed at `values`)
    break their bounds once those columns are set exactly to `values` (what HiGHS's tolerances
    allow the rows anyway is not counted); `matrix` is the model's, by column. HiGHS keeps a
    fixed column that is basic within its feasibility tolerance of its value, and a large
    coefficient multiplies that: z = 4e-8 where z is fixed at 0, in x <= 1e7 z, lets x be 0.4
    (a random instance with capacities 5e6 times its demand)."""
    solution = np.asarray(h.getSolution().col_value)
    delta = np.asarray(values, dtype=float) - solution[columns]
    moved = np.flatnonzero(delta)
    if not len(moved):
        return 0.0
    change = matrix[:, np.asarray(columns)[moved]] @ delta[moved]
    rows = np.flatnonzero(change)
    before = np.asarray(h.getSolution().row_value)[rows]
    return float(np.max(_breach(before + change[rows], row_lower[rows], row_upper[rows])
                        - _breach(before, row_lower[rows], row_upper[rows]), initial=0.0))


def _breach(activity: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    return np.maximum(np.maximum(lower - activity, activity - upper), 0.0)


def run_fixed(h: highspy.Highs, run_once: Callable[[], RunStatus], leak: Callable[[], float]) -> RunStatus:
    """Run an LP of `h` with some columns fixed (`run_once`), and make sure its plan holds with
    them at exactly their values: when it does not (`leak`, `fixed_leak`, beyond
    LEAK_TOLERANCE), the LP is solved again from scratch, where presolve takes the fixed columns
    out of the rows exactly; still leaking, it is a solver error, never a plan."""
    status = run_once()
    if status is not RunStatus.OPTIMAL or leak() <= LEAK_TOLERANCE:
        return status
    h.clearSolver()
    with option_set(h, "presolve", "on"):
        status = run_once()
    return RunStatus.SOLVER_ERROR if status is RunStatus.OPTIMAL and leak() > LEAK_TOLERANCE else status


def solution_is_consistent(h: highspy.Highs, costs: np.ndarray, offset: float) -> bool:
    """Whether the solution HiGHS returns has the objective HiGHS reports for it.

    HiGHS 1.16 given a MIP start through `setSolution` may report an objective (and a dual
    bound) that belong to no plan, then return the start as its solution (seen on the
    bundled instance with one processor changed: it claimed 205.8 for a plan of 206.6, and
    "proved" it). planner therefore hands plans to branch and bound only through the user
    solution callback (`HighsRun(provide=...)`), and trusts HiGHS's bound only when this holds.
    """
    value = float(costs @ np.asarray(h.getSolution().col_value)) + offset
    reported = h.getInfo().objective_function_value
    return abs(value - reported) <= 1e-9 * max(1.0, abs(value))


def has_feasible_solution(h: highspy.Highs) -> bool:
    return h.getInfo().primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
