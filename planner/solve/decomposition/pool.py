"""The blocks of a round solved side by side in worker processes (`SolveOptions.workers`).

The blocks of a round are independent MIPs. With more than one worker, each worker process
holds the HiGHS instances of its share of the blocks for the whole phase (forked from the
solve, so nothing is copied or pickled up front); a round sends each block its new costs
(and, to re-solve a block without some agreements, its copies' bounds) and gets back its
bound and plan. Each block is solved by the same sequence of calls as in the serial phase,
so the plans and bounds, and the phase's result, are the same whatever the number of
workers. One HiGHS thread per worker: HiGHS instances are never run in threads of one
process. Workers die with the solve (`planner.processes.bind_to_parent`); Ctrl-C stays
with the parent.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection

import highspy
import numpy as np
import scipy.sparse as sp

from planner.processes import bind_to_parent
from planner.solve.highs import highs_lp


@dataclass
class BlockResult:
    ok: bool  # the block's MIP (or LP) solved to optimality
    bound: float  # HiGHS's dual bound (MIP) or optimum (LP)
    values: np.ndarray | None  # the block's plan (its columns, then its agreement copies)


@dataclass
class BlockTask:
    block: int
    costs: np.ndarray | None  # None: keep the block's costs (a re-solve with other copy bounds)
    seconds: float | None  # time left, None: no limit
    copy_bounds: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # (columns, lower, upper), this solve only


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
        solver.setOptionValue("mip_rel_gap", self.gap)
        solver.passModel(lp)
        return solver


def shares(sizes: list[int], workers: int) -> list[list[int]]:
    """The blocks each worker holds, over min(workers, blocks) workers: the largest first, each
    to the worker holding the fewest columns so far (longest processing time first)."""
    order = sorted(range(len(sizes)), key=lambda b: (-sizes[b], b))
    result: list[list[int]] = [[] for _ in range(min(workers, len(sizes)))]
    load = [0] * len(result)
    for b in order:
        k = min(range(len(result)), key=lambda i: (load[i], i))
        result[k].append(b)
        load[k] += sizes[b]
    return result


_FORKED: dict = {}  # set just before the workers are forked: what they build their blocks from


def solve_block(h: highspy.Highs, task: BlockTask, has_integers: bool,
                run: Callable[[highspy.Highs], bool] | None = None) -> BlockResult:
    """One task on the HiGHS holding its block: its costs, its copies' bounds for this solve only,
    a run (`run`, True when optimal; by default HiGHS's own within `task.seconds`), the bound and plan.
    The same calls in the phase's process, in a worker process and on a Dask worker."""
    if task.costs is not None:
        n = len(task.costs)
        h.changeColsCost(n, np.arange(n, dtype=np.int32), task.costs)
    if task.copy_bounds is not None:
        columns, lower, upper = task.copy_bounds
        h.changeColsBounds(len(columns), columns, lower, upper)
    if run is None:
        h.setOptionValue("time_limit", max(task.seconds, 1e-3) if task.seconds is not None else highspy.kHighsInf)
        h.run()
        ok = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    else:
        ok = run(h)
    info = h.getInfo()
    bound = info.mip_dual_bound if has_integers else info.objective_function_value
    values = np.asarray(h.getSolution().col_value) if ok else None
    if task.copy_bounds is not None:  # back to 0..1 after this solve
        columns, lower, _ = task.copy_bounds
        h.changeColsBounds(len(columns), columns, lower, np.ones(len(columns)))
    return BlockResult(ok and np.isfinite(bound), float(bound), values)


def by_holder(tasks: list[BlockTask], owner: dict[int, int]) -> dict[int, list[BlockTask]]:
    """The tasks grouped by the worker (or actor) holding their blocks."""
    batches: dict[int, list[BlockTask]] = {}
    for task in tasks:
        batches.setdefault(owner[task.block], []).append(task)
    return batches


def _work(conn: Connection, blocks: list[int], parent: int) -> None:
    bind_to_parent(parent)
    make: Callable[[int], highspy.Highs] = _FORKED["make"]
    integers: list[bool] = _FORKED["integers"]
    solvers = {b: make(b) for b in blocks}
    while True:
        tasks = conn.recv()
        if tasks is None:
            return
        conn.send([(task.block, solve_block(solvers[task.block], task, integers[task.block])) for task in tasks])


class BlockPool:
    """Worker processes holding the blocks of one phase (module docstring)."""

    def __init__(self, make: Callable[[int], highspy.Highs], sizes: list[int], integers: list[bool],
                 workers: int) -> None:
        _FORKED.update(make=make, integers=integers)
        held = shares(sizes, workers)
        context = multiprocessing.get_context("fork")
        self.owner = {b: k for k, share in enumerate(held) for b in share}
        self.connections: list[Connection] = []
        self.processes = []
        for share in held:
            mine, theirs = context.Pipe()
            process = context.Process(target=_work, args=(theirs, share, os.getpid()), daemon=True)
            process.start()
            theirs.close()
            self.connections.append(mine)
            self.processes.append(process)
        _FORKED.clear()

    def solve(self, tasks: list[BlockTask]) -> dict[int, BlockResult]:
        """Solve the tasks (each block at most once), each on the worker that holds its block."""
        batches = by_holder(tasks, self.owner)
        for k, batch in batches.items():
            self.connections[k].send(batch)
        results: dict[int, BlockResult] = {}
        for k in batches:
            results.update(dict(self.connections[k].recv()))
        return results

    def close(self) -> None:
        for connection in self.connections:
            try:
                connection.send(None)
            except (BrokenPipeError, OSError):
                pass
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
