"""Numbers at any magnitude: either the true optimum or a refusal naming the envelope.

Random instances have one class of figures (penalties, unit costs, fixed costs, holding
costs, capacities, demand) multiplied by 1e-3 ... 1e12. Each is either refused when loaded,
with a message naming the envelope of planner.instance.magnitudes, or solved to the optimum of the
independent formulation (tests/reference_model.py). Asked for a gap of 1e-7, a solve may instead
say that the bound proves no smaller gap than one below the default 1e-4 (`PrecisionError`);
the gap it suggests must then give the optimum. The same holds with two or three classes scaled
at once (volumes the envelope does not bound too), and every result written at the default gap
passes verify and the independent checker. The envelope's edges are tested on both sides, and
spans where HiGHS called a dearer plan optimal are refused.
"""

from __future__ import annotations

import json
import pickle
import re
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import examples, four_suppliers, scale
from hypothesis import example, given
from hypothesis import strategies as st
from invariants import check_result
from random_instance import random_instance
from reference_model import reference_optimum

from planner import cli
from planner.errors import InfeasibleError, InstanceError, PrecisionError
from planner.instance import magnitudes
from planner.instance.loader import load_instance
from planner.instance.magnitudes import MONEY_SPAN, VOLUME_SPAN
from planner.options import SolveOptions
from planner.results.verify import verify_result
from planner.results.write import write_results
from planner.solve import scaling
from planner.solve.pipeline import solve_instance

EXACT = SolveOptions(mip_gap=1e-7)
CLASSES = {
    "shortage_penalty": {"commodities.csv": ["shortage_penalty"]},
    "unit_cost": {"options.csv": ["unit_cost"]},
    "fixed_cost": {"options.csv": ["fixed_cost"], "agreements.csv": ["fixed_cost"]},
    "holding_cost": {"commodities.csv": ["holding_cost"]},
    "capacity": {"options.csv": ["capacity"], "capacity.csv": ["capacity"]},
    "demand": {"demand.csv": ["demand"]},
}
ENVELOPE = ("planner solves spans up to", "the largest figure planner solves")


def solved_or_refused(folder: Path) -> tuple[str, float | None, float]:
    """("refused", None, gap), ("infeasible", None, gap) or ("solved", objective, gap): the gap
    the objective is proven to (EXACT's, or the one a PrecisionError suggested)."""
    try:
        load_instance(folder)
    except InstanceError as exc:
        assert any(part in str(exc) for part in ENVELOPE), str(exc)
        return "refused", None, EXACT.mip_gap
    try:
        return "solved", solve_instance(folder, EXACT).figures.objective, EXACT.mip_gap
    except PrecisionError as exc:
        assert exc.proven_gap > EXACT.mip_gap and exc.suggested_gap <= SolveOptions().mip_gap, str(exc)
        assert f"--mip-gap {exc.suggested_gap:g}" in str(exc)
        outcome = solve_instance(folder, replace(EXACT, mip_gap=exc.suggested_gap))
        assert outcome.report.status == "optimal" and outcome.mip_gap <= exc.suggested_gap
        return "solved", outcome.figures.objective, exc.suggested_gap
    except InfeasibleError as exc:
        assert exc.reasons, "an infeasible plan must be explained"
        return "infeasible", None, EXACT.mip_gap


def assert_true_optimum(folder: Path) -> None:
    outcome, objective, gap = solved_or_refused(folder)
    if outcome == "refused":
        return
    expected = reference_optimum(folder)
    if outcome == "infeasible":
        assert expected is None
        return
    assert expected is not None
    assert objective == pytest.approx(expected, rel=max(1e-5, 2 * gap), abs=1e-6)


@examples(60)
@given(seed=st.integers(0, 10**9), figures=st.sampled_from(sorted(CLASSES)),
       exponent=st.sampled_from([-3, 3, 6, 9, 12]))
@example(seed=77849894, figures="shortage_penalty", exponent=9)  # HiGHS's absolute gap, not the one asked
@example(seed=3288949, figures="demand", exponent=6)  # a plan within HiGHS's tolerances breaks a balance by 5 t
@example(seed=300, figures="unit_cost", exponent=6)  # ... and the budget by 34 USD of 500
@example(seed=632095, figures="demand", exponent=6)  # ... and an average-risk limit by 10 t
@example(seed=1765, figures="unit_cost", exponent=9)  # optimum 3e9 below the largest cost: gap 1e-7 unprovable
@example(seed=7165420, figures="shortage_penalty", exponent=9)  # the reference's LPs ended "Solve error"
@example(seed=903427, figures="shortage_penalty", exponent=9)  # HiGHS: a plan 6% dearer than the optimum
@example(seed=26, figures="demand", exponent=-3)  # an optimum of 0 USD, its bound -2.6e-14 USD
@example(seed=10875, figures="capacity", exponent=6)  # the polish dropped the plan: no strict solve
@example(seed=646586, figures="demand", exponent=6)  # the diagnosis's bound 1.5e-6 above its least relaxation
@example(seed=4505577, figures="demand", exponent=6)  # ... and above a least relaxation of 0
def test_any_magnitude_gives_the_true_optimum_or_a_refusal(tmp_path_factory, seed, figures, exponent):
    folder = random_instance(tmp_path_factory.mktemp("mag") / "i", seed)
    scale(folder, CLASSES[figures], 10.0 ** exponent)
    assert_true_optimum(folder)


TOGETHER = {**CLASSES,  # figures scaled two or three classes at once, the volumes the envelope does not bound too
            "min_volume": {"options.csv": ["min_volume"]},
            "initial_stock": {"commodities.csv": ["initial_stock"]},
            "storage_capacity": {"commodities.csv": ["storage_capacity"]}}
SHAPES = [{}, {"binding_budget": True}, {"aversion": 1.0}, {"ambiguity": 0.3}, {"multi_stage": True},
          {"price_shocks": True}, {"supplied_limits": True}, {"materials": 2, "binding_budget": True}]


def scale_together(folder: Path, exponents: dict[str, float]) -> None:
    """Each class of figures times 10^exponent; the budget with the fixed costs, whose units it
    shares: else a factor of 1 + 3e-7 puts a budget set at two fixed costs' sum 8e-5 USD below
    it, infeasible to the reference and within HiGHS's tolerance to planner (seed 5298089)."""
    for figures, exponent in exponents.items():
        scale(folder, TOGETHER[figures], 10.0 ** exponent)
    toml = folder / "instance.toml"
    budget = re.search(r"^fixed_cost_max = (.+)$", toml.read_text(), re.M)
    if "fixed_cost" in exponents and budget:
        scaled = float(budget.group(1)) * 10.0 ** exponents["fixed_cost"]
        toml.write_text(toml.read_text().replace(budget.group(0), f"fixed_cost_max = {scaled!r}"))


@examples(60)
@given(seed=st.integers(0, 10**9), shape=st.sampled_from(range(len(SHAPES))),
       exponents=st.dictionaries(st.sampled_from(sorted(TOGETHER)), st.floats(-5.0, 9.0), min_size=2, max_size=3))
@example(seed=97089141, shape=7, exponents={"holding_cost": 8.80443107109472, "demand": -3.8030315213228256,
                                             "storage_capacity": 7.648126569268092})
@example(seed=505494827, shape=2, exponents={"shortage_penalty": 5.86428592463205, "capacity": -2.1945422489407544,
                                              "storage_capacity": 7.965340122458944})
@example(seed=5298089, shape=1, exponents={"fixed_cost": 1.192092896e-07, "capacity": 0.0})  # a budget on the edge
@example(seed=445142, shape=7, exponents={"min_volume": 1.0, "capacity": 7.0})  # a fixed binary's leak (README)
@example(seed=999999997, shape=0, exponents={"demand": 6.5, "capacity": 0.0, "shortage_penalty": -4.0})  # a bound above
def test_figures_scaled_together_give_the_true_optimum_or_a_refusal(tmp_path_factory, seed, shape, exponents):
    """Two or three classes of figures scaled at once, each by 1e-5 ... 1e9, on instances of every
    shape: the optimum of the independent formulation, a refusal naming the envelope, or an
    infeasibility that is explained (the two examples: the diagnosis once failed on cost rows of
    1e6 in model units, holding costs on stocks of thousands of typical volumes)."""
    folder = random_instance(tmp_path_factory.mktemp("together") / "i", seed, **SHAPES[shape])
    scale_together(folder, exponents)
    assert_true_optimum(folder)


@examples(30)
@given(seed=st.integers(0, 10**9), shape=st.sampled_from(range(len(SHAPES))),
       exponents=st.dictionaries(st.sampled_from(sorted(TOGETHER)), st.floats(-5.0, 9.0), min_size=1, max_size=3))
@example(seed=793961521, shape=2, exponents={"shortage_penalty": -4.564242135291327,
                                             "unit_cost": 2.3975657604478364})
@example(seed=72, shape=0, exponents={"demand": 7.0, "fixed_cost": 6.0})  # 11 t from an option not contracted
@example(seed=847435298, shape=0,  # a stock's holding cost far above the other money figures: now refused
         exponents={"holding_cost": 7.0, "storage_capacity": 6.0, "initial_stock": 5.5})
def test_results_at_any_magnitude_pass_verify(tmp_path_factory, seed, shape, exponents):
    """Figures scaled as above, solved at the default gap: inside the envelope the plan is proven
    (no refusal of the gap) and its written result passes verify and the independent checker. The
    examples: a shortage penalty of 0.014 USD/t beside unit costs of 1e4, money scaled so that the
    penalty was 1.7e-6 in model units (`scaling.MONEY_SPREAD` 1e6): HiGHS's bound came out 13% above
    the optimum (summary.json: a bound above the objective, 'optimal' with a gap of 0); and a demand
    of 3e7 t where capacities are 20-120 t: an option not contracted delivered 11 t, HiGHS's
    tolerance in model units (contracts.csv: selected 0, volume 11.4)."""
    root = tmp_path_factory.mktemp("verified")
    folder = random_instance(root / "i", seed, **SHAPES[shape])
    scale_together(folder, exponents)
    try:
        load_instance(folder)
    except InstanceError as exc:
        assert any(part in str(exc) for part in ENVELOPE), str(exc)
        return
    try:
        outcome = solve_instance(folder)
    except InfeasibleError as exc:
        assert exc.reasons
        return
    write_results(outcome, root / "results")  # verify: the bound not above the objective, and the rest
    assert verify_result(outcome.data, root / "results") == []
    assert check_result(folder, root / "results") == []


def _four_suppliers_with_penalty(folder: Path, penalty: float) -> Path:
    four_suppliers(folder, aversion=0.5, storage="0")
    (folder / "commodities.csv").write_text(
        f"commodity,shortage_penalty,holding_cost,initial_stock,storage_capacity\nrare_earth_oxide,{penalty!r},0,0,0\n")
    return folder


def test_the_penalty_of_1e11_is_refused(tmp_path):
    """Once reported optimal at 1e13 with no contracts (the true optimum contracts); a span of
    2e10, far outside the envelope, where other instances came back wrong (seed 903427 below)."""
    folder = _four_suppliers_with_penalty(tmp_path / "p", 1e11)
    with pytest.raises(InstanceError, match=r"the money figures span 2\.0e\+10.*planner solves spans up to 1e\+08"):
        load_instance(folder)


def test_a_wrong_optimum_at_a_span_of_2e10_is_now_refused(tmp_path):
    """Seed 903427, shortage penalty x 1e8 (2e10 USD/t), options O0 and O2 only: HiGHS called a plan
    of 13,702.05 USD optimal where the optimum is 12,175 (the reference, and HiGHS without
    presolve). Its span, 1.9e10, is refused; the same instance at x 1e4 is solved."""
    folder = random_instance(tmp_path / "i", 903427)
    for name in ("options.csv", "capacity.csv"):
        lines = (folder / name).read_text().splitlines()
        kept = [line for line in lines[1:] if line.split(",")[0] in ("O0", "O2")]
        (folder / name).write_text("\n".join([lines[0], *kept]) + "\n")
    scale(folder, CLASSES["shortage_penalty"], 1e8)
    with pytest.raises(InstanceError, match="the money figures span 1.9e[+]10"):
        load_instance(folder)
    scale(folder, CLASSES["shortage_penalty"], 1e-4)
    assert_true_optimum(folder)
    assert solved_or_refused(folder)[0] == "solved"


def test_money_span_at_the_edge_is_solved_and_beyond_it_refused(tmp_path):
    """The money figures of four-suppliers span from a fixed cost of 500 to the penalty x 100 t."""
    inside = _four_suppliers_with_penalty(tmp_path / "in", 500 * MONEY_SPAN / 100 / 2)
    assert_true_optimum(inside)
    assert solved_or_refused(inside)[0] == "solved"
    outside = _four_suppliers_with_penalty(tmp_path / "out", 500 * MONEY_SPAN / 100 * 2)
    with pytest.raises(InstanceError, match=re.escape(f"shortage_penalty: '{500 * MONEY_SPAN / 100 * 2:g}': the money "
                                                      f"figures span {2 * MONEY_SPAN:.1e}")):
        load_instance(outside)


def test_volume_span_at_the_edge_is_solved_and_beyond_it_refused(tmp_path):
    """CN1's capacity against the smallest volume, the other options' 60 t."""
    for factor, expected in ((VOLUME_SPAN / 2, "solved"), (VOLUME_SPAN * 2, "refused")):
        folder = four_suppliers(tmp_path / f"v{factor:g}")
        text = (folder / "options.csv").read_text().replace("CN1,rare_earth_oxide,CHN,100,",
                                                             f"CN1,rare_earth_oxide,CHN,{60 * factor:g},")
        (folder / "options.csv").write_text(text)
        assert solved_or_refused(folder)[0] == expected
        assert_true_optimum(folder)


def test_figures_above_the_largest_are_refused(tmp_path):
    folder = _four_suppliers_with_penalty(tmp_path / "huge", 1e300)
    with pytest.raises(InstanceError, match="is above 1e[+]15, the largest figure planner solves reliably"):
        load_instance(folder)


def test_a_plan_that_breaks_a_row_in_your_units_is_solved_again_and_says_so(tmp_path, monkeypatch):
    """Seed 5823516 with demand a million times larger: HiGHS's first plan broke a balance by 20 t
    in the user's units. The strict second solve gives the reference's optimum, and summary.json
    and the terminal say that it ran; a plan from the first solve alone says not. Its money span,
    4.2e8, lies beyond today's envelope: the safety net is tested where it was needed. Asked for
    1e-6: its bound lies 2.2e-7 above the plan, so a gap of 1e-7 is not proven (`status.proof_gap`)."""
    monkeypatch.setattr(magnitudes, "MONEY_SPAN", 1e12)
    folder = random_instance(tmp_path / "i", 5823516)
    scale(folder, CLASSES["demand"], 1e6)
    result = CliRunner().invoke(cli.main, ["solve", str(folder), "--out", str(tmp_path / "out"), "--mip-gap", "1e-6"])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["strict_tolerances"] is True and "solved again with strict tolerances" in result.output
    assert summary["objective"] == pytest.approx(reference_optimum(folder), rel=1e-5)
    verified = CliRunner().invoke(cli.main, ["verify", str(folder), str(tmp_path / "out")])
    assert verified.exit_code == 0, verified.output
    plain = CliRunner().invoke(cli.main, ["solve", "four-suppliers", "--out", str(tmp_path / "plain")])
    assert plain.exit_code == 0 and "strict tolerances" not in plain.output
    assert json.loads((tmp_path / "plain" / "summary.json").read_text())["strict_tolerances"] is False


def test_a_plan_that_still_breaks_a_row_after_the_strict_solve_is_refused(tmp_path, monkeypatch):
    """Numerical trouble that the strict solve does not cure (here a checker that always finds a
    break) is exit 6 with the row named, after exactly one second solve, and no results folder."""
    from planner.solve import pipeline

    calls = []

    def always_broken(data, plan, variant):
        calls.append(variant)
        return ["balance of rare_earth_oxide in period 1, scenario base: off by 5 t"]

    monkeypatch.setattr(pipeline, "_broken_in_users_units", always_broken)
    result = CliRunner().invoke(cli.main, ["solve", "four-suppliers", "--out", str(tmp_path / "out")])
    assert result.exit_code == 6, result.output
    assert "breaks a constraint in your units: balance of rare_earth_oxide" in result.output
    assert len(calls) == 2 and not (tmp_path / "out").exists()


def test_a_gap_below_what_the_bound_resolves_is_refused_with_the_gap_to_ask_for(tmp_path, monkeypatch):
    """Seed 1765 with unit costs 1e9 times larger: the optimum (351.7 USD, no option used) lies 1e9
    times below the largest cost figure, and HiGHS's bound is off by 1e-12 in model units, a gap
    of 1.02e-7. Asked for 1e-7: exit 6 naming the gap proven and 1e-6, and nothing written; the
    error survives a trip to a worker process; asked for 1e-6, the reference's optimum. Its money
    span, 4e10, lies beyond today's envelope, and today's money scale (coefficients within 1e4 of 1)
    proves it to 1e-7: the check is tested where it was needed, with the scale of then (1e6)."""
    monkeypatch.setattr(magnitudes, "MONEY_SPAN", 1e12)
    monkeypatch.setattr(scaling, "MONEY_SPREAD", 1e6)
    folder = random_instance(tmp_path / "i", 1765)
    scale(folder, CLASSES["unit_cost"], 1e9)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli.main, ["solve", str(folder), "--out", str(out), "--mip-gap", "1e-7"])
    assert result.exit_code == 6, result.output
    proven = re.search(r"proves the best plan only to a gap of ([0-9.e+-]+), above the 1e-07 asked for", result.output)
    assert proven and 1e-7 < float(proven.group(1)) <= 1e-6, result.output
    assert "Ask for --mip-gap 1e-06 or more" in result.output and not out.exists()
    document = json.loads(CliRunner().invoke(cli.main, ["solve", str(folder), "--out", str(out), "--mip-gap",
                                                        "1e-7", "--json"]).stdout)
    assert document["error"]["exit_code"] == 6 and document["error"]["suggested_gap"] == 1e-6
    assert 1e-7 < document["error"]["proven_gap"] <= 1e-6 and not out.exists()
    error = PrecisionError(1.02e-7, 1e-7)
    assert str(pickle.loads(pickle.dumps(error))) == str(error)
    result = CliRunner().invoke(cli.main, ["solve", str(folder), "--out", str(out), "--mip-gap", "1e-6"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "optimal" and summary["objective"] == pytest.approx(reference_optimum(folder), rel=2e-6)
