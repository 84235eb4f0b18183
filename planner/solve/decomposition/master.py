"""The restricted Dantzig-Wolfe master over the block plans found so far.

    min  sum_bk theta_bk c_b x_bk + sum_j c_j v_j            (v: eta, e_s, w_g)
    s.t. linking rows:  sum_bk theta_bk a_i x_bk + a_i v  within their bounds
         convexity:     sum_k theta_bk = 1                    for every block b
         agreements:    sum_k theta_bk w^b_gk - w_g <= 0      for every copy (b, g)

Its duals are the next prices, its w_g (rounded) the next signing, and its value is at
least the best bound any prices can give (its columns are a subset of all block plans).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import highspy
import numpy as np
import scipy.sparse as sp

from planner.solve.decomposition.prices import Prices
from planner.solve.highs import highs_lp

if TYPE_CHECKING:
    from planner.solve.decomposition.phase import PhaseRun


def solve_master(run: PhaseRun) -> tuple[Prices, np.ndarray, float] | None:
    """The master of the run's block plans: (prices, signing, value), or None when it has no optimum."""
    d, s = run.decomposition, run.decomposition.s
    n_link = len(s.linking_rows)
    copies = sorted(s.links)
    copy_row = {key: n_link + len(s.blocks) + i for i, key in enumerate(copies)}
    entries: list[tuple[int, int, float]] = []
    cost: list[float] = []
    for b, block in enumerate(s.blocks):
        nc = len(block.columns)
        for plan, (plan_cost, usage) in zip(run.plans[b], run.master_columns[b]):
            col = len(cost)
            cost.append(plan_cost)
            entries += [(i, col, float(v)) for i, v in enumerate(usage) if v]
            entries.append((n_link + b, col, 1.0))
            entries += [(copy_row[b, g], col, float(v)) for g, v in zip(block.copies, plan[nc:]) if v]
    first_linking = len(cost)
    for j in s.linking_columns:
        col = len(cost)
        cost.append(float(run.costs[j]))
        column = d.linking_matrix[:, [j]].tocoo()
        entries += [(int(i), col, float(v)) for i, v in zip(column.row, column.data)]
        entries += [(copy_row[b, g], col, -1.0) for (b, g) in copies if g == j]
    n_rows = n_link + len(s.blocks) + len(copies)
    r, c, v = zip(*entries)
    matrix = sp.csc_matrix((v, (r, c)), shape=(n_rows, len(cost)))
    inf = highspy.kHighsInf
    linking, rows = s.linking_columns, s.linking_rows
    lp = highs_lp(matrix, np.array(cost),
                  np.concatenate([np.zeros(first_linking), run.lower0[linking]]),
                  np.concatenate([np.full(first_linking, inf), run.upper0[linking]]),
                  np.concatenate([run.row_lower[rows], np.ones(len(s.blocks)), np.full(len(copies), -inf)]),
                  np.concatenate([run.row_upper[rows], np.ones(len(s.blocks)), np.zeros(len(copies))]))
    solver = run.new_highs()
    solver.passModel(lp)
    if not run.run_lp(solver):
        return None
    solution = solver.getSolution()
    dual, weight = np.asarray(solution.row_dual), np.asarray(solution.col_value)
    prices = Prices(-d.sign * dual[:n_link], {key: -float(dual[copy_row[key]]) for key in copies})
    signing = weight[first_linking + np.flatnonzero(np.isin(linking, s.agreements))] >= 0.5
    return prices, signing, solver.getInfo().objective_function_value + run.offset
