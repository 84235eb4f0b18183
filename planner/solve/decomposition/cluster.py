"""The blocks of a round solved on an existing Dask cluster (`SolveOptions.scheduler`).

Like the local pool (`pool`), but the holders of the blocks are Dask actors: one per Dask
worker (at most one per block), each built on its worker from the blocks' arrays
(`BlockSpec`) and planner's HiGHS options (`HighsFactory`), and kept for the whole phase.
A round sends each block its new costs and gets back its bound and plan; each block is
solved by the same sequence of calls as in the serial phase (`solve_block`), so the plans,
bounds and the phase's result are the same as with one process. Dask runs an actor's calls
on one thread of its worker, so no two HiGHS instances run side by side in one process.

Sharing: a solve with `--scheduler` uses every worker of the cluster for its blocks, one
actor each; a sweep on a cluster gives each run one worker and solves its blocks there, in
turn (`planner.studies.sweep` sets one worker per run), so the two never multiply.
Ctrl-C: the phase waits on the actors in short polls, so an interrupt reaches the solve at
once; a block already running on a worker finishes there (within the solve's time limit)
and its actor is released with the phase.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import highspy

from planner.errors import ClusterError
from planner.solve.decomposition.pool import BlockResult, BlockSpec, BlockTask, by_holder, shares, solve_block

CONNECT_TIMEOUT = "5s"  # to reach the scheduler (as a sweep waits: planner.studies.sweep)
_POLL = 0.05  # seconds between checks of the actors' answers


def _connect(address: str) -> Any:
    from distributed import Client

    try:
        return Client(address, timeout=CONNECT_TIMEOUT)  # the default client: actors find their client so
    except (OSError, TimeoutError, ValueError, MemoryError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address} within {CONNECT_TIMEOUT}: {exc}") from None


def check_reachable(address: str) -> None:
    """Raise `ClusterError` unless the scheduler at `address` answers and has workers."""
    with _connect(address) as client:
        if not client.scheduler_info()["workers"]:
            raise ClusterError(f"the Dask scheduler at {address} has no workers")


class BlockHolder:
    """A Dask actor holding some blocks' HiGHS instances on its worker."""

    def __init__(self, specs: dict[int, BlockSpec], new_highs: Callable[[], highspy.Highs],
                 integers: dict[int, bool]) -> None:
        self.integers = integers
        self.solvers = {b: spec.build(new_highs) for b, spec in specs.items()}

    def solve(self, tasks: list[BlockTask]) -> list[tuple[int, BlockResult]]:
        return [(task.block, solve_block(self.solvers[task.block], task, self.integers[task.block]))
                for task in tasks]


class DaskBlockPool:
    """The blocks of one phase held by actors on the Dask cluster at `address` (module docstring)."""

    def __init__(self, specs: list[BlockSpec], new_highs: Callable[[], highspy.Highs], integers: list[bool],
                 address: str) -> None:
        self.client = _connect(address)
        try:
            workers = sorted(self.client.scheduler_info()["workers"])
            if not workers:
                raise ClusterError(f"the Dask scheduler at {address} has no workers")
            held = [share for share in shares([spec.matrix.shape[1] for spec in specs], len(workers)) if share]
            self.owner = {b: k for k, share in enumerate(held) for b in share}
            self.futures = [self.client.submit(BlockHolder, {b: specs[b] for b in share}, new_highs,
                                               {b: integers[b] for b in share}, actor=True, pure=False,
                                               workers=[workers[k]], allow_other_workers=False)
                            for k, share in enumerate(held)]
            self.actors: list[Any] = [future.result() for future in self.futures]
        except BaseException:
            self.client.close()
            raise

    def submit(self, tasks: list[BlockTask]) -> list[Any]:
        """Send the tasks to the actors holding their blocks; the answers to wait for (`collect`)."""
        return [self.actors[k].solve(batch) for k, batch in by_holder(tasks, self.owner).items()]

    def drop(self, pending: list[Any]) -> None:
        """Do not wait for submitted tasks: each actor runs its calls in turn, so the next ones
        wait behind them there."""

    def solve(self, tasks: list[BlockTask]) -> dict[int, BlockResult]:
        """The tasks' results, each on the actor holding its block."""
        return self.collect(self.submit(tasks))

    def collect(self, pending: list[Any]) -> dict[int, BlockResult]:
        """The results of submitted tasks, waited for in short polls (module docstring)."""
        while not all(answer.done() for answer in pending):
            time.sleep(_POLL)
        results: dict[int, BlockResult] = {}
        for answer in pending:
            results.update(dict(answer.result()))
        return results

    def close(self) -> None:
        self.actors, self.futures = [], []
        self.client.close()
