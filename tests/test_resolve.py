"""Fast re-solves (planner.solve.resolve): a kept model solved again after its Params change
gives the optimum a fresh build gives, and a change of shape is rebuilt, never reused."""

from __future__ import annotations

import numpy as np
import pytest

from planner.errors import InfeasibleError
from planner.instance.data import build_model_data
from planner.instance.generate import generate_instance
from planner.instance.loader import load_instance
from planner.instance.overrides import apply_values
from planner.model.build import create_model
from planner.solve.compile import compile_model
from planner.solve.pipeline import solve_instance
from planner.solve.resolve import ModelCache
from planner.solve.scaling import scale_data
from planner.solve.session import SolveOptions

EXACT = SolveOptions(mip_gap=1e-9, threads=1)

# (values, whether the kept model serves it); the generated base has lambda 0.3, a China
# share limit, a gallium service level and no budget
STEPS = [
    ({}, False),
    ({"risk.aversion": 0.7}, True),
    ({"risk.cvar_alpha": 0.5}, True),
    ({"risk.aversion": 1.0}, True),  # with the lexicographic second stage
    ({"scenarios.s003.probability": 0.2}, True),
    ({"limits.bloc:china:*.max_share": 0.2}, True),
    ({"commodities.gallium.service_level": 0.3}, True),
    ({"budget.fixed_cost_max": 4e8}, False),  # a budget appears: new row
    ({"budget.fixed_cost_max": 3e8}, True),
    ({"options.gallium-COD-4.capacity": 10.0}, False),  # a matrix coefficient
    ({"risk.aversion": 0.0}, False),  # no CVaR variables
    ({"risk.aversion": 0.0, "limits.bloc:china:*.max_share": 0.3}, True),
    ({"risk.ambiguity": 0.2}, False),  # the worst-case rows and columns appear
    ({"risk.ambiguity": 0.4}, True),
    ({"risk.ambiguity": 0.4, "scenarios.s003.probability": 0.2}, True),
    ({"risk.ambiguity": 0.4, "risk.aversion": 0.7}, False),  # lambda weighs R_s inside the worst-case rows
    ({"risk.ambiguity": 0.4, "risk.aversion": 0.7, "risk.cvar_alpha": 0.5}, False),  # so does alpha, e_s
]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return load_instance(generate_instance(tmp_path_factory.mktemp("g") / "inst", 3, 6, 5, 8, seed=0))


def test_kept_model_gives_the_fresh_optimum_and_rebuilds_on_shape_changes(base):
    cache = ModelCache()
    builds = 0
    for values, reused in STEPS:
        inst = apply_values(base, values)
        fresh = solve_instance(inst, EXACT)
        kept = solve_instance(inst, EXACT, cache=cache)
        builds += not reused
        assert (cache.builds, cache.reuses) == (builds, STEPS.index((values, reused)) + 1 - builds), values
        assert kept.report.status == fresh.report.status == "optimal"
        assert kept.figures.objective == pytest.approx(fresh.figures.objective, rel=1e-7), values
        assert kept.figures.expected_cost == pytest.approx(fresh.figures.expected_cost, rel=1e-6), values
        assert kept.report.sizes == fresh.report.sizes
        assert kept.report.tiebreak == fresh.report.tiebreak
        session = cache._kept.session  # the lexicographic stage's extra row is gone again
        assert session.highs.getNumRow() == session.compiled.lp.num_row_


def test_infeasible_after_a_parameter_change_is_explained_and_the_model_stays_usable(base):
    cache = ModelCache()
    solve_instance(base, EXACT, cache=cache)
    with pytest.raises(InfeasibleError) as caught:
        solve_instance(apply_values(base, {"limits.bloc:china:*.max_share": 0.0,
                                           "commodities.gallium.service_level": 1.0}), EXACT, cache=cache)
    assert any("gallium: service level 1" in reason for reason in caught.value.reasons)
    again = solve_instance(apply_values(base, {"risk.aversion": 0.6}), EXACT, cache=cache)
    assert cache.builds == 1 and cache.reuses == 2
    assert again.figures.objective == pytest.approx(
        solve_instance(apply_values(base, {"risk.aversion": 0.6}), EXACT).figures.objective, rel=1e-7)


def test_warm_start_from_the_previous_plan_gives_the_same_optimum(base):
    cache = ModelCache(warm_start=True)
    for aversion in (0.2, 0.5, 0.9):
        inst = apply_values(base, {"risk.aversion": aversion})
        kept = solve_instance(inst, EXACT, cache=cache)
        assert kept.figures.objective == pytest.approx(solve_instance(inst, EXACT).figures.objective, rel=1e-7)
    assert cache.reuses == 2


def test_refreshed_lp_is_the_lp_a_fresh_build_compiles(base):
    """After every Param changes, what HiGHS holds equals the compilation of a model built
    afresh: right-hand sides, both objectives and, untouched, the matrix and column bounds; so
    does the compiled model that the copies a solve makes later are given (the phase's beside
    branch and bound, a strict branch and bound)."""
    cache = ModelCache()
    solve_instance(base, EXACT, cache=cache)
    changed = apply_values(base, {"risk.aversion": 0.8, "risk.cvar_alpha": 0.75, "scenarios.s002.probability": 0.3,
                                  "limits.bloc:china:*.max_share": 0.35, "commodities.gallium.service_level": 0.7})
    data = build_model_data(changed)
    scales, session, _ = cache.session_for(data, EXACT)
    assert cache.reuses == 1
    fresh = compile_model(create_model(scale_data(data, scales)))
    for held in (session.highs.getLp(), session.compiled.lp):
        for name in ("row_lower_", "row_upper_", "col_lower_", "col_upper_", "col_cost_"):
            np.testing.assert_allclose(np.asarray(getattr(held, name)), np.asarray(getattr(fresh.lp, name)),
                                       rtol=1e-12, atol=1e-14, err_msg=name)
        assert held.offset_ == pytest.approx(fresh.lp.offset_, rel=1e-12, abs=1e-14)
    held = session.highs.getLp()
    np.testing.assert_allclose(session.compiled.tiebreak, fresh.tiebreak, rtol=1e-12, atol=1e-14)
    for name in ("start_", "index_", "value_"):
        np.testing.assert_array_equal(np.asarray(getattr(held.a_matrix_, name)),
                                      np.asarray(getattr(fresh.lp.a_matrix_, name)))
