"""Workers that end without an answer (killed by the out-of-memory killer, or by hand): every
command says so, with its exit code, never an internal error and never a wait for ever.

The local pools are killed for real here (`tests/test_scenarios.py`, `tests/test_sweep.py`);
a Dask cluster's actors are stood in for, since a worker killed on a LocalCluster is restarted
at a pace the tests cannot own. By hand, on a cluster of `dask scheduler` and `dask worker`
with its worker processes killed during the phase (2026-12-04): 'Worker holding Actor was
lost' and 'Unable to contact Actor's worker' ended the solve with an internal error, and an
answer that never came made it wait for ever; now each ends it with exit 6 and this message."""

from __future__ import annotations

import re
import time

import pytest

from planner.errors import ClusterError, Notice, SolveError
from planner.scheduler import SilentWorkers
from planner.solve.decomposition import cluster


class _Client:
    def __init__(self, status: str, workers: list[str]) -> None:
        self.status, self.workers = status, workers

    def scheduler_info(self) -> dict:
        return {"workers": {address: {} for address in self.workers}}


class _Never:
    def done(self) -> bool:
        return False


class _Failed:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def done(self) -> bool:
        return True

    def result(self) -> object:
        raise self.error


class _LostActor:
    def __getattr__(self, name: str) -> object:
        raise RuntimeError("Worker holding Actor was lost.  Status: error")


def _pool(monkeypatch, client: _Client, pending: dict) -> cluster.DaskBlockPool:  # noqa: ANN001
    monkeypatch.setattr(cluster, "_CHECK_EVERY", 0.0)  # every poll checks: no waiting on the clock
    pool = object.__new__(cluster.DaskBlockPool)
    pool.client, pool.address, pool.homes = client, "tcp://scheduler:8786", ["tcp://a:1", "tcp://b:2"]
    pool.pending, pool.checked, pool.actors = pending, 0.0, [_LostActor(), _LostActor()]
    pool.silent = SilentWorkers()
    return pool


def test_an_actor_whose_worker_died_ends_the_wait_with_a_message(monkeypatch):
    pool = _pool(monkeypatch, _Client("running", ["tcp://b:2", "tcp://c:3"]), {0: _Never(), 1: _Never()})
    with pytest.raises(SolveError, match=r"the Dask worker tcp://a:1 holding blocks of the decomposition phase "
                                         r"ended without an answer") as raised:
        pool.answered({0, 1})
    assert raised.value.status == "solver_error"
    with pytest.raises(SolveError, match="tcp://a:1"):
        pool.receive(0)


def test_a_lost_scheduler_ends_the_wait_as_a_cluster_error(monkeypatch):
    pool = _pool(monkeypatch, _Client("closed", []), {1: _Never()})
    with pytest.raises(ClusterError, match="lost the Dask scheduler at tcp://scheduler:8786"):
        pool.answered({1})


def test_a_silent_worker_holding_blocks_is_named_once_until_heard_from_again(monkeypatch):
    """A worker neither dead nor answering (stopped, a machine swapping) is given up by the
    scheduler only after its worker-ttl (5 minutes by default): the phase names it meanwhile, as
    a `Notice`, once the scheduler has not heard from it for SILENT_AFTER seconds of this
    process's clock (injected here), whatever the scheduler's clock says."""
    import warnings

    now, seen = [0.0], {"tcp://a:1": 1e9, "tcp://b:2": 5.0}
    client = _Client("running", list(seen))
    client.scheduler_info = lambda: {"workers": {w: {"last_seen": s} for w, s in seen.items()}}
    pool = _pool(monkeypatch, client, {0: _Never(), 1: _Never()})
    pool.silent = SilentWorkers(clock=lambda: now[0])

    def named_at(seconds: float) -> list[str]:
        now[0] = seconds
        with warnings.catch_warnings(record=True) as shown:
            warnings.simplefilter("always")
            pool.check_alive({0, 1})
        assert all(w.category is Notice for w in shown)
        return [str(w.message).split(" has not")[0] for w in shown]

    assert named_at(0.0) == []
    seen["tcp://b:2"] = 6.0  # b is heard from at 20 s, a is not
    assert named_at(20.0) == []
    assert named_at(30.0) == ["the Dask worker tcp://a:1"]
    assert named_at(49.0) == []
    now[0] = 51.0
    with pytest.warns(Notice) as told:  # b, unheard since 20 s
        pool.check_alive({0, 1})
    assert str(told[0].message).startswith("the Dask worker tcp://b:2 has not been heard from for 31 s and holds "
                                           "blocks of the decomposition phase: the phase waits for it")
    assert named_at(90.0) == []  # each named once
    seen["tcp://a:1"] += 1  # a heard from again: a later silence is named anew
    assert named_at(100.0) == []
    assert named_at(130.0) == ["the Dask worker tcp://a:1"]
    assert named_at(200.0) == [] and named_at(300.0) == []
    # a worker holding nothing of this command's, or one the scheduler does not know, is not named
    assert pool.silent.newly_silent(client.scheduler_info()["workers"], {"tcp://a:1": 0, "tcp://c:3": 1}) == []


@pytest.mark.parametrize("error", [OSError("Unable to contact Actor's worker"),
                                   RuntimeError("Worker holding Actor was lost")])
def test_calls_to_an_actor_whose_worker_died_are_named(monkeypatch, error):
    pool = _pool(monkeypatch, _Client("running", ["tcp://a:1", "tcp://b:2"]), {1: _Failed(error)})
    with pytest.raises(SolveError, match="tcp://b:2 holding blocks"):
        pool.receive(1)
    with pytest.raises(SolveError, match="tcp://a:1 holding blocks"):
        pool.send(0, [])


class _ReapedByThePool:
    """A killed worker as this process sees it when the pool's own thread won the race to wait
    for it: our wait returns at once and learns nothing; its exit code is known once that thread
    has recorded it."""

    def __init__(self) -> None:
        self.recorded: int | None = None

    @property
    def exitcode(self) -> int | None:
        return self.recorded

    def join(self, timeout: float | None = None) -> None:
        return None


def test_a_killed_worker_is_named_when_the_pools_own_thread_reaped_it():
    """CI, on a busy machine, once: 'how it ended is not known' for a worker killed by SIGKILL.
    The pool's thread and ours both waited for the dead process; the loser of that race learns
    nothing. Now the pool's thread, which reaps every process, is waited for first. Here that
    thread has reaped the process by the time it is waited for, and not before (no clock)."""
    import signal

    from planner.processes import _how_workers_ended

    killed = _ReapedByThePool()

    class _PoolThread:
        def join(self, timeout: float | None = None) -> None:
            killed.recorded = -signal.SIGKILL

    class _Pool:
        _executor_manager_thread = _PoolThread()

    assert "killed by SIGKILL, exit code -9" in _how_workers_ended(_Pool(), [killed])


@pytest.mark.parametrize("when", ["before any work", "as a task arrives"])
def test_a_dask_worker_of_another_planner_is_refused_with_a_message(tmp_path, monkeypatch, when):
    """Dask sends planner's functions by name and a worker runs its own planner: workers that
    kept an older planner gave its numbers (faults fixed since included) under the new one's
    name, or could not read the task and ended. Now a sweep and a solve's phase on them stop with
    exit 9, saying so: the workers there are asked before any work is sent, and a worker that
    joins later refuses the task. Here the command stands for another planner (its code said to
    be another); the workers run this one. By hand (2026-12-04): a `dask worker` of the planner
    of 841a8dc, a sweep and a solve of this one: exit 9 and this message; the worker lives on."""
    distributed = pytest.importorskip("distributed")
    from click.testing import CliRunner

    import planner.scheduler as scheduler
    import planner.studies.sweep as sweep_module
    from planner import cli

    monkeypatch.chdir(tmp_path)
    other = "0" * 64
    if when == "before any work":
        monkeypatch.setattr(scheduler, "CODE", other)
        said = "1 of the 1 Dask workers at"
    else:
        monkeypatch.setattr(sweep_module, "CODE", other)
        monkeypatch.setattr(cluster, "CODE", other)
        said = "runs another planner than the command that sent it work"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
        for args in (["sweep", "four-suppliers", "--vary", "risk.aversion=0,1", "--out", "sw"],
                     ["solve", "us-critical-minerals", "--out", "r"]):
            result = CliRunner().invoke(cli.main, [*args, "--scheduler", c.scheduler_address])
            assert result.exit_code == cli.EXIT_CLUSTER, result.output
            assert said in result.output and "000000000000" in result.output, result.output
    assert not (tmp_path / "r").exists()


_SCHEDULER_WITHOUT_PLANNER = """
import sys
sys.modules["planner"] = None  # a scheduler started from a Python without planner (its own container)
from distributed.cli.dask_scheduler import main
sys.argv = ["dask-scheduler", "--port", "0", "--no-dashboard", "--scheduler-file", sys.argv[1]]
main()
"""


def test_a_dask_scheduler_without_planner_is_refused_with_a_message(tmp_path, monkeypatch):
    """Dask's scheduler unpickles each task it is sent, planner's functions included: one started
    from a Python without planner (by hand, 2026-12-04) refused every task, and both a sweep and a
    solve's phase ended in 'internal error: this is a bug'. Now both stop with exit 9 before any
    work, naming the scheduler and what to install there. Its worker has planner."""
    distributed = pytest.importorskip("distributed")
    import json
    import subprocess
    import sys

    from click.testing import CliRunner

    from planner import cli

    address_file = tmp_path / "scheduler.json"
    processes = [subprocess.Popen([sys.executable, "-c", _SCHEDULER_WITHOUT_PLANNER, str(address_file)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        while not address_file.exists() or not address_file.read_text():  # no limit on the clock
            assert processes[0].poll() is None, "the scheduler ended"
            time.sleep(0.05)
        address = json.loads(address_file.read_text())["address"]
        processes.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                                           "--nthreads", "1", "--no-nanny", "--no-dashboard"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with distributed.Client(address) as client:  # the worker there (on the code before, the
            while not client.scheduler_info()["workers"]:  # sweep waited for one, then failed)
                assert processes[1].poll() is None, "the worker ended"
                time.sleep(0.05)
        monkeypatch.chdir(tmp_path)
        for args in (["sweep", "four-suppliers", "--vary", "risk.aversion=0,1", "--out", "sw"],
                     ["solve", "us-critical-minerals", "--out", "r"]):
            result = CliRunner().invoke(cli.main, [*args, "--scheduler", address])
            assert result.exit_code == cli.EXIT_CLUSTER, result.output
            assert f"the Dask scheduler at {address} runs another planner than this command (no planner it can " \
                   "run: ModuleNotFoundError" in result.output, result.output
            assert "install the same planner and HiGHS where the scheduler runs" in result.output
        assert not (tmp_path / "r").exists() and not list((tmp_path / "sw" / "runs").glob("*/summary.json"))
    finally:
        for process in processes:
            process.terminate()
            process.wait()


def test_a_stopped_dask_worker_is_named_before_any_work_not_waited_for(tmp_path, monkeypatch):
    """A worker that never answers (stopped by `kill -STOP`, or a machine swapping) held up the
    questions a sweep and a solve's phase ask every worker before any work is sent: by hand
    (2026-12-04) a sweep waited without a word, still waiting when stopped after 60 s. Now each
    ends with exit 9 after PROBE_TIMEOUT seconds (shortened here: a stopped worker never answers,
    and a slow one gives the same message, so the outcome does not depend on the machine's pace;
    the scheduler's own question keeps its time, that of `connect`)."""
    distributed = pytest.importorskip("distributed")
    import os
    import signal

    from click.testing import CliRunner

    import planner.scheduler as scheduler
    from planner import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(scheduler, "PROBE_TIMEOUT", 2.0)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c, \
            distributed.Client(c.scheduler_address) as client:
        stopped = sorted(client.run(os.getpid).items())[0][1]
        os.kill(stopped, signal.SIGSTOP)
        try:
            for args in (["sweep", "four-suppliers", "--vary", "risk.aversion=0,1", "--out", "sw"],
                         ["solve", "us-critical-minerals", "--out", "r"]):
                result = CliRunner().invoke(cli.main, [*args, "--scheduler", c.scheduler_address])
                assert result.exit_code == cli.EXIT_CLUSTER, result.output
                assert f"the Dask workers at {c.scheduler_address} did not all answer within 2 s" in result.output
        finally:
            os.kill(stopped, signal.SIGCONT)
    assert not (tmp_path / "r").exists() and not list((tmp_path / "sw" / "runs").glob("*/summary.json"))


def _silence_on_a_clock_of_hours(monkeypatch):  # noqa: ANN001, ANN202
    """Every `SilentWorkers` made from here on times silence on a clock that moves an hour at each
    read, until the returned function stops it: the stopped worker, whose `last_seen` is then read
    unchanged twice, is named whatever the machine's pace; once it goes on, the clock stands."""
    import planner.scheduler as scheduler

    now, moving, made = [0.0], [True], scheduler.SilentWorkers.__init__

    def read() -> float:
        now[0] += 3600.0 if moving[0] else 0.0
        return now[0]

    monkeypatch.setattr(scheduler.SilentWorkers, "__init__", lambda self, clock=None: made(self, read))
    return lambda: moving.__setitem__(0, False)


def test_a_dask_worker_that_falls_silent_holding_runs_is_named_while_the_sweep_waits(tmp_path, monkeypatch):
    """A worker that stops after the questions, holding runs (`kill -STOP`, a machine swapping),
    held them without a word: by hand (2026-12-04) a sweep said nothing for more than 7 minutes.
    Now the sweep names it once the scheduler has not heard from it for SILENT_AFTER seconds
    (timed here on a clock that moves an hour at each read, so the second check names it whatever
    the machine's pace; the worker is stopped, so it is never heard from), and the runs finish
    once it goes on."""
    distributed = pytest.importorskip("distributed")
    import os
    import signal

    from click.testing import CliRunner

    import planner.scheduler as scheduler
    from planner import cli
    from planner.studies import sweep

    monkeypatch.chdir(tmp_path)
    stand_still = _silence_on_a_clock_of_hours(monkeypatch)
    monkeypatch.setattr(sweep, "SILENCE_CHECK_EVERY", 0.0)
    monkeypatch.setattr(sweep, "NO_WORKERS_NOTE_AFTER", 0.2)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as c, \
            distributed.Client(c.scheduler_address) as client:
        (worker, pid), = client.run(os.getpid).items()
        check_workers_see, named = sweep._check_workers_see, []

        def then_stop(*args):  # the questions answered, the worker stops before any run reaches it
            check_workers_see(*args)
            os.kill(pid, signal.SIGSTOP)

        newly_silent = scheduler.SilentWorkers.newly_silent

        def go_on_once_named(self, *args):
            found = newly_silent(self, *args)
            if found:
                named.extend(found)
                stand_still()
                os.kill(pid, signal.SIGCONT)
            return found

        monkeypatch.setattr(sweep, "_check_workers_see", then_stop)
        monkeypatch.setattr(scheduler.SilentWorkers, "newly_silent", go_on_once_named)
        try:
            result = CliRunner().invoke(cli.main, ["sweep", "four-suppliers", "--vary", "risk.aversion=0,1",
                                                   "--out", "sw", "--scheduler", c.scheduler_address])
        finally:
            os.kill(pid, signal.SIGCONT)
    assert result.exit_code == 0, result.output
    assert [(w, count) for w, count, _ in named] == [(worker, 2)]
    said = re.sub(r"for \d+ s", "for N s", " ".join(result.output.split()))  # (1 s or more: the machine's pace)
    assert f"the Dask worker {worker} has not been heard from for N s and holds 2 of the runs: they wait for it" in said
    assert len(list((tmp_path / "sw" / "runs").glob("*/summary.json"))) == 2


def test_a_dask_worker_that_falls_silent_holding_blocks_is_named_while_the_phase_waits(tmp_path, monkeypatch):
    """The same for a solve's phase on a cluster: the worker holding the blocks stops once they
    are sent to it, and the solve names it after SILENT_AFTER seconds (on a clock of hours, as
    above); the solve ends as usual
    once it goes on. (Not gone on, the scheduler gives it up after its worker-ttl and the solve
    ends with exit 6 naming it: `test_an_actor_whose_worker_died_ends_the_wait_with_a_message`;
    by hand, with a worker-ttl of 20 s, 22 s after the stop.)"""
    distributed = pytest.importorskip("distributed")
    import os
    import signal

    from click.testing import CliRunner

    import planner.scheduler as scheduler
    from planner import cli

    monkeypatch.chdir(tmp_path)
    stand_still = _silence_on_a_clock_of_hours(monkeypatch)
    made, newly_silent = cluster.DaskBlockPool.__init__, scheduler.SilentWorkers.newly_silent
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as c, \
            distributed.Client(c.scheduler_address) as client:
        (worker, pid), = client.run(os.getpid).items()

        def then_stop(self, *args):  # the blocks' holder made on the worker, which stops before any call
            made(self, *args)
            os.kill(pid, signal.SIGSTOP)

        def go_on_once_named(self, *args):
            found = newly_silent(self, *args)
            if found:
                stand_still()
                os.kill(pid, signal.SIGCONT)
            return found

        monkeypatch.setattr(cluster.DaskBlockPool, "__init__", then_stop)
        monkeypatch.setattr(scheduler.SilentWorkers, "newly_silent", go_on_once_named)
        try:
            result = CliRunner().invoke(cli.main, ["solve", "us-critical-minerals", "--out", "r", "--scheduler",
                                                   c.scheduler_address])
        finally:
            os.kill(pid, signal.SIGCONT)
    assert result.exit_code == 0, result.output
    said = re.sub(r"for \d+ s", "for N s", " ".join(result.output.split()))  # (1 s or more: the machine's pace)
    assert f"note: the Dask worker {worker} has not been heard from for N s and holds blocks of the decomposition " \
           "phase: the phase waits for it" in said, result.output
    assert (tmp_path / "r" / "summary.json").exists()


def test_a_pool_whose_own_thread_died_ends_the_wait_with_a_message():
    """With `ulimit -u 4` a sweep of one worker waited for ever: the pool's thread could not start
    the thread that feeds its queue and ended, and nothing answered. The wait now checks that the
    thread still runs (the check itself here; by hand, as nobody with ulimit -u 4: exit 6)."""
    import threading
    from concurrent.futures import Future

    from planner.errors import WorkerLost
    from planner.processes import _check_pool_alive

    ended = threading.Thread(target=lambda: None)
    ended.start()
    ended.join()

    class _Pool:
        _executor_manager_thread = ended

    waiting, answered = Future(), Future()
    answered.set_result(1)
    with pytest.raises(WorkerLost, match="ulimit -u"):
        _check_pool_alive(_Pool(), {waiting})
    _check_pool_alive(_Pool(), {waiting, answered})  # an answer is in: read it first (a broken pool's, say)
    _Pool._executor_manager_thread = threading.current_thread()  # alive
    _check_pool_alive(_Pool(), {waiting})


@pytest.mark.parametrize(("message", "quiet"), [("can't start new thread", True), ("a bug", False)])
def test_a_worker_that_cannot_start_its_threads_leaves_the_telling_to_its_parent(monkeypatch, message, quiet):
    """Under `ulimit -u` a worker of a sweep could not start the thread that watches its parent,
    and the pool printed that start's traceback above planner's own message (the pool is broken,
    `_check_pool_alive`). A limit is now said once, by the parent; any other failure still shows."""
    import logging

    import planner.processes

    def cannot(parent: int) -> None:
        raise RuntimeError(message)

    monkeypatch.setattr(planner.processes, "bind_to_parent", cannot)
    pool_log = logging.getLogger("concurrent.futures")
    monkeypatch.setattr(pool_log, "disabled", False)
    with pytest.raises(RuntimeError, match=message):
        planner.processes._start_worker(1, None)
    assert pool_log.disabled is quiet
