"""The decomposition phase (planner/solve/decomposition): its bound, its plans, its hand-over.

The bound must hold for any multipliers, not only the ones the phase picks: it is checked
against the optimum of the independent formulation (tests/reference_model.py) at random
multipliers, through the public `Decomposition.bound_at`. The phase's plans must agree with
branch and bound on the whole model. The instances are drawn in the shapes the phase is for
and the shapes where it struggles: two materials (so that there are blocks), lambda = 1, a
budget that binds, each example with an optimum (so that every example checks its property).
"""

from __future__ import annotations

import dataclasses
import json
import math
import threading
import time

import highspy
import numpy as np
import pytest
from click.testing import CliRunner
from helpers import examples, in_own_thread, racing, solve_exactly
from hypothesis import event, given, settings
from hypothesis import strategies as st
from random_instance import random_instance
from reference_model import reference_optimum

from planner import cli
from planner.errors import InfeasibleError
from planner.instance.data import build_model_data
from planner.instance.loader import load_instance
from planner.model.build import create_model
from planner.solve.decomposition import first, phase, whole
from planner.solve.decomposition.prices import (
    Prices,
    RiskForm,
    fill_agreements,
    from_duals,
    project,
    project_tail_weights,
    tail_of,
)
from planner.solve.decomposition.structure import RiskColumns
from planner.solve.fixings import PhaseFixings
from planner.solve.highs import RunStatus, new_highs
from planner.solve.pipeline import solve_instance
from planner.solve.scaling import choose_scales, scale_data
from planner.solve.session import HighsSession, SolveOptions

PROPERTY = examples(40)
SHAPES = st.fixed_dictionaries({"aversion": st.sampled_from([0.0, 0.3, 1.0]), "binding_budget": st.booleans(),
                                 "ambiguity": st.sampled_from([None, 0.3])})


def _two_materials(tmp_path_factory, seed: int, shape: dict):
    """A relaxed random instance of two materials in the drawn shape, and its reference optimum."""
    folder = random_instance(tmp_path_factory.mktemp("inst") / "i", seed, max_options=6, materials=2,
                             relaxed=True, **shape)
    expected = reference_optimum(folder)
    assert expected is not None, "a relaxed instance always has a plan"
    event(f"aversion {shape['aversion']}, binding budget {shape['binding_budget']}, ambiguity {shape.get('ambiguity')}")
    return folder, expected


def _phase_run(folder):
    """A phase run on the planning model of `folder` (one HiGHS thread per block), with no deadline."""
    from planner.solve.incumbent import Incumbent

    data = build_model_data(load_instance(folder))
    session = HighsSession(create_model(scale_data(data, choose_scales(data))), SolveOptions(), planning=True)
    c = session.compiled
    run = phase.PhaseRun(session.decomposition, session.highs, c.lp, c.objective, c.objective_offset,
                         lambda: new_highs(SolveOptions(threads=1), log=False), None, time.perf_counter,
                         Incumbent(c.objective, c.objective_offset))
    return run, c


@settings(max_examples=40, deadline=None)
@given(costs=st.lists(st.integers(0, 4), min_size=1, max_size=12), alpha=st.sampled_from([0.0, 0.5, 0.8, 0.95]),
       tie_seed=st.integers(0, 1000))
def test_a_plans_tail_weights_maximise_its_cvar_sum(costs, alpha, tie_seed):
    """tail_of: in the CVaR box (0 <= nu_s <= total p_s / (1 - alpha), sum = total) and the
    maximiser of sum nu_s R_s, by the LP (scipy), with ties (few cost levels) in any order."""
    from scipy.optimize import linprog

    recourse = np.array(costs, dtype=float) * 1.5
    p = np.random.default_rng(tie_seed).dirichlet(np.ones(len(costs)))
    total = 0.3
    upper = total * p / (1 - alpha)
    ties = np.random.default_rng(tie_seed + 1).uniform(0, 1, len(costs))
    nu = tail_of(recourse, upper, total, ties=ties)
    best = linprog(-recourse, A_eq=np.ones((1, len(costs))), b_eq=[total], bounds=[(0, u) for u in upper])
    assert best.status == 0
    assert (nu >= 0).all() and (nu <= upper + 1e-15).all() and nu.sum() == pytest.approx(total, abs=1e-12)
    assert recourse @ nu == pytest.approx(-best.fun, rel=1e-9, abs=1e-12)


def _worst_case_form(p: np.ndarray, lam: float, alpha: float, delta: float) -> tuple[RiskForm, np.ndarray]:
    """The risk rows' form of a model with ambiguity delta over probabilities p (docs/model.md
    3.5), as the compiled model has it (unit coefficients), and its costs: columns eta, e_s (at
    lambda > 0), rho, beta_s, gamma_s."""
    k = len(p) if lam > 0 else 0
    ids = iter(range(2 + 3 * len(p) + k))
    take = lambda n: np.array([next(ids) for _ in range(n)], dtype=int)  # noqa: E731
    columns = RiskColumns(take(1 if k else 0), take(k), take(1), take(len(p)), take(len(p)))
    costs = np.zeros(len(columns.all))
    costs[columns.value_at_risk] = lam
    costs[columns.worst_level] = 1.0
    costs[columns.worst_above] = np.minimum(1.0, p * (1 + delta))
    costs[columns.worst_below] = -p * (1 - delta)
    kappa = np.full(len(p), lam / (1 - alpha) if k else 0.0)
    return RiskForm(columns, 1.0, np.ones(len(p)), np.ones(len(p)), kappa, True), costs


def _in_the_price_set(nu: np.ndarray, p: np.ndarray, lam: float, alpha: float, delta: float) -> None:
    """pi in {p (1 - delta) <= pi <= min(1, p (1 + delta)), sum 1};
    mu in {0 <= mu <= lambda pi / (1 - alpha), sum lambda}."""
    k = len(p) if lam > 0 else 0
    mu, pi = nu[:k], nu[k:]
    assert (pi >= p * (1 - delta) - 1e-12).all() and (pi <= np.minimum(1.0, p * (1 + delta)) + 1e-12).all()
    assert pi.sum() == pytest.approx(1.0, abs=1e-12)
    if k:
        assert (mu >= 0).all() and (mu <= lam * pi / (1 - alpha) + 1e-12).all()
        assert mu.sum() == pytest.approx(lam, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(costs=st.lists(st.integers(-2, 4), min_size=1, max_size=10), lam=st.sampled_from([0.0, 0.3, 1.0]),
       alpha=st.sampled_from([0.0, 0.5, 0.9]), delta=st.sampled_from([0.1, 0.3, 1.0]), seed=st.integers(0, 1000))
def test_a_plans_worst_case_weights_maximise_its_risk(costs, lam, alpha, delta, seed):
    """RiskForm.supporting with ambiguity: (pi, mu) in the price set, and the maximiser of what
    the blocks are charged, sum_s ((1 - lambda) pi_s + mu_s) R_s, over the whole set (by the LP,
    scipy): the worst case over P of (1 - lambda) E[R] + lambda CVaR(R), ties in any order."""
    from scipy.optimize import linprog

    recourse = np.array(costs, dtype=float) * 1.5
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(len(costs)))
    form, c = _worst_case_form(p, lam, alpha, delta)
    nu = form.supporting(c, recourse, rng.uniform(0, 1, form.count))
    _in_the_price_set(nu, p, lam, alpha, delta)
    k, n = form.tail_count, len(p)
    weight = (1 - lam) * nu[k:] + (nu[:k] if k else 0.0)
    # the LP over (pi, mu): max sum ((1 - lambda) pi + mu) R
    objective = -np.concatenate([(1 - lam) * recourse, recourse if k else []])
    a_eq = [np.concatenate([np.ones(n), np.zeros(k)])] + ([np.concatenate([np.zeros(n), np.ones(k)])] if k else [])
    a_ub = np.hstack([-form.kappa[:, None] * np.eye(n), np.eye(n)]) if k else None
    best = linprog(objective, A_ub=a_ub, b_ub=np.zeros(n) if k else None, A_eq=np.array(a_eq),
                   b_eq=[1.0] + ([lam] if k else []),
                   bounds=[(a, b) for a, b in zip(p * (1 - delta), np.minimum(1.0, p * (1 + delta)))] + [(0, None)] * k)
    assert best.status == 0
    assert weight @ recourse == pytest.approx(-best.fun, rel=1e-9, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(weights=st.lists(st.floats(-1, 10), min_size=2, max_size=24), lam=st.sampled_from([0.0, 0.3, 1.0]),
       alpha=st.sampled_from([0.0, 0.5, 0.9]), delta=st.sampled_from([0.1, 0.3, 1.0]), seed=st.integers(0, 1000))
def test_worst_case_prices_are_projected_into_their_set(weights, lam, alpha, delta, seed):
    """RiskForm.project and RiskForm.plain land in the price set from any starting point; the
    plain prices are the given probabilities (delta < 1) and tail weights in proportion to them."""
    p = np.random.default_rng(seed).dirichlet(np.ones(len(weights) // 2 if lam > 0 else len(weights)))
    form, c = _worst_case_form(p, lam, alpha, delta)
    nu = np.resize(np.array(weights), form.count)
    _in_the_price_set(form.project(nu, c), p, lam, alpha, delta)
    plain = form.plain(c)
    _in_the_price_set(plain, p, lam, alpha, delta)
    if delta < 1:
        assert plain[form.tail_count:] == pytest.approx(p, rel=1e-9, abs=1e-15)
        if form.tail_count:
            assert plain[:form.tail_count] == pytest.approx(lam * p, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_filling_the_agreements_prices_never_lowers_the_bound(tmp_path, seed):
    """fill_agreements raises each agreement's copies' prices to its cost at those prices; the
    Lagrangian bound (blocks solved exactly) does not fall, at random prices, and the copies of
    each agreement that gates a block's options then sum to at least that cost."""
    from planner.instance.generate import Shape, generate_instance

    folder = generate_instance(tmp_path / "shared", 3, 5, 3, 4, seed=seed, shape=Shape(agreements=2))
    data = build_model_data(load_instance(folder))
    session = HighsSession(create_model(scale_data(data, choose_scales(data))), SolveOptions(), planning=True)
    d, c = session.decomposition, session.compiled
    assert d is not None and len(d.s.agreements) >= 2
    rng = np.random.default_rng(seed)
    for _ in range(3):
        drawn = Prices(rng.uniform(0, 1, len(d.s.linking_rows)),
                       {key: float(rng.uniform(0, 0.2) * c.objective[key[1]]) for key in d.s.links})
        projected = project(drawn, d.form, c.objective)
        filled = fill_agreements(projected, d.s, c.objective, d.normalised)

        def bound(prices: Prices) -> float:
            return d.bound_at(session.highs, c.lp, c.objective, c.objective_offset, prices.rows, prices.copies,
                              lambda: new_highs(SolveOptions(), log=False), time.perf_counter)

        before, after = bound(projected), bound(filled)
        assert after >= before - 1e-9 * max(1.0, abs(before))
        shared = {g for (_, g) in d.s.links}
        assert shared, "the generated deals gate options of the blocks"
        for g in shared:
            cap = c.objective[g] + float((d.normalised[:, [g]].T @ projected.rows)[0])
            assert sum(v for (_, h), v in filled.copies.items() if h == g) >= cap - 1e-12


@pytest.mark.parametrize("seed, budget, ambiguity", [(0, 1.0, 0.0), (1, 1.0, 0.0), (0, 0.1, 0.0), (1, 1.0, 0.3),
                                                     (0, 0.1, 0.3)])
def test_the_blocks_plans_put_together_start_the_completion(tmp_path, seed, budget, ambiguity):
    """whole.put_together: the blocks' plans at first prices make a whole plan with the union's
    integer values that holds every row of the whole model but the budget (the worst-case rows
    of an ambiguity set too); the completion LP
    started from it (HiGHS has no basis yet) ends as the one from scratch: at the same LP
    optimum under a budget that does not bind (1.0: every fixed cost), and both without a plan
    or both at the same optimum under one that may (0.1)."""
    import scipy.sparse as sp

    from planner.instance.generate import Shape, generate_instance
    from planner.solve.decomposition.prices import plain
    from planner.solve.incumbent import Incumbent

    folder = generate_instance(tmp_path / "gen", 3, 6, 4, 8, seed=seed,
                               shape=Shape(agreements=2, budget=budget, ambiguity=ambiguity))
    data = build_model_data(load_instance(folder))
    completed = []
    for with_start in (True, False):
        session = HighsSession(create_model(scale_data(data, choose_scales(data))), SolveOptions(), planning=True)
        d, c, h = session.decomposition, session.compiled, session.highs
        assert d is not None and not h.getBasis().valid
        assert d.form.worst_count == (8 if ambiguity else 0)
        ints = d.s.integer.astype(np.int32)
        h.changeColsIntegrality(len(ints), ints, np.zeros(len(ints), dtype=np.uint8))
        best = Incumbent(c.objective, c.objective_offset)
        run = phase.PhaseRun(d, h, c.lp, c.objective, c.objective_offset,
                             lambda: new_highs(SolveOptions(), log=False), None, time.perf_counter, best)
        assert run.price(plain(d.s, d.form, c.objective), run.block_solvers(1e-6)) is not None
        union = whole.union_plan(run)
        start = whole.put_together(run, union)
        a = c.lp.a_matrix_
        matrix = sp.csc_matrix((a.value_, a.index_, a.start_), shape=(c.lp.num_row_, c.lp.num_col_))
        activity = matrix @ start
        held = np.ones(c.lp.num_row_, dtype=bool)
        held[d.s.linking_rows[d.form.count:]] = False  # the budget row
        tolerance = 1e-7 * np.maximum(1.0, np.abs(activity))
        assert (activity[held] >= np.asarray(c.lp.row_lower_)[held] - tolerance[held]).all()
        assert (activity[held] <= np.asarray(c.lp.row_upper_)[held] + tolerance[held]).all()
        assert (start >= np.asarray(c.lp.col_lower_) - 1e-9).all()
        assert (start <= np.asarray(c.lp.col_upper_) + 1e-9).all()
        assert np.array_equal(start[d.s.integer], union)
        run.complete(union, (lambda plan=start: plan) if with_start else None)
        completed.append(best.upper)
    assert math.isfinite(completed[0]) or budget < 1
    assert completed[0] == pytest.approx(completed[1], rel=1e-9)


@settings(max_examples=30, deadline=None)
@given(weights=st.lists(st.floats(0, 10), min_size=1, max_size=12), total=st.floats(0.01, 1),
       alpha=st.floats(0, 0.95))
def test_tail_weights_are_projected_into_the_cvar_box(weights, total, alpha):
    """0 <= mu_s <= total p_s / (1 - alpha) and sum mu = total, from any starting point."""
    p = np.full(len(weights), 1 / len(weights))
    upper = total * p / (1 - alpha)
    mu = project_tail_weights(np.array(weights), upper, total)
    assert (mu >= 0).all() and (mu <= upper + 1e-15).all()
    assert mu.sum() == pytest.approx(total, rel=1e-12)


@PROPERTY
@given(seed=st.integers(min_value=0, max_value=10**9), price_seed=st.integers(0, 1000), shape=SHAPES)
def test_bound_holds_at_any_prices(tmp_path_factory, seed, price_seed, shape):
    """L(q, beta, nu) <= optimum for random tail weights, agreement prices and budget price."""
    folder, optimum = _two_materials(tmp_path_factory, seed, shape)
    data = build_model_data(load_instance(folder))
    scales = choose_scales(data)
    session = HighsSession(create_model(scale_data(data, scales)), SolveOptions(), planning=True)
    decomposition = session.decomposition
    assert decomposition is not None, "two materials with binaries make two blocks"
    rng = np.random.default_rng(price_seed)
    c = session.compiled
    lower = decomposition.bound_at(session.highs, c.lp, c.objective, c.objective_offset,
                                   rng.uniform(0, 2, len(decomposition.s.linking_rows)),
                                   {key: float(rng.uniform(0, 2)) for key in decomposition.s.links},
                                   lambda: new_highs(SolveOptions(), log=False), time.perf_counter)
    assert lower is not None
    assert lower * scales.money <= optimum + 1e-6 * max(1.0, abs(optimum))


@PROPERTY
@given(seed=st.integers(min_value=0, max_value=10**9), shape=SHAPES)
def test_phase_agrees_with_branch_and_bound(tmp_path_factory, seed, shape):
    """Same optimum (to the gap) with and without the phase; its bound below the optimum."""
    folder, expected = _two_materials(tmp_path_factory, seed, shape)
    with_phase = solve_instance(folder, SolveOptions(mip_gap=1e-6))
    without = solve_instance(folder, SolveOptions(mip_gap=1e-6, decomposition=False))
    event(f"method: {with_phase.report.method}")
    scale = max(1.0, abs(expected))
    assert with_phase.figures.objective == pytest.approx(expected, rel=1e-6, abs=1e-6)
    assert with_phase.figures.objective == pytest.approx(without.figures.objective, rel=2e-6, abs=1e-6)
    assert with_phase.report.best_bound <= expected + 1e-6 * scale
    assert with_phase.mip_gap <= 1e-6 + 1e-9
    assert with_phase.report.method.used_decomposition and without.report.method == "branch and bound"


def test_generated_instance_is_proven_by_the_phase(tmp_path):
    """A generated 3-material instance: the phase alone proves the plan, as branch and bound agrees."""
    runner = CliRunner()
    folder = tmp_path / "gen"
    assert runner.invoke(cli.main, ["generate", str(folder), "--commodities", "3", "--options", "6",
                                    "--periods", "4", "--scenarios", "6", "--seed", "3"]).exit_code == 0
    summaries = {}
    for flag in ([], ["--no-decomposition"]):
        out = tmp_path / f"out{len(flag)}"
        result = runner.invoke(cli.main, ["solve", str(folder), "--out", str(out), *flag])
        assert result.exit_code == cli.EXIT_OK, result.output
        summaries[bool(flag)] = json.loads((out / "summary.json").read_text())
    with_phase, plain = summaries[False], summaries[True]
    assert with_phase["method"] == "decomposition" and with_phase["status"] == "optimal"
    assert plain["method"] == "branch and bound"
    assert with_phase["mip_gap"] <= 1e-4
    assert with_phase["objective"] == pytest.approx(plain["objective"], rel=2e-4)
    assert with_phase["best_bound"] <= plain["objective"] * (1 + 1e-9)
    assert with_phase["decomposition_rounds"] >= 1


def test_phase_hands_its_plan_to_branch_and_bound_when_not_proven(tmp_path, monkeypatch):
    """One round and a gap it cannot prove: branch and bound finishes, from the phase's plan.
    (The ladder's S instance: its first round ends 3e-4 apart.)"""
    runner = CliRunner()
    folder = tmp_path / "gen"
    runner.invoke(cli.main, ["generate", str(folder), "--commodities", "3", "--options", "8",
                             "--periods", "6", "--scenarios", "10", "--seed", "0"])
    monkeypatch.setattr(phase, "ROUNDS", 1)
    with_phase = solve_instance(folder, SolveOptions(mip_gap=1e-6))
    plain = solve_instance(folder, SolveOptions(mip_gap=1e-6, decomposition=False))
    assert with_phase.report.method == "decomposition, then branch and bound"
    assert with_phase.report.decomposition_rounds == 1
    assert with_phase.report.status == "optimal"
    assert with_phase.figures.objective == pytest.approx(plain.figures.objective, rel=2e-6)
    assert math.isfinite(with_phase.report.best_bound)


def test_first_prices_from_the_lp_relaxation_unless_large_and_loose():
    """The LP relaxation gives the first prices up to LP_START_MAX_COLUMNS columns whatever the
    gap, and above it to a gap below LOOSE_GAP; plain prices for a large model to a loose gap."""
    small, large = first.LP_START_MAX_COLUMNS, first.LP_START_MAX_COLUMNS + 1
    tight, loose = first.LOOSE_GAP / 10, first.LOOSE_GAP
    assert first.lp_first(small, tight) and first.lp_first(small, loose)
    assert first.lp_first(large, tight)
    assert not first.lp_first(large, loose)


def test_plain_first_prices_reach_the_same_optimum(tmp_path, monkeypatch):
    """First prices from p and even shares (no LP relaxation, as for large models to a loose
    gap): same plan value. A large model to a tight gap keeps the LP relaxation."""
    runner = CliRunner()
    folder = tmp_path / "gen"
    runner.invoke(cli.main, ["generate", str(folder), "--commodities", "3", "--options", "8",
                             "--periods", "6", "--scenarios", "10", "--seed", "0"])
    relaxations = []
    lp_relaxation = first.lp_relaxation
    monkeypatch.setattr(first, "lp_relaxation", lambda *args: relaxations.append(1) or lp_relaxation(*args))
    with_lp = solve_instance(folder, SolveOptions())
    monkeypatch.setattr(first, "LP_START_MAX_COLUMNS", 0)
    solve_instance(folder, SolveOptions())  # a large model to a tight gap: still the LP relaxation
    assert len(relaxations) == 2
    monkeypatch.setattr(first, "LOOSE_GAP", 0.0)  # now every gap is loose
    plain = solve_instance(folder, SolveOptions())
    assert len(relaxations) == 2
    assert plain.report.method.used_decomposition
    assert plain.figures.objective == pytest.approx(with_lp.figures.objective, rel=2e-4)
    assert plain.report.best_bound <= with_lp.figures.objective * (1 + 1e-9)
    assert with_lp.report.best_bound <= plain.figures.objective * (1 + 1e-9)


@examples(12)
@given(seed=st.integers(0, 10**6), how=st.sampled_from(["phase", "branch and bound", "race", "node limit"]))
def test_status_bound_and_gap_tell_one_story(tmp_path_factory, seed, how):
    """For every way a plan is found: the bound is below the objective, the reported gap is
    the objective's distance to it, and 'optimal' means within the gap asked for (a limit's
    status means not)."""
    from planner.instance.generate import generate_instance

    folder = generate_instance(tmp_path_factory.mktemp("g") / "i", 3, 6, 4, 6, seed=seed)
    gap = 1e-6
    options = {"phase": SolveOptions(mip_gap=gap), "branch and bound": SolveOptions(mip_gap=gap, decomposition=False),
               "race": racing(mip_gap=gap),  # a time limit that never binds: the race
               "node limit": SolveOptions(mip_gap=gap, node_limit=1)}
    try:
        out = solve_instance(folder, options[how])
    except InfeasibleError:
        return
    objective, bound = out.figures.objective, out.report.best_bound
    assert bound is not None and bound <= objective + 1e-9 * abs(objective)
    assert out.mip_gap == pytest.approx(max(0.0, objective - bound) / abs(objective), rel=1e-12, abs=1e-15)
    if out.report.status == "optimal":
        assert out.mip_gap <= gap + 1e-12
    else:
        assert out.report.status == "node_limit" and how == "node limit" and out.mip_gap > gap


@examples(15)
@given(seed=st.integers(0, 10**9), shape=SHAPES)
def test_blocks_in_worker_processes_give_the_serial_result(tmp_path_factory, seed, shape):
    """--workers 2: the blocks of each round solved in two processes; every plan, bound and round
    the same as in one process, and no worker left behind."""
    import multiprocessing

    folder, _ = _two_materials(tmp_path_factory, seed, shape)
    serial = solve_instance(folder, SolveOptions(mip_gap=1e-6))
    parallel = solve_instance(folder, SolveOptions(mip_gap=1e-6, workers=2))
    assert parallel.figures.objective == serial.figures.objective
    assert parallel.report.best_bound == serial.report.best_bound
    assert parallel.report.decomposition_rounds == serial.report.decomposition_rounds
    assert parallel.plan.volume == serial.plan.volume and parallel.plan.contracted == serial.plan.contracted
    assert multiprocessing.active_children() == []


def test_workers_forked_from_a_thread_that_ran_highs_give_the_serial_result(tmp_path):
    """A program that ran HiGHS with two threads in the thread it then solves from: a forked
    worker inherits that thread's HiGHS pool without its threads, on which a block MIP with one
    thread does not run at all. The workers run HiGHS in threads of their own, so the phase with
    two workers still proves the serial plan, with the same bound and rounds."""
    import threading

    from planner.instance.generate import generate_instance

    folder = generate_instance(tmp_path / "g", 3, 6, 4, 8, seed=1)
    serial = solve_instance(folder, SolveOptions(mip_gap=1e-6))
    assert serial.report.method == "decomposition"
    found = {}

    def program() -> None:
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 2)
        h.addVar(0.0, 1.0)
        h.changeColIntegrality(0, highspy.HighsVarType.kInteger)
        assert h.run() == highspy.HighsStatus.kOk  # this thread now holds a HiGHS pool of two threads
        found["parallel"] = solve_instance(folder, SolveOptions(mip_gap=1e-6, workers=2))

    thread = threading.Thread(target=program)
    thread.start()
    thread.join()
    parallel = found["parallel"]
    assert parallel.report.method == serial.report.method
    assert parallel.report.best_bound == serial.report.best_bound
    assert parallel.report.decomposition_rounds == serial.report.decomposition_rounds
    assert parallel.plan.volume == serial.plan.volume and parallel.plan.contracted == serial.plan.contracted


def test_a_plan_the_phase_completed_is_kept_without_a_second_polish(tmp_path, monkeypatch):
    """A plan the phase completed is the whole model's LP optimum with its binaries fixed, at
    exactly 0 or 1 (`Incumbent.polished`), so the solve does not polish it again (after a race
    that was the whole LP from scratch on branch and bound's HiGHS); polishing it gives nothing
    cheaper. A plan of branch and bound alone is polished."""
    from planner.instance.generate import generate_instance

    folder = generate_instance(tmp_path / "M", 6, 15, 8, 30, seed=0)
    calls = []
    polish = HighsSession._polish
    monkeypatch.setattr(HighsSession, "_polish",
                        lambda self, plan, deadline: calls.append(1) or polish(self, plan, deadline))
    data = build_model_data(load_instance(folder))
    for decomposition in (True, False):
        calls.clear()
        session = HighsSession(create_model(scale_data(data, choose_scales(data))), SolveOptions(
            threads=1, decomposition=decomposition, tiebreak=False), planning=True)
        report = session.solve(0.3)
        assert report.status.has_plan and report.method.used_decomposition == decomposition
        assert (calls == []) == decomposition
        plan, ints = session.last_plan, session.compiled.integer
        assert np.all((plan[ints] == 0) | (plan[ints] == 1))
        again = polish(session, plan, None)
        c = session.compiled
        assert c.objective @ again >= c.objective @ plan - 1e-9 * abs(c.objective @ plan)


def test_ladder_m_in_two_workers_is_the_serial_plan(tmp_path):
    """The generated M (two rounds, agreements re-solved in the pool) gives the serial plan."""
    from planner.instance.generate import generate_instance

    folder = generate_instance(tmp_path / "M", 6, 15, 8, 30, seed=0)
    serial = solve_instance(folder, SolveOptions(threads=1))
    parallel = solve_instance(folder, SolveOptions(threads=1, workers=2))
    assert serial.report.decomposition_rounds > 1
    assert parallel.figures.objective == serial.figures.objective and parallel.plan.volume == serial.plan.volume


def test_the_first_prices_are_the_same_with_one_and_two_workers(tmp_path):
    """The LP relaxation (first prices) starts from the blocks' LP relaxations and runs on one HiGHS
    thread per worker (first.LP_START_OPTIONS, the parallel dual simplex); its duals and plan must
    be the same, bit for bit, whatever the thread count, or one worker and two would start from
    different prices. Beside branch and bound (a race) it takes one thread: two starved threads of
    the parallel simplex waited on each other (L's LP relaxation 45 s instead of 2). Its options
    are given back after it."""
    from planner.instance.generate import Shape, generate_instance

    folder = generate_instance(tmp_path / "gen", 6, 15, 8, 30, seed=2, shape=Shape(agreements=2))
    found, threads = [], []
    # one worker; two; two beside branch and bound (a race: the phase niced, one thread)
    for workers, nice in ((1, 0), (2, 0), (2, 10)):
        run, _ = _phase_run(folder)
        run.workers, run.nice = workers, nice
        ints = run.decomposition.s.integer.astype(np.int32)
        run.h.changeColsIntegrality(len(ints), ints, np.zeros(len(ints), dtype=np.uint8))
        before = (run.h.getOptionValue("threads")[1], run.h.getOptionValue("simplex_strategy")[1])
        run_lp = run.run_lp

        def spy(h, run_lp=run_lp, whole=run.h):  # noqa: ANN001, ANN202
            if h is whole:  # (the blocks' LP relaxations run through it too)
                threads.append(h.getOptionValue("threads")[1])
            return run_lp(h)

        run.run_lp = spy
        assert first.lp_relaxation(run, run.h, run.block_solvers(1e-6))
        assert (run.h.getOptionValue("threads")[1], run.h.getOptionValue("simplex_strategy")[1]) == before
        solution = run.h.getSolution()
        found.append((np.asarray(solution.row_dual), np.asarray(solution.col_value),
                      run.h.getInfo().simplex_iteration_count))
    assert threads == [1, 2, 1]
    for other in found[1:]:
        assert np.array_equal(found[0][0], other[0]) and np.array_equal(found[0][1], other[1])
        assert found[0][2] == other[2] > 0


@pytest.mark.parametrize("ambiguity", [0.0, 0.3])
def test_the_lp_relaxation_from_the_blocks_start_has_the_optimum_from_scratch(tmp_path, monkeypatch, ambiguity):
    """first.relaxed_start: every row but the budget holds at the blocks' LP plans put together,
    and the basis put together from their bases has one basic status per row. The LP relaxation
    from that basis, and from the plan when the basis does not fit (HiGHS would crash on it, so
    it is not given), reaches the optimum of the LP relaxation from scratch, in fewer simplex
    iterations (the point of it); from the basis in fewer than from the plan."""
    from planner.instance.generate import Shape, generate_instance

    folder = generate_instance(tmp_path / "gen", 6, 15, 8, 30, seed=1, shape=Shape(agreements=2, ambiguity=ambiguity))
    figures = {}
    put_together_basis = whole.put_together_basis
    for start in ("basis", "plan", "scratch"):
        run, c = _phase_run(folder)
        ints = run.decomposition.s.integer.astype(np.int32)
        run.h.changeColsIntegrality(len(ints), ints, np.zeros(len(ints), dtype=np.uint8))
        if start == "scratch":
            assert run.run_lp(run.h)
        else:
            d = run.decomposition
            found = first.relaxed_start(run, run.block_solvers(1e-6))
            plan, basis = found.plan, found.basis
            assert np.all(plan >= run.lower0 - 1e-9) and np.all(plan <= run.upper0 + 1e-9)
            for b, block in enumerate(d.s.blocks):  # each block's rows, its copies read as the agreements
                activity = d.block_matrices[b] @ plan[block.all_columns]
                assert np.all(activity <= run.row_upper[block.rows] + 1e-7)
                assert np.all(activity >= run.row_lower[block.rows] - 1e-7)
            risk, rows = d.form.count, d.s.linking_rows[:d.form.count]  # the tail and worst-case rows
            activity = d.linking_matrix[:risk] @ plan
            assert risk == (60 if ambiguity else 30) and np.all(activity <= run.row_upper[rows] + 1e-7)
            assert np.all(activity >= run.row_lower[rows] - 1e-7)
            assert len(basis.col_status) == len(plan) and len(basis.row_status) == len(run.row_lower)
            basic = highspy.HighsBasisStatus.kBasic
            assert sum(s == basic for s in basis.col_status) + sum(s == basic for s in basis.row_status) \
                == len(run.row_lower)
            if start == "plan":  # a basis one row short: not given to HiGHS, the plan is the start
                def short(*args, put_together_basis=put_together_basis, **kwargs):  # noqa: ANN002, ANN003, ANN202
                    basis = put_together_basis(*args, **kwargs)
                    basis.row_status = basis.row_status[:-1]
                    return basis

                monkeypatch.setattr(whole, "put_together_basis", short)
            assert first.lp_relaxation(run, run.h, run.block_solvers(1e-6))
            monkeypatch.undo()
        figures[start] = (run.h.getInfo().objective_function_value, run.h.getInfo().simplex_iteration_count)
    assert figures["basis"][0] == pytest.approx(figures["scratch"][0], rel=1e-9)
    assert figures["plan"][0] == pytest.approx(figures["scratch"][0], rel=1e-9)
    assert 0 < figures["basis"][1] < figures["plan"][1] < figures["scratch"][1]


@pytest.mark.parametrize("seed", [1, 4])
def test_the_first_lp_relaxations_start_has_the_blocks_tail_weights_as_its_duals(tmp_path, monkeypatch, seed):
    """first.relaxed_start with a CVaR: the second pass prices the blocks at the tail weights of
    the first pass's plan (`RiskForm.supporting`: a vertex of their box, summing to eta's cost),
    and the whole basis put together from their bases has exactly those weights as its tail rows'
    duals (read from HiGHS at that basis, before any iteration); the blocks' second LPs start
    from their first ones' bases."""
    from planner.instance.generate import Shape, generate_instance

    folder = generate_instance(tmp_path / "gen", 5, 10, 6, 20, seed=seed, shape=Shape(agreements=2))
    run, c = _phase_run(folder)
    d = run.decomposition
    ints = d.s.integer.astype(np.int32)
    run.h.changeColsIntegrality(len(ints), ints, np.zeros(len(ints), dtype=np.uint8))
    given, starts = [], []
    put_together_basis, block_tasks = whole.put_together_basis, run.block_tasks

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        given.append(kwargs.get("tail_weights"))
        return put_together_basis(*args, **kwargs)

    def tasks(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        made = block_tasks(*args, **kwargs)
        starts.append([task.start is not None for task in made])
        return made

    monkeypatch.setattr(whole, "put_together_basis", spy)
    monkeypatch.setattr(run, "block_tasks", tasks)
    found = in_own_thread(lambda: first.relaxed_start(run, run.block_solvers(1e-6)))
    assert starts == [[False] * len(d.s.blocks), [True] * len(d.s.blocks)]  # two passes, the second from the first
    weights = given[-1]
    upper, total = d.form.tail_box(c.objective, np.zeros(d.form.count))
    assert weights is not None and weights.sum() == pytest.approx(total, rel=1e-12)
    assert np.all(weights >= 0) and np.all(weights <= upper * (1 + 1e-12))
    assert ((weights > 0) & (weights < upper * (1 - 1e-12))).sum() <= 1  # a vertex: one weight in between at most
    h = run.h
    h.setBasis(found.basis)
    h.setOptionValue("simplex_iteration_limit", 0)
    in_own_thread(h.run)
    assert h.getInfo().simplex_iteration_count == 0
    duals = from_duals(np.asarray(h.getSolution().row_dual), d.s, d.sign).rows[:d.form.tail_count]
    assert np.allclose(duals, weights, rtol=0, atol=1e-9 * max(1.0, float(upper.max())))


def test_the_phase_runs_one_highs_thread_per_block_whatever_threads_says(tmp_path, monkeypatch):
    """--threads is for branch and bound and the whole model's LPs; the phase's blocks (and its
    master) get one thread each, so N workers use N cores and the plans do not depend on it."""
    from planner.instance.generate import generate_instance
    from planner.solve.decomposition import Decomposition

    folder = generate_instance(tmp_path / "gen", 3, 6, 4, 6, seed=1)
    threads, original = [], Decomposition.run

    def spy(self, h, lp, costs, offset, gap, new_highs, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        threads.append(new_highs().getOptionValue("threads")[1])
        return original(self, h, lp, costs, offset, gap, new_highs, *args, **kwargs)

    monkeypatch.setattr(Decomposition, "run", spy)
    two = solve_instance(folder, SolveOptions(threads=2))
    assert threads == [1]
    assert two.figures.objective == pytest.approx(solve_instance(folder, SolveOptions(threads=1)).figures.objective,
                                                  rel=1e-4)


def test_blocks_solved_by_any_worker_give_the_serial_plans(tmp_path):
    """BlockPool: each block solved by whichever worker is free (`solve`), or by the one its
    expected seconds share it to (`submit`), away from home on an instance built for it, gives,
    round after round and in re-solves that keep the costs, the plans and bounds of one HiGHS
    per block solved in turn here."""
    from planner.instance.generate import Shape, generate_instance
    from planner.solve.decomposition.block import BlockTask, solve_block
    from planner.solve.decomposition.pool import BlockPool
    from planner.solve.decomposition.prices import plain

    folder = generate_instance(tmp_path / "gen", 4, 6, 4, 8, seed=3, shape=Shape(agreements=2))
    run, c = _phase_run(folder)
    d = run.decomposition
    blocks = d.s.blocks
    assert len(blocks) == 4 and all(block.has_integers for block in blocks)
    rng = np.random.default_rng(0)
    first_prices = plain(d.s, d.form, c.objective)
    rounds = [run.block_tasks(project(Prices(first_prices.rows * rng.uniform(0.5, 1.5, len(first_prices.rows)),
                                             {key: value * float(rng.uniform(0, 2))
                                              for key, value in first_prices.copies.items()}), d.form, c.objective))
              for _ in range(3)]

    pool = BlockPool(lambda b: run.block_solver(b, 1e-6), [len(blk.all_columns) for blk in blocks],
                     [True] * len(blocks), 2)
    again = next(b for b, blk in enumerate(blocks) if blk.copies and pool.home[b] == 1)  # re-solved away from home
    n = len(blocks[again].columns)
    copies = np.arange(n, n + len(blocks[again].copies), dtype=np.int32)
    re_solve = BlockTask(again, None, None, (copies, np.zeros(len(copies)), np.zeros(len(copies))))
    sent, send = [], pool.send

    def spy(k: int, tasks: list) -> None:
        sent.extend((k, task.block, task.costs is not None) for task in tasks)
        send(k, tasks)

    pool.send = spy
    try:
        here = run.block_solvers(1e-6)
        expected = []
        for tasks in rounds:  # (`solve_block` without `run` runs HiGHS in the calling thread)
            expected.append(in_own_thread(lambda tasks=tasks: {t.block: solve_block(here[t.block], t, True)
                                                              for t in tasks}))
            expected.append({again: in_own_thread(lambda: solve_block(here[again], re_solve, True))})
        got = []
        for tasks in rounds:
            got.append(pool.solve(tasks))
            pool.seconds = {b: (10.0 if b == again else 1.0) for b in range(len(blocks))}  # the longest: to worker 0
            got.append(pool.collect(pool.submit([re_solve])))
    finally:
        pool.close()
    assert {k for k, _, _ in sent} == {0, 1}
    assert sum(1 for k, b, _ in sent if b == again and k == 0) >= 3  # away from home, costs sent along
    assert all(with_costs for _, _, with_costs in sent)
    for want, have in zip(expected, got):
        assert want.keys() == have.keys()
        for b in want:
            assert have[b].ok and have[b].bound == want[b].bound
            assert np.array_equal(have[b].values, want[b].values)


def test_a_block_task_out_of_time_does_not_start(tmp_path):
    """solve_block as a worker runs it (HiGHS's own time limit): a task whose time is up is not
    started, as `HighsRun` does not start a run past its deadline (it used to run for 1 ms of
    the wall clock, so that a fast machine could still answer it); with time left it is solved."""
    from planner.instance.generate import generate_instance
    from planner.solve.decomposition.block import solve_block
    from planner.solve.decomposition.prices import plain

    folder = generate_instance(tmp_path / "gen", 3, 5, 3, 4, seed=0)
    run, c = _phase_run(folder)
    task = run.block_tasks(plain(run.decomposition.s, run.decomposition.form, c.objective))[0]
    h = run.block_solver(0, 1e-6)
    for seconds in (0.0, -5.0):
        result = in_own_thread(lambda seconds=seconds: solve_block(h, dataclasses.replace(task, seconds=seconds), True))
        assert not result.ok and result.values is None
        assert h.getModelStatus() == highspy.HighsModelStatus.kNotset
    assert in_own_thread(lambda: solve_block(h, dataclasses.replace(task, seconds=None), True)).ok


SIMULATED_SECONDS = [1.0, 1.0, 5.0, 1.0, 1.0, 1.0, 1.0]  # block 2 is the slow one
SIMULATED_COLUMNS = [10.0, 60.0, 50.0, 40.0, 30.0, 20.0, 15.0]  # ... but not the largest


def simulated_dispatch():
    """A `Dispatch` of the seven blocks above (block 6 without integers) over two stand-in
    holders on a simulated clock (`now`): a holder answers a task after its block's seconds. It
    logs (holder, block, the task's seconds) as each task is sent. No process runs, no time passes."""
    from planner.solve.decomposition.block import BlockResult
    from planner.solve.decomposition.dispatch import Dispatch

    seconds = SIMULATED_SECONDS

    class Simulated(Dispatch):
        def __init__(self, holders: int = 2) -> None:
            super().__init__(SIMULATED_COLUMNS, [True] * 6 + [False], holders)
            self.now, self.running, self.log = 0.0, {}, []

        def send(self, k: int, tasks: list) -> None:
            end = self.now  # (a holder is sent tasks only when it has none)
            for task in tasks:
                end += seconds[task.block]
                self.log.append((k, task.block, task.seconds))
            self.running[k] = (end, [task.block for task in tasks])

        def answered(self, busy: set) -> list:
            k = min(busy, key=lambda w: self.running[w][0])
            self.now = self.running[k][0]
            return [k]

        def receive(self, k: int) -> list:
            self.now = max(self.now, self.running[k][0])
            _, blocks = self.running.pop(k)
            return [(b, BlockResult(True, 0.0, None), seconds[b]) for b in blocks]

        def drain(self) -> None:
            pass

    return Simulated()


def test_a_free_worker_takes_the_next_block_and_an_lp_block_stays_home():
    """Dispatch.solve (both pools' dispatch) sends the longest expected block first to whichever
    holder is free: a round lasts what list scheduling gives (here 6 s, where shares made up
    front by columns take 8 s), and a block without integers (it keeps its basis) is solved only
    by its home holder. Holders and clock are stand-ins: no process runs, no time passes."""
    from planner.solve.decomposition.block import BlockTask
    from planner.solve.decomposition.dispatch import shares

    pool = simulated_dispatch()
    tasks = [BlockTask(b, np.zeros(1), None) for b in range(7)]
    assert set(pool.solve(tasks)) == set(range(7))
    static = max(sum(SIMULATED_SECONDS[b] for b in share) for share in shares(SIMULATED_COLUMNS, 2))
    assert (pool.now, static) == (6.0, 8.0)
    assert all(k == pool.home[6] for k, b, _ in pool.log if b == 6)
    assert pool.seconds == dict(enumerate(SIMULATED_SECONDS))  # next round: the longest first
    pool.now, pool.log = 0.0, []
    pool.solve(tasks)
    assert pool.log[0][1] == 2 and pool.now == 6.0


def test_a_task_gets_the_time_left_when_it_is_sent():
    """Under a deadline, a task dispatched late in a round gets what is left of the solve's time
    then, not what was left when the round's tasks were made (it would run past the deadline by
    up to a round's work). Submitted tasks get the time left at the submit. Stand-in holders on
    a simulated clock, as above."""
    from planner.solve.decomposition.block import BlockTask

    deadline = 20.0
    pool = simulated_dispatch()
    tasks = [BlockTask(b, np.zeros(1), deadline) for b in range(7)]
    times: list[float] = []

    def seconds_left() -> float:
        times.append(pool.now)
        return deadline - pool.now

    pool.solve(tasks, seconds_left)
    assert len(times) == 7 and max(times) > 0  # read as each task went out, some after others ended
    assert [s for _, _, s in pool.log] == [deadline - now for now in times]
    pool.now, pool.log, times[:] = 7.0, [], []
    sent = pool.submit(tasks, seconds_left)
    pool.collect(sent)
    assert {s for _, _, s in pool.log} == {deadline - 7.0}


def test_a_holder_takes_from_a_batch_the_time_its_earlier_tasks_took(monkeypatch):
    """Tasks sent together (a submit) are answered one after another: each is solved with the
    time left at the send minus what the tasks before it took here. Stand-in solves and clock."""
    from planner.solve.decomposition import block as block_module
    from planner.solve.decomposition.block import BlockResult, BlockTask, answer

    now = [100.0]
    given = []

    def solve(h, task, has_integers):
        given.append(task.seconds)
        now[0] += 3.0  # each solve takes 3 s
        return BlockResult(True, 0.0, None)

    monkeypatch.setattr(block_module, "solve_block", solve)
    tasks = [BlockTask(b, np.zeros(1), 10.0) for b in range(3)] + [BlockTask(3, np.zeros(1), None)]
    answers = answer(tasks, {b: None for b in range(4)}, lambda b: None, [True] * 4, clock=lambda: now[0])
    assert given == [10.0, 7.0, 4.0, None]
    assert [seconds for _, _, seconds in answers] == [3.0] * 4


def test_more_workers_than_blocks_hold_one_block_each():
    """--workers far above the blocks (a slip: 99999999999) gives a holder per block, and no
    more is made: the shares were lists for every worker asked, and the solve died of memory."""
    from planner.solve.decomposition.block import BlockTask

    pool = type(simulated_dispatch())(10**12)
    assert sorted(b for share in pool.held for b in share) == list(range(7))
    assert all(len(share) == 1 for share in pool.held)
    tasks = [BlockTask(b, np.zeros(1), None) for b in range(7)]
    assert set(pool.solve(tasks)) == set(range(7))


def test_workers_far_above_the_blocks_and_cores_give_the_serial_plan(tmp_path, monkeypatch):
    """--workers 99999999999 (a slip): one worker per block, and the LP relaxation's parallel
    simplex on at most one thread per core. It asked HiGHS for a thread per worker: refused at
    first (unseen), then, clamped to HiGHS's largest integer, 16.9 GB and std::bad_alloc."""
    import multiprocessing

    from planner.instance.generate import generate_instance
    from planner.processes import usable_cores
    from planner.solve.decomposition import first

    asked: list[int] = []
    set_option = first.set_option

    def spy(h, name, value):
        if name == "threads":
            asked.append(value)
            assert value <= usable_cores(), "more HiGHS threads than cores"
        set_option(h, name, value)

    monkeypatch.setattr(first, "set_option", spy)
    folder = generate_instance(tmp_path / "g", 3, 5, 3, 6, seed=1)
    serial = solve_instance(folder, SolveOptions())
    wide = solve_instance(folder, SolveOptions(workers=99999999999))
    assert asked, "the LP relaxation was not solved: the test sees nothing"
    assert wide.plan.contracted == serial.plan.contracted and wide.figures.objective == serial.figures.objective
    assert multiprocessing.active_children() == []


def test_closing_a_pool_of_busy_workers_takes_one_grace_not_one_per_worker(monkeypatch):
    """BlockPool.close after Ctrl-C, every worker busy in a block MIP: the workers get CLOSE_GRACE
    seconds together, then all are terminated (one grace each made Ctrl-C with two workers take
    1.08 s). Processes and clock are stand-ins: no process runs, no time passes."""
    from planner.solve.decomposition import pool as pool_module

    now = [0.0]

    class Busy:  # a worker process still solving: a join waits out its whole timeout
        def __init__(self) -> None:
            self.terminated = False

        def join(self, timeout: float | None = None) -> None:
            if not self.terminated:
                now[0] += timeout or 0.0

        def is_alive(self) -> bool:
            return not self.terminated

        def terminate(self) -> None:
            self.terminated = True

    class Pipe:
        def send(self, message: object) -> None:
            pass

    monkeypatch.setattr(pool_module.time, "monotonic", lambda: now[0])
    pool = pool_module.BlockPool.__new__(pool_module.BlockPool)
    pool.processes, pool.connections = [Busy(), Busy(), Busy()], [Pipe(), Pipe(), Pipe()]
    pool.close()
    assert all(process.terminated for process in pool.processes)
    assert now[0] == pytest.approx(pool_module.CLOSE_GRACE)


def test_a_worker_that_dies_ends_the_wait_with_an_error(tmp_path):
    """A worker killed while the phase waits for it (out of memory, kill -9) ends the wait
    with a SolveError naming it, instead of a wait that never ends (the other worker holds its
    pipe open)."""
    import os
    import signal

    from planner.errors import SolveError
    from planner.instance.generate import generate_instance
    from planner.solve.decomposition.block import BlockTask
    from planner.solve.decomposition.pool import BlockPool
    from planner.solve.decomposition.prices import plain

    folder = generate_instance(tmp_path / "gen", 3, 5, 3, 4, seed=0)
    run, c = _phase_run(folder)
    d = run.decomposition
    prices = plain(d.s, d.form, c.objective)
    reduced = c.objective + d.normalised.T @ prices.rows
    tasks = [BlockTask(b, np.concatenate([reduced[block.columns], [prices.copies.get((b, g), 0.0)
                                                                  for g in block.copies]]), None)
             for b, block in enumerate(d.s.blocks)]
    pool = BlockPool(lambda b: run.block_solver(b, 1e-6), [len(b.all_columns) for b in d.s.blocks],
                     [b.has_integers for b in d.s.blocks], 2)
    try:
        assert len(pool.collect(pool.submit(tasks))) == len(tasks)  # alive, they answer
        os.kill(pool.processes[0].pid, signal.SIGKILL)
        pool.processes[0].join()
        with pytest.raises(SolveError) as raised:  # (the old endless wait never returned here)
            pool.collect(pool.submit(tasks))
    finally:
        pool.close()
    assert "worker process" in str(raised.value) and "-9" in str(raised.value)


def test_shares_balance_sizes_and_keep_pinned_blocks():
    """shares: longest first to the least loaded worker; pinned blocks stay where they are."""
    from planner.solve.decomposition.dispatch import shares

    sizes = [7.8, 2.6, 2.7, 1.4, 0.7, 2.1]
    held = shares(sizes, 2)
    assert sorted(b for share in held for b in share) == list(range(6))
    assert max(sum(sizes[b] for b in share) for share in held) == pytest.approx(8.8)
    pinned = shares(sizes, 2, pinned={4: 0, 3: 0})
    assert {3, 4} <= set(pinned[0])
    assert shares([5.0, 1.0], 3) == [[0], [1], []]


def test_blocks_on_a_dask_cluster_give_the_serial_plan(tmp_path):
    """--scheduler: the blocks held by actors on a Dask LocalCluster's two workers; the plan,
    bound and rounds are the serial ones (agreements shared by every material, so blocks are
    also re-solved without some agreements), through the library and through the CLI."""
    distributed = pytest.importorskip("distributed")
    from planner.instance.generate import Shape, generate_instance

    folder = generate_instance(tmp_path / "shared", 4, 10, 6, 12, seed=1, shape=Shape(agreements=2))
    serial = solve_instance(folder, SolveOptions(threads=1))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
        remote = solve_instance(folder, SolveOptions(threads=1, scheduler=c.scheduler_address))
        result = CliRunner().invoke(cli.main, ["solve", str(folder), "--out", str(tmp_path / "out"), "--json",
                                               "--threads", "1", "--scheduler", c.scheduler_address])
    assert serial.report.decomposition_rounds >= 1
    assert remote.figures.objective == serial.figures.objective
    assert remote.report.best_bound == serial.report.best_bound
    assert remote.report.decomposition_rounds == serial.report.decomposition_rounds
    assert remote.plan.volume == serial.plan.volume and remote.plan.contracted == serial.plan.contracted
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["summary"]
    assert summary["objective"] == pytest.approx(serial.figures.objective, rel=1e-12)


def test_a_binding_budget_gets_its_plan_from_the_restricted_mip(tmp_path, capsys):
    """Budget 10% of all fixed costs (binds): the blocks' plans together spend more, so the
    restricted MIP over the options they use makes a better plan than any round's; the solve
    ends at branch and bound's optimum, within the budget."""
    import re

    from planner.instance.generate import Shape, generate_instance

    folder = generate_instance(tmp_path / "b", 3, 8, 6, 10, seed=0, shape=Shape(budget=0.1))
    alone = solve_instance(folder, SolveOptions(mip_gap=1e-9, decomposition=False))
    capsys.readouterr()
    phased = solve_instance(folder, SolveOptions(mip_gap=1e-9, log=True))
    log = capsys.readouterr().err
    rounds = [float(v) for v in re.findall(r"decomposition round \d+ .*best plan ([-0-9.e+inf]+)", log)]
    restricted = [float(v) for v in re.findall(r"decomposition restricted MIP .*best plan ([-0-9.e+]+)", log)]
    assert restricted and restricted[0] < min(rounds), log[-2000:]
    assert phased.figures.objective == pytest.approx(alone.figures.objective, rel=1e-9)
    assert phased.figures.fixed_cost <= load_instance(folder).fixed_cost_max * (1 + 1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binaries_fixed_for_the_tiebreak_are_shared_by_every_plan_within_the_cap(tmp_path, seed):
    """fixing.shared_binaries (Lagrangian fixing for the tie-break stage): no plan with objective
    at most the cap differs from the first stage's plan in a fixed binary. Checked on the whole
    model by branch and bound, not on the blocks: its MIP with a no-good row over the fixed
    binaries (at least one differs from the plan) is infeasible or has its optimum above the cap.
    At the tie-break's cap the rule fixes some binaries on each seed; looser caps (more plans
    within them, with other choices) fix fewer; a cap far above the optimum fixes none. The
    blocks' MIPs solved on two worker processes (and, for one seed, on a Dask LocalCluster's two
    workers) fix the same binaries."""
    from planner.instance.generate import Shape, generate_instance
    from planner.solve.decomposition.block import BLOCK_THREADS
    from planner.solve.highs import highs_factory, run

    folder = generate_instance(tmp_path / "gen", 3, 6, 4, 8, seed=seed, shape=Shape(aversion=1.0))
    data = build_model_data(load_instance(folder))
    options = SolveOptions(mip_gap=1e-6, tiebreak=False)
    session = HighsSession(create_model(scale_data(data, choose_scales(data))), options, planning=True)
    assert session.solve(1.0).has_plan and session.certificate is not None
    c, plan = session.compiled, session.last_plan

    def fixed_within(cap: float, workers: int = 1, scheduler: str | None = None) -> np.ndarray:
        return session.decomposition.shared_binaries(
            session.highs, c.lp, c.objective, c.objective_offset, session.certificate, plan, cap, options.mip_gap,
            highs_factory(options, log=False, threads=BLOCK_THREADS), None, time.perf_counter, workers=workers,
            scheduler=scheduler)

    value = c.value(plan)
    for slack in (1e-9, 1e-3, 1e-2):  # the tie-break's cap, and looser ones with more plans within
        cap = value + slack * max(1.0, abs(value))
        fixed = fixed_within(cap)
        assert np.array_equal(fixed_within(cap, workers=2), fixed)
        if seed == 0 and slack == 1e-9:
            distributed = pytest.importorskip("distributed")
            with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                          dashboard_address=":0") as cluster:
                assert np.array_equal(fixed_within(cap, scheduler=cluster.scheduler_address), fixed)
        assert len(fixed) > 0 or slack > 1e-9
        assert set(fixed.tolist()) <= set(c.integer.tolist())
        h = new_highs(SolveOptions(mip_gap=1e-9), log=False)
        h.passModel(c.lp)
        ones = plan[fixed] > 0.5
        h.addRow(1.0 - float(ones.sum()), highspy.kHighsInf, len(fixed), fixed.astype(np.int32),
                 np.where(ones, -1.0, 1.0))
        status = run(h)
        assert status in (RunStatus.OPTIMAL, RunStatus.INFEASIBLE)
        if status is RunStatus.OPTIMAL and len(fixed):
            assert h.getInfo().mip_dual_bound > cap - c.objective_offset - 1e-7 * max(1.0, abs(cap))
    assert len(fixed_within(value + abs(value))) == 0


@PROPERTY
@given(seed=st.integers(min_value=0, max_value=10**9), budget=st.booleans(), ambiguity=st.sampled_from([None, 0.3]))
def test_tiebreak_with_the_phase_fixings_agrees_with_branch_and_bound(tmp_path_factory, seed, budget, ambiguity):
    """At lambda = 1 the tie-break stage after the phase (its binaries shared by every plan within
    the cap fixed) ends with the least expected cost the stage finds without the phase (branch
    and bound on the whole model, nothing fixed), at the same objective."""
    folder, expected = _two_materials(tmp_path_factory, seed, {"aversion": 1.0, "binding_budget": budget,
                                                               "ambiguity": ambiguity})
    exact = SolveOptions(mip_gap=1e-9)
    with_phase = solve_exactly(folder, exact)
    without = solve_exactly(folder, dataclasses.replace(exact, decomposition=False))
    scale = max(1.0, abs(expected))
    assert with_phase.figures.objective == pytest.approx(without.figures.objective, abs=1e-6 * scale)
    assert with_phase.figures.expected_cost == pytest.approx(without.figures.expected_cost, abs=1e-6 * scale)


class _Deferred:
    """Branch and bound on the whole model that starts only when waited for: in a race, the phase
    and the branch and bound with its fixings beside it then run alone."""

    def __init__(self, start):
        self.finished, self._start, self._stopped, self._run = threading.Event(), start, False, None

    def stop(self) -> None:
        self._stopped = True
        self.finished.set()

    leave = stop

    @property
    def left(self) -> bool:
        return self._run is not None and self._run.left

    def wait(self, leave_after: float | None = None) -> RunStatus:
        if self._stopped:
            return RunStatus.CANCELLED
        try:
            self._run = self._start()
            return self._run.wait(leave_after)
        finally:
            self.finished.set()


@PROPERTY
@given(seed=st.integers(min_value=0, max_value=10**9), shape=SHAPES)
def test_branch_and_bound_beside_the_phase_with_its_fixings_reaches_the_optimum(tmp_path_factory, monkeypatch, seed,
                                                                                 shape):
    """A limited solve (a time limit that never binds: the phase races branch and bound on the whole model)
    whose phase hands over near its bound runs branch and bound with the phase's fixings beside
    the other. With the other held back until the end, the one with the fixings alone must reach
    the independent formulation's optimum, and its bound must hold."""
    from planner.solve.decomposition import fixing
    from planner.status import Method

    folder, expected = _two_materials(tmp_path_factory, seed, shape)
    monkeypatch.setattr(phase, "ROUNDS", 1)
    monkeypatch.setattr(fixing, "FIX_WITHIN_GAPS", math.inf)
    whole_model = HighsSession._branch_and_bound
    monkeypatch.setattr(HighsSession, "_branch_and_bound",
                        lambda self, deadline, best: _Deferred(lambda: whole_model(self, deadline, best)))
    beside = HighsSession._fixed_branch_and_bound_beside
    proved = []
    monkeypatch.setattr(HighsSession, "_fixed_branch_and_bound_beside",
                        lambda self, *args: proved.append(beside(self, *args)) or proved[-1])
    out = solve_exactly(folder, racing(mip_gap=1e-9, tiebreak=False))
    monkeypatch.undo()
    scale = max(1.0, abs(expected))
    assert out.figures.objective == pytest.approx(expected, rel=1e-7, abs=1e-6)
    assert out.report.status == "optimal"
    assert out.report.best_bound <= expected + 1e-7 * scale
    if proved and proved[0]:
        assert out.report.method is Method.DECOMPOSITION_THEN_BRANCH_AND_BOUND
    event("proven beside the phase" if proved and proved[0] else "handed over, not proven beside" if proved
          else "proven by the phase")


@examples(80)
@given(seed=st.integers(min_value=0, max_value=10**9), shape=SHAPES)
def test_branch_and_bound_after_the_phase_with_its_fixings_reaches_the_optimum(tmp_path_factory, monkeypatch, seed,
                                                                                shape):
    """Branch and bound after a phase that handed over, with the binaries fixed that every plan
    at least as good as the phase's best shares (`fixing.near`; here at any distance from the
    bound, and after a single round, so that the phase hands over as often as it can): the
    optimum of the independent formulation, every time."""
    from planner.solve.decomposition import fixing

    folder, expected = _two_materials(tmp_path_factory, seed, shape)
    monkeypatch.setattr(phase, "ROUNDS", 1)
    monkeypatch.setattr(fixing, "FIX_WITHIN_GAPS", math.inf)
    fixed = []
    shared = PhaseFixings.shared
    monkeypatch.setattr(PhaseFixings, "shared",
                        lambda self, *args, **kwargs: fixed.append(shared(self, *args, **kwargs)) or fixed[-1])
    out = solve_exactly(folder, SolveOptions(mip_gap=1e-9, tiebreak=False))
    monkeypatch.undo()
    assert out.figures.objective == pytest.approx(expected, rel=1e-7, abs=1e-6)
    event("handed over, binaries fixed" if fixed and len(fixed[0]) else
          "handed over, none fixed" if fixed else "proven by the phase")
