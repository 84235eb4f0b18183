"""One block's solve: what the phase, a worker process and a Dask actor all run.

A block's HiGHS is built from plain arrays (`BlockSpec`), so that any process can build it; a
task (`BlockTask`) gives it costs, this solve's bounds of its agreement copies and no-good rows,
the basis its LP starts from, or asks for its LP relaxation; `solve_block` makes the same calls
wherever it runs, so the plans and bounds do not depend on where a block is solved
(`planner.solve.decomposition.pool`). A block's MIP is solved by the LP-based branch and bound
of `planner.solve.decomposition.branching`, HiGHS's MIP solver only past its node limit.

**Starts.** A block's root LP (its MIP's, or its LP relaxation) starts from the basis the task
carries: the phase sends the root basis of the block's last solve (`BlockResult.basis`: the LP
relaxation that started the phase, then each round's MIP), whose costs differ from the task's
but whose columns and rows are the block's. From scratch the dual simplex spent most of a
block MIP's root in iterations that grow faster than the scenarios, most of which the last
basis saves (docs/performance.md, "How a plan is solved"). The basis travels with the task, so
any worker starts from the same one and gives the same plan.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import highspy
import numpy as np
import scipy.sparse as sp

from planner.solve.decomposition.branching import as_lp, cleared, solve_mip
from planner.solve.highs import highs_lp, set_option, within

# A basis as two small arrays of HighsBasisStatus codes: its columns' and its rows' (`status_codes`)
Codes = tuple[np.ndarray, np.ndarray]
_STATUS = highspy.HighsBasisStatus
_BY_CODE = {int(status): status for status in _STATUS.__members__.values()}
BASIC, LOWER, UPPER, ZERO = (int(_STATUS.kBasic), int(_STATUS.kLower), int(_STATUS.kUpper), int(_STATUS.kZero))


@dataclass
class BlockResult:
    ok: bool  # the block's MIP (or LP) solved to optimality
    bound: float  # the MIP's dual bound (`branching`) or the LP's optimum
    values: np.ndarray | None  # the block's plan (its columns, then its agreement copies)
    # the optimal basis of its LP relaxation (a `relax` task's LP, a MIP's root), the HighsBasisStatus
    # codes of its columns (then copies) and of its rows without no-good rows (`Codes`); the next
    # task's start (module docstring) and the first LP relaxation's (`planner.solve.decomposition.first`)
    basis: Codes | None = None
    infeasible: bool = False  # the block's MIP (with the task's no-good rows) has no plan at all


@dataclass
class BlockTask:
    block: int
    costs: np.ndarray | None  # None: keep the block's costs (a re-solve with other copy bounds)
    seconds: float | None = None  # time left, None: no limit (set as a worker is sent it: `Dispatch.as_sent`)
    copy_bounds: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # (columns, lower, upper), this solve only
    relax: bool = False  # the block's LP relaxation (`planner.solve.decomposition.first`), this solve only
    # (block positions of binaries, choices one per row): a no-good row per choice, this solve only
    # (`planner.solve.decomposition.fixing`)
    no_goods: tuple[np.ndarray, np.ndarray] | None = None
    start: Codes | None = None  # the basis its root LP starts from (module docstring), None: from scratch


@dataclass
class BlockSpec:
    """What a block's HiGHS is built from (plain arrays, so a Dask worker can build it too)."""

    matrix: sp.csc_matrix  # its rows over its columns, then its agreement copies
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    integer: np.ndarray  # bool per column
    gap: float  # the block MIP's relative gap

    def build(self, new_highs: Callable[[], highspy.Highs]) -> highspy.Highs:
        """The block's HiGHS, costs zero until a round prices them (the same calls everywhere)."""
        lp = highs_lp(self.matrix, np.zeros(self.matrix.shape[1]), self.col_lower, self.col_upper, self.row_lower,
                      self.row_upper, integer=self.integer)
        solver = new_highs()
        set_option(solver, "mip_rel_gap", self.gap)
        for name, value in BLOCK_OPTIONS.items():
            set_option(solver, name, value)
        solver.passModel(lp)
        return solver


# For HiGHS's MIP solver on a block (past `branching.NODE_LIMIT`): a block MIP has a few dozen
# binaries over a large LP (its recourse in every scenario), so strong branching until pseudocosts
# are reliable costs more LP iterations than the nodes it saves, and the feasibility jump heuristic
# costs time at every solve's start without saving nodes. Measured in docs/performance.md, "How a
# plan is solved".
# HiGHS's own absolute gap for a block (not the whole model's, `planner.solve.highs`): a block's
# priced objective may lie near 0.
BLOCK_OPTIONS = {"mip_pscost_minreliable": 0, "mip_heuristic_run_feasibility_jump": False, "mip_abs_gap": 1e-6}
# One HiGHS thread per block solve (module docstring). Two threads per block MIP in a serial
# phase were slower, not faster: M with 300 scenarios, phase 19.3 s against 16.4 s.
BLOCK_THREADS = 1


def solve_block(h: highspy.Highs, task: BlockTask, has_integers: bool,
                run: Callable[[highspy.Highs], bool] | None = None) -> BlockResult:
    """One task on the HiGHS holding its block: its costs, its copies' bounds for this solve only,
    each run of HiGHS by `run` (True when optimal; by default `within(task.seconds)`), the bound
    and plan of its MIP (`branching.solve_mip`) or, when `task.relax`, of its LP relaxation
    (`branching.as_lp`, for this solve only) and then its basis.
    The same calls in the phase's process, in a worker process and on a Dask worker. A solve of a
    block with integers starts from a cleared solver and the task's `start`, so that it does not
    depend on the block's earlier solves: any worker, on any instance of the block, gives the
    same plan and bound."""
    integer = cleared(h) if has_integers else None
    if task.costs is not None:
        n = len(task.costs)
        h.changeColsCost(n, np.arange(n, dtype=np.int32), task.costs)
    if task.copy_bounds is not None:
        columns, lower, upper = task.copy_bounds
        h.changeColsBounds(len(columns), columns, lower, upper)
    rows = h.getNumRow()
    if task.no_goods is not None:
        add_no_goods(h, *task.no_goods)
    if run is None:
        run = within(task.seconds)
    start = None
    if task.start is not None and integer is not None and len(task.start[0]) == h.getNumCol() \
            and len(task.start[1]) <= h.getNumRow():  # (HiGHS 1.16 crashes on a basis of another size)
        start = basis_of(*task.start, row_count=h.getNumRow())
    basis = None
    if integer is not None and not task.relax:  # the block's MIP (`branching`)
        outcome = solve_mip(h, run, integer, start=start)
        ok, bound, values, infeasible = outcome.ok, outcome.bound, outcome.values, outcome.infeasible
        basis = status_codes(outcome.root_basis, rows)
    else:  # an LP block, or a block's LP relaxation (then its basis too)
        with as_lp(h, integer) if integer is not None else contextlib.nullcontext():
            if start is not None:
                h.setBasis(start)
            ok = run(h)
            bound = h.getInfo().objective_function_value
            values = np.asarray(h.getSolution().col_value) if ok else None
            basis = status_codes(h.getBasis(), rows) if ok and task.relax else None
            infeasible = h.getModelStatus() == highspy.HighsModelStatus.kInfeasible
    if task.copy_bounds is not None:  # back to 0..1 after this solve
        columns, lower, _ = task.copy_bounds
        h.changeColsBounds(len(columns), columns, lower, np.ones(len(columns)))
    if h.getNumRow() > rows:  # the no-good rows, gone after this solve
        h.deleteRows(h.getNumRow() - rows, np.arange(rows, h.getNumRow(), dtype=np.int32))
    return BlockResult(ok and np.isfinite(bound), float(bound), values, basis, infeasible)


def add_no_goods(h: highspy.Highs, at: np.ndarray, choices: np.ndarray) -> None:
    """A row per choice (0/1 values of the binaries at block positions `at`) that rules it out:
    sum_{j: chosen 1} (1 - z_j) + sum_{j: chosen 0} z_j >= 1."""
    at = np.asarray(at, dtype=np.int32)
    for choice in np.atleast_2d(choices):
        ones = choice > 0.5
        h.addRow(1.0 - float(ones.sum()), highspy.kHighsInf, len(at), at, np.where(ones, -1.0, 1.0))


def status_codes(basis: highspy.HighsBasis | None, rows: int | None = None) -> Codes | None:
    """A HiGHS basis as two small arrays (columns, rows) of HighsBasisStatus codes, to send from
    a worker, its first `rows` rows only when given (no-good rows left out: they are basic in
    `basis_of`); None when there is no valid basis."""
    if basis is None or not basis.valid:
        return None
    column_status, row_status = basis.col_status, basis.row_status[:rows]  # (each read copies it all)
    return (np.fromiter(map(int, column_status), dtype=np.int8, count=len(column_status)),
            np.fromiter(map(int, row_status), dtype=np.int8, count=len(row_status)))


def basis_of(columns: np.ndarray, rows: np.ndarray, row_count: int | None = None) -> highspy.HighsBasis:
    """The HiGHS basis of the status codes `columns` and `rows`; rows past them up to `row_count`
    (a task's no-good rows) with their slacks basic. Marked alien: HiGHS checks it against the
    bounds it starts under, and repairs it where it is singular."""
    basis = highspy.HighsBasis()
    basis.col_status = [_BY_CODE[code] for code in columns.tolist()]
    extra = [] if row_count is None else [_STATUS.kBasic] * (row_count - len(rows))
    basis.row_status = [_BY_CODE[code] for code in rows.tolist()] + extra
    basis.valid, basis.alien = True, True
    return basis


def answer(tasks: list[BlockTask], held: dict[int, highspy.Highs], build: Callable[[int], highspy.Highs],
           integers: list[bool],
           clock: Callable[[], float] = time.perf_counter) -> list[tuple[int, BlockResult, float]]:
    """A holder's answer to its tasks (a worker process's or a Dask actor's): each task's block,
    result and seconds, solved on the block's instance when the holder holds it (`held`), else
    on one built for the task (`build`) and dropped after. The tasks were sent together with the
    time then left, so each gets what its predecessors here have not taken (on `clock`)."""
    answers = []
    received = clock()
    for task in tasks:
        started = clock()
        if task.seconds is not None:
            task = replace(task, seconds=task.seconds - (started - received))
        h = held[task.block] if task.block in held else build(task.block)
        answers.append((task.block, solve_block(h, task, integers[task.block]), clock() - started))
    return answers
