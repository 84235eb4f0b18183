"""Which holder solves which block task: what the local pool and the Dask pool share.

A holder is a worker process (`pool.BlockPool`) or a Dask actor (`cluster.DaskBlockPool`);
each builds the blocks of its home share at the start and can build any other block for one
task. `Dispatch.solve` sends a round's tasks one at a time to whichever holder is free, the
longest expected first; `Dispatch.submit` shares tasks out at once by their expected seconds,
for tasks the phase does not wait on at once (module docstring of `pool`). A task's seconds
are what is left of the solve's time when it is sent (`seconds_left`, on the solve's clock),
not when it was made: a task sent late in a round does not run past the deadline. A holder's
transport (a pipe, an actor call) is the subclass's: `send`, `answered`, `receive`, `drain`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from planner.errors import SolveError
from planner.solve.decomposition.block import BlockResult, BlockTask
from planner.status import Status

SecondsLeft = Callable[[], float | None]  # the solve's time left (None: no limit), read as a task is sent


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


class Dispatch(ABC):
    """The tasks of a phase's blocks over its holders (module docstring)."""

    def __init__(self, sizes: list[float], integers: list[bool], holders: int) -> None:
        holders = max(1, min(holders, len(sizes)))  # more would hold nothing (`--workers 10000` made 10,000 lists)
        self.held = [share for share in shares([float(size) for size in sizes], holders) if share]
        self.home = {b: k for k, share in enumerate(self.held) for b in share}
        self.sizes = [float(size) for size in sizes]
        self.integers = integers
        self.costs: dict[int, np.ndarray] = {}  # each block's last costs (sent along to a block solved away from home)
        self.seconds: dict[int, float] = {}  # each block's seconds in its last solve (not an LP relaxation)
        self.relaxing: set[int] = set()  # blocks whose last task is an LP relaxation (its seconds say little)
        self.dropped: list[int] = []  # holders whose answers are no longer wanted (`drop`)

    # -- the transport (subclasses) ----------------------------------------------------------------

    @abstractmethod
    def send(self, k: int, tasks: list[BlockTask]) -> None:
        """Send holder k these tasks (it answers them together)."""

    @abstractmethod
    def answered(self, busy: set[int]) -> list[int]:
        """The busy holders with an answer waiting, once there is one."""

    @abstractmethod
    def receive(self, k: int) -> list[tuple[int, BlockResult, float]]:
        """Holder k's answer: each task's block, result and seconds."""

    @abstractmethod
    def drain(self) -> None:
        """Let go of the answers no longer wanted (`drop`) before new tasks go out."""

    # -- dispatch ----------------------------------------------------------------------------------

    def solve(self, tasks: list[BlockTask], seconds_left: SecondsLeft | None = None) -> dict[int, BlockResult]:
        """The tasks' results, each task sent to the first holder free, the longest expected first
        (`expected`): a holder that ends early takes the next, so a round lasts about its share of
        the work, whatever the blocks' seconds. Each task gets `seconds_left()` as it is sent."""
        self.drain()
        expected = self.expected(tasks)
        queue = sorted(self.prepared(tasks), key=lambda task: (-expected[task.block], task.block))
        results: dict[int, BlockResult] = {}
        busy: set[int] = set()
        while queue or busy:
            for k in range(len(self.held)):
                task = next((t for t in queue if self.may_take(k, t.block)), None) if k not in busy else None
                if task is not None:
                    queue.remove(task)
                    self.send(k, [self.as_sent(k, task, seconds_left)])
                    busy.add(k)
            if not busy:  # (cannot happen: every block may go home)
                raise SolveError(Status.SOLVER_ERROR, "blocks left that no worker of the phase may solve")
            for k in self.answered(busy):
                busy.discard(k)
                results.update(self.take(self.receive(k)))
        return results

    def submit(self, tasks: list[BlockTask], seconds_left: SecondsLeft | None = None) -> list[int]:
        """Send the tasks (each block at most once) to the holders at once, shared by their expected
        seconds (`shares`), and return the holders sent to; `collect` waits for them, before the next
        submit or solve. For tasks the phase does not wait on at once (it completes a plan meanwhile).
        The tasks get `seconds_left()` now; a holder takes from it what its earlier tasks took
        (`block.answer`)."""
        self.drain()
        tasks = self.prepared(tasks)
        expected = self.expected(tasks)
        order = [task.block for task in tasks]
        pinned = {i: self.home[b] for i, b in enumerate(order) if not self.integers[b]}
        sent = []
        for k, share in enumerate(shares([expected[b] for b in order], len(self.held), pinned)):
            if share:
                self.send(k, [self.as_sent(k, tasks[i], seconds_left) for i in share])
                sent.append(k)
        return sent

    def collect(self, sent: list[int]) -> dict[int, BlockResult]:
        """The results of the tasks submitted to `sent`."""
        results: dict[int, BlockResult] = {}
        for k in sent:
            results.update(self.take(self.receive(k)))
        return results

    def drop(self, sent: list[int]) -> None:
        """Do not wait for the tasks submitted to `sent` (`drain` lets go of their answers)."""
        self.dropped = sent

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
        """Whether holder k may solve block b: any block with integers (each of its solves starts
        from a cleared solver and its task's basis, `solve_block`), an LP block only at home (it
        keeps its basis)."""
        return self.integers[b] or self.home[b] == k

    def as_sent(self, k: int, task: BlockTask, seconds_left: SecondsLeft | None) -> BlockTask:
        """The task as sent to holder k now: with the time left (`seconds_left()`, when given), and
        with the block's last costs when it keeps them and k solves a block with integers (its home
        instance, or one built for it, may not hold them)."""
        if seconds_left is not None:
            task = replace(task, seconds=seconds_left())
        if task.costs is None and self.integers[task.block]:
            return replace(task, costs=self.costs[task.block])
        return task

    def take(self, answers: list[tuple[int, BlockResult, float]]) -> dict[int, BlockResult]:
        """The results of a holder's answer; the seconds of each solve are kept (`expected`), those
        of an LP relaxation not (L's slowest MIP block has one of its fastest LPs)."""
        results = {}
        for b, result, spent in answers:
            results[b] = result
            if result.ok and b not in self.relaxing:
                self.seconds[b] = spent
        return results
