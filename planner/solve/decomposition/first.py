"""First prices: the duals of the whole model's LP relaxation, solved from the blocks' own.

The first round's prices are the LP relaxation's duals (q from the tail rows, beta from the
agreement links, nu from the budget row: `prices.from_duals`). The dual simplex from scratch
spends many of its iterations on what each material decides alone, so the LP relaxation
starts from the blocks' LP relaxations instead (`relaxed_start`), in two passes when the
model has a CVaR (tail rows, no worst-case rows):

1. Each block's LP at plain prices (q = p, each agreement split evenly, `prices.plain`); their
   plans put together into one whole plan (`whole.put_together`).
2. The tail weights that put that plan's CVaR on its costliest scenarios (`RiskForm.supporting`:
   a vertex of their box, each weight at its upper end or 0 but one), and each block's LP again
   at them, from its basis of the first pass (`PhaseRun.starts`: few iterations, the costs
   alone changed).

Their optimal bases are put together into one of the whole model (`whole.put_together_basis`:
each block's columns and rows keep their status; with the second pass the tail rows get the
statuses whose duals are those weights, so that the whole basis starts dual feasible but for
what the blocks cannot see; the budget's slack is basic). At plain prices alone the tail rows'
statuses contradict the blocks' prices (every e_s basic, so every scenario's recourse weighs
p_s / (1 - alpha) where the blocks weighed p_s), and the dual simplex spent most of its
iterations undoing that (docs/performance.md, "Scale"). Without a CVaR, or with
ambiguity, the first pass alone. The plan is the start when HiGHS does not take the basis. The
blocks' LPs are independent, so with worker processes they run there, like a round's MIPs
(`BlockTask.relax`); each with integers starts from a cleared solver and the task's start, one
without stays with its home worker, so the start, and with it the first prices, are the same
whatever the number of workers.

When HiGHS already holds a basis (a start completed before the phase), the LP relaxation
starts from it and the blocks' LPs are not solved.

Which first prices (`lp_first`): the LP relaxation's, unless the model has more than
LP_START_MAX_COLUMNS columns and the gap asked is at least LOOSE_GAP; then plain prices. The
LP relaxation's cost grows faster than a round's: to a loose gap plain prices reach it in a
round or two, sooner than the LP relaxation alone; to a tight gap the LP relaxation's prices
save rounds, with a time limit too (a better plan by the limit). The measurements: docs/performance.md,
"Performance" ("First prices, by size and gap") and "Scale".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import highspy
import numpy as np

import planner.solve.decomposition.whole as whole
from planner.processes import usable_cores
from planner.solve.decomposition.block import BlockResult
from planner.solve.decomposition.prices import Prices, plain
from planner.solve.highs import in_use, set_option, start_from_basis, start_from_plan

if TYPE_CHECKING:
    from planner.solve.decomposition.phase import PhaseRun

# First prices from the whole model's LP relaxation when it has at most this many columns, or the
# gap asked is below LOOSE_GAP; else from p and even shares (`lp_first`, module docstring).
LP_START_MAX_COLUMNS = 100_000
LOOSE_GAP = 1e-3
# The LP relaxation by HiGHS's parallel dual simplex (its SIP variant), one thread per worker
# process (they wait for its prices): its iterations do not depend on the thread count, so
# neither do the rounds (docs/performance.md, "Blocks in parallel").
LP_START_OPTIONS = {"simplex_strategy": 2}


def lp_first(columns: int, gap: float) -> bool:
    """Whether the phase's first prices come from the LP relaxation (module docstring), for a
    model of `columns` columns solved to relative gap `gap`."""
    return columns <= LP_START_MAX_COLUMNS or gap < LOOSE_GAP


@dataclass
class Start:
    """Where the LP relaxation starts (`relaxed_start`): a whole basis, or the plan when there is
    none or HiGHS does not take it."""

    plan: np.ndarray
    basis: highspy.HighsBasis | None


def relaxed_start(run: PhaseRun, blocks: list[highspy.Highs]) -> Start | None:
    """The whole basis and plan from the blocks' LP relaxations (module docstring), or None when a
    block's LP has no optimum (out of time: the LP relaxation then starts from scratch and meets
    the same limit)."""
    s, d = run.decomposition.s, run.decomposition
    prices = run.filled(plain(s, d.form, run.costs))
    ordered = _relaxed_blocks(run, prices, blocks)
    if ordered is None:
        return None
    plan = whole.put_together(run, None, [result.values for result in ordered])
    if not d.form.tail_count or d.form.worst_count:
        return Start(plan, whole.put_together_basis(run, plan, [result.basis for result in ordered]))
    rows = whole.supporting_rows(run, prices, plan)
    ordered = _relaxed_blocks(run, run.filled(replace(prices, rows=rows)), blocks)
    if ordered is None:
        return None
    plan = whole.put_together(run, None, [result.values for result in ordered])
    return Start(plan, whole.put_together_basis(run, plan, [result.basis for result in ordered],
                                                tail_weights=rows[:d.form.tail_count]))


def _relaxed_blocks(run: PhaseRun, prices: Prices, blocks: list[highspy.Highs]) -> list[BlockResult] | None:
    """Every block's LP relaxation at `prices`, from its last basis (`PhaseRun.starts`, none at
    first), in block order; None when one has no optimum. Their bases become the blocks' next starts."""
    results = run.solve_blocks([replace(task, relax=True) for task in run.block_tasks(prices)], blocks)
    if len(results) < len(run.decomposition.s.blocks) or not all(result.ok for result in results.values()):
        return None
    run.keep_starts(results)  # (the next pass, or the first round's MIPs, start from these bases)
    return [results[b] for b in range(len(run.decomposition.s.blocks))]


def lp_relaxation(run: PhaseRun, h: highspy.Highs, blocks: list[highspy.Highs]) -> bool:
    """The whole model's LP relaxation (`h` holds it, its integrality off), from the blocks'
    start (their basis, else their plan) unless `h` has a basis, with LP_START_OPTIONS on one
    thread per worker process (at most one per core), or on one beside branch and bound (`nice`
    > 0: a race, where the phase takes a free core only, and two starved threads of the parallel
    simplex wait on each other: docs/performance.md, "Blocks in parallel"); the options are given
    back after it. True when optimal."""
    if not h.getBasis().valid:
        start = relaxed_start(run, blocks)
        if start is not None and not start_from_basis(h, start.basis):
            start_from_plan(h, start.plan)
    threads = min(max(1, run.workers), usable_cores())  # more threads than cores only wait on each other
    options = {**LP_START_OPTIONS, "threads": threads if run.nice == 0 else 1}
    saved = {name: h.getOptionValue(name)[1] for name in options}
    for name, value in options.items():
        set_option(h, name, value)
    try:
        return run.run_lp(h)
    finally:
        if not in_use(h):  # (after Ctrl-C HiGHS may still be stopping)
            for name, value in saved.items():
                set_option(h, name, value)
