"""The bundled real instance: a regression test pinning its status, objective and size.

The pinned objective is the optimum recorded in instances/us-critical-minerals/NOTES.md
(reached at a MIP gap of 1e-4 and of 1e-6 alike). A change to the model, the loader or the
instance that moves it must be explained there, and this figure updated with it.
"""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner
from helpers import REPO
from invariants import check_result

from planner import cli
from planner.results.verify import verify_result
from planner.results.write import write_results
from planner.solve.pipeline import solve_instance

US = REPO / "instances" / "us-critical-minerals"
PINNED_OBJECTIVE = 39_814_615_537.80  # USD, NOTES.md "What the plan says"
PINNED_SIZES = {"variables": 7759, "binary_variables": 63, "constraints": 7093, "nonzeros": 44647}


def test_us_critical_minerals_regression(tmp_path):
    out = solve_instance(US)
    assert out.report.status == "optimal"
    assert out.figures.objective == pytest.approx(PINNED_OBJECTIVE, rel=1e-6)
    assert out.report.sizes == PINNED_SIZES
    assert out.mip_gap <= 1e-4
    assert len(out.data.scenarios) == 120 and "120 combinations), method exact" in out.instance.notes[0]
    write_results(out, tmp_path / "res")
    assert verify_result(out.data, tmp_path / "res") == []
    # the independent checker reads explicit scenario files: freeze the generated ones into a copy
    frozen = tmp_path / "frozen"
    shutil.copytree(US, frozen)
    result = CliRunner().invoke(cli.main, ["scenarios", str(frozen), "--into-instance"])
    assert result.exit_code == 0, result.output
    assert check_result(frozen, tmp_path / "res") == []


def test_build_script_reproduces_the_committed_files(tmp_path):
    """Every number comes from build.py: running it again must give the committed CSVs."""
    import subprocess
    import sys

    copy = tmp_path / "us"
    shutil.copytree(US, copy)
    for csv in copy.glob("*.csv"):
        csv.unlink()
    subprocess.run([sys.executable, "build.py"], cwd=copy, check=True)
    for csv in sorted(US.glob("*.csv")):
        assert (copy / csv.name).read_text() == csv.read_text(), csv.name


def test_every_option_demand_and_event_row_has_its_source():
    """NOTES.md or build.py's source tables trace every row: each option (`source_of`), each
    material's demand (`DEMAND`), each event (`EVENT_SOURCES`), each price factor."""
    import importlib.util

    import pandas as pd

    spec = importlib.util.spec_from_file_location("us_build", US / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    notes = (US / "NOTES.md").read_text(encoding="utf-8")
    for row in pd.read_csv(US / "options.csv", keep_default_na=False).to_dict("records"):
        source = build.source_of(row)
        assert source and ("ASSUMPTION" in source or "USGS" in source or "reference/" in source), row["option"]
        if row["option"] in build.OPTION_SOURCES:  # a project or special option: NOTES.md names it too
            assert row["option"] in notes, row["option"]
    for material in pd.read_csv(US / "demand.csv")["commodity"].unique():
        assert build.DEMAND[material][2] and material in notes
    for event in pd.read_csv(US / "events.csv")["event"].unique():
        assert build.EVENT_SOURCES[event] and f"`{event}`" in notes, event
    for material in build.PRICE_FACTOR:
        assert material in (US / "reference" / "price_shocks.csv").read_text()
