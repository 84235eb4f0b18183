"""Fast re-solves: keep a built model and solve it again when only its parameters change.

A sensitivity study solves one instance many times with a few numbers changed. When a
run differs from the model a worker already holds only in the numbers that are Params
(`planner.model.parameters`: risk aversion, CVaR alpha, scenario probabilities, the budget,
service levels, share limits), the worker sets the Params, pushes the new objective and
right-hand sides into the HiGHS instance it kept (`HighsSession.refresh`) and solves
again: no model build, no compilation, no transfer. Any other change (a capacity, a cost,
a disruption, lambda becoming 0) changes the model's shape (`shape_of`), and the model is
built afresh, then kept in turn. The optimum is the same either way; only the time differs.

Measured on the bundled instance (README, "Sensitivity studies"): see `benchmarks/resolve.py`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from planner.instance.data import ModelData
from planner.model.build import create_model
from planner.model.parameters import set_parameters, shape_of
from planner.solve.scaling import Scales, choose_scales, scale_data
from planner.solve.session import HighsSession, SolveOptions


@dataclass
class _Kept:
    shape: dict
    options: SolveOptions
    scales: Scales
    session: HighsSession


class ModelCache:
    """One kept model (the last one built) and the HiGHS instance it was compiled into."""

    def __init__(self, warm_start: bool = False) -> None:
        self.warm_start = warm_start  # seed HiGHS with the previous plan (see benchmarks/resolve.py)
        self.builds = 0
        self.reuses = 0
        self._kept: _Kept | None = None

    def session_for(self, data: ModelData, options: SolveOptions) -> tuple[Scales, HighsSession, float]:
        """A session holding the planning model of `data`, and the seconds spent preparing it."""
        started = time.perf_counter()
        shape = shape_of(data)
        kept = self._kept
        if kept is not None and not kept.session.interrupted and kept.options == options and kept.shape == shape:
            set_parameters(kept.session.built, scale_data(data, kept.scales))
            kept.session.refresh()
            if self.warm_start and kept.session.last_plan is not None:
                kept.session.set_full_start(kept.session.last_plan)
            self.reuses += 1
            return kept.scales, kept.session, time.perf_counter() - started
        self._kept = None  # drop the old model before building the next
        scales = choose_scales(data)
        model = create_model(scale_data(data, scales))
        build_seconds = time.perf_counter() - started
        session = HighsSession(model, options, planning=True)
        self._kept = _Kept(shape, options, scales, session)
        self.builds += 1
        return scales, session, build_seconds
