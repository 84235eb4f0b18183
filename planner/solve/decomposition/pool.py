"""The blocks of a round solved side by side in worker processes (`SolveOptions.workers`).

The blocks of a round are independent MIPs. With more than one worker, each worker process
holds the HiGHS instances of its share of the blocks (forked from the solve, so nothing is
copied or pickled up front); a round sends each block its new costs (and, to re-solve a
block without some agreements, its copies' bounds) and gets back its bound and plan. Each
block is solved by the same sequence of calls as in the serial phase, so the plans and
bounds, and the phase's result, are the same whatever the number of workers.

Shares. The first shares balance the blocks' columns (`shares`); a block's time is not in
proportion to them (how many nodes its MIP takes is not known before), so each round of
every block after the first starts by balancing the shares again on the seconds each block
took in the last one, when that shortens the round by more than REBALANCE. A block that
moves is built afresh in its new worker (from the data forked into every worker), with its
last costs. Only
blocks with integers move: each of their solves starts from a cleared solver (`solve_block`),
so a fresh instance gives the same plan and bound, while an LP block keeps the basis of its
last solve, and its plan could differ.

Priority: the workers run at a lower priority than the solve (WORKER_NICE, or the phase's own
when it runs beside branch and bound), so that the solve's own work between rounds (completing
plans, while the workers re-solve blocks for a round's second plan) gets a core when both want
one. One HiGHS thread per block solve (BLOCK_THREADS), in a worker or in the solve itself,
whatever `--threads` says (that is for branch and bound and the whole model's LPs): N workers
use N cores, and the plans do not depend on the thread count. HiGHS keeps its thread pool per
thread that runs it; the pool is forked from the solve's own thread, which runs HiGHS only
through helper threads (`planner.solve.highs`), so a worker starts without one. Workers die
with the solve (`planner.processes.bind_to_parent`); Ctrl-C stays with the parent.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection

import highspy
import numpy as np
import scipy.sparse as sp

from planner.errors import SolveError
from planner.processes import bind_to_parent
from planner.solve.highs import highs_lp
from planner.status import Status


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
        for name, value in BLOCK_OPTIONS.items():
            solver.setOptionValue(name, value)
        solver.passModel(lp)
        return solver


REBALANCE = 0.1  # share the blocks again when that shortens a round by more than this share
WORKER_NICE = 5  # the workers' priority below the solve's (module docstring)
CLOSE_GRACE = 0.5  # seconds a worker gets to leave at the end of the phase before it is terminated
_POLL = 0.1  # seconds between checks that a worker being waited for is alive


def shares(sizes: list[float], workers: int, pinned: dict[int, int] | None = None) -> list[list[int]]:
    """The blocks each worker holds, over min(workers, blocks) workers: the largest first, each
    to the worker with the least size so far (longest processing time first); `pinned` blocks
    stay with their worker (block -> worker), and count in its size."""
    pinned = pinned or {}
    result: list[list[int]] = [[] for _ in range(min(workers, len(sizes)))]
    load = [0.0] * len(result)
    for b, k in sorted(pinned.items()):
        result[k].append(b)
        load[k] += sizes[b]
    order = sorted((b for b in range(len(sizes)) if b not in pinned), key=lambda b: (-sizes[b], b))
    for b in order:
        k = min(range(len(result)), key=lambda i: (load[i], i))
        result[k].append(b)
        load[k] += sizes[b]
    return result


# A block MIP has a few dozen binaries over a large LP (its recourse in every scenario): strong
# branching until pseudocosts are reliable costs more LP iterations than the nodes it saves
# (measured in the README, "How a plan is solved").
BLOCK_OPTIONS = {"mip_pscost_minreliable": 0}
# One HiGHS thread per block solve (module docstring). Two threads per block MIP in a serial
# phase were slower, not faster: M with 300 scenarios, phase 19.3 s against 16.4 s.
BLOCK_THREADS = 1

_FORKED: dict = {}  # set just before the workers are forked: what they build their blocks from


def solve_block(h: highspy.Highs, task: BlockTask, has_integers: bool,
                run: Callable[[highspy.Highs], bool] | None = None) -> BlockResult:
    """One task on the HiGHS holding its block: its costs, its copies' bounds for this solve only,
    a run (`run`, True when optimal; by default HiGHS's own within `task.seconds`), the bound and plan.
    The same calls in the phase's process, in a worker process and on a Dask worker. A MIP
    solve starts from a cleared solver, so that it does not depend on the block's earlier
    solves: a block moved to another worker (`BlockPool.rebalance`) gives the same plan."""
    if has_integers:
        h.clearSolver()
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


def longest(held: list[list[int]], seconds: list[float]) -> float:
    """The seconds of a round of every block on these shares: the busiest worker's."""
    return max(sum(seconds[b] for b in share) for share in held)


def _work(conn: Connection, blocks: list[int], parent: int, nice: int) -> None:
    """A worker: ("solve", tasks) answers each task's block, result and seconds; ("hold",
    (blocks, costs)) builds the blocks it did not hold, with their last costs, and drops the
    ones it no longer holds."""
    bind_to_parent(parent)
    if hasattr(os, "setpriority"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0) + nice)
    make: Callable[[int], highspy.Highs] = _FORKED["make"]
    integers: list[bool] = _FORKED["integers"]
    solvers = {b: make(b) for b in blocks}
    while True:
        message = conn.recv()
        if message is None:
            return
        kind, payload = message
        if kind == "hold":
            held, costs = payload
            for b in set(solvers) - set(held):
                del solvers[b]
            for b in held:
                if b not in solvers:
                    solvers[b] = make(b)
            for b, cost in costs.items():
                solvers[b].changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), cost)
            continue
        answers = []
        for task in payload:
            started = time.perf_counter()
            result = solve_block(solvers[task.block], task, integers[task.block])
            answers.append((task.block, result, time.perf_counter() - started))
        conn.send(answers)


class BlockPool:
    """Worker processes holding the blocks of one phase (module docstring)."""

    def __init__(self, make: Callable[[int], highspy.Highs], sizes: list[int], integers: list[bool],
                 workers: int, nice: int = WORKER_NICE) -> None:
        _FORKED.update(make=make, integers=integers)
        self.held = held = shares([float(size) for size in sizes], workers)
        self.integers = integers
        self.costs: dict[int, np.ndarray] = {}  # each block's last costs (a block that moves takes them along)
        self.measured: list[float] | None = None  # each block's seconds in the last round of all
        self.dropped: list[int] = []  # workers whose answers are no longer wanted (`drop`)
        context = multiprocessing.get_context("fork")
        self.owner = {b: k for k, share in enumerate(held) for b in share}
        self.connections: list[Connection] = []
        self.processes = []
        for share in held:
            mine, theirs = context.Pipe()
            process = context.Process(target=_work, args=(theirs, share, os.getpid(), nice), daemon=True)
            process.start()
            theirs.close()
            self.connections.append(mine)
            self.processes.append(process)
        _FORKED.clear()

    def submit(self, tasks: list[BlockTask]) -> list[int]:
        """Send the tasks (each block at most once) to the workers holding their blocks, and
        return at once (the workers sent to); `collect` waits for them, before the next submit."""
        if self.dropped:  # answers of tasks no longer wanted come first on their pipes
            self.collect(self.dropped)
            self.dropped = []
        if self.measured is not None and len(tasks) == len(self.owner):  # a new round of every block
            self.rebalance(self.measured)
            self.measured = None
        for task in tasks:
            if task.costs is not None:
                self.costs[task.block] = task.costs
        batches = by_holder(tasks, self.owner)
        for k, batch in batches.items():
            try:
                self.connections[k].send(("solve", batch))
            except OSError:  # BrokenPipeError: the worker has ended
                raise self.lost(k) from None
        return list(batches)

    def collect(self, sent: list[int]) -> dict[int, BlockResult]:
        """The results of the tasks submitted to `sent`. The seconds of a round of every block
        are kept: the next such round first shares the blocks again on them (`rebalance`), so
        that blocks are built while the phase waits for the workers, and not after its last round."""
        results: dict[int, BlockResult] = {}
        seconds = [0.0] * len(self.owner)
        for k in sent:
            for b, result, spent in self.receive(k):
                results[b], seconds[b] = result, spent
        if len(results) == len(self.owner) and all(result.ok for result in results.values()):
            self.measured = seconds
        return results

    def receive(self, k: int) -> list[tuple[int, BlockResult, float]]:
        """Worker k's answer; `SolveError` when the worker ended without one (killed, out of
        memory): the other workers hold its pipe open too, so a plain wait would never end."""
        connection, process = self.connections[k], self.processes[k]
        while not connection.poll(_POLL):
            if not process.is_alive():
                break
        try:
            if connection.poll():
                return connection.recv()
        except (EOFError, OSError):
            pass
        raise self.lost(k)

    def lost(self, k: int) -> SolveError:
        """The error for worker k, ended without an answer."""
        process = self.processes[k]
        process.join(timeout=1)
        return SolveError(Status.SOLVER_ERROR, f"a worker process of the decomposition phase ended without an answer "
                                               f"(exit code {process.exitcode}); solve again, with fewer --workers "
                                               f"if memory is short")

    def drop(self, sent: list[int]) -> None:
        """Do not wait for the tasks submitted to `sent`: their answers are read and dropped
        before the next submit, or the workers are ended by `close`."""
        self.dropped = sent

    def rebalance(self, seconds: list[float]) -> None:
        """Share the blocks again on `seconds` (blocks without integers stay), when that shortens
        a round by more than REBALANCE; each worker then builds the blocks it gains."""
        pinned = {b: k for b, k in self.owner.items() if not self.integers[b]}
        held = shares(seconds, len(self.held), pinned)
        if longest(held, seconds) >= (1 - REBALANCE) * longest(self.held, seconds):
            return
        for k, share in enumerate(held):
            if sorted(share) != sorted(self.held[k]):
                gained = set(share) - set(self.held[k])
                self.connections[k].send(("hold", (share, {b: self.costs[b] for b in gained if b in self.costs})))
        self.held = held
        self.owner = {b: k for k, share in enumerate(held) for b in share}

    def close(self) -> None:
        """End the workers: idle ones leave at once; those still solving (the phase was interrupted,
        or it dropped the re-solves it had sent) are terminated CLOSE_GRACE seconds after the call,
        all together (one grace, not one per worker: Ctrl-C stays within a second)."""
        for connection in self.connections:
            try:
                connection.send(None)
            except (BrokenPipeError, OSError):
                pass
        deadline = time.monotonic() + CLOSE_GRACE
        for process in self.processes:
            process.join(timeout=max(0.0, deadline - time.monotonic()))
        for process in self.processes:
            if process.is_alive():
                process.terminate()
        for process in self.processes:
            process.join(timeout=1)
