"""The command line, through Click's CliRunner: outputs, messages and exit codes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import FOUR_SUPPLIERS, four_suppliers

from planner import cli
from planner.results.plan import TABLE_COLUMNS


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def test_solve_without_arguments_solves_the_default_instance(runner, tmp_path):
    result = runner.invoke(cli.main, ["solve"])
    assert result.exit_code == cli.EXIT_OK, result.output
    assert "us-critical-minerals: optimal" in result.output
    folder = tmp_path / "results" / "us-critical-minerals"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "optimal"
    for key in ("expected_cost", "cvar", "fixed_cost", "mip_gap", "best_bound", "build_seconds", "solve_seconds"):
        assert key in summary
    for name, columns in TABLE_COLUMNS.items():
        header = (folder / f"{name}.csv").read_text().splitlines()[0]
        assert header == ",".join(columns), name


def test_solve_the_four_supplier_example_by_name(runner, tmp_path):
    result = runner.invoke(cli.main, ["solve", "four-suppliers"])
    assert result.exit_code == cli.EXIT_OK, result.output
    assert "objective      23,736.84 USD" in result.output
    summary = json.loads((tmp_path / "results" / "four-suppliers" / "summary.json").read_text())
    assert summary["objective"] == pytest.approx(23736.842105, rel=1e-8)
    assert summary["model"]["binary_variables"] == 4


def test_solve_by_bundled_name_and_rerun_replaces_the_result(runner, tmp_path):
    assert runner.invoke(cli.main, ["solve", "four-suppliers", "--out", "out"]).exit_code == 0
    result = runner.invoke(cli.main, ["solve", "four-suppliers", "--out", "out", "--mip-gap", "1e-6"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["solver_options"]["mip_gap"] == 1e-6
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary folders left behind"


def test_invalid_instance_lists_problems_and_writes_nothing(runner, tmp_path):
    folder = tmp_path / "bad"
    shutil.copytree(FOUR_SUPPLIERS, folder)
    (folder / "options.csv").write_text("option,commodity,origin,capacity,unit_cost\nCN1,rare_earth_oxide,CHN,-1,x\n")
    result = runner.invoke(cli.main, ["solve", str(folder), "--out", "out"])
    assert result.exit_code == cli.EXIT_INVALID_INPUT
    assert f"error: {folder}/options.csv:2:capacity: '-1': expected a number >= 0" in result.output
    assert f"error: {folder}/options.csv:2:unit_cost: 'x': expected a number" in result.output
    assert "2 problems found" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_validate(runner, tmp_path):
    result = runner.invoke(cli.main, ["validate", str(FOUR_SUPPLIERS)])
    assert result.exit_code == 0 and "valid (1 material, 4 options, 8 scenarios, 1 period)" in result.output
    result = runner.invoke(cli.main, ["validate", str(tmp_path / "missing")])
    assert result.exit_code == cli.EXIT_INVALID_INPUT and "is not a folder" in result.output


def test_infeasible_plan_has_its_own_exit_code(runner, tmp_path):
    folder = four_suppliers(tmp_path / "inst")
    (folder / "commodities.csv").write_text(
        "commodity,shortage_penalty,storage_capacity,service_level\nrare_earth_oxide,400,0,0.99\n")
    result = runner.invoke(cli.main, ["solve", str(folder), "--out", "out"])
    assert result.exit_code == cli.EXIT_INFEASIBLE, result.output
    assert "infeasible" in result.output and not (tmp_path / "out").exists()


def test_no_plan_within_time_limit(runner, tmp_path, monkeypatch):
    """A time limit of one tick on a clock that moves a tick at each read: every deadline has
    passed as soon as it is set, so no HiGHS run starts (checked). The limit is given on the
    injected clock, not in seconds on the command line: the wall clock never enters, and the
    outcome does not depend on the machine's speed or load. (Parsing `--time-limit` is tested
    in tests/test_safety.py.)"""
    import itertools

    ticks = itertools.count(0.0, 1.0)
    from planner.cli import common
    from planner.solve.highs import HighsRun

    make = common.solve_options

    def limited(mip_gap, time_limit, *rest, **options):  # noqa: ANN001, ANN002, ANN003, ANN202
        return make(mip_gap, 1.0, *rest, clock=lambda: next(ticks), **options)

    monkeypatch.setattr(common, "solve_options", limited)
    started = []
    run = HighsRun._run
    monkeypatch.setattr(HighsRun, "_run", lambda self: started.append(self) or run(self))
    result = runner.invoke(cli.main, ["solve", "four-suppliers", "--out", "out"])
    assert result.exit_code == cli.EXIT_NO_SOLUTION, result.output
    assert "no feasible plan found within the time limit" in result.output
    assert not (tmp_path / "out").exists()
    assert started == []


def test_refuses_a_folder_that_is_not_a_result_even_with_force(runner, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "budget.xlsx").write_text("precious")
    for flags in ([], ["--force"]):
        result = runner.invoke(cli.main, ["solve", "four-suppliers", "--out", "out", *flags])
        assert result.exit_code == cli.EXIT_OUTPUT, result.output
        assert "holds what planner did not write (budget.xlsx)" in result.output
        assert (tmp_path / "out" / "budget.xlsx").read_text() == "precious"


def test_an_edited_result_is_replaced_only_with_force(runner, tmp_path):
    assert runner.invoke(cli.main, ["solve", "four-suppliers", "--out", "out"]).exit_code == 0
    (tmp_path / "out" / "volumes.csv").write_text("edited by hand\n")
    result = runner.invoke(cli.main, ["solve", "four-suppliers", "--out", "out"])
    assert result.exit_code == cli.EXIT_OUTPUT and "volumes.csv changed since" in result.output
    assert (tmp_path / "out" / "volumes.csv").read_text() == "edited by hand\n"
    assert runner.invoke(cli.main, ["solve", "four-suppliers", "--out", "out", "--force"]).exit_code == 0
    assert (tmp_path / "out" / "volumes.csv").read_text().startswith("option,")


def test_bad_option_value_is_a_usage_error(runner):
    result = runner.invoke(cli.main, ["solve", "four-suppliers", "--mip-gap", "2"])
    assert result.exit_code == cli.EXIT_USAGE


def test_formula_like_text_is_neutralised(runner, tmp_path):
    folder = four_suppliers(tmp_path / "inst")
    text = (folder / "options.csv").read_text().replace("CN2,", "=HYPERLINK(1),")
    (folder / "options.csv").write_text(text)
    assert runner.invoke(cli.main, ["solve", str(folder), "--out", "out"]).exit_code == 0
    contracts = (tmp_path / "out" / "contracts.csv").read_text()
    assert "'=HYPERLINK(1)" in contracts and "\n=HYPERLINK" not in contracts


def test_node_limit_returns_the_best_plan_found(runner, tmp_path):
    """A solve stopped by its node limit before it proves the gap (here: one node per HiGHS run,
    a gap of 1e-9, and a binding budget, which the decomposition phase hands over to branch and
    bound): the best plan found is written like any other result, with its status and gap, and
    verifies. A node limit does not race the phase against branch and bound, so a second solve
    writes the same files (when it raced, the phase proved this instance in some runs)."""
    from planner.instance.generate import Shape, generate_instance

    folder = generate_instance(tmp_path / "g", 3, 8, 6, 10, seed=0, shape=Shape(budget=0.1))
    for out in ("out", "again"):
        result = runner.invoke(cli.main, ["solve", str(folder), "--node-limit", "1", "--mip-gap", "1e-9",
                                          "--out", out])
        assert result.exit_code == cli.EXIT_OK, result.output
        assert "node_limit (gap" in result.output and "not proven optimal" in result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["status"] == "node_limit" and summary["mip_gap"] > 1e-9
    assert summary["best_bound"] < summary["objective"]
    for written in sorted((tmp_path / "out").glob("*.csv")):
        assert written.read_bytes() == (tmp_path / "again" / written.name).read_bytes(), written.name
    verified = runner.invoke(cli.main, ["verify", str(folder), "out"])
    assert verified.exit_code == 0, verified.output


def test_generate_refuses_a_folder_of_the_users(runner, tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "mine.csv").write_text("x\n")
    result = runner.invoke(cli.main, ["generate", "taken"])
    assert result.exit_code == cli.EXIT_OUTPUT and "holds what planner did not write (mine.csv)" in result.output
    result = runner.invoke(cli.main, ["generate", "new", "--commodities", "2", "--options", "3", "--periods", "2",
                                      "--scenarios", "3", "--seed", "5"])
    assert result.exit_code == 0
    assert runner.invoke(cli.main, ["validate", "new"]).exit_code == 0


@pytest.mark.parametrize("asked", [2, 100])
def test_generate_says_when_it_makes_fewer_shared_deals_than_asked(runner, tmp_path, asked):
    """--shared-agreements 100 made one deal per country a deal can gate (11 here) and said
    nothing: the instance was not the family asked for. It says so now, with how many; the
    deals are those of agreements.csv, the note only where fewer were made."""
    import pandas as pd

    result = runner.invoke(cli.main, ["generate", str(tmp_path / "g"), "--shared-agreements", str(asked)])
    assert result.exit_code == 0, result.output
    agreements = pd.read_csv(tmp_path / "g" / "agreements.csv")
    made = int((agreements["description"] == "generated: shared by materials").sum())
    assert 0 < made <= asked and (made == asked) == ("shared deals" not in result.stderr)
    if made < asked:
        assert f"note: {made} shared deals, not {asked}: one for each country with options a deal can gate" \
               in result.stderr


def test_a_failure_while_writing_leaves_no_partial_result(tmp_path, monkeypatch):
    import pandas as pd

    from planner.results.write import write_results
    from planner.solve.pipeline import solve_instance

    outcome = solve_instance(FOUR_SUPPLIERS)
    write_results(outcome, tmp_path / "out")
    before = (tmp_path / "out" / "summary.json").read_text()
    calls = {"n": 0}
    original = pd.DataFrame.to_csv

    def failing(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # as if Ctrl-C came in the middle of writing
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", failing)
    with pytest.raises(KeyboardInterrupt):
        write_results(outcome, tmp_path / "out")
    assert (tmp_path / "out" / "summary.json").read_text() == before  # the earlier result is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folder left


@pytest.mark.parametrize("step", ["aside", "in", "delete"])
def test_an_interrupt_while_a_result_replaces_another_leaves_one_of_them_whole(tmp_path, monkeypatch, step):
    """Ctrl-C at each step of swapping a new result in for an old one (renamed aside, renamed in,
    the old deleted): the folder ends holding the old result or the new one, whole, never neither."""
    import shutil

    from planner.results import ownership
    from planner.results.verify import verify_result
    from planner.results.write import write_results
    from planner.solve.pipeline import solve_instance

    outcome = solve_instance(FOUR_SUPPLIERS)
    write_results(outcome, tmp_path / "out")
    old_folder = (tmp_path / "out").stat().st_ino
    rename, rmtree = Path.rename, shutil.rmtree
    seen = {"renames": 0}

    def interrupted_rename(self, target):
        seen["renames"] += 1
        if (step, seen["renames"]) in (("aside", 1), ("in", 2)):
            raise KeyboardInterrupt
        return rename(self, target)

    def interrupted_rmtree(path, *args, **kwargs):
        if step == "delete" and Path(path).name.startswith(ownership.OLD_PREFIX):
            raise KeyboardInterrupt
        return rmtree(path, *args, **kwargs)

    monkeypatch.setattr(Path, "rename", interrupted_rename)
    monkeypatch.setattr(shutil, "rmtree", interrupted_rmtree)
    with pytest.raises(KeyboardInterrupt):
        write_results(outcome, tmp_path / "out")
    monkeypatch.undo()
    kept_old = (tmp_path / "out").stat().st_ino == old_folder
    assert kept_old == (step != "delete")  # the old result until the new one is in place
    assert verify_result(outcome.data, tmp_path / "out") == []
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(ownership.TEMP_PREFIX)]


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_two_writers_of_one_file_at_once_leave_it_whole(tmp_path, umask):
    """Another planner command writes the same file (a report, a workbook, a manifest) while this
    one is half way through: each writes its own temporary file, both succeed, the last one to
    finish is what the file holds, whole, and no temporary file is left. (With one temporary name
    for both, the second writer's rename took the first's file away and the first failed.) The
    file follows the umask, as a file written in place would."""
    from planner.results import ownership

    target = tmp_path / "report.html"
    first = "<html><meta name='generator' content='planner'>first</html>" * 1000

    def write_first(staging):
        with open(staging, "w", encoding="utf-8") as fh:
            fh.write(first[: len(first) // 2])
            ownership.write_file(target, lambda other: other.write_text("second", encoding="utf-8"))
            fh.write(first[len(first) // 2:])

    previous = os.umask(umask)
    try:
        ownership.write_file(target, write_first)
    finally:
        os.umask(previous)
    assert target.read_text(encoding="utf-8") == first
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_a_file_that_cannot_be_written_is_an_output_error_and_leaves_nothing(tmp_path):
    """A full disk while a single file is written (a sweep's table: it was an internal error,
    OSError from pandas): an OutputError naming the file, the earlier file intact, no temporary
    file left."""
    import errno

    from planner.errors import OutputError
    from planner.results import manifest

    target = tmp_path / "sweep.csv"
    target.write_text("earlier\n")

    def full_disk(staging):
        staging.write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputError, match=f"cannot write {target}: No space left on device"):
        with manifest.staged_file(target) as staging:
            full_disk(staging)
    assert target.read_text() == "earlier\n" and sorted(p.name for p in tmp_path.iterdir()) == ["sweep.csv"]


def test_a_full_disk_while_a_result_folder_is_filled_names_the_folder_and_says_why(tmp_path):
    """A result folder's table written on a full disk (a real 64 KiB tmpfs showed it): the
    message read `cannot write r1: [Errno 28] No space left on device`, Python's own form, and
    for an OSError that names a file it named planner's temporary folder. It says what the
    system said, names the result folder, and leaves nothing behind."""
    import errno

    from planner.errors import OutputError
    from planner.results import ownership
    from planner.results.manifest import Kind

    target = tmp_path / "r1"
    with pytest.raises(OutputError) as caught:
        with ownership.staged_folder(target, Kind.RESULTS) as staging:
            (staging / "supply.csv").write_text("half")
            raise OSError(errno.ENOSPC, "No space left on device", str(staging / "supply.csv"))
    assert str(caught.value) == f"cannot write {target}: No space left on device"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix", reason="advisory locks are POSIX's")
def test_a_manifest_is_updated_under_a_lock_of_its_folder(tmp_path, monkeypatch):
    """Two commands recording files in one folder at once (a report and a workbook of one result)
    each read the manifest, added their file and wrote it back, so one entry was lost and that
    file then counted as one planner did not write (a rerun refused the folder). While one
    command holds the manifest, another's lock of the folder must wait."""
    import fcntl

    from planner.results import manifest

    (tmp_path / "a.csv").write_text("x\n")
    sha256 = manifest.sha256
    seen = []

    def while_recording(path):
        handle = os.open(tmp_path, os.O_RDONLY)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            seen.append("unlocked")
        except BlockingIOError:
            seen.append("locked")
        finally:
            os.close(handle)
        return sha256(path)

    monkeypatch.setattr(manifest, "sha256", while_recording)
    manifest.record_files(tmp_path, ["a.csv"])
    assert seen == ["locked"]
    assert list(manifest.read_manifest(tmp_path)["files"]) == ["a.csv"]


def test_a_bug_gives_a_message_and_a_log_not_a_traceback(runner, monkeypatch, tmp_path):
    import tempfile

    import planner.solve.pipeline

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(planner.solve.pipeline, "solve_instance", broken)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the log goes to the temporary folder, here this test's
    result = runner.invoke(cli.main, ["solve", "four-suppliers"])
    assert result.exit_code == cli.EXIT_INTERNAL
    assert "internal error: this is a bug in planner" in result.output and "Traceback" not in result.output
    log = Path(result.output.split("details are in ")[1].strip())
    assert log.parent == tmp_path
    assert "ZeroDivisionError: a bug" in log.read_text()


def test_a_thread_that_fails_gives_a_line_and_a_log_not_a_traceback(runner, monkeypatch, tmp_path):
    """An exception ending one of planner's threads printed Python's 'Exception in thread'
    traceback (under `ulimit -u` a pool's thread could not start its queue's). A bug now gives one
    line naming the thread and a log; a limit of the system is left to the main thread to say."""
    import tempfile
    import threading

    import planner.solve.pipeline

    def failing_threads(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        for name, error in (("planner-test", ZeroDivisionError("a bug")),
                            ("planner-limit", RuntimeError("can't start new thread"))):
            thread = threading.Thread(target=lambda error=error: (_ for _ in ()).throw(error), name=name)
            thread.start()
            thread.join()
        raise MemoryError

    monkeypatch.setattr(planner.solve.pipeline, "solve_instance", failing_threads)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = runner.invoke(cli.main, ["solve", "four-suppliers", "--out", str(tmp_path / "out")])
    assert result.exit_code == cli.EXIT_SOLVER, result.output
    assert "Traceback" not in result.output and "Exception in thread" not in result.output
    assert "internal error in planner-test: this is a bug in planner" in result.output
    assert "planner-limit" not in result.output
    log = next(tmp_path.glob("planner-crash-*-thread.log"))
    assert "ZeroDivisionError: a bug" in log.read_text()


@pytest.mark.parametrize(("missing", "is_bug"), [("highspy", False), ("pyomo.environ", False),
                                                ("planner.solve.gone", True)])
def test_a_package_that_is_not_installed_is_named_not_called_a_bug(runner, monkeypatch, tmp_path, missing, is_bug):
    """planner run by a Python without its dependencies (a soak started with the system's Python)
    ended in 'internal error: this is a bug'. A missing package of planner's own is still one."""
    import tempfile

    import planner.solve.pipeline

    def not_installed(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise ModuleNotFoundError(f"No module named '{missing}'", name=missing)

    monkeypatch.setattr(planner.solve.pipeline, "solve_instance", not_installed)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = runner.invoke(cli.main, ["solve", "four-suppliers", "--out", str(tmp_path / "out")])
    assert result.exit_code == cli.EXIT_INTERNAL and "Traceback" not in result.output
    assert ("this is a bug" in result.output) is is_bug, result.output
    if not is_bug:
        assert f"planner needs the Python package '{missing.split('.')[0]}', which this Python" in result.output


def test_a_bug_whose_log_cannot_be_saved_still_gives_a_message_not_a_traceback(runner, monkeypatch, tmp_path):
    """The temporary folder full or not writable: writing the crash log raised inside the guard's
    handler, and the user saw two tracebacks. Now the message carries the error itself."""
    import tempfile

    import planner.solve.pipeline

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(planner.solve.pipeline, "solve_instance", broken)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))  # no such folder: the log cannot be written
    result = runner.invoke(cli.main, ["solve", "four-suppliers"])
    assert result.exit_code == cli.EXIT_INTERNAL, result.output
    assert "internal error: this is a bug in planner" in result.output and "Traceback" not in result.output
    assert "its details could not be saved" in result.output and "ZeroDivisionError('a bug')" in result.output


def test_notices_are_notes_each_time_they_come(runner, monkeypatch):
    """Library code tells the user what they should know while work goes on as an `errors.Notice`
    (a warning); the command line shows each as a note, also one in the same words as before
    (Python shows a warning once per place and text), and other warnings as Python does."""
    import warnings

    from planner.cli import common
    from planner.errors import Notice

    real = common.resolve_instance

    def noisy(argument):
        for _ in range(2):
            warnings.warn(Notice("the Dask worker tcp://w:1 has not been heard from for 30 s"), stacklevel=1)
        return real(argument)

    monkeypatch.setattr(common, "resolve_instance", noisy)
    with warnings.catch_warnings():
        warnings.resetwarnings()  # Python's own filters, not the test runner's
        warnings.simplefilter("default")
        result = runner.invoke(cli.main, ["validate", "four-suppliers"])
    assert result.exit_code == 0, result.output
    assert result.output.count("note: the Dask worker tcp://w:1 has not been heard from for 30 s") == 2
    quiet = runner.invoke(cli.main, ["validate", "four-suppliers", "--quiet"])
    assert "note:" not in quiet.output


@pytest.mark.parametrize("columns", [40, 80, 200])
def test_the_status_line_on_a_terminal_fits_its_width(monkeypatch, columns):
    """On a terminal the solve's status line is redrawn with a carriage return, which goes back
    to the start of the terminal's row only. It was padded to 90 characters, so on an
    80-column terminal each redraw wrapped onto a new row and the line scrolled down once a
    second. Now it is cut, and padded, to the terminal's width less one."""
    import click

    from planner.cli import common
    from planner.cli.progress import Progress

    shown: list[str] = []
    monkeypatch.setattr(click, "echo", lambda text="", err=False, nl=True: shown.append(text))
    monkeypatch.setitem(common.QUIET, "on", False)
    monkeypatch.setenv("COLUMNS", str(columns))
    progress = Progress("USD", every=0.0)
    progress.interactive = True  # (as on a terminal; no heartbeat thread: each call shows)
    progress(1.0, 39.81e9, 39.79e9)
    progress(2.0, None, None)  # shorter: the padding clears what the longer line left
    assert [text[0] for text in shown] == ["\r", "\r"]
    assert [len(text) - 1 for text in shown] == [columns - 1, columns - 1]
    assert ("best plan" in shown[0]) == (columns >= 80)  # the whole line from 80 columns
    assert "gap 0.05%" in shown[0]  # below, the short form, gap first: "1.0 s gap 0.05% 39.81 bn >= ..."


def test_a_log_gets_a_status_line_every_30_s_from_the_start(monkeypatch):
    """In a log file (stderr not a terminal) a line came only when the solver reported: building
    a model of 5,000 scenarios and its first LP wrote nothing for minutes, and a batch job's log
    looked hung. Now a heartbeat writes the status line every 30 s there too, as plain lines (its
    waits stand in here: each returns at once, three times, then the solve ends); the solver's
    reports only update what it shows, so no line comes twice."""
    import click

    from planner.cli import common
    from planner.cli.progress import Progress

    shown: list[str] = []
    monkeypatch.setattr(click, "echo", lambda text="", err=False, nl=True: shown.append(text + "\n" * nl))
    monkeypatch.setitem(common.QUIET, "on", False)
    progress = Progress("USD")
    assert not progress.interactive and progress.every == 30.0 and progress.heartbeat is not None
    progress.close()  # (the real heartbeat ends at once)
    shown.clear()

    class Waits:
        def __init__(self) -> None:
            self.left = 3

        def wait(self, seconds: float) -> bool:
            assert seconds == 30.0
            self.left -= 1
            if self.left == 1:
                progress(61.0, 39.81e9, 39.79e9)  # the solver reports between two lines: not shown itself
            return self.left < 0

    progress.stop = Waits()
    progress._beat()
    assert len(shown) == 3 and all(line.endswith("\n") and "\r" not in line for line in shown), shown
    assert "best plan 39.81 bn USD  bound 39.79 bn USD  gap 0.05%" in shown[2]
    # before the solve starts (the data and model of a large instance take minutes) it says so
    assert shown[0].endswith("s  building the model\n"), shown


def test_the_status_line_says_building_until_the_solve_starts(monkeypatch):
    """The status line said "best plan -" from the first second, while the data and the model of
    a large instance were built (4 minutes for 10 x 50 x 20 x 12,000, which was then refused for
    its model's size): it read as a solve that found nothing. It says "building the model" until
    the solve tells it it has started (no plan, no bound yet), then the solve's figures."""
    from planner.cli.progress import Progress
    from planner.options import SolveOptions
    from planner.solve.pipeline import solve_instance

    progress = Progress("USD", every=0.0)
    progress.started = float("inf")  # the seconds shown are the state's alone, however slow this machine
    assert progress._text() == "      0.0 s  building the model"
    calls: list[tuple] = []
    solve_instance(FOUR_SUPPLIERS, SolveOptions(progress=lambda *figures: calls.append(figures)))
    assert calls[0] == (0.0, None, None) and any(incumbent is not None for _, incumbent, _ in calls)
    monkeypatch.setattr(progress, "_show", lambda: None)
    progress(*calls[0])
    assert progress._text() == "      0.0 s  best plan -"


def test_a_log_of_a_sweep_of_long_runs_gets_the_count_again_while_a_run_takes_long(monkeypatch):
    """A sweep (or --metrics) in a log said a line per run done and nothing while a run took
    long: an hour-long run left the log silent for an hour. A heartbeat says the count again
    with the time so far, when nothing was said for `beat` seconds (its waits and clock stand in
    here: a step done between two beats is said, and resets the beat)."""
    import click

    import planner.cli.progress as progress_module
    from planner.cli import common

    shown: list[str] = []
    monkeypatch.setattr(click, "echo", lambda text="", err=False, nl=True: shown.append(text))
    monkeypatch.setitem(common.QUIET, "on", False)
    now = [1000.0]
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: now[0])
    steps = progress_module.Steps(4, "sweep", unit="run", done=1, every=10.0, beat=30.0)
    assert steps.heartbeat is not None
    steps.close()  # (the real heartbeat ends at once)

    class Waits:
        def __init__(self) -> None:
            self.turns = iter([("tick", 31), ("step", 15), ("tick", 26), ("tick", 4), ("tick", 3725), ("end", 0)])

        def wait(self, seconds: float) -> bool:
            assert seconds == 30.0
            what, later = next(self.turns)
            now[0] += later
            if what == "step":
                steps(failed=1)  # a run done, 15 s after the last line: said
            return what == "end"

    steps.stop = Waits()
    steps._beat()
    assert shown == ["  sweep: 1/4 runs done (31 s so far)", "  sweep: 2/4 runs done, 1 failed",
                     "  sweep: 2/4 runs done, 1 failed (1 min 16 s so far)",
                     "  sweep: 2/4 runs done, 1 failed (1 h 3 min so far)"]


def test_a_sweeps_bar_on_a_terminal_is_redrawn_while_a_step_takes_long(monkeypatch):
    """A progress bar redraws only when a step is done: during an hour-long run of a sweep its
    elapsed time stood still on the terminal. The heartbeat redraws it every second (its waits
    stand in here), and says no plain line beside it."""
    import click

    from planner.cli import common
    from planner.cli.progress import Steps

    shown: list[str] = []
    monkeypatch.setattr(click, "echo", lambda text="", err=False, nl=True: shown.append(text))
    monkeypatch.setitem(common.QUIET, "on", False)
    steps = Steps(3, "sweep", unit="run")
    steps.close()  # (the real heartbeat, a log's here, ends at once)

    class Bar:
        refreshed = 0

        def refresh(self) -> None:
            Bar.refreshed += 1

    class Waits:
        left = 3

        def wait(self, seconds: float) -> bool:
            Waits.left -= 1
            return Waits.left < 0

    steps.bar, steps.stop, steps.beat = Bar(), Waits(), 1.0
    steps._beat()
    assert Bar.refreshed == 3 and shown == []


def test_the_status_line_on_a_narrow_terminal_keeps_the_gap():
    """Cut to a terminal under about 66 columns, the status line lost its end, the gap first:
    what a user watches. A narrow terminal gets the short form, the gap first, then the best
    plan and the bound, and a plan not yet found says so."""
    from planner.cli.progress import Progress

    progress = Progress("USD", every=0.0)
    progress.started = float("inf")  # the seconds shown are the state's alone, however slow this machine
    progress.state = (12.34, 39.81e9, 39.79e9)
    assert len(progress._text()) > 60 and progress._text(200) == progress._text()
    assert progress._text(60) == "12.3 s gap 0.05% 39.81 bn >= 39.79 bn USD"
    progress.state = (3.0, None, 39.79e9)
    assert progress._text(30) == "3.0 s no plan yet >= 39.79 bn USD"
