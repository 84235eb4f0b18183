"""A Dask scheduler of `--scheduler`, as a solve's phase (`planner.solve.decomposition.cluster`)
and a sweep (`planner.studies.sweep`) both reach it: one way to connect, one time to wait, one
way to say it is gone, one check that a worker runs the same planner as the command that sent
it work (`CODE`, `check_same_code`). `distributed` is imported only when a scheduler is asked for.

Dask sends planner's functions by name, and a worker runs its own installed planner: a cluster
whose workers kept an older planner (the command's machine updated, the workers not) gave that
planner's numbers, faults fixed since included, under the new one's name. Planner's version
number does not tell two of its states apart, so its code does: the SHA-256 of its source files
as this process read them, with the version of HiGHS that solves (another HiGHS may choose
another of two plans that tie, and the phase on a cluster promises the serial run's plan).
The scheduler is asked too (it unpickles planner's tasks), and every question has a time limit
(`CONNECT_TIMEOUT` for the scheduler, `PROBE_TIMEOUT` for the workers: a stopped one never answers).
A worker that falls silent later, holding work, is named while the command waits (`SilentWorkers`).

On a worker, work whose command has gone (Ctrl-C, `kill -9`) is stopped as Ctrl-C stops a local
solve (`stopped_unless`): Dask itself lets it run to its end."""

from __future__ import annotations

import ctypes
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import planner
from planner.errors import ClusterError

T = TypeVar("T")


def _code_probe() -> Callable[[], str]:
    """A function naming the planner that the process calling it imports: the SHA-256 of its
    source files' paths in the package and their bytes (the first 12 hex digits), and the
    version of HiGHS it solves with. Made here, inside a function, so that
    Dask sends it by value: a scheduler or worker of any planner, or of none, can run it (`check_cluster`)."""

    def planner_code() -> str:
        import hashlib
        import importlib.metadata
        import sys
        from pathlib import Path

        loaded = getattr(sys.modules.get("planner.scheduler"), "CODE", None)
        if loaded is not None:  # what the worker runs: read as it loaded planner, not the files as they are now
            return loaded

        import planner

        root = Path(planner.__file__).parent
        digest = hashlib.sha256()
        for file in sorted(root.rglob("*.py")):
            digest.update(file.relative_to(root).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
        return f"{digest.hexdigest()[:12]} with HiGHS {importlib.metadata.version('highspy')}"

    return planner_code


_REMEDY = "install the same planner and HiGHS on every worker and start them again"
CONNECT_TIMEOUT = "5s"  # to reach the scheduler, and for it to answer
PROBE_TIMEOUT = 30.0  # seconds for every worker to answer a question of planner's
_PLANNER_CODE = _code_probe()
CODE = _PLANNER_CODE()  # read as this module is imported: with the modules a worker loads for its first task


def check_cluster(client: Any, address: str) -> None:
    """`ClusterError` unless the scheduler and every worker of the cluster run this planner, asked
    before any work is sent. The scheduler reads each task Dask is sent (it unpickles planner's
    functions by name): one started from a Python without planner, as a scheduler in a container
    of its own often is, refused every task, and the command ended in 'internal error: this is a
    bug'. A worker of another planner may not even read planner's tasks (a function it lacks
    broke its connection and ended it). Workers that join later are checked by each task
    (`check_same_code`)."""
    try:
        answer: object = client.run_on_scheduler(_PLANNER_CODE, callback_timeout=CONNECT_TIMEOUT)
    except ImportError as exc:  # (a planner or HiGHS the scheduler's Python cannot import)
        answer = exc
    except TimeoutError:  # (it answered `connect` a moment ago: the time to reach it)
        raise ClusterError(f"the Dask scheduler at {address} did not answer within {CONNECT_TIMEOUT} (stopped "
                           "or frozen?)") from None
    if answer != CODE:
        raise ClusterError(f"the Dask scheduler at {address} runs another planner than this command "
                           f"({_said(answer)}; this command's code {CODE}): Dask's scheduler reads planner's "
                           "tasks, so it needs planner too; install the same planner and HiGHS where the "
                           "scheduler runs, and on every worker, and start them again")
    answers = ask_workers(client, address, _PLANNER_CODE)
    other = {worker: answer for worker, answer in answers.items() if answer != CODE}
    if other:
        worker, answer = sorted(other.items(), key=lambda item: item[0])[0]
        raise ClusterError(f"{len(other)} of the {len(answers)} Dask workers at {address} run another planner than "
                           f"this command (the first, {worker}: {_said(answer)}; this command's code {CODE}); "
                           f"{_REMEDY}")


def ask_workers(client: Any, address: str, function: Callable[..., object], *args: object) -> dict[str, object]:
    """Each worker's answer to `function(*args)`, run there (an exception for one that raised).
    `ClusterError` when they have not all answered within PROBE_TIMEOUT seconds: a worker that
    is stopped (`kill -STOP`) or frozen (a machine swapping) never answers, and the command
    waited for ever without a word before it sent any work."""
    try:
        return client.run(function, *args, on_error="return", callback_timeout=PROBE_TIMEOUT)
    except TimeoutError:
        raise ClusterError(f"the Dask workers at {address} did not all answer within {PROBE_TIMEOUT:g} s"
                           f"{_quietest(client)}: a worker that is stopped or frozen (a machine out of memory, "
                           "swapping) holds up any work sent to it; end it or start it again") from None


def _quietest(client: Any) -> str:
    """Which worker the scheduler heard from least recently, as the words that name it."""
    workers = client.scheduler_info()["workers"]
    if len(workers) == 1:
        return f" (its one worker: {next(iter(workers))})"
    heard = sorted((info.get("last_seen", 0.0), worker) for worker, info in workers.items())
    if len(heard) < 2 or heard[-1][0] - heard[0][0] < 1:
        return ""
    (oldest, worker), latest = heard[0], heard[-1][0]
    return f" (the worker heard from least recently: {worker}, {latest - oldest:.0f} s before the others)"


def _said(answer: object) -> str:
    """What a probe's answer says of the planner that ran it."""
    if isinstance(answer, str):
        return f"code {answer}"
    return f"no planner it can run: {type(answer).__name__}: {answer}"


SILENT_AFTER = 30.0  # seconds without word from a worker holding this command's work before it is named


class SilentWorkers:
    """The workers holding this command's work that the scheduler has not heard from for
    `SILENT_AFTER` seconds, each named once (`newly_silent`) until it is heard from again.

    A worker tells the scheduler it is alive every second or so (its heartbeat moves its
    `last_seen`). One that stops (`kill -STOP`, a machine swapping) holds the work sent to it
    without a word, and Dask gives it up only after the scheduler's
    `distributed.scheduler.worker-ttl` (5 minutes by default), then sends that work elsewhere.
    Silence is timed on this process's clock from when a worker's `last_seen` was first read
    unchanged, so the two machines' clocks need not agree."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.after, self.clock = SILENT_AFTER, clock
        self._heard: dict[str, tuple[object, float]] = {}  # worker: (its last_seen, when first read so here)
        self._named: set[str] = set()

    def newly_silent(self, workers: dict[str, dict], holding: dict[str, int]) -> list[tuple[str, int, float]]:
        """(worker, how much of this command's work it holds, seconds unheard) for each worker of
        `holding` (worker: how much) that has fallen silent since the last call; `workers` is
        what the scheduler says of its workers now (`client.scheduler_info()["workers"]`)."""
        now = self.clock()
        found = []
        for worker, count in sorted(holding.items()):
            if not count or worker not in workers:
                continue
            seen, heard = workers[worker].get("last_seen"), self._heard.get(worker)
            if heard is None or heard[0] != seen:
                self._heard[worker] = (seen, now)
                self._named.discard(worker)  # heard from: a later silence is named again
            elif now - heard[1] >= self.after and worker not in self._named:
                self._named.add(worker)
                found.append((worker, count, now - heard[1]))
        return found


def tasks_held(client: Any, keys: set) -> dict[str, int]:
    """How many of the tasks `keys` each worker is running or has been sent."""
    return {worker: len(keys.intersection(held)) for worker, held in client.processing().items()}


SILENCE = ("has not been heard from for {seconds:.0f} s and holds {what}: {they} for it (stopped, or its machine "
           "out of memory?). The scheduler gives it up after its worker-ttl (distributed.scheduler.worker-ttl, 5 "
           "minutes unless set otherwise)")


def check_same_code(sender: str) -> None:
    """On a Dask worker: `ClusterError` unless its planner is the one whose code is `sender`."""
    if sender != CODE:
        raise ClusterError(f"the Dask worker on {socket.gethostname()} runs another planner than the command that "
                           f"sent it work (planner {planner.__version__} at {Path(planner.__file__).parent}, its "
                           f"code {CODE} where the command's is {sender}); {_REMEDY}")


def connect(address: str) -> Any:
    """A client of the scheduler at `address` (the default client: Dask actors find theirs so);
    `ClusterError` when it does not answer within CONNECT_TIMEOUT."""
    from distributed import Client

    try:
        return Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError, MemoryError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address} within {CONNECT_TIMEOUT}: {exc}") from None
    except TypeError as exc:  # distributed's word for a tls:// address without TLS settings
        if not address.startswith("tls://"):
            raise
        raise ClusterError(f"cannot connect to the Dask scheduler at {address}: {exc}: a tls:// scheduler needs "
                           "this machine's certificate and key in Dask's configuration (distributed.comm.tls."
                           "client.cert and .key, and distributed.comm.tls.ca-file)") from None


def is_lost(client: Any) -> bool:
    """Whether `client` has lost its scheduler (it gives up reconnecting after a few seconds)."""
    return client.status != "running"


def lost(address: str, during: str, cause: object = None) -> ClusterError:
    """The error for a scheduler gone `during` some work."""
    return ClusterError(f"lost the Dask scheduler at {address} during {during}" + (f": {cause}" if cause else ""))


# ----------------------------------------------------------------------------- on a worker

RELEASE_POLL = 0.2  # seconds between a worker's checks that the command still wants its work


class Released(KeyboardInterrupt):
    """Raised in the thread of a Dask worker that does work no command wants any more: the
    command that sent it was stopped (Ctrl-C, SIGTERM, `kill -9`: its client's connection
    closes and the scheduler lets go of its work). A KeyboardInterrupt, so that every part of a
    solve stops as on Ctrl-C (`planner.solve.highs.HighsRun.wait` stops HiGHS)."""


def task_wanted() -> Callable[[], bool]:
    """On a Dask worker, inside a task: whether the scheduler still wants the task's result.
    Dask does not stop a running task whose command let go of it: it marks it cancelled on its
    worker and lets it finish (`Worker.state`)."""
    from distributed import get_worker

    worker = get_worker()
    key = worker.get_current_task()

    def wanted() -> bool:
        task = worker.state.tasks.get(key)
        return task is not None and task.state != "cancelled"

    return wanted


def actor_wanted() -> Callable[[], bool]:
    """On a Dask worker, while an actor is made: whether the scheduler still holds that actor
    (its command's client let go of it, and the worker dropped it)."""
    from distributed import get_worker

    worker = get_worker()
    key = worker.get_current_task()
    return lambda: key in worker.state.actors


def stopped_unless(wanted: Callable[[], bool], call: Callable[[], T], poll: float = RELEASE_POLL) -> T | None:
    """`call()` in this thread, stopped as Ctrl-C stops it once `wanted()` says no (it is asked
    every `poll` seconds in a thread beside): `Released` is raised in this thread, and None is
    returned. Dask lets a task or an actor's call run to its end after its command has gone, so
    a stopped sweep's run solved on for as long as its time limit allowed, holding a core of the
    cluster that the next sweep waited for."""
    target = threading.get_ident()
    finished = threading.Event()
    lock = threading.Lock()  # no Released once `call` has returned

    def watch() -> None:
        sent = False
        while not finished.wait(poll):
            if sent and target not in _SWALLOWED:
                continue  # raised, and not swallowed (yet): the call is stopping
            if sent or not wanted():
                with lock:
                    if not finished.is_set():
                        _SWALLOWED.discard(target)
                        _raise_in(target, Released)
                        sent = True

    _catch_swallowed()
    try:
        try:
            threading.Thread(target=watch, name="planner-released", daemon=True).start()
            return call()
        finally:
            with lock:
                finished.set()
                _SWALLOWED.discard(target)
                # Python raises an exception sent to a thread at its next check, which may come
                # only after this function has returned: one not raised yet is dropped here
                _raise_in(target, None)
    except Released:
        return None


_SWALLOWED: set[int] = set()  # threads whose `Released` Python dropped, to be raised again


def _catch_swallowed() -> None:
    """Have `Released` raised again where Python swallowed it: an exception raised in a garbage
    collector's callback or an object's finaliser (`__del__`), which run in whatever thread
    triggers them, is printed as 'Exception ignored in' and dropped (`sys.unraisablehook`). So
    the first stop of a run on a Dask worker was lost when it landed in distributed's own
    collector callback during the model's build, and the run solved on to its end. The hook
    notes the thread, and the watch of `stopped_unless` raises it again (from the hook itself
    it would be raised inside the hook, and dropped as well)."""
    if getattr(sys.unraisablehook, "planner_released", False):
        return
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, Released):
            _SWALLOWED.add(threading.get_ident())
        else:
            previous(unraisable)

    hook.planner_released = True  # type: ignore[attr-defined]
    sys.unraisablehook = hook


def _raise_in(thread: int, exception: type[BaseException] | None) -> None:
    """Have the thread whose ident is `thread` raise `exception` at its next check (between two
    of its Python instructions); None drops one sent and not yet raised."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread),
                                               None if exception is None else ctypes.py_object(exception))
