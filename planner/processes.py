"""Worker processes that die with their parent and leave Ctrl-C (and SIGTERM, SIGHUP) to it (sweeps,
block pools, the solves of `--metrics`)."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from planner.errors import WorkerLost
from planner.launch import STOP_SIGNALS

T = TypeVar("T")


def usable_cores(cgroups: Path = Path("/sys/fs/cgroup"), membership: Path = Path("/proc/self/cgroup")) -> int:
    """The cores this process may use: those it may run on (its affinity where the system tells
    it, else all), and no more than its control group's CPU quota allows, rounded up. A container
    limited to 2 CPUs on a 64-core machine (`docker --cpus 2`, a Kubernetes CPU limit) may run on
    all 64 cores, a 64th of the time each: a sweep started 64 worker processes there, each with
    its model and HiGHS in memory, to share 2 CPUs."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = cpu_quota(cgroups, membership)
    return max(1, min(cores, math.ceil(quota))) if quota is not None else cores


def cpu_quota(cgroups: Path = Path("/sys/fs/cgroup"), membership: Path = Path("/proc/self/cgroup")) -> float | None:
    """The CPUs this process's control group and its ancestors allow (the least quota over
    period: cgroup v2's cpu.max, v1's cpu.cfs_quota_us), None where nothing limits them or the
    system does not say. The group is looked for where /proc/self/cgroup names it and, in a
    container whose cgroups are its own, at the root."""
    quotas = [quota for folder in control_groups("cpu", ("cpu,cpuacct", "cpu"), cgroups, membership)
              if (quota := _quota_of(folder)) is not None]
    return min(quotas) if quotas else None


def control_groups(controller: str, v1_mounts: tuple[str, ...], cgroups: Path, membership: Path) -> list[Path]:
    """The folders of this process's control group and its ancestors for `controller`: cgroup
    v2's one hierarchy, or v1's hierarchy of that controller (mounted as `v1_mounts` name it).
    Empty where the system does not say."""
    try:
        lines = membership.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    folders = []
    for line in lines:
        hierarchy, controllers, where = (line.split(":", 2) + ["", ""])[:3]
        if hierarchy == "0" and controllers == "":  # v2: one hierarchy
            roots = [cgroups]
        elif controller in controllers.split(","):  # v1: the controller's own hierarchy
            roots = [cgroups / controllers, *(cgroups / mount for mount in v1_mounts)]
        else:
            continue
        for root in roots:
            group = root / where.strip("/")
            for folder in (group, *group.parents):
                if folder == root.parent:
                    break
                folders.append(folder)
    return folders


def _quota_of(folder: Path) -> float | None:
    """The CPUs one control group's own quota allows, None when it has none (or no such file)."""
    try:
        if (folder / "cpu.max").is_file():  # v2: "max 100000" or "200000 100000"
            quota, period = (folder / "cpu.max").read_text(encoding="utf-8").split()[:2]
        else:  # v1: -1 for none
            quota = (folder / "cpu.cfs_quota_us").read_text(encoding="utf-8").strip()
            period = (folder / "cpu.cfs_period_us").read_text(encoding="utf-8").strip()
        if quota == "max" or int(quota) <= 0 or int(period) <= 0:
            return None
        return int(quota) / int(period)
    except (OSError, ValueError):
        return None


def bind_to_parent(parent: int) -> None:
    """In a worker process: die with the parent (also after kill -9), and leave the signals that
    stop a command to it. Ctrl-C is ignored. SIGTERM and SIGHUP are obeyed only when the parent
    sends them (`Process.terminate`, ProcessPoolExecutor's clean-up of a broken pool): a terminal
    that closes, or `kill` of the whole process group, signals the workers too, and a worker
    that died of it first made the parent report a broken worker instead of stopping as asked
    (`planner.launch`), which then ends the workers itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _stop_only_for(parent, {signal.SIGTERM, signal.SIGHUP})
    _unblock({signal.SIGINT})  # (held while this process was forked: `stop_signals_held`)
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: the kernel kills us when the parent dies
    if os.getppid() != parent:  # the parent died before we got here
        os._exit(1)

    def watch() -> None:  # elsewhere (and as a second guard): poll the parent
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


@contextlib.contextmanager
def stop_signals_held() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP held back (blocked in this thread) while worker processes are
    forked, and taken as soon as they are. Python runs its callbacks around a fork (logging's
    lock among them) in the forking thread and drops an exception raised in one ('Exception
    ignored in: _releaseLock'); a stop that came while a large process forked was taken in the
    first of them: a Ctrl-C was lost, the solve ran on to its end (exit 0) under a traceback,
    and logging's lock could stay taken. A forked worker starts with them blocked too, until
    `bind_to_parent` sets them as a worker keeps them."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _unblock(signals: set[signal.Signals]) -> None:
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)


def _stop_only_for(parent: int, signals: set[signal.Signals]) -> None:
    """`signals` end this process (exit 128 + the number) when `parent` sends them; from anyone
    else they are dropped. They are blocked in every thread (threads started later, HiGHS's
    among them, inherit the mask) and taken by one thread that asks who sent each. Where the
    system cannot say (no sigwaitinfo), they keep their default action."""
    if not hasattr(signal, "sigwaitinfo"):
        _unblock(signals)
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)

    def listen() -> None:
        while True:
            info = signal.sigwaitinfo(signals)
            if info.si_pid == parent:
                os._exit(128 + info.si_signo)

    threading.Thread(target=listen, name="stop-listener", daemon=True).start()


_REAPED_WITHIN = 10.0  # s: how long a broken pool's thread may take to end and reap its processes
_POOL_CHECK_EVERY = 1.0  # s of waiting on a pool's answers between checks that its thread still runs

_SHARED: object = None  # in a worker of `in_processes`: what every call shares, sent once


def is_thread_limit(exc: BaseException) -> bool:
    """Whether `exc` is the system refusing this process another thread or process: its limit on
    processes and threads (`ulimit -u`) reached. A refused fork is EAGAIN (BlockingIOError:
    planner does no non-blocking I/O that could raise it otherwise)."""
    return isinstance(exc, BlockingIOError) or (isinstance(exc, RuntimeError) and "can't start new thread" in str(exc))


def _start_worker(parent: int, shared: object) -> None:
    global _SHARED
    try:
        bind_to_parent(parent)
    except RuntimeError as exc:
        if is_thread_limit(exc):  # the parent finds the pool broken and says so
            logging.getLogger("concurrent.futures").disabled = True  # (it printed the traceback of this start)
        raise
    _SHARED = shared


def _call(function: Callable[[object, object], object], index: int, item: object) -> tuple[int, object]:
    return index, function(_SHARED, item)


def worker_context() -> Any:
    """How `in_processes` starts its workers: forked from this process wherever the system forks
    safely (not macOS, whose default, spawn, starts them as this process's children too), as
    Python before 3.14 did on Linux by default. Python 3.14 starts them from a fork server by
    default: they are the server's children, not this process's, so `bind_to_parent` took each
    for an orphan and it ended at once (every sweep with workers ended in "a worker process
    ended without an answer")."""
    import multiprocessing

    if sys.platform != "darwin" and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def in_processes(function: Callable[[Any, Any], T], items: Sequence[object], workers: int,
                 shared: object = None) -> Iterator[tuple[int, T]]:
    """(i, function(shared, items[i])) for every item, as each finishes, from `workers` local
    processes bound to this one (`bind_to_parent`); `shared` is sent to each process once and
    `function` must be importable (a module's own). An exception of a call is raised here; on
    it, or on Ctrl-C, the processes are stopped at once, not left to finish their calls. A process
    that ends without an answer (killed: out of memory, or by hand) raises `WorkerLost`, naming
    how it ended."""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    if not items:
        return
    pool = ProcessPoolExecutor(max_workers=max(1, min(workers, len(items))), mp_context=worker_context(),
                               initializer=_start_worker, initargs=(os.getpid(), shared))
    try:
        with stop_signals_held():  # the first call forks the processes
            pending = {pool.submit(_call, function, i, item) for i, item in enumerate(items)}
        started = list(getattr(pool, "_processes", {}).values())  # (a broken pool forgets them)
        while pending:
            finished, pending = wait(pending, timeout=_POOL_CHECK_EVERY, return_when=FIRST_COMPLETED)
            if not finished:
                _check_pool_alive(pool, pending)
            for future in finished:
                try:
                    answer = future.result()
                except BrokenProcessPool:
                    raise WorkerLost(_how_workers_ended(pool, started)) from None
                yield answer
    except BaseException:
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _check_pool_alive(pool: Any, pending: set) -> None:
    """`WorkerLost` when the pool's own thread has ended with calls still to answer: it ended on an
    error of its own (it could not start a thread: the system's limit on processes and threads,
    `ulimit -u`), and nothing would ever answer them; the wait went on for ever."""
    manager = getattr(pool, "_executor_manager_thread", None)
    if manager is None or manager.is_alive() or any(future.done() for future in pending):
        return
    raise WorkerLost("the pool of worker processes stopped working: its thread ended without answering (could "
                     "it start no thread? the system's limit on processes and threads, `ulimit -u`, may have been "
                     "reached); raise it, or use fewer --workers")


def how_it_ended(exitcode: int | None) -> str:
    """A worker process's end in words: the signal that killed it, or its exit code."""
    if exitcode is not None and exitcode < 0 and -exitcode in signal.valid_signals():
        return f"killed by {signal.Signals(-exitcode).name}, exit code {exitcode}"
    return f"exit code {exitcode}" if exitcode is not None else "how it ended is not known"


def _how_workers_ended(pool: Any, processes: list) -> str:
    """What the processes of a broken pool say of their end. The pool's own thread ends the others
    (SIGTERM, which they leave with 128 + its number: not news) and reaps every process; it is
    waited for first, since two threads waiting for one process race for its exit status and the
    loser learns nothing ("not known", one time in some hundreds on a busy machine). A process
    that thread has not reaped is waited for a moment here."""
    manager = getattr(pool, "_executor_manager_thread", None)
    if manager is not None:
        manager.join(timeout=_REAPED_WITHIN)
    ended = set()
    for process in processes:
        if process.exitcode is None:
            process.join(timeout=1.0)
        if process.exitcode not in (None, 0, 128 + signal.SIGTERM, -signal.SIGTERM):
            ended.add(process.exitcode)
    how = ", ".join(how_it_ended(code) for code in sorted(ended)) or how_it_ended(None)
    return (f"a worker process ended without an answer ({how}: the system's out-of-memory killer, or "
            "someone, stopped it); with fewer --workers each has more memory")


def run_each(function: Callable[[Any, Any], T], shared: object, items: Sequence[object], workers: int,
             done: Callable[[Any], None] | None = None) -> list[T]:
    """[function(shared, item) for item in items]: here when `workers` is 1, else on that many
    processes (`in_processes`); `done(item)` is called as each call ends (progress)."""
    results: list = [None] * len(items)
    if workers > 1 and len(items) > 1:
        calls: Iterator[tuple[int, T]] = in_processes(function, items, workers, shared)
    else:
        calls = ((i, function(shared, item)) for i, item in enumerate(items))
    for i, value in calls:
        results[i] = value
        if done is not None:
            done(items[i])
    return results
