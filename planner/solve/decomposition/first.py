"""First prices: the duals of the whole model's LP relaxation, solved from the blocks' own.

The first round's prices are the LP relaxation's duals (q from the tail rows, beta from the
agreement links, nu from the budget row: `prices.from_duals`). The dual simplex from scratch
spends many of its iterations on what each material decides alone, so the LP relaxation
starts from a plan put together from the blocks' LP relaxations instead (`relaxed_start`):
each block's LP at plain prices (q = p, each agreement split evenly, `prices.plain`), its
columns taken as they are, each agreement signed as much as its most eager copy, eta = 0
and each e_s the scenario's excess, so every row but the budget holds. HiGHS builds a basis
from that plan and needs far fewer iterations (README, "Blocks in parallel"). The blocks'
LPs are independent, so with worker processes they run there, like a round's MIPs
(`BlockTask.relax`); each with integers starts from a cleared solver, one without stays with
its home worker, so the start, and with it the first prices, are the same whatever the number
of workers.

When HiGHS already holds a basis (a start completed before the phase), the LP relaxation
starts from it and the blocks' LPs are not solved.

Which first prices (`lp_first`): the LP relaxation's, unless the model has more than
LP_START_MAX_COLUMNS columns and either the gap asked is at least LOOSE_GAP or the solve is
limited (the phase runs beside branch and bound); then plain prices. The LP relaxation's cost
grows faster than a round's. With a loose gap plain prices reach it in a round or two (XL to
1%: one round); to a tight gap the LP relaxation's prices save rounds (M with 1,000 scenarios
to 1e-4: 4 rounds instead of 5), but under a limit a plan soon counts more than the fewest
rounds (XL under a limit of 40 s: a plan from plain prices, none after the LP relaxation). The
measurements: README, "Performance" ("First prices, by size and gap") and "Scale".
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import highspy
import numpy as np

import planner.solve.decomposition.whole as whole
from planner.solve.decomposition.prices import plain
from planner.solve.highs import in_use

if TYPE_CHECKING:
    from planner.solve.decomposition.phase import PhaseRun

# First prices from the whole model's LP relaxation when it has at most this many columns, or the
# gap asked is below LOOSE_GAP and the solve has no limit; else from p and even shares (`lp_first`,
# module docstring).
LP_START_MAX_COLUMNS = 100_000
LOOSE_GAP = 1e-3
# The LP relaxation by HiGHS's parallel dual simplex (its SIP variant), one thread per worker
# process (they wait for its prices): its iterations do not depend on the thread count, so
# neither do the rounds (README, "Blocks in parallel").
LP_START_OPTIONS = {"simplex_strategy": 2}


def lp_first(columns: int, gap: float, limited: bool) -> bool:
    """Whether the phase's first prices come from the LP relaxation (module docstring), for a
    model of `columns` columns solved to relative gap `gap`, `limited` when the solve has a time
    or node limit."""
    return columns <= LP_START_MAX_COLUMNS or (gap < LOOSE_GAP and not limited)


def relaxed_start(run: PhaseRun, blocks: list[highspy.Highs]) -> np.ndarray | None:
    """A whole plan from the blocks' LP relaxations at plain prices (module docstring), or None
    when a block's LP has no optimum (out of time: the LP relaxation then starts from scratch
    and meets the same limit)."""
    s = run.decomposition.s
    prices = run.filled(plain(s, run.costs))
    results = run.solve_blocks([replace(task, relax=True) for task in run.block_tasks(prices)], blocks)
    if len(results) < len(s.blocks) or not all(result.ok for result in results.values()):
        return None
    return whole.put_together(run, None, [results[b].values for b in range(len(s.blocks))])


def lp_relaxation(run: PhaseRun, h: highspy.Highs, blocks: list[highspy.Highs]) -> bool:
    """The whole model's LP relaxation (`h` holds it, its integrality off), from the blocks'
    start unless `h` has a basis, with LP_START_OPTIONS on one thread per worker process, or
    on one beside branch and bound (`nice` > 0: a race, where the phase takes a free core only,
    and two starved threads of the parallel simplex wait on each other: README, "Blocks in
    parallel"); the options are given back after it. True when optimal."""
    if not h.getBasis().valid:
        start = relaxed_start(run, blocks)
        if start is not None:
            solution = highspy.HighsSolution()
            solution.col_value = start
            solution.value_valid = True
            h.setSolution(solution)
    options = {**LP_START_OPTIONS, "threads": max(1, run.workers) if run.nice == 0 else 1}
    saved = {name: h.getOptionValue(name)[1] for name in options}
    for name, value in options.items():
        h.setOptionValue(name, value)
    try:
        return run.run_lp(h)
    finally:
        if not in_use(h):  # (after Ctrl-C HiGHS may still be stopping)
            for name, value in saved.items():
                h.setOptionValue(name, value)
