"""A first plan from the LP relaxation, rounded: a plan early in a solve with a time limit.

The phase's first plan comes from the first round's block MIPs. On large models that is far
into the solve, well after the LP relaxation, and a time limit that ended before it left the
solve without a plan. The LP relaxation's own integer values, rounded, give one sooner:

1. every integer column the relaxation sets above 0 is rounded up to 1 (what it uses is
   contracted; an agreement a used option needs is signed, since z_o <= w_g);
2. the rows over integer columns only (the budget (9), the agreement links (2), the
   diversification (6)) are then checked; while one is violated, the rounded-up columns are
   set back to 0 one at a time, the least used by the relaxation first, each one only when it
   lessens a violation and worsens none (a budget that binds is met again by dropping the
   options the relaxation half-signed: the relaxation's own values keep it, rounded down they
   keep it too);
3. the whole model's LP with these values fixed completes the plan (`PhaseRun.complete`),
   or shows that it has none (a service level the dropped options were needed for).

On the generated families at M, without a budget that binds, the plan is 0.4% to 1.3% above
the LP relaxation's value; with one (10% or 5% of all fixed costs), 3% to 8% above the optimum;
M with 1,000 scenarios 0.3% above it. A round's plans are closer, so the phase offers this plan
only in a limited solve (`early_plan`), where a plan by the limit is worth the one LP it costs
(docs/performance.md, "How a plan is solved").
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

# an LP value above this counts as used (rounded up)
USED = 1e-6
# a row's violation counts when above this (its activity is in the model's scaled units)
VIOLATION = 1e-9


def integer_rows(matrix: sp.csr_matrix, integer: np.ndarray) -> np.ndarray:
    """The rows of `matrix` whose nonzero columns are all among the `integer` columns."""
    is_integer = np.zeros(matrix.shape[1], dtype=bool)
    is_integer[integer] = True
    nonzero = matrix.copy()
    nonzero.data = np.ones_like(nonzero.data)
    continuous = nonzero @ (~is_integer).astype(float)
    any_entry = np.diff(matrix.indptr) > 0
    return np.flatnonzero(any_entry & (continuous == 0))


def rounded(relaxed: np.ndarray, lower: np.ndarray, upper: np.ndarray, rows: sp.csc_matrix,
            row_lower: np.ndarray, row_upper: np.ndarray) -> np.ndarray | None:
    """Integer values from the LP relaxation's `relaxed` ones (module docstring, steps 1 and 2):
    `rows` are the rows over integer columns only, restricted to those columns, with their bounds
    `row_lower` and `row_upper`; `lower` and `upper` the integer columns' bounds. None when no
    drop repairs a violated row."""
    values = np.clip(np.where(relaxed > USED, np.ceil(relaxed - USED), np.round(relaxed)), lower, upper)
    activity = rows @ values
    violation = _violation(activity, row_lower, row_upper)
    rounded_up = np.flatnonzero((values > relaxed + USED) & (values - 1 >= lower))
    for j in rounded_up[np.argsort(relaxed[rounded_up], kind="stable")]:
        if not np.any(violation > VIOLATION):
            break
        column = rows[:, j].toarray().ravel()
        trial = _violation(activity - column, row_lower, row_upper)
        if np.all(trial <= violation + VIOLATION) and np.any(trial < violation - VIOLATION):
            values[j] -= 1
            activity, violation = activity - column, trial
    return None if np.any(violation > VIOLATION) else values


def _violation(activity: np.ndarray, row_lower: np.ndarray, row_upper: np.ndarray) -> np.ndarray:
    return np.maximum(0.0, row_lower - activity) + np.maximum(0.0, activity - row_upper)
