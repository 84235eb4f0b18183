"""The blocks of a round solved side by side in worker processes (`SolveOptions.workers`).

The blocks of a round are independent MIPs. With more than one worker, worker processes are
forked from the solve (so nothing is copied or pickled up front); each holds the HiGHS
instances of its home blocks (shared out by columns) for the whole phase. A task sends a
block its new costs (and, to re-solve a block without some agreements, its copies' bounds)
and gets back its bound and plan. Each block is solved by the same sequence of calls as in
the serial phase, so the plans and bounds, and the phase's result, are the same whatever the
number of workers.

Dispatch (`dispatch.Dispatch.solve`, shared with the Dask pool). A block's seconds are not in
proportion to its columns (how many nodes its MIP takes is not known before: L's slowest
material takes a quarter of a round and is of middle size), so a round's tasks are not shared
out up front: each goes to the first worker free, the longest expected first (its seconds in
its last solve, before that its columns), and a worker that ends early takes the next. A block
with integers may be solved by any worker, on an instance built for that task when it is not
at home: each of its solves starts from a cleared solver and the basis its task carries
(`solve_block`), so any instance gives the same plan and bound. A block without integers
keeps the basis of its last solve, so only its home worker solves it. Tasks the phase does not
wait on at once (re-solves, while it completes a plan) are shared out up front by their
expected seconds instead (`submit`).

Priority: the workers run at a lower priority than the solve (WORKER_NICE, or the phase's own
when it runs beside branch and bound), so that the solve's own work between rounds (completing
plans, while the workers re-solve blocks for a round's second plan) gets a core when both want
one. One HiGHS thread per block solve (`block.BLOCK_THREADS`), in a worker or in the solve itself,
whatever `--threads` says (that is for branch and bound and the whole model's LPs): N workers
use N cores, and the plans do not depend on the thread count. HiGHS keeps its thread pool per
thread that runs it, and a forked process keeps the forking thread's pool without its threads
(a block MIP run on it fails when its thread count differs). So a worker runs HiGHS only in a
thread of its own, which starts without one, whatever the forking thread ran before (a program
that ran HiGHS in its main thread; a solve itself runs HiGHS only in helper threads,
`planner.solve.highs`). Workers die
with the solve (`planner.processes.bind_to_parent`); Ctrl-C stays with the parent.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, wait

import highspy

from planner.errors import SolveError
from planner.processes import bind_to_parent, how_it_ended, stop_signals_held
from planner.solve.decomposition.block import BlockResult, BlockTask, answer
from planner.solve.decomposition.dispatch import Dispatch
from planner.status import Status

WORKER_NICE = 5  # the workers' priority below the solve's (module docstring)
CLOSE_GRACE = 0.5  # seconds a worker gets to leave at the end of the phase before it is terminated
_POLL = 0.1  # seconds between checks that a worker being waited for is alive

_FORKED: dict = {}  # set just before the workers are forked: what they build their blocks from


def _work(conn: Connection, blocks: list[int], parent: int, nice: int) -> None:
    """A worker: ("solve", tasks) answers each task's block, result and seconds. It holds its home
    blocks (`blocks`) for the whole phase; another block's task is solved on an instance built
    for it (from the data forked into every worker) and dropped after."""
    bind_to_parent(parent)
    if hasattr(os, "setpriority"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0) + nice)
    # HiGHS runs in a thread of the worker's own, which holds no HiGHS thread pool (module docstring)
    serving = threading.Thread(target=_serve, args=(conn, blocks), name="blocks", daemon=True)
    serving.start()
    serving.join()


def _serve(conn: Connection, blocks: list[int]) -> None:
    """A worker's answers to the phase's tasks, until it is told to leave (None)."""
    make: Callable[[int], highspy.Highs] = _FORKED["make"]
    integers: list[bool] = _FORKED["integers"]
    solvers = {b: make(b) for b in blocks}
    while True:
        message = conn.recv()
        if message is None:
            return
        _, tasks = message
        conn.send(answer(tasks, solvers, make, integers))


class BlockPool(Dispatch):
    """Worker processes solving the blocks of one phase (module docstring)."""

    def __init__(self, make: Callable[[int], highspy.Highs], sizes: list[int], integers: list[bool],
                 workers: int, nice: int = WORKER_NICE) -> None:
        super().__init__([float(size) for size in sizes], integers, workers)
        _FORKED.update(make=make, integers=integers)
        context = multiprocessing.get_context("fork")
        self.connections: list[Connection] = []
        self.processes = []
        try:
            with stop_signals_held():
                for share in self.held:
                    mine, theirs = context.Pipe()
                    process = context.Process(target=_work, args=(theirs, share, os.getpid(), nice), daemon=True)
                    process.start()
                    theirs.close()
                    self.connections.append(mine)
                    self.processes.append(process)
        except BaseException:  # a stop held while they were forked: they end with it
            self.close()
            raise
        finally:
            _FORKED.clear()

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
                                               f"({how_it_ended(process.exitcode)}); solve again, with fewer --workers "
                                               f"if memory is short")

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
