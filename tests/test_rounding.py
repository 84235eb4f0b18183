"""The LP relaxation's plan, rounded (planner/solve/decomposition/rounding.py), and what a limited
solve does with it: the rounding keeps the rows over integer columns or gives nothing; the plan it
completes holds every row of the whole model and is no better than the independent formulation's
optimum, whose LP relaxation value the phase reports as a bound; a limited solve offers it, and
its branch and bound leaves the phase a core."""

from __future__ import annotations

import time

import highspy
import numpy as np
import scipy.sparse as sp
from helpers import racing
from hypothesis import event, given
from hypothesis import strategies as st
from test_decompose import PROPERTY, SHAPES, _two_materials

from planner.instance.data import build_model_data
from planner.instance.loader import load_instance
from planner.model.build import create_model
from planner.solve.decomposition import first, phase, rounding
from planner.solve.highs import integrality, new_highs, threads_beside_phase
from planner.solve.incumbent import Incumbent
from planner.solve.scaling import choose_scales, scale_data
from planner.solve.session import HighsSession, SolveOptions

INF = np.inf


def _rounded(relaxed, rows, row_lower, row_upper, lower=None, upper=None):  # noqa: ANN001, ANN202
    relaxed = np.asarray(relaxed, dtype=float)
    lower = np.zeros(len(relaxed)) if lower is None else np.asarray(lower, dtype=float)
    upper = np.ones(len(relaxed)) if upper is None else np.asarray(upper, dtype=float)
    return rounding.rounded(relaxed, lower, upper, sp.csc_matrix(np.asarray(rows, dtype=float)),
                            np.asarray(row_lower, dtype=float), np.asarray(row_upper, dtype=float))


def test_what_the_relaxation_uses_is_rounded_up_when_every_row_holds():
    values = _rounded([0.3, 1e-9, 1.0, 0.0, 2e-6], [[1, 1, 1, 1, 1]], [-INF], [10])
    assert values.tolist() == [1, 0, 1, 0, 1]


def test_a_budget_exceeded_by_rounding_up_drops_the_least_used_first():
    """Fixed costs 3, 3, 3 and a budget of 5: rounded up they cost 9; dropping 0.3 leaves 6,
    then 0.4 leaves 3. The option the relaxation signed whole stays."""
    values = _rounded([0.9, 0.4, 0.3, 1.0], [[3, 3, 3, 0]], [-INF], [5])
    assert values.tolist() == [1, 0, 0, 1]


def test_a_drop_that_breaks_an_agreement_link_is_refused():
    """z1 <= w (columns w, z1, z2) and a budget over all three: after z2, w and z1 are as little
    used, w first in the order; dropping w with z1 signed would break the link, so it is refused
    and z1 goes instead, which meets the budget."""
    rows = [[-1, 1, 0],  # z1 - w <= 0
            [1, 2, 2]]  # budget
    values = _rounded([0.5, 0.5, 0.2], rows, [-INF, -INF], [0, 2])
    assert values.tolist() == [1, 0, 0]


def test_a_row_no_drop_can_repair_gives_no_plan():
    """At least two options (a diversification row) where the relaxation uses one: rounding
    only drops, so it cannot add the second."""
    assert _rounded([1.0, 0.0, 0.0], [[1, 1, 1]], [2], [INF]) is None


def test_columns_with_other_bounds_are_kept_within_them():
    values = _rounded([0.4, 0.4], [[1, 1]], [-INF], [INF], lower=[1, 0], upper=[1, 0])
    assert values.tolist() == [1, 0]


def test_integer_rows_are_the_rows_over_integer_columns_only():
    matrix = sp.csr_matrix(np.array([[1, 1, 0, 0],  # over the integer columns 0, 1
                                     [1, 0, 1, 0],  # with a continuous column
                                     [0, 0, 0, 0],  # empty
                                     [0, 2, 0, 0]], dtype=float))
    assert rounding.integer_rows(matrix, np.array([0, 1])).tolist() == [0, 3]


@PROPERTY
@given(seed=st.integers(min_value=0, max_value=10**9), shape=SHAPES)
def test_the_rounded_relaxation_is_a_plan_and_the_relaxation_a_bound(tmp_path_factory, seed, shape):
    """On random instances in the phase's shapes (a budget that binds among them): the LP
    relaxation's value is at most the reference optimum (the bound the phase reports), and the
    plan its rounding completes, when there is one, holds every row and bound of the whole
    model with integral binaries, and is no better than that optimum."""
    folder, optimum = _two_materials(tmp_path_factory, seed, shape)
    data = build_model_data(load_instance(folder))
    scales = choose_scales(data)
    session = HighsSession(create_model(scale_data(data, scales)), SolveOptions(), planning=True)
    d, c, h = session.decomposition, session.compiled, session.highs
    assert d is not None
    best = Incumbent(c.objective, c.objective_offset)
    run = phase.PhaseRun(d, h, c.lp, c.objective, c.objective_offset,
                         lambda: new_highs(SolveOptions(threads=1), log=False), None, time.perf_counter, best,
                         early_plan=True)
    ints = d.s.integer.astype(np.int32)
    with integrality(h, ints, False):
        assert first.lp_relaxation(run, h, run.block_solvers(1e-6))
        value = h.getInfo().objective_function_value
        run.relaxation_found(value, np.asarray(h.getSolution().col_value)[d.s.integer], 0.0, None)
    tolerance = 1e-6 * max(1.0, abs(optimum))
    assert best.lower == value
    assert value * scales.money <= optimum + tolerance
    event(f"a rounded plan: {best.plan is not None}")
    if best.plan is None:
        return
    plan = best.plan
    a = c.lp.a_matrix_
    activity = sp.csc_matrix((a.value_, a.index_, a.start_), shape=(c.lp.num_row_, c.lp.num_col_)) @ plan
    slack = 1e-7 * np.maximum(1.0, np.abs(activity))
    assert (activity >= np.asarray(c.lp.row_lower_) - slack).all()
    assert (activity <= np.asarray(c.lp.row_upper_) + slack).all()
    assert (plan >= np.asarray(c.lp.col_lower_) - 1e-9).all() and (plan <= np.asarray(c.lp.col_upper_) + 1e-9).all()
    assert np.array_equal(plan[d.s.integer], np.round(plan[d.s.integer]))
    assert best.upper * scales.money >= optimum - tolerance


def test_branch_and_bound_beside_the_phase_has_a_thread_fewer(tmp_path, monkeypatch):
    """A limited solve (a time limit that never binds: the race) runs branch and bound with
    `threads_beside_phase` threads, and gives the session's HiGHS its threads back after; the
    phase offered the rounded relaxation's plan (`early_plan`)."""
    from planner.instance.generate import generate_instance
    from planner.solve.pipeline import solve_instance

    assert threads_beside_phase(4) == 3 and threads_beside_phase(1) == 1 and threads_beside_phase(None) >= 1
    seen, early = [], []
    start_bnb = HighsSession._branch_and_bound
    decompose = HighsSession._decompose

    def spy_bnb(self, deadline, best):  # noqa: ANN001, ANN202
        seen.append(self.highs.getOptionValue("threads")[1])
        return start_bnb(self, deadline, best)

    def spy_decompose(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        early.append(kwargs.get("early_plan", False))
        return decompose(self, *args, **kwargs)

    monkeypatch.setattr(HighsSession, "_branch_and_bound", spy_bnb)
    monkeypatch.setattr(HighsSession, "_decompose", spy_decompose)
    folder = generate_instance(tmp_path / "g", 3, 6, 4, 6, seed=0)
    out = solve_instance(folder, racing(threads=3))
    assert seen[0] == 2 and early[0] is True
    assert out.report.status == "optimal"


def test_a_session_solved_in_a_race_keeps_its_threads_for_the_next_solve(tmp_path):
    """After a race, the session's HiGHS has the threads it had before (a re-solve without a
    limit runs as it would have)."""
    from planner.instance.generate import generate_instance

    folder = generate_instance(tmp_path / "g", 3, 6, 4, 6, seed=1)
    data = build_model_data(load_instance(folder))
    session = HighsSession(create_model(scale_data(data, choose_scales(data))), racing(threads=3), planning=True)
    assert session.highs.getOptionValue("threads")[1] == 3
    report = session.solve(0.3)
    assert report.status == "optimal"
    assert session.highs.getOptionValue("threads")[1] == 3
    assert isinstance(session.highs, highspy.Highs)
