"""Safe by default: planner never touches what it did not write, slips are usage errors, inputs
stay inputs, Ctrl-C stops a solve and nothing is left behind.

Every writing command is pointed at a folder holding a user's files, with and without
--force: the folder must survive byte for byte. A corpus of wrong invocations must each end
with its documented exit code, no traceback, no crash log and nothing written.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import REPO, crash_logs, four_suppliers, racing

import planner
from planner import cli
from planner.options import SolveOptions


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file and folder below `folder` (manifests included), with the files' bytes."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """A planner result of four-suppliers, written once for the module."""
    base = tmp_path_factory.mktemp("solved")
    result = CliRunner().invoke(cli.main, ["solve", "four-suppliers", "--out", str(base / "res")])
    assert result.exit_code == 0, result.output
    return base / "res"


@pytest.fixture
def user_folder(tmp_path):
    """A folder of the user's: a note, a spreadsheet and a sub-folder with a file."""
    folder = tmp_path / "mine"
    (folder / "keep").mkdir(parents=True)
    (folder / "notes.txt").write_text("my notes\n")
    (folder / "important.xlsx").write_bytes(b"PK\x03\x04 not planner's")
    (folder / "keep" / "data.csv").write_text("a,b\n1,2\n")
    return folder


def _writing_commands(solved: Path, target: Path) -> list[list[str]]:
    return [
        ["solve", "four-suppliers", "--out", str(target)],
        ["evaluate", "four-suppliers", str(solved), "--out", str(target)],
        ["sweep", "four-suppliers", "--vary", "risk.aversion=0,1", "--out", str(target), "--workers", "1"],
        ["scenarios", "us-critical-minerals", "--out", str(target)],
        ["generate", str(target), "--commodities", "1", "--options", "2", "--periods", "1", "--scenarios", "1"],
    ]


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("command", range(5))
def test_a_users_folder_survives_every_writing_command(solved, user_folder, tmp_path, monkeypatch, command, force):
    monkeypatch.chdir(tmp_path)
    before = _snapshot(user_folder)
    args = _writing_commands(solved, user_folder)[command] + (["--force"] if force else [])
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == cli.EXIT_OUTPUT, result.output
    assert "planner did not write" in result.output and "notes.txt" in result.output
    assert _snapshot(user_folder) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".planner")]


@pytest.mark.parametrize("option", ["--out", "--xlsx"])
def test_report_files_replace_only_planners_own(solved, tmp_path, monkeypatch, option):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    name = "r.html" if option == "--out" else "r.xlsx"
    target = tmp_path / "deep" / "new" / name  # missing folders are made
    assert runner.invoke(cli.main, ["report", str(solved), option, str(target)]).exit_code == 0
    again = runner.invoke(cli.main, ["report", str(solved), option, str(target)])
    assert again.exit_code == 0, again.output  # planner's own file: replaced
    theirs = tmp_path / name
    theirs.write_bytes(b"the user's own")
    refused = runner.invoke(cli.main, ["report", str(solved), option, str(theirs)])
    assert refused.exit_code == cli.EXIT_OUTPUT and "planner did not write" in refused.output
    assert theirs.read_bytes() == b"the user's own"


def test_a_report_missing_from_its_folders_manifest_is_still_planners(tmp_path, monkeypatch):
    """A report and workbook planner wrote into a result but whose manifest entries are gone (an
    older result, or one lost to a race before bd44273): they count as planner's, changed, so
    --force replaces the folder; before, they counted as the user's and nothing could. A file of
    the user's beside them is still refused."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    solve = ["solve", "four-suppliers", "--out", "res", "--report", "--xlsx"]
    assert runner.invoke(cli.main, solve).exit_code == 0
    manifest = json.loads((tmp_path / "res" / ".planner.json").read_text())
    del manifest["files"]["report.html"], manifest["files"]["results.xlsx"]
    (tmp_path / "res" / ".planner.json").write_text(json.dumps(manifest))
    again = runner.invoke(cli.main, solve)
    assert again.exit_code == cli.EXIT_OUTPUT and "report.html, results.xlsx changed since" in again.output
    assert runner.invoke(cli.main, [*solve, "--force"]).exit_code == 0
    (tmp_path / "res" / "notes.html").write_text("<html>the user's</html>")
    refused = runner.invoke(cli.main, [*solve, "--force"])
    assert refused.exit_code == cli.EXIT_OUTPUT and "planner did not write (notes.html)" in refused.output


def test_an_earlier_result_with_an_evaluation_inside_is_planners(tmp_path, monkeypatch):
    """Nested planner folders count as planner's; --out replaces its own result on a rerun."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli.main, ["solve", "four-suppliers", "--out", "res"]).exit_code == 0
    assert runner.invoke(cli.main, ["evaluate", "four-suppliers", "res", "--out", "res/eval"]).exit_code == \
        cli.EXIT_OUTPUT  # inside the results it reads: never
    assert runner.invoke(cli.main, ["evaluate", "four-suppliers", "res"]).exit_code == 0
    assert (tmp_path / "res-evaluation" / "summary.json").is_file()
    assert runner.invoke(cli.main, ["report", "res"]).exit_code == 0
    assert runner.invoke(cli.main, ["solve", "four-suppliers", "--out", "res"]).exit_code == 0
    assert not (tmp_path / "res" / "report.html").exists()  # the folder was replaced as a whole


def test_outputs_never_go_into_inputs_or_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    instance = four_suppliers(tmp_path / "inst")
    before = _snapshot(instance)
    for out in (".", "..", str(instance), str(instance / "results"), str(tmp_path)):
        result = runner.invoke(cli.main, ["solve", str(instance), "--out", out, "--force"])
        assert result.exit_code == cli.EXIT_OUTPUT, (out, result.output)
        assert "Traceback" not in result.output
    assert _snapshot(instance) == before


def test_names_are_not_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("../victim", "/tmp/x", "a/b", "..", ".hidden", "a\\b"):
        folder = four_suppliers(tmp_path / f"inst{abs(hash(name))}")
        toml = (folder / "instance.toml").read_text().replace('name = "four-suppliers"', f'name = {json.dumps(name)}')
        (folder / "instance.toml").write_text(toml)
        result = CliRunner().invoke(cli.main, ["validate", str(folder)])
        assert result.exit_code == cli.EXIT_INVALID_INPUT, (name, result.output)
        assert "instance.toml:name:" in result.output and "plain folder name" in result.output
    assert not (tmp_path.parent / "victim").exists()


def test_bundled_instances_are_never_written(tmp_path, monkeypatch):
    """git status of the repository is the same after commands run on bundled instances."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    status = lambda: subprocess.run(["git", "status", "--porcelain", "--ignored", "instances"], cwd=REPO,  # noqa: E731
                                    capture_output=True, text=True).stdout
    before = status()
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli.main, ["scenarios", "us-critical-minerals"]).exit_code == 0
    assert (tmp_path / "results" / "us-critical-minerals-scenarios" / "scenarios.csv").is_file()
    refused = runner.invoke(cli.main, ["scenarios", "us-critical-minerals", "--into-instance"])
    assert refused.exit_code == cli.EXIT_OUTPUT and "bundled" in refused.output
    bundled = REPO / "instances" / "four-suppliers"
    for out in (str(bundled / "results"), str(bundled)):
        assert runner.invoke(cli.main, ["solve", "four-suppliers", "--out", out, "--force"]).exit_code == \
            cli.EXIT_OUTPUT
    assert runner.invoke(cli.main, ["solve", "four-suppliers"]).exit_code == 0
    assert status() == before


def test_scenarios_into_an_instance_are_planners_and_the_message_says_which_file_is_used(tmp_path, monkeypatch):
    import shutil

    monkeypatch.chdir(tmp_path)
    instance = tmp_path / "us"
    shutil.copytree(REPO / "instances" / "us-critical-minerals", instance)
    runner = CliRunner()
    assert runner.invoke(cli.main, ["scenarios", str(instance), "--into-instance"]).exit_code == 0
    assert runner.invoke(cli.main, ["scenarios", str(instance), "--into-instance"]).exit_code == 0  # its own
    validated = runner.invoke(cli.main, ["validate", str(instance)])
    assert "scenarios.csv is used and" in validated.output and "events.csv is ignored" in validated.output
    swept = runner.invoke(cli.main, ["sweep", str(instance), "--vary", "events.russia-breaks.probability=0,1",
                                     "--out", "sw"])
    assert swept.exit_code == cli.EXIT_INVALID_INPUT and "would change nothing" in swept.output
    (instance / "scenarios.csv").write_text("scenario,probability\nedited,1\n")
    edited = runner.invoke(cli.main, ["scenarios", str(instance), "--into-instance"])
    assert edited.exit_code == cli.EXIT_OUTPUT and "changed since" in edited.output
    assert (instance / "scenarios.csv").read_text() == "scenario,probability\nedited,1\n"
    theirs = tmp_path / "theirs"
    shutil.copytree(REPO / "instances" / "us-critical-minerals", theirs)
    (theirs / "scenarios.csv").write_text("scenario,probability\nmine,1\n")
    refused = runner.invoke(cli.main, ["scenarios", str(theirs), "--into-instance", "--force"])
    assert refused.exit_code == cli.EXIT_OUTPUT and "planner did not write" in refused.output
    assert (theirs / "scenarios.csv").read_text() == "scenario,probability\nmine,1\n"


def _corpus(solved: Path) -> list[tuple[list[str], int]]:
    """Wrong invocations and the exit code each must end with."""
    usage, invalid, output = cli.EXIT_USAGE, cli.EXIT_INVALID_INPUT, cli.EXIT_OUTPUT
    vary = ["--vary", "risk.aversion=0,1"]
    return [
        (["solve", "four-suppliers", "--mip-gap", "nan"], usage),
        (["solve", "four-suppliers", "--mip-gap", "2"], usage),
        (["solve", "four-suppliers", "--time-limit", "nan"], usage),
        (["solve", "four-suppliers", "--time-limit", "inf"], usage),
        (["solve", "four-suppliers", "--time-limit", "0"], usage),
        (["solve", "four-suppliers", "--time-limit", "-1"], usage),
        (["solve", "four-suppliers", "--threads", "0"], usage),
        (["solve", "four-suppliers", "--node-limit", "0"], usage),
        (["solve", "four-suppliers", "--samples", "1"], usage),
        (["solve", "four-suppliers", "--bogus"], usage),
        (["solve", "four-suppliers", "extra"], usage),
        (["solve", "no-such-instance"], invalid),
        (["solve", "a" * 300], invalid),  # a name longer than the system allows: it was an internal error
        (["solve", "four-suppliers", "--out", "a" * 300], output),
        (["report", str(solved), "--out", "a" * 300 + ".html"], output),
        (["generate", "x/" + "a" * 300], output),
        (["solve", "four-suppliers", "--out", "."], output),
        (["validate", "no-such-instance"], invalid),
        (["verify", "four-suppliers"], usage),
        (["verify", "four-suppliers", "missing"], usage),
        (["verify", "four-suppliers", "emptydir"], invalid),
        (["generate"], usage),
        (["generate", "g", "--commodities", "0"], usage),
        (["generate", "g", "--seed", "x"], usage),
        (["generate", "g", "--periods", "99999999999"], usage),  # a slip: it ran out of memory
        (["generate", "g", "--scenarios", str(10**7)], usage),
        (["solve", "four-suppliers", "--metrics", "--samples", "99999999999"], usage),  # it was an internal error
        (["report", "missing"], usage),
        (["report", "emptydir"], invalid),
        (["report", str(solved), "--out", "emptydir"], usage),
        (["report", str(solved), "--out", "plan.xlsx"], usage),  # it wrote HTML that Excel could not open
        (["report", str(solved), "--xlsx", "plan.html"], usage),
        (["report", str(solved), "--out", "plan"], usage),
        (["scenarios"], usage),
        (["scenarios", "four-suppliers"], invalid),
        (["scenarios", "us-critical-minerals", "--method", "magic"], usage),
        (["scenarios", "us-critical-minerals", "--max-scenarios", "0"], usage),
        (["scenarios", "us-critical-minerals", "--out", "x", "--into-instance"], usage),
        (["scenarios", "us-critical-minerals", "--into-instance"], output),
        (["evaluate", "four-suppliers"], usage),
        (["evaluate", "four-suppliers", "missing"], usage),
        (["evaluate", "four-suppliers", "emptydir"], invalid),
        (["evaluate", "four-suppliers", str(solved), "--scenarios", "missing.csv"], usage),
        (["evaluate", "four-suppliers", str(solved), "--scenarios", "emptydir"], usage),
        (["sweep", "four-suppliers", "--out", "d"], usage),
        (["sweep", "four-suppliers", *vary, "--design", "design.csv", "--out", "d"], usage),
        (["sweep", "four-suppliers", *vary], usage),
        (["sweep", "four-suppliers", "--vary", "risk.aversion=0", "--vary", "risk.aversion=1", "--out", "d"], usage),
        (["sweep", "four-suppliers", "--vary", "risk.aversion", "--out", "d"], invalid),
        (["sweep", "four-suppliers", "--vary", "risk.aversion=0,x", "--out", "d"], invalid),
        (["sweep", "four-suppliers", "--vary", "no.such.key=1", "--out", "d"], invalid),
        (["sweep", "four-suppliers", "--vary", "risk.aversion=0,2", "--out", "d"], invalid),
        (["sweep", "four-suppliers", *vary, "--scheduler", "garbage", "--out", "d"], usage),
        (["sweep", "four-suppliers", *vary, "--workers", "0", "--out", "d"], usage),
        (["sweep", "four-suppliers", *vary, "--mip-gap", "nan", "--out", "d"], usage),
        (["sweep", "four-suppliers", *vary, "--time-limit", "nan", "--out", "d"], usage),
        (["sweep", "four-suppliers", "--design", "emptydir", "--out", "d"], usage),
        (["instances", "extra"], usage),
        (["no-such-command"], usage),
    ]


def test_wrong_invocations_exit_with_their_code_and_write_nothing(solved, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "emptydir").mkdir()
    (tmp_path / "design.csv").write_text("risk.aversion\n0\n")
    corpus = _corpus(solved)
    assert len(corpus) >= 30
    runner = CliRunner()
    before, logs = _snapshot(tmp_path), crash_logs()
    for args, code in corpus:
        result = runner.invoke(cli.main, args)
        assert result.exit_code == code, (args, result.output)
        assert "Traceback" not in result.output and "internal error" not in result.output, (args, result.output)
        assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), args
        if code == cli.EXIT_USAGE:
            assert "Usage:" in result.output or "Error:" in result.output, (args, result.output)
        assert _snapshot(tmp_path) == before, args
    assert crash_logs() == logs


def test_input_files_that_are_not_regular_files_are_refused(tmp_path):
    folder = four_suppliers(tmp_path / "fifo")
    (folder / "options.csv").unlink()
    os.mkfifo(folder / "options.csv")
    result = CliRunner().invoke(cli.main, ["validate", str(folder)])  # would hang on reading the FIFO
    assert result.exit_code == cli.EXIT_INVALID_INPUT
    assert "options.csv: is not a regular file" in result.output
    folder = four_suppliers(tmp_path / "dir")
    (folder / "instance.toml").unlink()
    (folder / "instance.toml").mkdir()
    result = CliRunner().invoke(cli.main, ["solve", str(folder), "--out", str(tmp_path / "out")])
    assert result.exit_code == cli.EXIT_INVALID_INPUT and "instance.toml: is not a regular file" in result.output


def test_every_user_text_in_the_report_is_escaped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = four_suppliers(tmp_path / "inst")
    toml = (folder / "instance.toml").read_text()
    toml = toml.replace('currency = "USD"', 'currency = "<img src=x onerror=alert(1)>"')
    toml = toml.replace('unit = "t"', 'unit = "<b>t</b> $x$"')
    (folder / "instance.toml").write_text(toml)
    result = CliRunner().invoke(cli.main, ["solve", str(folder), "--out", "res", "--report"])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "res" / "report.html").read_text()
    assert "<img" not in page and "<b>t</b>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_sweeps_count_runs_without_a_plan(tmp_path, monkeypatch):
    """Two infeasible runs: counted, listed with their reason, and no empty chart drawn."""
    monkeypatch.chdir(tmp_path)
    four_suppliers(tmp_path / "inst")
    result = CliRunner().invoke(cli.main, ["sweep", "inst", "--vary",
                                           "commodities.rare_earth_oxide.service_level=0.99,1", "--out", "sw",
                                           "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "2 runs, 2 without a plan; no chart: no run has a plan" in result.output
    assert result.output.count("(infeasible): no plan satisfies every constraint") == 2
    assert not list((tmp_path / "sw").glob("*.png"))
    report = CliRunner().invoke(cli.main, ["report", "sw"])
    assert report.exit_code == 0 and "No chart: no run has a plan" in (tmp_path / "sw" / "report.html").read_text()


def test_a_sweep_folder_of_another_instance_is_not_resumed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    instance = four_suppliers(tmp_path / "inst")
    runner = CliRunner()
    args = ["sweep", "inst", "--vary", "risk.aversion=0,1", "--out", "sw", "--workers", "1"]
    assert runner.invoke(cli.main, args).exit_code == 0
    assert "2 already done" in runner.invoke(cli.main, args).output
    (instance / "commodities.csv").write_text((instance / "commodities.csv").read_text().replace("400", "500"))
    changed = runner.invoke(cli.main, args)
    assert changed.exit_code == cli.EXIT_OUTPUT
    assert f"sw holds a sweep of another version of {instance.resolve()} (its files changed since that sweep " \
           "began)" in changed.output
    again = runner.invoke(cli.main, [*args, "--force"])
    assert again.exit_code == 0 and "0 already done" in again.output


def test_an_unreachable_scheduler_fails_with_a_message(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli.main, ["sweep", "four-suppliers", "--vary", "risk.aversion=0,1", "--out", "sw",
                                           "--scheduler", "tcp://127.0.0.1:9"])
    assert result.exit_code == cli.EXIT_CLUSTER, result.output
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.output


def test_an_interrupt_stops_the_solve_and_is_never_lost(tmp_path):
    """Ctrl-C (SIGINT to the process) while HiGHS runs in its thread: KeyboardInterrupt comes
    out of the solve, whatever stage it reached. Sent from the solver's own progress callback,
    so that the moment does not depend on the machine's speed."""
    from planner.instance.generate import generate_instance
    from planner.options import SolveOptions
    from planner.solve.pipeline import solve_instance

    folder = generate_instance(tmp_path / "g", 3, 8, 6, 10, seed=0)
    for decomposition in (True, False):
        calls = []

        def progress(seconds, incumbent, bound, calls=calls):
            calls.append(seconds)
            if len(calls) == 2:
                os.kill(os.getpid(), signal.SIGINT)

        with pytest.raises(KeyboardInterrupt):
            solve_instance(folder, SolveOptions(progress=progress, mip_gap=1e-9, decomposition=decomposition))
        assert len(calls) >= 2


def test_a_kept_model_whose_solve_was_interrupted_is_built_again(tmp_path):
    """Same input, same output, whatever ran before: after Ctrl-C (HiGHS may then be left
    with a stage's bounds) the kept model is not solved again; the cache builds it anew, and
    the plan is that of a fresh process."""
    from planner.errors import SolveError
    from planner.instance.generate import generate_instance
    from planner.options import SolveOptions
    from planner.solve.pipeline import solve_instance
    from planner.solve.resolve import ModelCache

    folder = generate_instance(tmp_path / "g", 3, 8, 6, 10, seed=0)
    calls: list[float] = []

    def progress(seconds, incumbent, bound):
        calls.append(seconds)
        if len(calls) == 2:  # in the first solve only
            os.kill(os.getpid(), signal.SIGINT)

    options = SolveOptions(progress=progress, mip_gap=1e-9)
    cache = ModelCache()
    with pytest.raises(KeyboardInterrupt):
        solve_instance(folder, options, cache=cache)
    interrupted = cache._kept.session
    again = solve_instance(folder, options, cache=cache)
    assert cache.builds == 2 and cache.reuses == 0 and cache._kept.session is not interrupted
    fresh = solve_instance(folder, SolveOptions(mip_gap=1e-9))
    assert again.figures.objective == fresh.figures.objective and again.plan.volume == fresh.plan.volume
    with pytest.raises(SolveError, match="interrupted"):
        interrupted.solve(0.3)


class _Hook:
    def subscribe(self, callback: object) -> None:
        pass

    def unsubscribe(self, callback: object) -> None:
        pass


class _SlowToStop:
    """Stands for HiGHS in a stretch without interrupt checks (a factorisation, presolve of a
    large model): `run` returns only when the test releases it."""

    def __init__(self) -> None:
        import threading

        self.started, self.release = threading.Event(), threading.Event()
        self.cbSimplexInterrupt = self.cbIpmInterrupt = self.cbMipInterrupt = _Hook()

    def setOptionValue(self, name: str, value: object) -> object:
        import highspy

        return highspy.HighsStatus.kOk  # as HiGHS answers a value it takes

    def run(self) -> None:
        self.started.set()
        self.release.wait()


def test_ctrl_c_leaves_alone_a_highs_that_has_not_stopped():
    """Ctrl-C while HiGHS cannot stop yet: the wait raises KeyboardInterrupt anyway, and the
    instance stays in use until HiGHS returns, so that the code giving it back (bounds,
    rows, costs) does not touch it: a call on a running HiGHS crashed the process (exit -11
    after Ctrl-C during a completion LP). In Python 3.11 a Thread.join interrupted by the
    signal reports the thread ended while it still runs; this fails if `in_use` trusts it."""
    import threading

    from planner.solve.highs import HighsRun, in_use

    class Watched(threading.Event):  # the run's end, telling when the main thread waits for it
        def __init__(self) -> None:
            super().__init__()
            self.waited = threading.Event()

        def wait(self, timeout: float | None = None) -> bool:
            self.waited.set()
            return super().wait(timeout)

    highs = _SlowToStop()
    run = HighsRun(highs)  # type: ignore[arg-type]
    run.finished = finished = Watched()  # before HiGHS can end: it waits for `release`
    threading.Thread(target=lambda: (finished.waited.wait(), os.kill(os.getpid(), signal.SIGINT)),
                     daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        run.wait()
    assert in_use(highs) and not run.finished.is_set()
    highs.release.set()
    assert run.finished.wait()  # no timeout: the test never depends on the machine's pace
    assert not in_use(highs)


def test_a_limited_solve_races_branch_and_bound_and_the_phase_to_the_same_optimum(tmp_path):
    """With a time limit, branch and bound and the phase run side by side; with a limit that never
    binds (on a clock that stands still, so whatever the machine's speed), the plan is the same
    optimum as the unlimited solve's, proven."""
    from planner.instance.generate import generate_instance
    from planner.options import SolveOptions
    from planner.solve.pipeline import solve_instance

    folder = generate_instance(tmp_path / "g", 3, 8, 6, 10, seed=0)
    plain = solve_instance(folder, SolveOptions(mip_gap=1e-6))
    raced = solve_instance(folder, racing(mip_gap=1e-6))
    assert raced.report.status == "optimal" and raced.report.method.used_decomposition or \
        raced.report.method == "branch and bound"
    assert raced.figures.objective == pytest.approx(plain.figures.objective, rel=2e-6)
    assert raced.mip_gap <= 1e-6


def test_a_branch_and_bound_that_does_not_stop_is_left_once_the_phase_proves(tmp_path, monkeypatch):
    """In a race, once the phase has proven the gap, branch and bound is stopped; HiGHS sees a
    stop only between its LPs (a large model's first LP takes minutes), so one that has not
    ended within STOP_GRACE is left to end alone, and the phase's copy of the model becomes the
    session's HiGHS. Here branch and bound never ends (a stand-in): the solve is optimal by the
    phase, at the unlimited optimum, and the session solves again on its new HiGHS."""
    import threading

    import planner.solve.race as race_module
    import planner.solve.session as session_module
    from planner.instance.data import build_model_data
    from planner.instance.generate import generate_instance
    from planner.instance.loader import load_instance
    from planner.model.build import create_model
    from planner.options import SolveOptions
    from planner.solve.highs import RunStatus
    from planner.solve.scaling import choose_scales, scale_data

    class NeverEnds:  # a branch and bound deep in a long LP: it sees no stop
        def __init__(self) -> None:
            self.finished, self.stopped, self.left = threading.Event(), False, False

        def stop(self) -> None:
            self.stopped = True

        def leave(self) -> None:
            self.left = True

        def wait(self) -> RunStatus:  # (the race must not wait for it)
            raise AssertionError("waited for a branch and bound that does not end")

    folder = generate_instance(tmp_path / "g", 6, 15, 8, 30, seed=0)
    data = build_model_data(load_instance(folder))
    options = racing(tiebreak=False)  # a time limit that never binds: the solve races
    session = session_module.HighsSession(create_model(scale_data(data, choose_scales(data))), options, planning=True)
    reference = session_module.HighsSession(create_model(scale_data(data, choose_scales(data))),
                                            SolveOptions(tiebreak=False), planning=True)
    assert reference.solve(0.3).status == "optimal"
    optimum = reference.compiled.value(reference.last_plan)
    stuck = NeverEnds()
    monkeypatch.setattr(race_module, "STOP_GRACE", 0.01)
    monkeypatch.setattr(session_module.HighsSession, "_branch_and_bound", lambda self, deadline, best: stuck)
    first_highs = session.highs
    report = session.solve(0.3)
    assert stuck.stopped and stuck.left
    assert report.status == "optimal" and report.method == "decomposition"
    assert session.compiled.value(session.last_plan) == pytest.approx(optimum, rel=1e-4)
    assert session.highs is not first_highs
    monkeypatch.undo()  # branch and bound as it is, on the session's new HiGHS
    again = session.solve(0.3)
    assert again.status == "optimal" and session.compiled.value(session.last_plan) == pytest.approx(optimum, rel=1e-4)


class _JumpingClock:
    """An injected clock that reads 0 until `jump()`, then JUMP: a deadline at LIMIT passes then
    and only then, whatever the machine's speed (HiGHS's own limit, LIMIT seconds, is never
    reached)."""

    LIMIT, JUMP = 1e9, 2e9

    def __init__(self) -> None:
        self.now = 0.0

    def jump(self) -> None:
        self.now = self.JUMP

    def __call__(self) -> float:
        return self.now


def _hang_at_first_callback(h, release, clock: _JumpingClock) -> None:  # noqa: ANN001
    """HiGHS `h` hangs at its first callback until `release` is set, and the deadline passes as it
    does (`clock.jump`): a stand-in for HiGHS in presolve or before its first LP iteration, where
    it sees neither its time limit nor a stop."""

    def hang(event) -> None:  # noqa: ANN001
        clock.jump()
        release.wait(600)  # (a guard only: the test sets it)

    for hook in (h.cbSimplexInterrupt, h.cbMipInterrupt):
        hook.subscribe(hang)


def _generated_model(tmp_path):  # noqa: ANN001, ANN202
    from planner.instance.data import build_model_data
    from planner.instance.generate import generate_instance
    from planner.instance.loader import load_instance
    from planner.model.build import create_model
    from planner.solve.scaling import choose_scales, scale_data

    data = build_model_data(load_instance(generate_instance(tmp_path / "g", 3, 8, 6, 10, seed=0)))
    return create_model(scale_data(data, choose_scales(data)))


def test_a_run_past_its_deadline_is_left_to_end_alone(tmp_path):
    """HighsRun.wait(leave_after=...): a run still going that many seconds past its deadline is
    stopped, and left when it does not stop: wait returns TIME_LIMIT with `left` set, the
    instance stays in use until HiGHS ends, and wait_for_left_runs then returns."""
    import threading

    from helpers import in_own_thread

    from planner.solve import highs
    from planner.solve.compile import compile_model

    highs.wait_for_left_runs()
    h = highs.new_highs(SolveOptions())
    h.passModel(compile_model(_generated_model(tmp_path)).lp)
    release, clock = threading.Event(), _JumpingClock()
    _hang_at_first_callback(h, release, clock)
    try:
        run = in_own_thread(lambda: highs.HighsRun(h, deadline=clock.LIMIT, clock=clock))
        assert run.wait(leave_after=0.05) is highs.RunStatus.TIME_LIMIT
        assert run.left and highs.in_use(h) and not run.finished.is_set()
    finally:
        release.set()
    highs.wait_for_left_runs()
    assert run.finished.is_set() and not highs.in_use(h)


def test_a_branch_and_bound_past_the_time_limit_is_left_and_the_solve_ends(tmp_path, monkeypatch):
    """A solve whose branch and bound does not stop at the time limit (HiGHS hangs here, as it
    does in presolve and before the first LP iteration of a large model) ends STOP_GRACE after
    it with what it has (no plan here: status no_plan); branch and bound is left to end alone,
    and the session, on a new HiGHS, solves again to the optimum."""
    import dataclasses
    import threading

    import planner.solve.race as race_module
    import planner.solve.session as session_module
    from planner.solve import highs

    highs.wait_for_left_runs()
    clock = _JumpingClock()
    options = SolveOptions(time_limit=clock.LIMIT, decomposition=False, tiebreak=False, clock=clock)
    session = session_module.HighsSession(_generated_model(tmp_path), options, planning=True)
    release, runs = threading.Event(), []
    branch_and_bound = session_module.HighsSession._branch_and_bound

    def hanging(self, deadline, best):  # noqa: ANN001, ANN202
        _hang_at_first_callback(self.highs, release, clock)
        runs.append(branch_and_bound(self, deadline, best))
        return runs[-1]

    monkeypatch.setattr(race_module, "STOP_GRACE", 0.05)
    monkeypatch.setattr(session_module.HighsSession, "_branch_and_bound", hanging)
    first_highs = session.highs
    try:
        report = session.solve(0.3)
        assert report.status == "no_plan" and not report.has_plan
        assert runs[0].left and highs.in_use(first_highs) and session.highs is not first_highs
    finally:
        release.set()
    highs.wait_for_left_runs()
    monkeypatch.undo()
    session.options = dataclasses.replace(options, time_limit=None)
    assert session.solve(0.3).status == "optimal"


def test_a_run_left_to_end_alone_gives_and_takes_no_plans():
    """HighsRun.leave: the callbacks of a run left to end alone neither take its plans into the
    incumbent nor hand it one, and ask HiGHS to stop. (The run here never starts: its deadline
    has passed, so its callbacks are called by hand, before and after it is left.)"""
    import highspy
    import numpy as np

    from planner.solve.highs import HighsRun

    taken, given, interrupts = [], [], []
    run = HighsRun(highspy.Highs(), deadline=0.0, clock=lambda: 1.0,
                   provide=lambda: given.append(1) or np.zeros(2), improved=taken.append)

    class Event:
        class data_out:  # noqa: N801
            mip_solution = [0.0, 1.0]

        class data_in:  # noqa: N801
            @staticmethod
            def setSolution(plan) -> None:  # noqa: N802, ANN001
                pass

        @staticmethod
        def interrupt(value: bool) -> None:
            interrupts.append(value)

    for _ in range(2):  # before it is left, then after
        run._take(Event())
        run._give(Event())
        run._check(Event())
        run.leave()
    assert len(taken) == 1 and len(given) == 1 and interrupts == [False, True]


def test_a_process_waits_for_the_runs_it_left_before_it_solves_again():
    """wait_for_left_runs (a sweep's worker, between runs): it returns once every run left to end
    alone has ended, and forgets them."""
    import threading

    import highspy

    from planner.solve import highs

    highs.wait_for_left_runs()  # (what earlier tests left, all ended)
    runs = [highs.HighsRun(highspy.Highs(), deadline=0.0, clock=lambda: 1.0) for _ in range(2)]
    runs[1].finished.clear()  # still at work: it ends a moment later
    for run in runs:
        run.leave()
    assert highs._LEFT == runs
    threading.Timer(0.05, runs[1].finished.set).start()
    highs.wait_for_left_runs()
    assert runs[1].finished.is_set() and highs._LEFT == []


def test_solve_with_an_unreachable_or_malformed_scheduler(tmp_path, monkeypatch):
    """solve --scheduler: a malformed address is a usage error before any work; an unreachable
    one ends with the cluster's exit code and a message, and no results folder."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    bad = runner.invoke(cli.main, ["solve", "four-suppliers", "--out", "r", "--scheduler", "garbage"])
    assert bad.exit_code == 2 and "expected a scheduler address" in bad.output
    result = runner.invoke(cli.main, ["solve", "four-suppliers", "--out", "r", "--scheduler", "tcp://127.0.0.1:9"])
    assert result.exit_code == cli.EXIT_CLUSTER, result.output
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.output
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("limited", [False, True])
@pytest.mark.parametrize("decomposition", [True, False])
def test_progress_shows_the_best_plan_and_bound_so_far_and_never_another_objective(tmp_path, decomposition, limited):
    """The status line's figures, whatever part of the solve reports them (the phase, branch and
    bound, a race of both): the best plan never gets dearer and the bound never falls; no bound
    above the optimum (the restricted MIP's bound is its own model's) and no plan below it (the
    tie-break stage at lambda = 1 minimises the expected cost, another objective)."""
    from planner.instance.generate import Shape, generate_instance
    from planner.options import SolveOptions
    from planner.solve.pipeline import solve_instance

    folder = generate_instance(tmp_path / "g", 3, 8, 6, 10, seed=1, shape=Shape(aversion=1.0, budget=0.1))
    calls: list[tuple[float | None, float | None]] = []
    progress = {"progress": lambda seconds, incumbent, bound: calls.append((incumbent, bound)),
                "mip_gap": 1e-9, "decomposition": decomposition}
    options = racing(**progress) if limited else SolveOptions(**progress)
    out = solve_instance(folder, options)
    assert out.report.status == "optimal" and out.report.tiebreak != "not run"
    optimum, tolerance = out.figures.objective, 1e-6 * abs(out.figures.objective)
    plans = [incumbent for incumbent, _ in calls if incumbent is not None]
    bounds = [bound for _, bound in calls if bound is not None]
    assert plans and bounds
    assert all(later <= earlier for earlier, later in zip(plans, plans[1:]))
    assert all(later >= earlier for earlier, later in zip(bounds, bounds[1:]))
    assert min(plans) >= optimum - tolerance
    assert max(bounds) <= optimum + tolerance


def test_every_highs_option_planner_sets_is_taken_or_the_solve_stops():
    """HiGHS refuses a value out of its range with a status and keeps its own (a node limit of
    2**31 silently became no limit; a thread count of 10**11 silently became HiGHS's default):
    planner checks each, clamps a node limit above HiGHS's 32-bit integers (no limit either
    way), and raises on a refusal instead of solving with an option it did not mean."""
    from planner.errors import PlannerError
    from planner.solve.highs import HIGHS_INT_MAX, highs_factory, option_set, set_option

    h = highs_factory(SolveOptions(node_limit=10**12))()
    assert h.getOptionValue("mip_max_nodes")[1] == HIGHS_INT_MAX
    assert highs_factory(SolveOptions(node_limit=7))().getOptionValue("mip_max_nodes")[1] == 7
    with pytest.raises(PlannerError, match="refused its option threads"):
        set_option(h, "threads", 10**11)
    with pytest.raises(PlannerError, match="mip_rel_gap"):
        with option_set(h, "mip_rel_gap", -1.0):
            pass


def test_more_threads_than_cores_is_said(monkeypatch, tmp_path):
    import planner.cli.plan

    monkeypatch.setattr(planner.cli.plan, "usable_cores", lambda: 1)
    solve = ["solve", "four-suppliers", "--out", str(tmp_path / "o"), "--threads"]
    result = CliRunner().invoke(cli.main, [*solve, "2"])
    assert result.exit_code == 0, result.output
    assert "--threads 2 is more than the 1 cores this process may use" in result.output
    result = CliRunner().invoke(cli.main, [*solve, "5000"])
    assert result.exit_code == cli.EXIT_USAGE


def test_python_dash_m_planner_is_the_planner_command():
    """`python -m planner` runs the entry point (Ctrl-C taken over before click loads), where
    `python -m planner.cli` imports the command line first."""
    done = subprocess.run([sys.executable, "-m", "planner", "--version"], capture_output=True, text=True)
    assert (done.returncode, done.stdout.strip()) == (0, f"planner, version {planner.__version__}")


def test_on_windows_the_command_says_where_planner_runs():
    """On Windows, without SIGHUP, importing the entry point failed on the first line that names
    it: every command, `--help` included, printed a traceback. Now it says where planner runs
    (Windows imitated: SIGHUP removed and the platform said to be win32, before the import)."""
    imitate = ("import _signal, sys; del _signal.SIGHUP; sys.platform = 'win32'; sys.argv = ['planner', '--help']; "
               "from planner.launch import main; main()")
    done = subprocess.run([sys.executable, "-c", imitate], capture_output=True, text=True)
    assert done.returncode == 1 and done.stdout == "", done
    assert done.stderr == ("error: planner runs on Linux and macOS: it relies on their signals and worker processes. "
                           "On Windows, run it in WSL (the Windows Subsystem for Linux, `wsl --install`), installed "
                           "there as its README says\n")


def test_a_tls_scheduler_without_tls_settings_is_named_not_a_bug(tmp_path, monkeypatch):
    """A tls:// scheduler address on a machine without Dask's TLS settings: distributed raises a
    TypeError before it connects, and `solve` and `sweep` ended in 'internal error: this is a bug'
    (by hand, 2026-12-04). Now exit 9, saying which settings it needs."""
    pytest.importorskip("distributed")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for args in (["solve", "four-suppliers", "--out", "r"],
                 ["sweep", "four-suppliers", "--vary", "risk.aversion=0,1", "--out", "sw"]):
        result = runner.invoke(cli.main, [*args, "--scheduler", "tls://127.0.0.1:9"])
        assert result.exit_code == cli.EXIT_CLUSTER, result.output
        assert "cannot connect to the Dask scheduler at tls://127.0.0.1:9" in result.output
        assert "needs this machine's certificate and key in Dask's configuration" in result.output
    assert not (tmp_path / "r").exists()


def test_a_highs_older_than_the_one_the_tests_pass_with_is_refused(tmp_path):
    """pyproject.toml asked for highspy 1.7 or later, and pip took any installed version from 1.7:
    with 1.7-1.11 every solve ended in 'internal error: this is a bug' (a status HiGHS then lacked),
    with 1.12 in a refused option, and with 1.13-1.15 the suite's random instances found a plan
    2.4% dearer than the optimum called optimal (by hand, 2026-12-04, in a Python with each
    version). Now pyproject asks for the version the suite passes with, and a solve in a Python
    with an older one says so (exit 1, kind installation) before anything is solved or written.
    The older HiGHS is stood in for by its version numbers, set before planner reads them."""
    import subprocess
    import sys

    older = ("import sys, highspy; highspy.HIGHS_VERSION_MINOR = 13; highspy.HIGHS_VERSION_PATCH = 0; "
             "from planner.launch import main; sys.argv = ['planner', *sys.argv[1:]]; main()")
    for args in (["solve", "four-suppliers", "--out", "r"], ["solve", "four-suppliers", "--out", "j", "--json"]):
        done = subprocess.run([sys.executable, "-c", older, *args], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == cli.EXIT_INTERNAL, done.stderr
        assert "planner needs HiGHS 1.16.0 or later" in done.stderr + done.stdout
        assert "has HiGHS 1.13.0, with which planner's tests fail" in done.stderr + done.stdout
        assert "this is a bug" not in done.stderr + done.stdout and "Traceback" not in done.stderr
    assert '"kind": "installation"' in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["solve", "evaluate"])
def test_a_second_command_into_a_folder_a_solve_still_writes_is_refused(tmp_path, monkeypatch, command):
    """Two solves (or evaluations) into one --out at once each wrote a whole result, and the last
    to end replaced the first's without a word, while the first's terminal said its plan was
    there. Now the first claims its folder while it runs: the second, started meanwhile (here
    from inside the first's solve, so that the moment does not depend on the machine's speed),
    is refused at once, naming the first; the first's result is written whole, with no lock file
    left in it, and the folder is free again for a third."""
    import planner.solve.pipeline as pipeline
    import planner.studies.evaluate as evaluate

    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli.main, ["solve", "four-suppliers", "--out", "plan", "-q"]).exit_code == 0
    second = {"solve": ["solve", "four-suppliers", "--out", "out", "--node-limit", "5"],
              "evaluate": ["evaluate", "four-suppliers", "plan", "--out", "out"]}[command]
    module, name = (pipeline, "solve_instance") if command == "solve" else (evaluate, "evaluate_outcome")
    real, meanwhile = getattr(module, name), []

    def with_a_second_command(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if not meanwhile:  # (in the first command only)
            meanwhile.append(None)
            meanwhile[0] = CliRunner().invoke(cli.main, second)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, with_a_second_command)
    first = CliRunner().invoke(cli.main, [*second[:-2], "--out", "out"] if command == "solve" else second)
    assert first.exit_code == 0, first.output
    refused = meanwhile[0]
    assert refused.exit_code == cli.EXIT_OUTPUT, refused.output
    assert f"out is in use by another planner command still running there (process {os.getpid()} on" \
           in refused.output, refused.output
    assert (tmp_path / "out" / "summary.json").is_file() and not (tmp_path / "out" / ".planner-lock").exists()
    assert CliRunner().invoke(cli.main, [*second, "-q"]).exit_code == 0  # free again


def test_a_solve_stopped_in_a_folder_it_claimed_leaves_it_as_it_was(tmp_path, monkeypatch, solved):
    """Ctrl-C in a solve that claimed a folder holding an earlier result, or a new one: the earlier
    result is left byte for byte (no lock file added to it), and a new folder is not made."""
    import planner.solve.pipeline as pipeline

    monkeypatch.chdir(tmp_path)
    before = _snapshot(shutil.copytree(solved, tmp_path / "res"))

    def interrupted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "solve_instance", interrupted)
    monkeypatch.setattr(os, "_exit", sys.exit)  # (how the command leaves, without ending the tests)
    for out in ("res", "new/deep"):
        result = CliRunner().invoke(cli.main, ["solve", "four-suppliers", "--out", out])
        assert result.exit_code == cli.EXIT_INTERRUPTED, result.output
    assert _snapshot(tmp_path / "res") == before and not (tmp_path / "new").exists()


def test_a_claim_taken_on_a_lock_file_removed_meanwhile_is_taken_again(tmp_path, monkeypatch):
    """A command ending takes its lock file away; one that opened the file just before and
    locked it after holds a lock on a file no longer there, which a third command, opening the
    new file, would not see. The claim checks that its file is still the one at the path, and
    otherwise locks the new one: a second lock on the path from here is refused."""
    import fcntl

    import planner.results.claim as claim

    folder, real, turns = tmp_path / "out", claim._try_lock, []

    def removed_before_the_lock(handle: int) -> bool | None:
        turns.append(handle)
        if len(turns) == 1:  # the holder before ended in between: its file is gone
            (folder / claim.LOCK_FILE).unlink()
        return real(handle)

    monkeypatch.setattr(claim, "_try_lock", removed_before_the_lock)
    with claim.claimed(folder, keep=False):
        assert len(turns) == 2
        other = os.open(folder / claim.LOCK_FILE, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(other)
    assert not folder.exists()  # made by the claim, left empty: gone with it
