"""The incumbent shared by the parts of a solve: the plans each branch and bound is handed."""

from __future__ import annotations

import numpy as np

from planner.solve.incumbent import Incumbent


def _plan(cost: float) -> np.ndarray:
    return np.array([cost])


def test_each_feed_hands_on_the_plans_it_did_not_give():
    best = Incumbent(np.array([1.0]), 0.0)
    best.offer(_plan(10.0))  # a plan before any run starts (a start, the phase's)
    provide_a, improved_a = best.feed()
    provide_b, improved_b = best.feed()
    assert provide_a()[0] == 10.0 and provide_a() is None  # the best plan so far, once
    improved_a(_plan(8.0))  # run a finds a better plan: b gets it, a has it
    assert provide_a() is None
    assert provide_b()[0] == 8.0 and provide_b() is None
    improved_b(_plan(9.0))  # worse than the best: not kept, nothing to hand on
    assert best.upper == 8.0 and provide_a() is None
    best.offer(_plan(7.0))  # from neither run (the phase): both get it
    assert provide_a()[0] == 7.0 and provide_b()[0] == 7.0


def test_a_feed_without_a_plan_provides_nothing():
    provide, improved = Incumbent(np.array([1.0]), 0.0).feed()
    assert provide() is None
    improved(_plan(3.0))
    assert provide() is None


def test_a_bound_above_the_plan_beyond_the_noise_is_forgotten_before_the_strict_run():
    from planner.status import BOUND_NOISE

    best = Incumbent(np.array([1.0]), 0.0)
    best.forget_bound_above_plan()  # no plan: nothing to measure against
    best.bound(3.0)
    best.forget_bound_above_plan()
    assert best.lower == 3.0
    best.offer(np.array([2.0]))
    best.forget_bound_above_plan()  # 1.0 above a plan of 2.0: an error, not a proof
    assert best.lower == -np.inf and not best.proven(1e-4)
    best.bound(2.0 + BOUND_NOISE / 2)  # within the noise: kept, and it proves the plan
    best.forget_bound_above_plan()
    assert best.lower == 2.0 + BOUND_NOISE / 2 and best.proven(1e-9)
