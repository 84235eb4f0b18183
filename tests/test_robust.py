"""Price shocks and ambiguity in the probabilities (docs/model.md sections 3.5 and 6).

Both features against the independent formulation on generated instances; the exact
relations between the nominal and the robust problem; the two hand-checked examples; and
delta = 0 with factors of 1 reproducing today's figures exactly.
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import PROVEN_GAP, REPO, examples, four_suppliers, proven
from hypothesis import given
from hypothesis import strategies as st
from invariants import agrees_with_reference
from random_instance import random_instance

from planner import cli
from planner.instance.data import build_model_data
from planner.instance.loader import load_instance
from planner.results.plan import compute_figures, is_worst_case, worst_case_probabilities
from planner.solve.pipeline import solve_data, solve_instance
from planner.solve.session import SolveOptions

EXACT = SolveOptions(mip_gap=1e-9)
PROPERTY = examples(40)


@PROPERTY
@given(seed=st.integers(0, 10**9), delta=st.sampled_from([0.0, 0.2, 0.5, 1.0]))
def test_price_shocks_and_ambiguity_match_the_independent_formulation(tmp_path_factory, seed, delta):
    """The written results also pass the independent checker: shocked spot prices, and the
    worst case computed another way (a greedy over the kinks of eta)."""
    root = tmp_path_factory.mktemp("r")
    agrees_with_reference(random_instance(root / "i", seed, price_shocks=True, ambiguity=delta), root / "res")


@examples(15)
@given(seed=st.integers(0, 10**9))
def test_the_worst_case_grows_with_delta_and_the_robust_plan_is_never_worse_in_it(tmp_path_factory, seed):
    """Larger ambiguity sets contain the smaller ones: the optimum cannot fall. The robust plan
    is optimal for the worst case, so the nominal plan's worst case is never below it; and at
    the given probabilities the robust plan never beats the nominal optimum."""
    folder = random_instance(tmp_path_factory.mktemp("r") / "i", seed, price_shocks=True, relaxed=True)
    data = build_model_data(load_instance(folder))
    _, nominal_plan, _ = proven(lambda o: solve_data(data, o), EXACT)
    nominal = compute_figures(data, nominal_plan).objective
    previous = nominal
    for delta in (0.1, 0.3, 0.6, 1.0):
        robust_data = replace(data, ambiguity=delta)
        _, plan, _ = proven(lambda o, d=robust_data: solve_data(d, o), EXACT)
        robust = compute_figures(robust_data, plan).objective
        assert robust >= previous - PROVEN_GAP * max(1.0, abs(previous))  # each within the gap proven
        assert compute_figures(robust_data, nominal_plan).objective >= robust - 1e-7 * max(1.0, abs(robust))
        assert compute_figures(data, plan).objective >= nominal - 1e-7 * max(1.0, abs(nominal))
        previous = robust


def _with_spot_and_china_shock(folder, factor: float):
    """Four suppliers at aversion 0 with a spot option in Australia at 150, and China's cut-offs
    raising spot prices by `factor`."""
    folder = four_suppliers(folder, aversion=0.0)
    with open(folder / "countries.csv", "a") as fh:
        fh.write("AUS,allies,0.313,Australia\n")
    (folder / "options.csv").write_text(
        "option,commodity,origin,capacity,unit_cost,fixed_cost,spot\nCN1,rare_earth_oxide,CHN,100,100,500,0\n"
        "CN2,rare_earth_oxide,CHN,100,105,500,0\nRU1,rare_earth_oxide,RUS,60,110,800,0\n"
        "GS1,rare_earth_oxide,IDN,60,130,1000,0\nSPOT,rare_earth_oxide,AUS,100,150,0,1\n")
    with open(folder / "disruptions.csv") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["price_factor"] = factor if row["name"] == "china" else 1
    with open(folder / "disruptions.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return folder


def test_hand_checked_price_shock(tmp_path):
    """docs/model.md section 6: CN1 alone, 100 t; when China is cut off (probability 0.2) the
    100 t come from the spot option at 150, or at 300 when the cut-off doubles spot prices:
    500 + 0.8 x 10,000 + 0.2 x 15,000 = 11,500, and 500 + 0.8 x 10,000 + 0.2 x 30,000 = 14,500.
    A factor of 5 changes the plan."""
    for factor, expected in ((1, 11_500.0), (2, 14_500.0)):
        out = solve_instance(_with_spot_and_china_shock(tmp_path / f"f{factor}", factor), EXACT)
        assert out.figures.objective == pytest.approx(expected, rel=1e-9)
        assert [o for o, z in out.plan.contracted.items() if z] == ["CN1"]
        spot = out.tables["spot"]
        assert set(spot["scenario"]) == {s for s in out.data.scenarios if "china" in s}
        assert spot["volume"].to_numpy() == pytest.approx(100.0)
    # spot at 750 when China is cut off: CN1 alone would cost 500 + 8,000 + 0.2 x 40,000 (short) = 16,500;
    # contracting the Australian option for all 100 t at 150 costs 15,000 in every scenario
    five = solve_instance(_with_spot_and_china_shock(tmp_path / "f5", 5), EXACT)
    assert five.figures.objective == pytest.approx(15_000.0, rel=1e-9)
    assert [o for o, z in five.plan.contracted.items() if z] == ["SPOT"] and five.tables["spot"].empty


def test_hand_checked_ambiguity(tmp_path, monkeypatch):
    """docs/model.md section 6: four suppliers at aversion 0.5 with delta = 0.2. The plan stays
    CN1 + GS1 (900/19 and 1000/19 t); the worst case puts every scenario but the cheapest at
    1.2 times its probability and 'none-cut' takes the rest (0.4048): expected cost 18,194.74,
    CVaR 30,700, objective 24,447.37."""
    monkeypatch.chdir(tmp_path)
    folder = four_suppliers(tmp_path / "inst", aversion=0.5)
    toml = (folder / "instance.toml").read_text().replace("cvar_alpha = 0.9", "cvar_alpha = 0.9\nambiguity = 0.2")
    (folder / "instance.toml").write_text(toml)
    result = CliRunner().invoke(cli.main, ["solve", str(folder), "--out", "res"])
    assert result.exit_code == 0, result.output
    assert "objective      24,447.37 USD" in result.output
    assert "decomposition phase is not used" not in result.output  # the phase prices the worst case too
    assert "worst case     probabilities within 20% of the given ones: expected cost 18,194.74 USD, " \
           "CVaR 30,700.00 USD" in result.output
    assert "it leans on  cut-china-global_south (p 0.014 -> 0.0168)" in result.output
    summary = json.loads((tmp_path / "res" / "summary.json").read_text())
    assert summary["ambiguity"] == 0.2 and summary["expected_cost"] == pytest.approx(17_342.105263, rel=1e-9)
    assert summary["worst_case"]["cvar"] == pytest.approx(30_700.0, rel=1e-9)
    with open(tmp_path / "res" / "scenario_costs.csv") as fh:
        worst = {row["scenario"]: float(row["worst_case_probability"]) for row in csv.DictReader(fh)}
    assert worst["none-cut"] == pytest.approx(0.4048) and worst["cut-china"] == pytest.approx(0.1512)
    assert CliRunner().invoke(cli.main, ["verify", str(folder), "res"]).exit_code == 0


def test_scenarios_tied_in_cost_share_the_worst_case_either_way():
    """Costs 5, 3, 3, 1 at probability 0.25 each, delta 0.2: every probability starts at 0.2 and
    the 0.2 left goes 0.1 to the costliest, then 0.1 to one of the two tied at 3. Either order of
    the tie is a worst case (the same expected cost 3.2 and CVaR); mass on the cheapest, a sum
    other than 1 or a probability outside its interval is not."""
    costs, given = np.array([5.0, 3.0, 3.0, 1.0]), np.full(4, 0.25)
    worst = worst_case_probabilities(costs, given, 0.2)
    assert worst == pytest.approx([0.3, 0.3, 0.2, 0.2]) and float(worst @ costs) == pytest.approx(3.2)
    for alpha in (0.5, 0.75, 0.9):
        assert is_worst_case(costs, given, np.array([0.3, 0.2, 0.3, 0.2]), 0.2, alpha, 1e-6)
        assert is_worst_case(costs, given, np.array([0.3, 0.25, 0.25, 0.2]), 0.2, alpha, 1e-6)
        for other in ([0.3, 0.2, 0.2, 0.3], [0.3, 0.3, 0.2, 0.19], [0.35, 0.25, 0.2, 0.2], [0.25, 0.3, 0.3, 0.15]):
            assert not is_worst_case(costs, given, np.array(other), 0.2, alpha, 1e-6), other


def test_delta_zero_and_factors_of_one_reproduce_todays_figures(tmp_path):
    """Written out explicitly, the defaults change nothing: the bundled instance with every price
    factor 1 and ambiguity 0 gives, to 1e-9, what it gives with the column and the setting left
    out (the model as it was before either existed)."""
    import shutil

    figures = []
    for explicit in (True, False):
        us = tmp_path / f"us-{explicit}"
        shutil.copytree(REPO / "instances" / "us-critical-minerals", us)
        toml = (us / "instance.toml").read_text()
        assert "ambiguity = 0.3" in toml
        toml = "\n".join(line for line in toml.splitlines() if not line.startswith("ambiguity"))
        (us / "instance.toml").write_text(toml.replace("cvar_alpha = 0.9", "cvar_alpha = 0.9\nambiguity = 0")
                                          if explicit else toml)
        with open(us / "events.csv") as fh:
            rows = [{**row, "price_factor": "1"} if explicit else {k: v for k, v in row.items() if k != "price_factor"}
                    for row in csv.DictReader(fh)]
        with open(us / "events.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        out = solve_instance(us)
        figures.append((out.figures.objective, out.report.sizes))
    assert figures[0][0] == pytest.approx(figures[1][0], rel=1e-9) and figures[0][1] == figures[1][1]


def test_a_sweep_over_ambiguity_and_the_price_of_robustness(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli.main, ["sweep", "four-suppliers", "--vary", "risk.ambiguity=0,0.2,0.5", "--out", "sw",
                                      "--workers", "1"])
    assert result.exit_code == 0, result.output
    with open(tmp_path / "sw" / "sweep.csv") as fh:
        objectives = [float(row["objective"]) for row in csv.DictReader(fh)]
    assert objectives == sorted(objectives) and objectives[0] == pytest.approx(23_736.842105, rel=1e-9)
    folder = four_suppliers(tmp_path / "inst", aversion=0.5)
    toml = (folder / "instance.toml").read_text().replace("cvar_alpha = 0.9", "cvar_alpha = 0.9\nambiguity = 0.2")
    (folder / "instance.toml").write_text(toml)
    solved = runner.invoke(cli.main, ["solve", str(folder), "--out", "res", "--metrics", "--samples", "10"])
    assert solved.exit_code == 0, solved.output
    robust = json.loads((tmp_path / "res" / "summary.json").read_text())["metrics"]["price_of_robustness"]
    assert robust["nominal_optimum"] == pytest.approx(23_736.842105, rel=1e-9)
    assert robust["worst_case_saved"] >= 0 and robust["nominal_cost"] >= -1e-9
    assert "price of robustness" in solved.output
