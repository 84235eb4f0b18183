"""Leftovers of planner processes that died while writing (killed, out of memory) are removed by
the next write beside them, and nothing else is: not a write under way, not another machine's,
not the only copy of a result."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from planner import cli
from planner.results import leftovers, ownership


def _no_such_process() -> int:
    """A process number no process can have (above the system's largest)."""
    try:
        return int(Path("/proc/sys/kernel/pid_max").read_text()) + 1
    except OSError:
        return 2**22 + 1


def test_leftovers_of_dead_writers_of_this_machine_are_removed_and_nothing_else(tmp_path):
    here, dead, alive = leftovers._machine(), _no_such_process(), os.getpid()
    (tmp_path / "out").mkdir()
    named = {f".planner-tmp-{here}-{dead}-out-abc12345": "removed",
                 f".planner-tmp-{here}-{dead}-report.html-x1y2z3w4.html": "removed (a file)",
                 f".planner-old-{here}-{dead}-out": "removed (its replacement is in place)",
                 f".planner-old-{here}-{dead}-gone": "kept: the only copy of that result",
                 f".planner-tmp-{here}-{alive}-out-live1234": "kept: a write under way",
                 f".planner-tmp-{'0' * 8 if here != '0' * 8 else '1' * 8}-{dead}-out-other": "kept: another machine's",
                 ".planner-tmp-out-abcd1234": "kept: a name without its writer",
                 f"planner-tmp-{here}-{dead}-mine": "kept: not a leftover's name",
                 f".planner-tmp-{here}-{10**30}-out-x": "kept: no process has that number"}
    for name in named:
        if name.endswith(".html"):
            (tmp_path / name).write_text("half")
        else:
            (tmp_path / name).mkdir()
            (tmp_path / name / "volumes.csv").write_text("half")
    removed = leftovers.clear_leftovers(tmp_path)
    assert sorted(removed) == sorted(n for n, what in named.items() if what.startswith("removed"))
    assert sorted(p.name for p in tmp_path.iterdir()) == \
        sorted(["out", *(n for n, what in named.items() if what.startswith("kept"))])


def test_what_a_killed_writer_left_is_removed_by_the_next_command_writing_there(tmp_path, monkeypatch):
    """kill -9, the out-of-memory killer, a machine that lost power: planner gets no chance to clean
    up, and its temporary folder stays beside --out (it stayed for good). Here a process makes
    its temporary folder as a solve does and dies; the next solve writing there removes it."""
    made = subprocess.run([sys.executable, "-c", "import os, sys; from pathlib import Path; "
                           "from planner.results import ownership; "
                           "staging = ownership._private_folder(Path(sys.argv[1]), 'out'); "
                           "(staging / 'volumes.csv').write_text('half'); os._exit(9)", str(tmp_path)])
    assert made.returncode == 9
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(ownership.TEMP_PREFIX)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli.main, ["solve", "four-suppliers", "--out", "out", "-q"])
    assert result.exit_code == cli.EXIT_OK, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
