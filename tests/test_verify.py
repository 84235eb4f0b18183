"""planner verify: a correct result passes; each kind of tampering is caught with its size."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import four_suppliers

from planner import cli
from planner.data import build_model_data
from planner.errors import ResultsError
from planner.loader import load_instance
from planner.output import write_results
from planner.pipeline import solve_instance
from planner.verify import verify_result


@pytest.fixture
def solved(tmp_path):
    folder = four_suppliers(tmp_path / "inst", aversion=0.5, storage="")
    write_results(solve_instance(folder), tmp_path / "res")
    return folder, tmp_path / "res"


def violations(folder, results):
    return verify_result(build_model_data(load_instance(folder)), results)


def edit(results, name, column, row, value):
    table = pd.read_csv(results / f"{name}.csv", dtype={"period": str}, keep_default_na=False)
    if isinstance(row, str):  # the row of that scenario
        row = table.index[table["scenario"] == row][0]
    table.loc[row, column] = value
    table.to_csv(results / f"{name}.csv", index=False)


def test_a_solved_result_verifies(solved):
    assert violations(*solved) == []


def test_volume_above_capacity(solved):
    folder, results = solved
    edit(results, "volumes", "volume", 0, 130.0)  # CN1, capacity 100
    found = violations(folder, results)
    assert any(v.check == "1 contract" and v.size == pytest.approx(30) for v in found)
    assert any(v.check == "4 balance" for v in found)  # supply no longer matches
    assert any(v.check == "summary" for v in found)  # nor do the costs


def test_broken_balance_and_figures(solved):
    folder, results = solved
    edit(results, "supply", "stock", "none-cut", 7.0)
    summary = json.loads((results / "summary.json").read_text())
    summary["objective"] += 1
    (results / "summary.json").write_text(json.dumps(summary))
    found = [str(v) for v in violations(folder, results)]
    assert any(v.startswith("4 balance: rare_earth_oxide 2026 none-cut: stock 7 != ") for v in found)
    assert any(v.startswith("summary: objective:") and v.endswith("(off by 1)") for v in found)


def test_unselected_option_with_volume_and_broken_share_limit(solved):
    folder, results = solved
    (folder / "limits.csv").write_text("scope,name,commodity,max_share\nbloc,china,*,0.1\n")
    found = [v.check for v in violations(folder, results)]
    assert "8 share limit" in found


def test_result_of_another_instance_is_refused(solved, tmp_path):
    folder, results = solved
    (results / "contracts.csv").write_text((results / "contracts.csv").read_text().replace("CN2", "XX9"))
    with pytest.raises(ResultsError, match="not those of the instance"):
        violations(folder, results)


def test_cli_verify_exit_codes(solved):
    folder, results = solved
    runner = CliRunner()
    ok = runner.invoke(cli.main, ["verify", str(folder), str(results)])
    assert ok.exit_code == 0 and "every constraint and reported figure holds" in ok.output
    edit(results, "volumes", "volume", 0, 130.0)
    bad = runner.invoke(cli.main, ["verify", str(folder), str(results)])
    assert bad.exit_code == cli.EXIT_VERIFY_FAILED
    assert "violation: 1 contract: CN1 2026: volume 130 above capacity x selected (off by 30)" in bad.output
