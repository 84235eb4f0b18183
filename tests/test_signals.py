"""Signals and streams: Ctrl-C, SIGTERM and SIGHUP stop every phase the same way (exit 128 + the
signal, nothing partial written, worker processes ended); a reader that went away ends planner
quietly (141); workers die with their parent."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import REPO, crash_logs

from planner import cli

STOP_SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]
NAMES = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated (SIGTERM)", signal.SIGHUP: "hung up (SIGHUP)"}


def default_stop_signals() -> None:
    """In a process the tests start: every stop signal at its default action, whatever this one
    inherited (a background job ignores Ctrl-C, `nohup` SIGHUP), as a planner started from a
    terminal has them."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)


def _planner(*args: str, cwd: Path, own_group: bool = False) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "planner.cli", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=own_group,
                            preexec_fn=default_stop_signals)


@pytest.mark.parametrize("signum", STOP_SIGNALS, ids=lambda s: s.name)
def test_a_stop_signal_during_a_cli_solve_stops_it_and_writes_nothing(tmp_path, signum):
    """Ctrl-C, SIGTERM (`kill`, `timeout`, a batch scheduler) and SIGHUP (the terminal closed) stop
    a solve the same way: a message, exit 128 + the signal, nothing written. SIGTERM and SIGHUP
    used to kill the process where it stood, silently, leaving its temporary folder beside --out."""
    from planner.instance.generate import generate_instance

    folder = generate_instance(tmp_path / "g", 6, 15, 8, 30, seed=0)
    process = _planner("solve", str(folder), "--out", "out", "--mip-gap", "1e-9", cwd=tmp_path)
    assert process.stderr.readline().startswith("solving")
    process.send_signal(signum)
    _, err = process.communicate()
    assert process.returncode == 128 + signum, err
    assert err.splitlines()[-1] == f"{NAMES[signum]}: nothing partial was written.", err  # (no word of sweeps)
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g"]


@pytest.mark.parametrize("signum", STOP_SIGNALS, ids=lambda s: s.name)
def test_a_stop_signal_while_the_command_line_starts_leaves_without_a_traceback(signum):
    """A signal before a command's guard is in place (while click and the commands are imported):
    the entry point's handler leaves at once with 128 + the signal and a message, not a traceback."""
    script = ("import os, sys\n"
              "from planner import launch\n"
              "launch.install()\n"
              f"os.kill(os.getpid(), {int(signum)})\n"
              "import planner.cli\n"
              "sys.exit(3)  # the handler did not run\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          preexec_fn=default_stop_signals)
    assert done.returncode == 128 + signum, done.stderr
    assert done.stderr == f"{NAMES[signum]}: nothing was written.\n"


def test_stop_signals_after_the_command_has_ended_are_ignored():
    """A command that has ended (its result written) ignores Ctrl-C, SIGTERM and SIGHUP while
    Python shuts down: a hunt found one Ctrl-C in a dozen, at the moment a solve ended, killing
    the process (exit -2, no message) after its result was complete."""
    script = ("import _signal, sys\n"
              "from planner import launch\n"
              "sys.argv = ['planner', '--version']\n"
              "try:\n"
              "    launch.main()\n"
              "except SystemExit:\n"
              "    pass\n"
              "ignored = all(_signal.getsignal(s) is _signal.SIG_IGN for s in launch.STOP_SIGNALS)\n"
              "sys.exit(0 if ignored and len(launch.STOP_SIGNALS) == 3 else 3)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("signum", STOP_SIGNALS, ids=lambda s: s.name)
def test_a_command_hands_its_stop_signals_to_python_and_an_ignored_one_stays_ignored(monkeypatch, signum):
    """Once a command runs under its guard, Ctrl-C, SIGTERM and SIGHUP raise KeyboardInterrupt (what
    stops HiGHS and the workers) and set the exit code to 128 + the signal; a process started
    ignoring one (a background job, `nohup`) keeps ignoring it."""
    from planner import launch

    monkeypatch.setattr(launch, "_stopped_by", signal.SIGINT)
    before = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    monkeypatch.setattr(sys, "unraisablehook", sys.unraisablehook)  # (a command's own is put back after)
    try:
        signal.signal(signum, signal.SIG_DFL)  # as a terminal leaves it (not `nohup`)
        launch.install()
        assert signal.getsignal(signum) is not signal.SIG_DFL
        result = CliRunner().invoke(cli.main, ["validate", "four-suppliers"])
        assert result.exit_code == 0, result.output
        with pytest.raises(KeyboardInterrupt):
            signal.getsignal(signum)(signum, None)
        assert (launch.exit_code(), launch.stopped_as()) == (128 + signum, NAMES[signum])
        signal.signal(signum, signal.SIG_IGN)
        launch.install()
        assert CliRunner().invoke(cli.main, ["validate", "four-suppliers"]).exit_code == 0
        assert signal.getsignal(signum) is signal.SIG_IGN
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


def _with_a_closed_stream(stream: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`planner ARGS` with stdout or stderr a pipe nobody reads (closed before the command starts,
    as `planner ... | head -0` leaves it); the other stream captured."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        closed = {stream: write_end}
        other = "stderr" if stream == "stdout" else "stdout"
        return subprocess.run([sys.executable, "-c", "from planner.launch import main; main()", *args], cwd=cwd,
                              text=True, **closed, **{other: subprocess.PIPE})
    finally:
        os.close(write_end)


def test_a_reader_that_went_away_stops_planner_quietly_with_141(tmp_path):
    """`planner solve | head`: once the result is written, the summary has nowhere to go. The
    command leaves with the shell's code for a closed pipe (141), no traceback and no internal
    error (it was one, exit 1 with a crash log); the result written before is whole. With stderr
    closed the solve stops at its first note, as Ctrl-C stops it, and writes nothing."""
    from planner.instance.data import build_model_data
    from planner.instance.loader import load_instance
    from planner.results.verify import verify_result

    logs = crash_logs()
    done = _with_a_closed_stream("stdout", "solve", "four-suppliers", "--out", "out", cwd=tmp_path)
    assert done.returncode == cli.EXIT_OUTPUT_CLOSED, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    data = build_model_data(load_instance(REPO / "instances" / "four-suppliers"))
    assert verify_result(data, tmp_path / "out") == []
    done = _with_a_closed_stream("stderr", "solve", "four-suppliers", "--out", "again", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (cli.EXIT_OUTPUT_CLOSED, "")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nothing half written beside it
    for args, stream in ((["instances"], "stdout"), (["solve", "no-such-instance"], "stderr"),  # an error message
                         (["--help"], "stdout"), (["solve", "--help"], "stdout"), (["--version"], "stdout")):
        done = _with_a_closed_stream(stream, *args, cwd=tmp_path)  # help was click's exit 1
        assert done.returncode == cli.EXIT_OUTPUT_CLOSED, args
    assert crash_logs() == logs


def test_progress_from_the_solvers_thread_to_a_closed_stderr_stops_the_command(monkeypatch):
    """Progress is shown from HiGHS's thread, where a closed stderr cannot simply be raised: the
    main thread is stopped as Ctrl-C stops it, and the guard then leaves as for a closed pipe."""
    import threading

    import click

    from planner.cli import common
    from planner.cli.progress import Progress

    def closed(*args, **kwargs):
        raise BrokenPipeError

    stopped = []
    monkeypatch.setattr(click, "echo", closed)
    monkeypatch.setattr(common._thread, "interrupt_main", lambda: stopped.append("main"))
    monkeypatch.setattr(common, "OUTPUT_CLOSED", threading.Event())
    monkeypatch.setitem(common.QUIET, "on", False)
    progress = Progress(every=0.0)
    shown = threading.Thread(target=progress, args=(1.0, 2.0, 1.0))
    shown.start()
    shown.join()
    assert stopped == ["main"] and common.OUTPUT_CLOSED.is_set()
    with pytest.raises(BrokenPipeError):  # in the main thread it is raised as it is, for the guard
        progress(2.0, 2.0, 1.0)

    def leave():
        raise SystemExit(cli.EXIT_OUTPUT_CLOSED)

    monkeypatch.setattr(common, "output_closed", leave)

    @common.guard
    def solve() -> None:
        raise KeyboardInterrupt  # what interrupt_main raises in the main thread

    with pytest.raises(SystemExit) as left:
        solve()
    assert left.value.code == cli.EXIT_OUTPUT_CLOSED


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
@pytest.mark.parametrize("signum, to_group", [(signal.SIGINT, False), (signal.SIGTERM, True)])
def test_a_stop_signal_during_metrics_in_worker_processes_stops_them_and_writes_nothing(tmp_path, signum, to_group):
    """Ctrl-C to planner, or SIGTERM to its whole process group (`kill -- -PGID`; a closing terminal
    sends SIGHUP so): the workers leave the signal to planner, which stops them and itself. Workers
    that died of SIGTERM first used to make planner die of it too, silently."""
    from planner.instance.generate import Shape, generate_instance

    folder = generate_instance(tmp_path / "g", 4, 10, 6, 200, seed=0, shape=Shape(agreements=2))
    process = _planner("solve", str(folder), "--out", "out", "--metrics", "--workers", "2", cwd=tmp_path,
                       own_group=to_group)
    while not process.stderr.readline().startswith("computing EVPI"):
        assert process.poll() is None, "the solve ended before its metrics"
    workers: list[int] = []
    while len(workers) < 2 and process.poll() is None:
        workers = _children(process.pid)
        time.sleep(0.05)
    assert len(workers) >= 2, "the metrics ended before their workers were seen"
    if to_group:
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    _, err = process.communicate()
    assert process.returncode == 128 + signum, err
    assert f"{NAMES[signum]}: nothing partial was written" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g"]
    while any(_alive(w) for w in workers):  # stopped by the parent (asynchronously); no limit on the wall clock
        time.sleep(0.1)


_STOP_IN_A_FORK_CALLBACK = """
import os, signal, sys
from planner import launch
sent = []
def stop_once():  # as a signal that came while this large process forked: taken in the first callback after
    if {signum} not in signal.pthread_sigmask(signal.SIG_BLOCK, []):
        sys.stderr.write("forked with stops not held\\n")
    if not sent:
        sent.append(True)
        os.kill(os.getpid(), {signum})
os.register_at_fork(after_in_parent=stop_once)
sys.argv = ["planner", *sys.argv[1:]]
launch.main()
"""


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="needs pthread_sigmask")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
@pytest.mark.parametrize("command", [
    ["solve", "--workers", "2"],  # the decomposition's block pool
    ["solve", "--metrics", "--samples", "200", "--workers", "2"],  # the metrics' pool (after the solve)
    ["sweep", "--vary", "risk.aversion=0,1", "--workers", "2"],
], ids=["blocks", "metrics", "sweep"])
def test_a_stop_that_comes_while_workers_are_forked_stops_the_command(tmp_path, command, signum):
    """Python runs its callbacks around a fork in the forking thread and drops an exception raised in
    one: a Ctrl-C that came while the solve forked its workers (a hunt: one in a dozen at 0.9 s into
    `solve --workers 2`) was taken in logging's callback and dropped ('Exception ignored in:
    _releaseLock', a traceback), and the solve ran on to its end, exit 0, its result written."""
    from planner.instance.generate import generate_instance

    folder = generate_instance(tmp_path / "g", 3, 6, 4, 12, seed=5)
    verb, *flags = command
    script = _STOP_IN_A_FORK_CALLBACK.format(signum=int(signum))
    done = subprocess.run([sys.executable, "-c", script, verb, str(folder), "--out", "out", *flags], cwd=tmp_path,
                          capture_output=True, text=True, preexec_fn=default_stop_signals)
    assert done.returncode == 128 + signum, done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr
    assert "not held" not in done.stderr  # (else logging's callbacks could leave its lock taken)
    if verb == "solve":
        assert done.stderr.splitlines()[-1] == f"{NAMES[signum]}: nothing partial was written.", done.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == ["g"]
    else:
        assert "nothing partial was written (its finished runs are kept)" in done.stderr.splitlines()[-1]


def test_a_stop_that_python_drops_in_a_finaliser_is_sent_again():
    """A stop that lands where Python drops exceptions (here a finaliser, `__del__`) is sent again once
    that code has returned: the command stops, with no 'Exception ignored' traceback."""
    script = ("import os, sys, time\n"
              "from planner import launch\n"
              "launch.install()\n"
              "launch.started()\n"
              "class Closing:\n"
              "    def __del__(self):\n"
              f"        os.kill(os.getpid(), {int(signal.SIGINT)})\n"
              "        for _ in range(1000):  # the stop is taken in here\n"
              "            pass\n"
              "try:\n"
              "    Closing()\n"
              "    for _ in range(5000):\n"
              "        time.sleep(0.001)\n"
              "except KeyboardInterrupt:\n"
              "    sys.exit(0)\n"
              "sys.exit(3)  # the stop was lost\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          preexec_fn=default_stop_signals)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def _bound_worker(parent: int, ready: Connection) -> None:
    from planner.processes import bind_to_parent

    bind_to_parent(parent)
    ready.send("bound")
    while True:
        time.sleep(60)


@pytest.mark.skipif(not hasattr(signal, "sigwaitinfo"), reason="needs sigwaitinfo")
def test_a_worker_obeys_sigterm_and_sighup_from_its_parent_only():
    """A SIGHUP from another process (a closing terminal signals the whole group) is dropped; the
    parent's SIGTERM (`Process.terminate`, a broken pool's clean-up) ends the worker. SIGHUP is
    sent first: had it been obeyed, the worker would have left with 129 (SIGHUP is taken before
    a pending SIGTERM), and before the fix it died of it (-1)."""
    context = multiprocessing.get_context("fork")
    theirs, ours = context.Pipe(duplex=False)
    worker = context.Process(target=_bound_worker, args=(os.getpid(), ours), daemon=True)
    worker.start()
    assert theirs.recv() == "bound"
    subprocess.run(["kill", "-HUP", str(worker.pid)], check=True)  # from another process
    os.kill(worker.pid, signal.SIGTERM)  # from its parent
    worker.join()
    assert worker.exitcode == 128 + signal.SIGTERM


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_sweep_workers_die_with_a_killed_parent(tmp_path):
    from planner.instance.generate import generate_instance

    folder = generate_instance(tmp_path / "g", 6, 15, 8, 30, seed=0)
    process = _planner("sweep", str(folder), "--vary", "risk.aversion=0:1:6", "--out", "sw", "--workers", "2",
                       "--mip-gap", "1e-9", cwd=tmp_path)
    workers: list[int] = []
    while len(workers) < 2 and process.poll() is None:
        workers = _children(process.pid)
        time.sleep(0.05)
    assert len(workers) >= 2, "the sweep ended before its workers were seen"
    process.kill()  # kill -9: the parent gets no chance to stop them
    process.wait()
    while any(_alive(w) for w in workers):  # they die with it (asynchronously); no limit on the wall clock
        time.sleep(0.1)


def test_output_the_terminal_cannot_encode_is_escaped_not_an_internal_error(tmp_path):
    """A material named with '€' solved on a Latin-1 terminal: the summary ended in an internal
    error (UnicodeEncodeError) after the results were written. Now what the encoding cannot hold
    is written with backslash escapes, as Python writes it to stderr."""
    folder = shutil.copytree(REPO / "instances" / "four-suppliers", tmp_path / "inst")
    for table in folder.glob("*.csv"):
        table.write_text(table.read_text(encoding="utf-8").replace("rare_earth_oxide", "oxydes_€"), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "planner", "solve", str(folder), "--out", "out"], cwd=tmp_path,
                          capture_output=True, env={**os.environ, "PYTHONIOENCODING": "latin-1"})
    assert done.returncode == cli.EXIT_OK, done.stderr
    assert b"oxydes_\\u20ac  2 contracts" in done.stdout


def _close_standard_streams() -> None:
    for descriptor in (0, 1, 2):
        os.close(descriptor)


def test_a_command_started_with_its_standard_streams_closed_runs_as_with_them_discarded(tmp_path):
    """`planner solve >&- 2>&-` (a daemon's closed descriptors): Python sets sys.stdout to None, and
    the solve ended with an internal error at its first line of progress, writing nothing. Now
    the streams are opened on the null device, and the result is written whole."""
    from planner.instance.data import build_model_data
    from planner.instance.loader import load_instance
    from planner.results.verify import verify_result

    for args in (["solve", "four-suppliers", "--out", "out"], ["sweep", "four-suppliers", "--vary",
                                                               "risk.aversion=0,1", "--workers", "2", "--out", "sw"]):
        done = subprocess.run([sys.executable, "-m", "planner", *args], cwd=tmp_path,
                              preexec_fn=_close_standard_streams)
        assert done.returncode == cli.EXIT_OK, args
    data = build_model_data(load_instance(REPO / "instances" / "four-suppliers"))
    assert verify_result(data, tmp_path / "out") == []
    assert (tmp_path / "sw" / "sweep.csv").is_file()


FULL = Path("/dev/full")  # every write fails with ENOSPC: a log file on a full disk


@pytest.mark.skipif(not FULL.exists(), reason="needs /dev/full")
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_standard_output_on_a_full_disk_is_named_and_the_result_is_whole(tmp_path, as_json):
    """`planner solve > log` where log's disk is full: an internal error ("this is a bug"), and with
    --json a traceback, though the result was complete. Now exit 7 naming standard output, and
    the result verifies."""
    from planner.instance.data import build_model_data
    from planner.instance.loader import load_instance
    from planner.results.verify import verify_result

    with FULL.open("w") as full:
        done = subprocess.run([sys.executable, "-m", "planner", "solve", "four-suppliers", "--out", "out",
                               *(["--json"] if as_json else [])],
                              cwd=tmp_path, stdout=full, stderr=subprocess.PIPE, text=True)
    assert done.returncode == cli.EXIT_OUTPUT, done.stderr
    assert "error: standard output could not be written (No space left on device)" in done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    data = build_model_data(load_instance(REPO / "instances" / "four-suppliers"))
    assert verify_result(data, tmp_path / "out") == []


@pytest.mark.skipif(not FULL.exists(), reason="needs /dev/full")
def test_standard_error_on_a_full_disk_does_not_stop_the_command(tmp_path):
    """`planner solve 2> log` where log's disk is full: the first note ended the solve in an internal
    error (exit 1) and nothing was written. Notes and progress have nowhere to go, so they are
    dropped; the solve ends as it would, its summary on stdout."""
    from planner.instance.data import build_model_data
    from planner.instance.loader import load_instance
    from planner.results.verify import verify_result

    with FULL.open("w") as full:
        done = subprocess.run([sys.executable, "-m", "planner", "solve", "four-suppliers", "--out", "out"],
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=full, text=True)
    assert done.returncode == cli.EXIT_OK
    assert done.stdout.startswith("four-suppliers: optimal") and "Results in out/" in done.stdout
    data = build_model_data(load_instance(REPO / "instances" / "four-suppliers"))
    assert verify_result(data, tmp_path / "out") == []


@pytest.mark.skipif(not FULL.exists(), reason="needs /dev/full")
def test_help_onto_a_full_disk_is_named_not_a_traceback(tmp_path):
    """`planner --help > FILE` on a full disk: click writes the help before any command's guard."""
    with FULL.open("w") as full:
        done = subprocess.run([sys.executable, "-m", "planner", "--help"], cwd=tmp_path, stdout=full,
                              stderr=subprocess.PIPE, text=True)
    assert done.returncode == cli.EXIT_OUTPUT
    assert done.stderr.startswith("error: standard output could not be written") and "Traceback" not in done.stderr


def _into_a_deleted_folder(folder: str):  # noqa: ANN202
    def enter() -> None:
        os.chdir(folder)
        os.rmdir(folder)

    return enter


def test_a_command_run_in_a_folder_deleted_under_the_shell_says_so(tmp_path):
    """The folder the shell is in was deleted (by another terminal, a checkout): every relative path,
    a bundled instance's name included, ended in an internal error. Now a usage error naming it,
    with nothing written."""
    gone = tmp_path / "gone"
    gone.mkdir()
    done = subprocess.run([sys.executable, "-m", "planner", "solve", "four-suppliers", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, preexec_fn=_into_a_deleted_folder(str(gone)))
    assert done.returncode == cli.EXIT_USAGE, done.stderr
    assert done.stderr.startswith("error: the folder you are in no longer exists")
    assert "internal error" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def _busy_on_worker(dask_worker: object) -> int:
    """On a Dask worker (`client.run`): its tasks and actor calls running, and HiGHS runs not ended."""
    import threading

    highs = sum(thread.name == "highs" and thread.is_alive() for thread in threading.enumerate())
    return dask_worker.state.executing_count + len(dask_worker.active_threads) + highs


@pytest.mark.parametrize("command", ["sweep", "solve"])
def test_ctrl_c_stops_the_work_a_command_left_on_a_dask_cluster(tmp_path, command):
    """A sweep's run on a Dask worker (a task) and a solve's blocks (an actor's call) are stopped
    there when the command is interrupted, as on this machine: Dask lets a task its command let
    go of run to its end, and a stopped sweep's run solved on (here a plan that takes minutes)
    and then wrote its result; a solve's block ran to its end. The test waits for the worker to
    be idle (no limit on the clock) and then finds nothing written: on the code before, the
    sweep's wait lasted as long as the run (4 minutes), which then wrote its result. A block
    ends within seconds either way; there the test checks that the stop leaves the worker idle
    and its log without an error (`Released` is caught where it is raised)."""
    distributed = pytest.importorskip("distributed")
    from planner.instance.generate import Shape, generate_instance

    shape = Shape(budget=0.05) if command == "sweep" else Shape()
    size = (10, 30, 10, 50) if command == "sweep" else (6, 15, 8, 300)  # minutes of branch and bound; long blocks
    folder = generate_instance(tmp_path / "g", *size, seed=0, shape=shape)
    args = {"sweep": ["--vary", "risk.aversion=0.3", "--no-decomposition"], "solve": []}[command]
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as c, \
            distributed.Client(c.scheduler_address) as client:
        process = _planner(command, str(folder), *args, "--scheduler", c.scheduler_address, "--out", "out",
                           "--mip-gap", "1e-9", cwd=tmp_path)
        while not any(client.run(_busy_on_worker).values()):  # a HiGHS run under way on the worker
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate()
        assert process.returncode == 130, err
        while any(client.run(_busy_on_worker).values()):  # no limit on the clock (module docstring of the tests)
            time.sleep(0.05)
        logs = "\n".join(line for _, lines in client.get_worker_logs().items() for _, line in lines)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out" / "runs").glob("*/summary.json"))
    assert "Traceback" not in logs and "Released" not in logs, logs


def _spin(rounds: int, record: list[str]) -> str:
    """Work that only an exception raised in its thread stops early."""
    for _ in range(rounds):
        time.sleep(0.001)
    record.append("ran to its end")
    return "answer"


def test_work_no_command_wants_is_stopped_in_its_thread_and_work_still_wanted_is_not():
    from planner.scheduler import stopped_unless

    wanted = threading.Event()
    wanted.set()
    record: list[str] = []
    assert stopped_unless(wanted.is_set, lambda: _spin(20, record), poll=0.001) == "answer"
    assert record == ["ran to its end"]

    record.clear()
    threading.Timer(0, wanted.clear).start()  # let go of as it runs (on the old code: run to its end)
    assert stopped_unless(wanted.is_set, lambda: _spin(10**6, record), poll=0.001) is None
    assert record == []


def test_work_that_ends_as_it_is_let_go_of_never_raises_after_it_returned():
    """The check runs in a thread beside: work that returns just as it is let go of gives its
    answer or None, and nothing is raised in the thread afterwards (tried many times)."""
    from planner.scheduler import stopped_unless

    for rounds in range(300):
        wanted = threading.Event()
        wanted.set()
        threading.Timer(0, wanted.clear).start()
        answer = stopped_unless(wanted.is_set, lambda rounds=rounds: _spin(rounds % 7, []), poll=0)
        assert answer in ("answer", None)
        for _ in range(200):  # bytecode run after it returned: a stray exception would land here
            pass


def test_a_block_holder_let_go_of_stops_its_call_and_waits_for_its_runs(monkeypatch):
    """A Dask actor holding blocks (`cluster.BlockHolder`) stops a call once its phase let go of
    it (the command stopped), and returns once the HiGHS runs it stopped have ended."""
    from planner.solve.decomposition import cluster

    record: list[str] = []
    waited: list[bool] = []
    monkeypatch.setattr(cluster, "answer", lambda *args: _spin(10**6, record))
    monkeypatch.setattr(cluster, "wait_for_left_runs", lambda: waited.append(True))
    holder = cluster.BlockHolder.__new__(cluster.BlockHolder)
    holder.specs, holder.solvers, holder.integers, holder.wanted = [], {}, [], lambda: False
    assert holder.solve([]) is None
    assert record == [] and waited == [True]


def test_a_stop_that_lands_in_a_garbage_collector_callback_is_not_lost():
    """Python drops an exception raised in a garbage collector's callback or a finaliser ('Exception
    ignored in'): a run on a Dask worker solved on to its end when its stop landed in distributed's
    own collector callback (by hand, during a model's build). Here the stop is asked for, and
    lands, inside such a callback; the work stops all the same once the callback has returned."""
    import gc

    from planner.scheduler import stopped_unless

    wanted = threading.Event()
    wanted.set()
    inside: list[bool] = []

    def callback(phase: str, info: dict) -> None:
        if phase == "start" and wanted.is_set() and inside == [False]:
            inside[0] = True
            wanted.clear()  # let go of now: the stop lands in this loop
            for _ in range(5000):
                time.sleep(0.001)

    def work() -> str:
        inside.append(False)
        gc.collect()
        return _spin(5000, record)  # (on the code before: ran to its end)

    record: list[str] = []
    gc.callbacks.append(callback)
    try:
        assert stopped_unless(wanted.is_set, work, poll=0.001) is None
    finally:
        gc.callbacks.remove(callback)
    assert inside == [True] and record == []
