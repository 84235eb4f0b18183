"""The blocks of a round solved on an existing Dask cluster (`SolveOptions.scheduler`).

Like the local pool (`pool`), but the holders of the blocks are Dask actors: one per Dask
worker (at most one per block), each built on its worker from the blocks' arrays
(`BlockSpec`, every block's, so that it can build any block for a task) and planner's HiGHS
options (`HighsFactory`), and kept for the whole phase. A round's tasks go to whichever actor
is free, the longest expected first (`dispatch`); each block is solved by the same sequence of
calls as in the serial phase (`solve_block`), so the plans, bounds and the phase's result are
the same as with one process. Dask runs an actor's calls on one thread of its worker, so no
two HiGHS instances run side by side in one process.

Sharing: a solve with `--scheduler` uses every worker of the cluster for its blocks, one
actor each; a sweep on a cluster gives each run one worker and solves its blocks there, in
turn (`planner.studies.sweep` sets one worker per run), so the two never multiply.
Ctrl-C: the phase waits on the actors in short polls, so an interrupt reaches the solve at
once; the actors are released with the phase, and a block still running on a worker is then
stopped there as Ctrl-C stops one (`planner.scheduler.stopped_unless`), also when the
command was killed. Workers that die: an actor's answer never comes once
its worker has died (killed, out of memory; a nanny restarts it elsewhere, without the actor),
so the waits check every second that the busy actors' workers are still the scheduler's; a
dead one, or a call that distributed refuses for it, ends the solve with status solver_error
naming the worker, as a local worker's end does (`pool`); a lost scheduler is a ClusterError.
A worker that is not dead but silent (stopped, a machine swapping) is only given up by the
scheduler after its worker-ttl: it is named meanwhile (a `Notice`, shown as a note).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

import highspy

from planner.errors import ClusterError, Notice, SolveError
from planner.scheduler import (
    CODE,
    SILENCE,
    SilentWorkers,
    actor_wanted,
    check_cluster,
    check_same_code,
    connect,
    is_lost,
    lost,
    stopped_unless,
)
from planner.solve.decomposition.block import BlockResult, BlockSpec, BlockTask, answer
from planner.solve.decomposition.dispatch import Dispatch
from planner.solve.highs import wait_for_left_runs
from planner.status import Status

_POLL = 0.005  # seconds between checks of the actors' answers (a task goes out as soon as one is in)
_CHECK_EVERY = 1.0  # seconds of waiting between checks that the busy actors' workers are alive


def check_reachable(address: str) -> None:
    """Raise `ClusterError` unless the scheduler at `address` answers and has workers."""
    with connect(address) as client:
        if not client.scheduler_info()["workers"]:
            raise ClusterError(f"the Dask scheduler at {address} has no workers")


class BlockHolder:
    """A Dask actor on its worker: its home blocks' HiGHS instances for the whole phase, any other
    block's built for one task and dropped after (as a local worker does)."""

    def __init__(self, specs: list[BlockSpec], home: list[int], new_highs: Callable[[], highspy.Highs],
                 integers: list[bool], sender: str) -> None:
        check_same_code(sender)  # (a worker of an older planner would solve the blocks its way)
        self.specs, self.new_highs, self.integers = specs, new_highs, integers
        self.solvers = {b: specs[b].build(new_highs) for b in home}
        self.wanted = actor_wanted()

    def solve(self, tasks: list[BlockTask]) -> list[tuple[int, BlockResult, float]] | None:
        """The tasks' answers; None when the phase let go of this actor meanwhile (its command
        stopped: `stopped_unless`), once the HiGHS runs it stopped have ended."""
        done = stopped_unless(self.wanted, lambda: answer(tasks, self.solvers, self._build, self.integers))
        if done is None:
            wait_for_left_runs()
        return done

    def _build(self, b: int) -> highspy.Highs:
        return self.specs[b].build(self.new_highs)


class DaskBlockPool(Dispatch):
    """The blocks of one phase on actors of the Dask cluster at `address` (module docstring)."""

    def __init__(self, specs: list[BlockSpec], new_highs: Callable[[], highspy.Highs], integers: list[bool],
                 address: str) -> None:
        self.client = connect(address)
        try:
            check_cluster(self.client, address)
            workers = sorted(self.client.scheduler_info()["workers"])
            if not workers:
                raise ClusterError(f"the Dask scheduler at {address} has no workers")
            super().__init__([spec.matrix.shape[1] for spec in specs], integers, len(workers))
            with warnings.catch_warnings():  # the blocks' arrays go with the actors, once: as meant
                warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
                self.futures = [self.client.submit(BlockHolder, specs, share, new_highs, integers, CODE, actor=True,
                                                   pure=False, workers=[workers[k]], allow_other_workers=False)
                                for k, share in enumerate(self.held)]
                self.actors: list[Any] = [future.result() for future in self.futures]
        except BaseException:
            self.client.close()
            raise
        self.address = address
        self.homes = [workers[k] for k in range(len(self.held))]  # actor k's worker
        self.pending: dict[int, Any] = {}  # actor -> the answer it is working on
        self.checked = time.monotonic()
        self.silent = SilentWorkers()

    def send(self, k: int, tasks: list[BlockTask]) -> None:
        """Call actor k with these tasks (the answer is waited for in `answered` and `receive`)."""
        try:
            self.pending[k] = self.actors[k].solve(tasks)
        except RuntimeError as exc:  # distributed: "Worker holding Actor was lost"
            raise self.lost(k) from exc

    def answered(self, busy: set[int]) -> list[int]:
        """The busy actors whose answer is in, waited for in short polls (module docstring)."""
        while True:
            done = [k for k in sorted(busy) if self.pending[k].done()]
            if done:
                return done
            self.check_alive(busy)
            time.sleep(_POLL)

    def receive(self, k: int) -> list[tuple[int, BlockResult, float]]:
        """Actor k's answer, waited for in short polls (module docstring)."""
        while not self.pending[k].done():
            self.check_alive({k})
            time.sleep(_POLL)
        try:
            return self.pending.pop(k).result()
        except (OSError, RuntimeError) as exc:  # distributed: "Unable to contact Actor's worker"
            raise self.lost(k) from exc

    def check_alive(self, busy: set[int]) -> None:
        """Every `_CHECK_EVERY` seconds of waiting: the scheduler still there, and the workers of
        the busy actors in its list. An actor's answer never comes once its worker has died
        (killed, out of memory; a nanny restarts it at another address, without the actor),
        and the phase waited for ever."""
        now = time.monotonic()
        if now - self.checked < _CHECK_EVERY:
            return
        self.checked = now
        if is_lost(self.client):
            raise lost(self.address, "the decomposition phase")
        alive = self.client.scheduler_info()["workers"]
        gone = [k for k in sorted(busy) if self.homes[k] not in alive]
        if gone:
            raise self.lost(gone[0])
        for worker, _, quiet in self.silent.newly_silent(alive, {self.homes[k]: 1 for k in busy}):
            warnings.warn(Notice(f"the Dask worker {worker} " + SILENCE.format(
                seconds=quiet, what="blocks of the decomposition phase", they="the phase waits")
                + ", then this solve ends with solver_error; or end that worker yourself"), stacklevel=1)

    def lost(self, k: int) -> SolveError:
        """The error for actor k, whose worker ended without an answer."""
        return SolveError(Status.SOLVER_ERROR, f"the Dask worker {self.homes[k]} holding blocks of the decomposition "
                                               "phase ended without an answer (killed, or out of memory?: see the "
                                               "workers' logs); solve again")

    def drain(self) -> None:
        """Let go of the answers no longer wanted: each actor runs its calls in turn, so the next
        ones wait behind them there."""
        for k in self.dropped:
            self.pending.pop(k, None)
        self.dropped = []

    def close(self) -> None:
        self.actors, self.futures = [], []
        self.client.close()
