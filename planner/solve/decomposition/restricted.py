"""The restricted MIP: a plan from the options the blocks' plans use, when the blocks' own
plans do not fit together.

Priced links are not enforced links: with a budget that binds, each block signs what pays at
the budget's price, and the union of the blocks' plans can spend more than the budget (on
generated M with a budget of 10% of all fixed costs, none of the phase's plans fitted, and
branch and bound started without a plan). The restricted MIP is the whole model with every
binary that no block plan has set fixed at 0: the blocks have said which options are worth
considering, and the MIP chooses among them with every link enforced (price-and-branch).
It has a few dozen free binaries instead of hundreds, so HiGHS solves it quickly; it stops at
`NODES` nodes (a limit that does not depend on the machine's speed) or the solve's time.
Its plan is offered as any other plan of the phase (made whole by `PhaseRun.complete`), and
its parts become block plans of the master, which then has a combination that fits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from planner.solve.highs import columns_bounded, integrality, option_set
from planner.solve.highs_checks import has_feasible_solution

if TYPE_CHECKING:
    from planner.solve.decomposition.phase import PhaseRun

NODES = 1000  # branch-and-bound nodes of one restricted MIP


def support(run: PhaseRun) -> np.ndarray:
    """Which integer columns (positions in `structure.integer`) some block plan sets."""
    s = run.decomposition.s
    used = np.zeros(len(run.costs), dtype=bool)
    for b, block in enumerate(s.blocks):
        columns = block.all_columns
        for plan in run.plans[b]:
            used[columns[plan >= 0.5]] = True
    return used[s.integer]


def restricted_mip(run: PhaseRun, free: np.ndarray) -> np.ndarray | None:
    """The best plan (every column) of the whole model with only the integer columns marked
    in `free` left free (the others at 0), or None when it has none within its limits. The
    whole model's HiGHS (`run.h`, kept as an LP during the phase) is given back as it was."""
    s, h = run.decomposition.s, run.h
    ints = s.integer.astype(np.int32)
    lower, upper = run.lower0[ints], run.upper0[ints].copy()
    upper[~free] = np.minimum(upper[~free], 0.0)
    if np.any(lower > upper):
        return None
    _, nodes = h.getOptionValue("mip_max_nodes")  # (status, value)
    with (option_set(h, "mip_max_nodes", min(nodes, NODES)), integrality(h, ints, True),
          columns_bounded(h, ints, lower, upper, (run.lower0[ints], run.upper0[ints]))):
        run.run_lp(h)
        return np.asarray(h.getSolution().col_value) if has_feasible_solution(h) else None
