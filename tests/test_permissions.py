"""Files and folders the system will not let planner read or change (their permissions): named,
with the exit code of their kind, never an internal error, never a copy hidden beside a result.

As root (CI) nothing is refused, so most tests here have the system refuse through a stand-in
for the call it answers; the last runs as it is wherever the suite does not run as root."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import FOUR_SUPPLIERS, crash_logs

from planner import cli
from planner.errors import InstanceError, OutputError
from planner.results import ownership
from planner.results.manifest import MANIFEST


def _refused(real, refused: set[Path], keyword: str = ""):  # noqa: ANN001, ANN202
    """`real` (a call taking a path first, or as `keyword`), refusing with EACCES for `refused`
    and below them."""

    def call(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        path = kwargs.get(keyword) if keyword else args[0]
        here = Path(os.path.abspath(os.fsdecode(path))) if path is not None and not isinstance(path, int) else None
        if here is not None and any(here == r or r in here.parents for r in refused):
            raise PermissionError(13, "Permission denied", str(path))
        return real(*args, **kwargs)

    return call


def test_an_instance_folder_that_cannot_be_opened_is_one_problem(tmp_path, monkeypatch):
    """A folder without permission to open it: pathlib raised PermissionError where the loader
    asked whether instance.toml exists (an internal error); now it is the folder's one problem."""
    from planner.instance.loader import load_instance

    folder = shutil.copytree(FOUR_SUPPLIERS, tmp_path / "inst")
    monkeypatch.setattr(os, "stat", _refused(os.stat, {folder / "instance.toml", folder / "options.csv"}))
    with pytest.raises(InstanceError) as raised:
        load_instance(folder)
    assert [(p.file, p.message) for p in raised.value.problems] == [(str(folder), "cannot be read: Permission denied")]


def test_an_instance_file_the_system_will_not_show_is_named_as_unreadable(tmp_path, monkeypatch):
    """One file whose metadata the system refuses (a path through a folder of another user's, as
    `evaluate --scenarios` may name): read, and named as unreadable, where pathlib raised."""
    from planner.instance.loader import load_instance

    folder = shutil.copytree(FOUR_SUPPLIERS, tmp_path / "inst")
    elsewhere = tmp_path / "theirs" / "scenarios.csv"
    elsewhere.parent.mkdir()
    shutil.copy(folder / "scenarios.csv", elsewhere)
    monkeypatch.setattr(os, "stat", _refused(os.stat, {elsewhere}))
    monkeypatch.setattr(Path, "read_bytes", _refused(Path.read_bytes, {elsewhere}))
    with pytest.raises(InstanceError) as raised:
        load_instance(folder, replace={"scenarios": elsewhere})
    assert [(p.file, p.message) for p in raised.value.problems] == \
        [(str(elsewhere), "cannot be read: Permission denied")]


def test_a_result_folder_planner_could_set_aside_but_not_remove_is_not_replaced(tmp_path, monkeypatch):
    """A result made read-only (chmod 555, by its owner to keep it, or of another user's in a
    shared folder): renaming it aside works (its parent is writable), deleting what it holds does
    not. planner replaced it and left the old copy hidden as .planner-old-*, for good; now it
    refuses (exit 7), naming it, and the folder is left as it was."""
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli.main, ["solve", "four-suppliers", "--out", "out", "-q"]).exit_code == 0
    out = (tmp_path / "out").resolve()
    before = sorted(p.name for p in out.iterdir())
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: Path(os.path.abspath(path)) != out or not mode & os.W_OK)
    for force in ([], ["--force"]):
        result = CliRunner().invoke(cli.main, ["solve", "four-suppliers", "--out", "out", "-q", *force])
        assert result.exit_code == cli.EXIT_OUTPUT, result.output
        assert "cannot be written: the system does not let planner read or change what it holds" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"] and sorted(p.name for p in out.iterdir()) == before


def test_files_planner_may_not_read_are_named_not_internal_errors(tmp_path, monkeypatch):
    """A result's file the user may not read: `report` and `compare` (which first look for files
    edited since) ended in an internal error; replacing a folder holding one, likewise. Now the
    readers name it (exit 3) and the writer refuses (exit 7)."""
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli.main, ["solve", "four-suppliers", "--out", "out", "-q"]).exit_code == 0
    summary = (tmp_path / "out" / "summary.json").resolve()
    monkeypatch.setattr("builtins.open", _refused(open, {summary}))
    monkeypatch.setattr(Path, "read_text", _refused(Path.read_text, {summary}))
    logs = crash_logs()
    for args in (["report", "out"], ["compare", "out", "out"]):
        result = CliRunner().invoke(cli.main, args)
        assert result.exit_code == cli.EXIT_INVALID_INPUT, (args, result.output)
        assert "out/summary.json: cannot be read: Permission denied" in result.output
    result = CliRunner().invoke(cli.main, ["solve", "four-suppliers", "--out", "out", "-q"])
    assert result.exit_code == cli.EXIT_OUTPUT and "read or change summary.json" in result.output, result.output
    assert crash_logs() == logs


def test_a_sweep_where_its_folder_cannot_be_made_is_an_output_error(tmp_path, monkeypatch):
    """`sweep --out` under a folder the user may not write in: an internal error (PermissionError
    from making runs/), where every other command said it could not write there."""
    monkeypatch.chdir(tmp_path)
    real = Path.mkdir

    def mkdir(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if "ro" in self.parts:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    result = CliRunner().invoke(cli.main, ["sweep", "four-suppliers", "--vary", "risk.aversion=0,1", "--out", "ro/sw"])
    assert result.exit_code == cli.EXIT_OUTPUT, result.output
    assert "cannot write ro/sw: Permission denied" in result.output  # (the claim makes it first)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_an_output_where_the_user_may_not_add_is_refused_before_the_work(tmp_path, monkeypatch):
    """An output under a folder the user may not add to (another user's, a read-only file
    system): `solve` solved the whole instance first and only then said "Permission denied"
    (found running as a user without rights there; an hour's solve lost). Now every writer
    refuses before it starts, naming the folder (exit 7), and nothing is made."""
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli.main, ["solve", "four-suppliers", "--out", "out", "-q"]).exit_code == 0
    readonly = (tmp_path / "ro").resolve()
    readonly.mkdir()
    real_access = os.access

    def access(path, mode, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if Path(os.path.abspath(path)) == readonly and mode & os.W_OK:
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(tempfile, "mkdtemp", _refused(tempfile.mkdtemp, {readonly}, keyword="dir"))
    commands = (["solve", "four-suppliers", "--out", "ro/deep/plan"], ["solve", "four-suppliers", "--out", "ro/plan",
                "--metrics"],
                ["sweep", "four-suppliers", "--vary", "risk.aversion=0,1", "--out", "ro/sw"],
                ["evaluate", "four-suppliers", "out", "--out", "ro/ev"], ["generate", "ro/gen"],
                ["scenarios", "us-critical-minerals", "--out", "ro/sc"], ["report", "out", "--out", "ro/report.html"],
                ["compare", "out", "out", "--out", "ro/cmp"])
    for args in commands:
        result = CliRunner().invoke(cli.main, args)
        assert result.exit_code == cli.EXIT_OUTPUT, (args, result.output)
        assert f"cannot be written: the system does not let this user add to {readonly}: Permission denied; " \
            "choose another" in result.output, args
        assert "solving" not in result.output, args
    monkeypatch.chdir(readonly)  # the default results/NAME in a folder the user may not add to
    result = CliRunner().invoke(cli.main, ["solve", "four-suppliers"])
    assert result.exit_code == cli.EXIT_OUTPUT and "solving" not in result.output, result.output
    assert "--out results/four-suppliers: cannot be written" in result.output
    assert list(readonly.iterdir()) == []


def test_a_folder_whose_mode_bits_refuse_but_whose_file_system_lets_planner_add_is_written(tmp_path, monkeypatch):
    """Some file systems (network shares) answer "may I write here" by mode bits their server
    then overrides: the system says no, but a folder made there stays. planner tries before it
    refuses, and the solve is written (the trial leaves nothing)."""
    monkeypatch.chdir(tmp_path)
    share = (tmp_path / "share").resolve()
    share.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, *args, **kwargs: False if Path(os.path.abspath(path)) == share
                        and mode & os.W_OK else real_access(path, mode, *args, **kwargs))
    result = CliRunner().invoke(cli.main, ["solve", "four-suppliers", "--out", "share/plan", "-q"])
    assert result.exit_code == 0, result.output
    assert [p.name for p in share.iterdir()] == ["plan"]


def test_a_single_file_planner_may_not_read_is_not_replaced(tmp_path, monkeypatch):
    target = tmp_path / "report.html"
    target.write_text("<html><meta name=\"generator\" content=\"planner\"></html>")
    monkeypatch.setattr("builtins.open", _refused(open, {target}))
    with pytest.raises(OutputError, match="does not let planner read it"):
        ownership.write_file(target, lambda staging: staging.write_text("new"))
    assert "generator" in target.read_text()


def test_an_output_planner_may_not_read_is_planners_refusal_not_a_usage_error(tmp_path, monkeypatch):
    """`report --out` or `--xlsx` onto a file, and `solve --out` onto a folder, the user may not
    read: click refused them as unreadable usage errors (exit 2), an output taken for an input.
    Now planner's own rule says why it will not write there (exit 7)."""
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli.main, ["solve", "four-suppliers", "--out", "out", "-q"]).exit_code == 0
    secret, secret_workbook = (tmp_path / "secret.html").resolve(), (tmp_path / "secret.xlsx").resolve()
    locked = (tmp_path / "locked").resolve()
    secret.write_text("the user's")
    secret_workbook.write_text("the user's")
    locked.mkdir()
    real_access = os.access

    def access(path, mode, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202 (click's question)
        refused = Path(os.path.abspath(path)) in (secret, secret_workbook, locked) and mode & os.R_OK
        return False if refused else real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr("builtins.open", _refused(open, {secret, secret_workbook}))
    monkeypatch.setattr(Path, "iterdir", _refused(Path.iterdir, {locked}))
    for option, name in (("--out", "secret.html"), ("--xlsx", "secret.xlsx")):
        result = CliRunner().invoke(cli.main, ["report", "out", option, name])
        assert result.exit_code == cli.EXIT_OUTPUT, result.output
        assert f"does not let planner read it (its permissions); choose another {option}" in result.output
    result = CliRunner().invoke(cli.main, ["solve", "four-suppliers", "--out", "locked", "-q"])
    assert result.exit_code == cli.EXIT_OUTPUT, result.output
    assert "locked cannot be written: the system does not let planner read or change what it holds" in result.output


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="as root nothing is refused")
def test_real_permissions(tmp_path, monkeypatch):
    """The cases above with the system's own refusals (where the suite does not run as root)."""
    monkeypatch.chdir(tmp_path)
    folder = shutil.copytree(FOUR_SUPPLIERS, tmp_path / "inst")
    assert CliRunner().invoke(cli.main, ["solve", str(folder), "--out", "out", "-q"]).exit_code == 0
    locked, readonly = tmp_path / "locked", tmp_path / "ro"
    shutil.copytree(folder, locked)
    readonly.mkdir()
    try:
        locked.chmod(0)
        readonly.chmod(stat.S_IRUSR | stat.S_IXUSR)
        (tmp_path / "out").chmod(stat.S_IRUSR | stat.S_IXUSR)
        result = CliRunner().invoke(cli.main, ["solve", str(locked)])
        assert result.exit_code == cli.EXIT_INVALID_INPUT and "cannot be read: Permission denied" in result.output
        result = CliRunner().invoke(cli.main, ["solve", str(folder), "--out", "out", "-q"])
        assert result.exit_code == cli.EXIT_OUTPUT and "what it holds" in result.output, result.output
        for args in (["sweep", str(folder), "--vary", "risk.aversion=0,1", "--out", "ro/sw"],
                     ["solve", str(folder), "--out", "ro/plan"]):
            result = CliRunner().invoke(cli.main, args)
            assert result.exit_code == cli.EXIT_OUTPUT and "solving" not in result.output, result.output
            assert "does not let this user add to" in result.output, result.output
        (tmp_path / "secret.html").write_text("the user's")
        (tmp_path / "secret.html").chmod(0)
        result = CliRunner().invoke(cli.main, ["report", "out", "--out", "secret.html"])
        assert result.exit_code == cli.EXIT_OUTPUT and "does not let planner read it" in result.output, result.output
    finally:
        for path in (locked, readonly, tmp_path / "out"):
            path.chmod(stat.S_IRWXU)


def test_a_manifest_planner_may_not_read_is_named_not_taken_for_the_users_files(tmp_path, monkeypatch):
    """A result whose manifest the user may not read: planner cannot tell whose its files are.
    It said they were the user's ("holds what planner did not write: adaptive_volumes.csv, ..."),
    and a sweep's run folder it may not open likewise; now it names what it may not read."""
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli.main, ["solve", "four-suppliers", "--out", "out", "-q"]).exit_code == 0
    manifest = (tmp_path / "out" / MANIFEST).resolve()
    monkeypatch.setattr("builtins.open", _refused(open, {manifest}))
    monkeypatch.setattr(Path, "read_text", _refused(Path.read_text, {manifest}))
    result = CliRunner().invoke(cli.main, ["solve", "four-suppliers", "--out", "out", "-q"])
    assert result.exit_code == cli.EXIT_OUTPUT, result.output
    assert "does not let planner read or change .planner.json" in result.output
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    args = ["sweep", "four-suppliers", "--vary", "risk.aversion=0,1", "--out", "sw", "-q"]
    assert CliRunner().invoke(cli.main, args).exit_code == 0
    run = sorted(p for p in (tmp_path / "sw" / "runs").iterdir() if p.is_dir())[0].resolve()
    monkeypatch.setattr("builtins.open", _refused(open, {run}))
    monkeypatch.setattr(Path, "read_text", _refused(Path.read_text, {run}))
    result = CliRunner().invoke(cli.main, [*args[:3], "risk.aversion=0,1,0.5", *args[4:]])
    assert result.exit_code == cli.EXIT_OUTPUT, result.output
    assert f"does not let planner read or change runs/{run.name}/" in result.output


def test_a_home_where_matplotlib_cannot_make_its_folder_prints_nothing(tmp_path):
    """As `nobody` (HOME=/nonexistent), every report and sweep chart printed matplotlib's
    'mkdir -p failed for path /nonexistent/.config/matplotlib' and its note of a temporary
    folder. A HOME under a file cannot be made, as root too."""
    import subprocess
    import sys

    (tmp_path / "a-file").write_text("")
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("MPLCONFIGDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")}
    environment["HOME"] = str(tmp_path / "a-file" / "home")
    done = subprocess.run([sys.executable, "-c", "import planner.results.plots"], env=environment,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_a_file_system_that_refuses_chmod_is_written(tmp_path, monkeypatch):
    """A USB stick's FAT or exFAT (and some network shares) refuse to change a file's mode
    (EPERM): planner's temporary files and folders are made private and then given the umask's
    mode, and that refusal ended every command that writes with 'cannot write ...: Operation not
    permitted'. Now what such a file system gives them is kept."""
    import errno

    def refused(path, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        raise PermissionError(errno.EPERM, "Operation not permitted", str(path))

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(Path, "chmod", refused)
    monkeypatch.setattr(os, "chmod", refused)
    for args in (["solve", "four-suppliers", "--out", "r", "--report", "--xlsx", "-q"],
                 ["sweep", "four-suppliers", "--vary", "risk.aversion=0,1", "--out", "sw", "--workers", "1", "-q"],
                 ["generate", "gen"], ["report", "sw"], ["evaluate", "four-suppliers", "r", "--out", "ev", "-q"]):
        result = CliRunner().invoke(cli.main, args)
        assert result.exit_code == 0, (args, result.output)
    assert (tmp_path / "r" / "report.html").is_file() and (tmp_path / "sw" / "sweep.csv").is_file()


@pytest.mark.parametrize(("code", "said"), [("EMFILE", "limit on open files"), ("ENFILE", "limit on open files"),
                                            ("thread", "limit on processes and threads")])
def test_the_systems_limits_on_a_process_are_named_not_a_bug(tmp_path, monkeypatch, code, said):
    """With `ulimit -n 12` (the default is 1024; 20 was enough) a solve with --workers 2 and a
    sweep ended in an internal error ('Too many open files' from a pipe, or from hashing a
    file), and with `ulimit -u 4` a sweep ('can't start new thread'); now exit 6, naming the
    limit. Checked by hand with ulimit -n 12 and 9, and ulimit -u 4 as nobody."""
    import errno

    import planner.solve.pipeline as pipeline

    def out_of_files(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if code == "thread":
            raise RuntimeError("can't start new thread")
        raise OSError(getattr(errno, code), os.strerror(getattr(errno, code)))

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(pipeline, "solve_instance", out_of_files)
    logs = crash_logs()
    result = CliRunner().invoke(cli.main, ["solve", "four-suppliers", "--out", "r"])
    assert result.exit_code == cli.EXIT_SOLVER, result.output
    assert said in result.output and "internal error" not in result.output
    assert crash_logs() == logs and not (tmp_path / "r").exists()
