"""The binaries every plan near the optimum shares, read off the phase's Lagrangian bound
(Lagrangian fixing).

At prices (q, beta, nu) the bound is L = R + sum_b v_b, where v_b is the dual bound of
block b's priced MIP (b's priced cost P_b(x_b) = c_b x_b + lambda sum_s q_s R_bs(x_b) + nu b_b
x_b + sum_g beta_bg w^b_g, `planner.solve.decomposition`) and R collects the rest (the budget's
and the value at risk's terms, the tail excesses and agreements at their best bounds). Weak
duality holds plan by plan: every plan x has objective f(x) >= R + sum_b P_b(x_b). So every
plan with f(x) <= cap has

    sum_b (P_b(x_b) - v_b) <= cap - L = Delta,   each term >= 0 (v_b <= min P_b),

and so P_b(x_b) <= v_b + Delta in every block. Let K_b be the binaries of block b in one
such plan. Block b's MIP at the same prices with the no-good row

    sum_{j: K_bj = 1} (1 - z_j) + sum_{j: K_bj = 0} z_j >= 1          (any other binaries)

either is infeasible or has a dual bound above v_b + Delta, and then every plan within
the cap has K_b in block b; or its plan makes another choice K'_b, which is excluded in turn,
and so on (at most CHOICES choices): when the MIP with every found choice excluded is beyond
v_b + Delta, every plan within the cap makes one of the found choices in block b, and each
binary on which they all agree is fixed. (An agreement's copy is not a column of the whole
model; only the blocks' own binaries are fixed.)

The tie-break stage uses it (docs/model.md section 5: at lambda = 1, the least expected cost
among plans whose objective is at most the first stage's): there cap is the first stage's
objective and Delta is at most the first stage's gap, so a block whose second-best choice of
contracts is dearer than its best by more than the gap keeps its contracts, and a block with
a near-tie keeps the contracts its near-optimal choices share. What remains is a MIP over the
binaries of near-ties, or an LP.

Branch and bound after the phase uses it too, when the phase hands over with its best plan x*
near the bound (`near`: within FIX_WITHIN_GAPS gaps): with cap = f(x*) (and the tie-break's
slack), the optimum has f <= cap, so it makes one of the found choices in every block and has
every fixed binary at x*'s value; branch and bound over the binaries left finds it, and its dual
bound is a bound of the whole model.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from planner.solve.decomposition.block import BlockResult, Codes
from planner.solve.decomposition.prices import Prices
from planner.solve.incumbent import Incumbent
from planner.status import within_gap

if TYPE_CHECKING:
    from planner.solve.decomposition.phase import PhaseRun

# a choice is ruled out only when dearer than v_b + Delta by this share of |cap| as well
MARGIN = 1e-9
CHOICES = 4  # a block with more choices within reach keeps all its binaries free
# Branch and bound after the phase fixes what every plan as good as the best shares when the best plan is
# within this many gaps of the bound (further off, too many choices are within reach for the fixing to pay)
FIX_WITHIN_GAPS = 10.0


def near(best: Incumbent, lower: float, gap: float) -> bool:
    """Whether the best plan is within FIX_WITHIN_GAPS gaps of the bound `lower`: branch and bound
    after the phase then starts with the binaries fixed that every plan at least as good shares."""
    return best.plan is not None and within_gap(best.upper, lower, FIX_WITHIN_GAPS * gap)


@dataclass
class Certificate:
    """A Lagrangian bound and what it is made of (`PhaseRun.price`): the prices, the bound L
    (model units, with the objective's offset) and each block's dual bound v_b at them; and each
    block's root basis at them, where the fixing's MIPs start (`block`, "Starts")."""

    prices: Prices
    lower: float
    block_bounds: list[float]
    starts: list[Codes | None]


def shared_binaries(phase: PhaseRun, certificate: Certificate, plan: np.ndarray, cap: float,
                    gap: float) -> np.ndarray:
    """Integer columns of the whole model that every plan with objective <= `cap` (model units,
    with the offset) has at the values `plan` has (a plan within the cap), by the rule of the
    module docstring; a few block MIPs per block with binaries (to the blocks' share of `gap`,
    the solve's), within the phase's time, until its `cancel` is set (then fewer are fixed). The
    blocks' MIPs of each step are solved side by side on the phase's workers, when it has them
    (`PhaseRun.block_solvers_open`); each is solved from a cleared solver with its no-good rows,
    so the columns fixed do not depend on where."""
    s = phase.decomposition.s
    delta = cap - certificate.lower
    if not np.isfinite(delta) or delta < 0:
        return np.zeros(0, dtype=int)
    tasks = phase.block_tasks(certificate.prices)
    searches: dict[int, _Choices] = {}
    for b, block in enumerate(s.blocks):
        at = np.flatnonzero(np.isin(block.columns, s.integer))
        columns = block.columns[at]
        free = phase.lower0[columns] < phase.upper0[columns]
        if not free.any() or phase.lower0[columns].min() < 0 or phase.upper0[columns].max() > 1:
            continue  # nothing to fix, or not binaries (the no-good row is for 0/1 columns)
        level = certificate.block_bounds[b] + delta + MARGIN * abs(cap)
        searches[b] = _Choices(at.astype(np.int32), columns, level, [np.round(plan[columns])])
    if not searches:
        return np.zeros(0, dtype=int)
    fixed: list[np.ndarray] = []
    with phase.block_solvers_open(gap) as blocks:
        while searches and not (phase.cancel is not None and phase.cancel.is_set()):
            results = phase.solve_blocks([replace(tasks[b], no_goods=(c.at, np.array(c.found)),
                                                  start=certificate.starts[b])
                                          for b, c in searches.items()], blocks)
            for b, search in list(searches.items()):
                found = search.step(results.get(b))
                if found is not None or search.ended:
                    del searches[b]
                if found is not None:
                    fixed.append(search.columns[(found == found[0]).all(axis=0)])
    return np.concatenate(fixed) if fixed else np.zeros(0, dtype=int)


@dataclass
class _Choices:
    """The search of one block for every choice of its binaries (at block positions `at`, whole-
    model columns `columns`) that a block plan of priced cost at most `level` can make, the
    plan's choice first: each step solves the block MIP with every found choice excluded by a
    no-good row."""

    at: np.ndarray
    columns: np.ndarray
    level: float
    found: list[np.ndarray]
    ended: bool = False

    def step(self, result: BlockResult | None) -> np.ndarray | None:
        """Take the step's result: every choice (one per row) once the MIP is infeasible or its dual
        bound is above `level`; otherwise None, and the search has `ended` after CHOICES choices,
        or when the MIP ended without an optimum (out of time, or not solved)."""
        if result is not None and (result.infeasible or (result.ok and result.bound > self.level)):
            return np.array(self.found)
        if result is None or not result.ok or len(self.found) == CHOICES:
            self.ended = True
            return None
        self.found.append(np.round(result.values[self.at]))
        return None
