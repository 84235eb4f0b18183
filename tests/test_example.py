"""docs/model.md section 6: the hand-checkable example, its four published optima and plans."""

from __future__ import annotations

import pytest
from helpers import four_suppliers
from invariants import check_result

from planner.results.write import write_results
from planner.solve.pipeline import solve_instance
from planner.solve.session import SolveOptions


@pytest.mark.parametrize(
    ("aversion", "storage", "objective", "chosen"),
    [
        (0.0, "0", 16500.0, {"CN1"}),
        (0.5, "0", 23736.84, {"CN1", "GS1"}),
        (1.0, "0", 30131.58, None),
        (0.5, "", 23098.0, {"CN1", "RU1", "GS1"}),
    ],
)
@pytest.mark.parametrize("gap", [1e-9, 0.0])  # 0: a bound one unit in the last place off the plan proves it
def test_published_optima(tmp_path, aversion, storage, objective, chosen, gap):
    out = solve_instance(four_suppliers(tmp_path / "inst", aversion, storage), SolveOptions(mip_gap=gap))
    assert out.report.status == "optimal"
    assert out.figures.objective == pytest.approx(objective, abs=0.005)
    if chosen is not None:
        assert {o for o, z in out.plan.contracted.items() if z} == chosen
    write_results(out, tmp_path / "res")
    assert check_result(tmp_path / "inst", tmp_path / "res") == []


def test_volumes_at_half_aversion(tmp_path):
    """CN1 + GS1 with volumes 900/19 and 1000/19 (docs/model.md section 6)."""
    out = solve_instance(four_suppliers(tmp_path / "inst", 0.5, "0"), SolveOptions(mip_gap=1e-9))
    assert out.plan.volume["CN1", 0] == pytest.approx(900 / 19, rel=1e-7)
    assert out.plan.volume["GS1", 0] == pytest.approx(1000 / 19, rel=1e-7)


def test_figures_follow_their_definitions(tmp_path):
    """objective = (1 - lambda) expected_cost + lambda cvar, CVaR >= expected, FC counted once."""
    out = solve_instance(four_suppliers(tmp_path / "inst", 0.5, "0"))
    f = out.figures
    assert f.objective == pytest.approx(0.5 * f.expected_cost + 0.5 * f.cvar)
    assert f.cvar >= f.expected_cost
    assert f.fixed_cost == pytest.approx(500 + 1000)  # CN1 + GS1
