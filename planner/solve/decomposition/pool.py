"""The blocks of a round solved side by side in worker processes (`SolveOptions.workers`).

The blocks of a round are independent MIPs. With more than one worker, worker processes are
forked from the solve (so nothing is copied or pickled up front); each holds the HiGHS
instances of its home blocks (shared out by columns) for the whole phase. A task sends a
block its new costs (and, to re-solve a block without some agreements, its copies' bounds)
and gets back its bound and plan. Each block is solved by the same sequence of calls as in
the serial phase, so the plans and bounds, and the phase's result, are the same whatever the
number of workers.

Dispatch (`BlockPool.solve`). A block's seconds are not in proportion to its columns (how
many nodes its MIP takes is not known before: L's slowest material takes a quarter of a
round and is of middle size), so a round's tasks are not shared out up front: each goes to
the first worker free, the longest expected first (its seconds in its last solve, before
that its columns), and a worker that ends early takes the next. A block with integers may
be solved by any worker, on an instance built for that task when it is not at home: each of
its solves starts from a cleared solver (`solve_block`), so any instance gives the same plan
and bound. A block without integers keeps the basis of its last solve, so only its home
worker solves it. Tasks the phase does not wait on at once (re-solves, while it completes a
plan) are shared out up front by their expected seconds instead (`submit`).

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
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait

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
    relax: bool = False  # the block's LP relaxation (`planner.solve.decomposition.first`), this solve only


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


WORKER_NICE = 5  # the workers' priority below the solve's (module docstring)
CLOSE_GRACE = 0.5  # seconds a worker gets to leave at the end of the phase before it is terminated
_POLL = 0.1  # seconds between checks that a worker being waited for is alive


def shares(sizes: list[float], workers: int, pinned: dict[int, int] | None = None) -> list[list[int]]:
    """The items (blocks or tasks) each of `workers` workers holds: the largest first, each to the
    worker with the least size so far (longest processing time first); `pinned` items stay with
    their worker (item -> worker), and count in its size. A worker may get none."""
    pinned = pinned or {}
    result: list[list[int]] = [[] for _ in range(workers)]
    load = [0.0] * workers
    for b, k in sorted(pinned.items()):
        result[k].append(b)
        load[k] += sizes[b]
    order = sorted((b for b in range(len(sizes)) if b not in pinned), key=lambda b: (-sizes[b], b))
    for b in order:
        k = min(range(workers), key=lambda i: (load[i], i))
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
    a run (`run`, True when optimal; by default HiGHS's own within `task.seconds`), the bound and plan
    (of its LP relaxation when `task.relax`: HiGHS's `solve_relaxation`, for this solve only).
    The same calls in the phase's process, in a worker process and on a Dask worker. A solve of a
    block with integers starts from a cleared solver, so that it does not depend on the block's
    earlier solves: any worker, on any instance of the block, gives the same plan and bound."""
    if has_integers:
        h.clearSolver()
        if task.relax:
            h.setOptionValue("solve_relaxation", True)
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
    bound = info.mip_dual_bound if has_integers and not task.relax else info.objective_function_value
    if has_integers and task.relax:
        h.setOptionValue("solve_relaxation", False)
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


def _work(conn: Connection, blocks: list[int], parent: int, nice: int) -> None:
    """A worker: ("solve", tasks) answers each task's block, result and seconds. It holds its home
    blocks (`blocks`) for the whole phase; another block's task is solved on an instance built
    for it (from the data forked into every worker) and dropped after."""
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
        _, tasks = message
        answers = []
        for task in tasks:
            started = time.perf_counter()
            h = solvers[task.block] if task.block in solvers else make(task.block)
            result = solve_block(h, task, integers[task.block])
            answers.append((task.block, result, time.perf_counter() - started))
        conn.send(answers)


class BlockPool:
    """Worker processes solving the blocks of one phase (module docstring)."""

    def __init__(self, make: Callable[[int], highspy.Highs], sizes: list[int], integers: list[bool],
                 workers: int, nice: int = WORKER_NICE) -> None:
        _FORKED.update(make=make, integers=integers)
        held = [share for share in shares([float(size) for size in sizes], workers) if share]
        self.home = {b: k for k, share in enumerate(held) for b in share}
        self.sizes = [float(size) for size in sizes]
        self.integers = integers
        self.costs: dict[int, np.ndarray] = {}  # each block's last costs (sent along to a block solved away from home)
        self.seconds: dict[int, float] = {}  # each block's seconds in its last solve (not an LP relaxation)
        self.relaxing: set[int] = set()  # blocks whose last task is an LP relaxation (its seconds say little)
        self.dropped: list[int] = []  # workers whose answers are no longer wanted (`drop`)
        context = multiprocessing.get_context("fork")
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

    def solve(self, tasks: list[BlockTask]) -> dict[int, BlockResult]:
        """The tasks' results, each task sent to the first worker free, the longest expected first
        (`expected`): a worker that ends early takes the next, so a round lasts about its share
        of the work, whatever the blocks' seconds (module docstring)."""
        self.drain()
        expected = self.expected(tasks)
        queue = sorted(self.prepared(tasks), key=lambda task: (-expected[task.block], task.block))
        results: dict[int, BlockResult] = {}
        busy: set[int] = set()
        while queue or busy:
            for k in range(len(self.connections)):
                task = next((t for t in queue if self.may_take(k, t.block)), None) if k not in busy else None
                if task is not None:
                    queue.remove(task)
                    self.send(k, [self.carrying_costs(k, task)])
                    busy.add(k)
            if not busy:  # (cannot happen: every block may go home)
                raise SolveError(Status.SOLVER_ERROR, "blocks left that no worker of the phase may solve")
            for k in self.answered(busy):
                busy.discard(k)
                results.update(self.take(self.receive(k)))
        return results

    def submit(self, tasks: list[BlockTask]) -> list[int]:
        """Send the tasks (each block at most once) to the workers at once, shared by their expected
        seconds (`shares`), and return the workers sent to; `collect` waits for them, before the next
        submit or solve. For tasks the phase does not wait on at once (it completes a plan meanwhile)."""
        self.drain()
        tasks = self.prepared(tasks)
        expected = self.expected(tasks)
        order = [task.block for task in tasks]
        pinned = {i: self.home[b] for i, b in enumerate(order) if not self.integers[b]}
        held = shares([expected[b] for b in order], len(self.connections), pinned)
        sent = []
        for k, share in enumerate(held):
            if share:
                self.send(k, [self.carrying_costs(k, tasks[i]) for i in share])
                sent.append(k)
        return sent

    def collect(self, sent: list[int]) -> dict[int, BlockResult]:
        """The results of the tasks submitted to `sent`."""
        results: dict[int, BlockResult] = {}
        for k in sent:
            results.update(self.take(self.receive(k)))
        return results

    def prepared(self, tasks: list[BlockTask]) -> list[BlockTask]:
        """The tasks, each block's costs kept (a task without costs keeps the block's last ones)."""
        for task in tasks:
            if task.costs is not None:
                self.costs[task.block] = task.costs
            (self.relaxing.add if task.relax else self.relaxing.discard)(task.block)
        return list(tasks)

    def expected(self, tasks: list[BlockTask]) -> dict[int, float]:
        """What each task's block is expected to take, for the order of dispatch: its seconds in its
        last solve when every block of the tasks has been solved, else its columns."""
        blocks = [task.block for task in tasks]
        if all(b in self.seconds for b in blocks):
            return {b: self.seconds[b] for b in blocks}
        return {b: self.sizes[b] for b in blocks}

    def may_take(self, k: int, b: int) -> bool:
        """Whether worker k may solve block b: any block with integers (each of its solves starts
        from a cleared solver, `solve_block`), an LP block only at home (it keeps its basis)."""
        return self.integers[b] or self.home[b] == k

    def carrying_costs(self, k: int, task: BlockTask) -> BlockTask:
        """The task as sent to worker k: with the block's last costs when it keeps them and k
        solves a block with integers (its home instance, or one built for it, may not hold them)."""
        if task.costs is None and self.integers[task.block]:
            return replace(task, costs=self.costs[task.block])
        return task

    def take(self, answers: list[tuple[int, BlockResult, float]]) -> dict[int, BlockResult]:
        """The results of a worker's answer; the seconds of each solve are kept (`expected`), those
        of an LP relaxation not (L's slowest MIP block has one of its fastest LPs)."""
        results = {}
        for b, result, spent in answers:
            results[b] = result
            if result.ok and b not in self.relaxing:
                self.seconds[b] = spent
        return results

    def send(self, k: int, tasks: list[BlockTask]) -> None:
        try:
            self.connections[k].send(("solve", tasks))
        except OSError:  # BrokenPipeError: the worker has ended
            raise self.lost(k) from None

    def answered(self, busy: set[int]) -> list[int]:
        """The busy workers with an answer waiting, once there is one; `SolveError` when a busy
        worker ended without one."""
        while True:
            ready = wait([self.connections[k] for k in sorted(busy)], timeout=_POLL)
            if ready:
                return [k for k in sorted(busy) if self.connections[k] in ready]
            for k in busy:
                if not self.processes[k].is_alive():
                    raise self.lost(k)

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
        before the next submit or solve, or the workers are ended by `close`."""
        self.dropped = sent

    def drain(self) -> None:
        """Read and drop the answers no longer wanted (`drop`): they come first on their pipes."""
        for k in self.dropped:
            self.receive(k)
        self.dropped = []

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
