"""A block's MIP by LP-based branch and bound (planner/solve/decomposition/branching.py): the
optimum of a fixed-charge MIP worked by hand; on random MIPs the optimum HiGHS's own MIP solver
finds, to the gap, with a plan that holds every row, bound and integrality and a bound below
the optimum; infeasible MIPs said to be; general integers; the hand-over to HiGHS past the node
limit; a stopped run gives no result; the same plan whatever the instance solved before; a root
started from a basis (the block's last root's, at other costs) reaches the same optimum, and from
its own optimal basis in no iteration."""

from __future__ import annotations

from collections.abc import Callable

import highspy
import numpy as np
import scipy.sparse as sp
from helpers import examples, in_own_thread
from hypothesis import event, given
from hypothesis import strategies as st

from planner.solve.decomposition import branching
from planner.solve.highs import highs_lp, within

INF = highspy.kHighsInf


def _highs(matrix, cost, lower, upper, row_lower, row_upper, integer, gap=1e-9):  # noqa: ANN001, ANN202
    lp = highs_lp(sp.csc_matrix(np.asarray(matrix, dtype=float)), np.asarray(cost, dtype=float),
                  np.asarray(lower, dtype=float), np.asarray(upper, dtype=float), np.asarray(row_lower, dtype=float),
                  np.asarray(row_upper, dtype=float), integer=np.asarray(integer, dtype=bool))
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", gap)
    h.passModel(lp)
    return h


def _solve(h, node_limit=branching.NODE_LIMIT, start=None, run=None):  # noqa: ANN001, ANN202
    """As a block solve does: from a cleared solver (`cleared`) and the `start` basis, then the search."""
    return in_own_thread(lambda: branching.solve_mip(h, run or within(None), branching.cleared(h), node_limit,
                                                     start=start))


def _fixed_charge():  # noqa: ANN202
    """min 2 z1 + 5 z2 + x1 + 2 x2, x1 + x2 >= 4, x1 <= 3 z1, x2 <= 5 z2 (columns z1, z2, x1, x2).
    Option 2 alone: 5 + 2 * 4 = 13; both: 2 + 5 + 3 + 2 * 1 = 12; option 1 alone cannot supply 4.
    The LP relaxation pays the fixed costs by the unit: z1 = 1, x1 = 3, z2 = 0.2, x2 = 1, value 8."""
    matrix = [[0, 0, 1, 1], [-3, 0, 1, 0], [0, -5, 0, 1]]
    return _highs(matrix, [2, 5, 1, 2], [0, 0, 0, 0], [1, 1, INF, INF], [4, -INF, -INF], [INF, 0, 0],
                  [True, True, False, False])


def test_a_fixed_charge_mip_worked_by_hand():
    outcome = _solve(_fixed_charge())
    assert outcome.ok and not outcome.handed_over
    assert abs(outcome.bound - 12.0) < 1e-9
    assert np.allclose(outcome.values, [1, 1, 3, 1])
    assert outcome.nodes >= 1  # the root LP (8) is fractional: it branched


def test_past_the_node_limit_highs_mip_solver_gives_the_same_optimum():
    outcome = _solve(_fixed_charge(), node_limit=0)
    assert outcome.ok and outcome.handed_over
    assert abs(outcome.bound - 12.0) < 1e-6 and np.allclose(outcome.values, [1, 1, 3, 1])


def test_an_infeasible_mip_is_said_to_be():
    """x1 + x2 >= 9 with at most 3 + 5 supplied: the root LP is infeasible. With 2 z1 + 2 z2 = 1
    as well as the rest, the LP is feasible (z1 + z2 = 0.5) but no integer point is."""
    h = _highs([[0, 0, 1, 1], [-3, 0, 1, 0], [0, -5, 0, 1]], [2, 5, 1, 2], [0] * 4, [1, 1, INF, INF],
               [9, -INF, -INF], [INF, 0, 0], [True, True, False, False])
    outcome = _solve(h)
    assert not outcome.ok and outcome.infeasible
    h = _highs([[0, 0, 1, 1], [-3, 0, 1, 0], [0, -5, 0, 1], [2, 2, 0, 0]], [2, 5, 1, 2], [0] * 4,
               [1, 1, INF, INF], [1, -INF, -INF, 1], [INF, 0, 0, 1], [True, True, False, False])
    outcome = _solve(h)
    assert not outcome.ok and outcome.infeasible


def test_a_stopped_run_gives_no_result():
    """A run that ends neither optimal nor infeasible (out of time, interrupted) ends the search:
    here the first run, which does not start, as a run past its deadline does not."""
    def stopped(h: highspy.Highs) -> bool:
        return False

    h = _fixed_charge()
    outcome = in_own_thread(lambda: branching.solve_mip(h, stopped, branching.cleared(h)))
    assert not outcome.ok and not outcome.infeasible and outcome.values is None


def _noting_options(seen: list[tuple[bool, dict]]) -> Callable[[highspy.Highs], bool]:
    def run(solver: highspy.Highs) -> bool:
        as_mip = any(int(v) for v in solver.getLp().integrality_)
        seen.append((as_mip, {name: solver.getOptionValue(name)[1] for name in branching.TREE_LP_OPTIONS}))
        return within(None)(solver)
    return run


def test_the_block_is_given_back_as_it_was():
    """Integrality, bounds and options are the block's again after the search; the tree's LPs ran
    with TREE_LP_OPTIONS, HiGHS's MIP solver past the node limit with the block's own."""
    for node_limit in (branching.NODE_LIMIT, 0):
        h = _fixed_charge()
        own = {name: h.getOptionValue(name)[1] for name in branching.TREE_LP_OPTIONS}
        seen: list[tuple[bool, dict]] = []  # (a MIP run?, its TREE_LP_OPTIONS' values) of every run
        outcome = _solve(h, node_limit=node_limit, run=_noting_options(seen))
        assert outcome.ok and outcome.handed_over == (node_limit == 0)
        assert all(options == (own if as_mip else branching.TREE_LP_OPTIONS) for as_mip, options in seen)
        kinds = [as_mip for as_mip, _ in seen]
        assert kinds.count(False) >= 1 and any(kinds) == (node_limit == 0)  # the root LP at least; HiGHS's MIP
        lp = h.getLp()
        assert [int(v) for v in lp.integrality_] == [1, 1, 0, 0]
        assert list(lp.col_lower_) == [0, 0, 0, 0] and list(lp.col_upper_)[:2] == [1, 1]
        assert h.getOptionValue("presolve")[1] == "choose"
        assert {name: h.getOptionValue(name)[1] for name in branching.TREE_LP_OPTIONS} == own


def random_mip(seed: int) -> dict:
    """A fixed-charge MIP of the blocks' shape: binaries z_k gating continuous x_k (x_k <= cap_k
    z_k), covering rows over the x, a row over the z (at most or at least so many: it may make
    the MIP infeasible), and now and then a general integer column in 0..3 in that row."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 9))
    covers = int(rng.integers(1, 4))
    capacity = rng.uniform(1, 10, k)
    fixed = rng.uniform(0, 20, k)
    unit = rng.uniform(-1, 5, k)
    general = bool(rng.random() < 0.25)
    n = 2 * k + general
    rows, lower, upper = [], [], []
    for _ in range(covers):
        row = np.zeros(n)
        row[k:2 * k] = rng.integers(0, 2, k) * rng.uniform(0.5, 2, k)
        rows.append(row)
        lower.append(float(rng.uniform(0, 0.6) * row[k:2 * k] @ capacity))
        upper.append(INF)
    for j in range(k):
        row = np.zeros(n)
        row[j], row[k + j] = -capacity[j], 1
        rows.append(row)
        lower.append(-INF)
        upper.append(0.0)
    row = np.zeros(n)
    row[:k] = 1
    if general:
        row[2 * k] = 1  # a general integer y in 0..3 counts as y binaries
    count = float(rng.integers(1, k + 1))
    rows.append(row)
    if rng.random() < 0.5:
        lower.append(-INF)
        upper.append(count)
    else:
        lower.append(count)
        upper.append(INF)
    cost = np.concatenate([fixed, unit, [rng.uniform(0, 5)] if general else []])
    col_lower = np.zeros(n)
    col_upper = np.concatenate([np.ones(k), np.full(k, INF), [3.0] if general else []])
    integer = np.concatenate([np.ones(k), np.zeros(k), [1.0] if general else []]) > 0
    return {"matrix": np.array(rows), "cost": cost, "lower": col_lower, "upper": col_upper,
            "row_lower": np.array(lower), "row_upper": np.array(upper), "integer": integer}


@given(st.integers(0, 2**31 - 1).map(random_mip))
@examples(60)
def test_the_optimum_of_highs_mip_solver_to_the_gap(mip: dict):
    gap = 1e-6
    ours = _solve(_highs(**mip, gap=gap))
    # the same MIP from the root basis of the MIP at other costs (a block's next round, `block`)
    other = _solve(_highs(**{**mip, "cost": mip["cost"] * np.random.default_rng(len(mip["cost"])).uniform(
        0.5, 1.5, len(mip["cost"]))}, gap=gap))
    started = _solve(_highs(**mip, gap=gap), start=other.root_basis)
    reference = _highs(**mip)
    in_own_thread(reference.run)
    status = reference.getModelStatus()
    event(f"reference {status}, {'optimal' if ours.ok else 'infeasible' if ours.infeasible else 'no result'}")
    if status == highspy.HighsModelStatus.kInfeasible:
        assert not ours.ok and ours.infeasible
        assert not started.ok and started.infeasible
        return
    assert status == highspy.HighsModelStatus.kOptimal
    event(f"started from another root's basis: {other.root_basis is not None}")
    optimum = reference.getInfo().objective_function_value
    _assert_solved(ours, mip, optimum, gap)
    _assert_solved(started, mip, optimum, gap)


def _assert_solved(ours: branching.Outcome, mip: dict, optimum: float, gap: float) -> None:
    """`ours` is a plan of `mip` within `gap` of its bound, the bound below `optimum` and the plan
    not better than it."""
    assert ours.ok and not ours.infeasible
    # HiGHS's MIP solver accepts rows violated within its feasibility tolerance (1e-6), and its
    # optimum may be that much below the exact one (one example: a row short by 3.8e-7, the
    # objective 1e-6 lower); the search's plans are LP vertices that hold the rows
    tolerance = 1e-6 * max(1.0, abs(optimum))
    value = float(mip["cost"] @ ours.values)
    assert ours.bound <= optimum + tolerance  # a bound
    assert value >= optimum - tolerance  # a plan no better than the optimum ...
    assert value - ours.bound <= max(1e-6, gap * abs(value)) + tolerance  # ... within the gap of its bound
    activity = mip["matrix"] @ ours.values
    assert np.all(activity >= mip["row_lower"] - 1e-6) and np.all(activity <= mip["row_upper"] + 1e-6)
    assert np.all(ours.values >= mip["lower"] - 1e-9) and np.all(ours.values <= mip["upper"] + 1e-9)
    integral = ours.values[mip["integer"]]
    assert np.all(np.abs(integral - np.round(integral)) <= branching.INTEGRALITY_TOLERANCE)


def test_the_same_plan_whatever_the_instance_solved_before(tmp_path):
    """A material's block solved on the instance that solved it at other prices before gives the
    plan and bound of an instance built for the task (HiGHS keeps data derived from an LP across
    clearSolver; `cleared` passes the model again), also when its root starts from the basis of
    the block's last solve (`PhaseRun.starts`) and with no-good rows beyond that basis's rows; a
    start of another size is left out."""
    from dataclasses import replace

    from test_decompose import _phase_run

    from planner.instance.generate import Shape, generate_instance
    from planner.solve.decomposition.block import solve_block
    from planner.solve.decomposition.prices import Prices, plain, project

    folder = generate_instance(tmp_path / "gen", 4, 6, 4, 8, seed=3, shape=Shape(agreements=2))
    run, c = _phase_run(folder)
    d = run.decomposition
    rng = np.random.default_rng(0)
    first = plain(d.s, d.form, c.objective)
    def scattered() -> Prices:
        return Prices(first.rows * rng.uniform(0.5, 1.5, len(first.rows)),
                      {key: value * float(rng.uniform(0, 2)) for key, value in first.copies.items()})

    home = run.block_solvers(1e-6)
    for round_ in range(4):
        tasks = run.block_tasks(project(scattered(), d.form, c.objective))
        assert all((task.start is not None) == (round_ > 0) for task in tasks)
        results = {}
        for task in tasks:
            at = np.flatnonzero(np.isin(d.s.blocks[task.block].columns, d.s.integer)).astype(np.int32)
            for variant in (task, replace(task, no_goods=(at, np.zeros((1, len(at)))))):
                again = in_own_thread(lambda variant=variant: solve_block(home[variant.block], variant, True))
                fresh = in_own_thread(lambda variant=variant: solve_block(run.block_solver(variant.block, 1e-6),
                                                                          variant, True))
                assert again.ok and fresh.ok and again.bound == fresh.bound
                assert np.array_equal(again.values, fresh.values)
                assert np.array_equal(again.basis[0], fresh.basis[0]) and np.array_equal(again.basis[1], fresh.basis[1])
                assert len(fresh.basis[1]) == home[variant.block].getNumRow()  # (no-good rows left out)
            results[task.block] = fresh
            if task.start is not None:  # a start of another size is not given to HiGHS (it would crash on it)
                short = (task.start[0][:-1], task.start[1])
                ignored, scratch = (in_own_thread(lambda start=start, task=task: solve_block(
                    run.block_solver(task.block, 1e-6), replace(task, start=start), True)) for start in (short, None))
                assert ignored.ok and ignored.bound == scratch.bound and np.array_equal(ignored.values, scratch.values)
        run.keep_starts(results)


def _counting(iterations: list[int]):  # noqa: ANN202
    """A run (no limit) that records each run's simplex iterations."""
    def counted(h: highspy.Highs) -> bool:
        ok = within(None)(h)
        iterations.append(h.getInfo().simplex_iteration_count)
        return ok
    return counted


def test_a_root_started_from_its_own_optimal_basis_takes_no_iteration():
    """The root basis a search gives back (a block's next start) starts the same search at an
    optimal root: no simplex iteration there, and the same plan and bound; from scratch the root
    takes some."""
    first = _solve(_fixed_charge())
    assert first.root_basis is not None and first.root_basis.valid
    started, unstarted = [], []
    again = _solve(_fixed_charge(), start=first.root_basis, run=_counting(started))
    _solve(_fixed_charge(), run=_counting(unstarted))
    assert started[0] == 0 and unstarted[0] > 0
    assert again.ok and again.bound == first.bound and np.array_equal(again.values, first.values)


def test_a_root_that_fails_from_its_start_is_solved_again_from_scratch():
    """A root LP run from a start that ends neither optimal nor infeasible (here a first run that
    does not start) is run once more from a cleared solver, whose answer stands; without a start
    the same failure ends the search with no result."""
    first = _solve(_fixed_charge())

    def failing_once() -> Callable[[highspy.Highs], bool]:
        calls = []

        def run(h: highspy.Highs) -> bool:
            calls.append(1)
            return False if len(calls) == 1 else within(None)(h)
        return run

    again = _solve(_fixed_charge(), start=first.root_basis, run=failing_once())
    assert again.ok and abs(again.bound - 12.0) < 1e-9 and np.allclose(again.values, [1, 1, 3, 1])
    unstarted = _solve(_fixed_charge(), run=failing_once())
    assert not unstarted.ok and not unstarted.infeasible
