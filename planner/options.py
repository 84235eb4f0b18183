"""What the user may set about a solve. Light: the command line builds it without the solver stack."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class SolveOptions:
    """Settings of one solve (both stages, the decomposition phase and branch and bound)."""

    mip_gap: float = 1e-4  # relative
    time_limit: float | None = None  # seconds, whole solve
    threads: int | None = None  # None: HiGHS chooses
    log: bool = False  # HiGHS log to stderr
    tiebreak: bool = True  # second stage: least expected cost among optimal plans
    decomposition: bool = True  # planning models: the decomposition phase first (planner.solve.decomposition)
    seed: int = 0
    node_limit: int | None = None  # branch-and-bound nodes per HiGHS run: a limit that does not depend on speed
    # called during the solve with (seconds, incumbent or None, bound or None), in the user's money
    progress: Callable[[float, float | None, float | None], None] | None = None
    clock: Callable[[], float] = time.perf_counter  # what time limits are measured on (tests inject one)
    workers: int = 1  # processes the decomposition phase solves its blocks in (planner.solve.decomposition.pool)
    scheduler: str | None = None  # a Dask scheduler whose workers solve the blocks instead (...decomposition.cluster)
    # HiGHS's feasibility and integrality tolerances at highs.STRICT_TOLERANCE: the solve again after
    # HiGHS's plan broke a constraint in the user's units (planner.solve.pipeline.solve_data)
    strict_tolerances: bool = False

    @property
    def races(self) -> bool:
        """Whether the decomposition phase runs beside branch and bound on the whole model: under a
        time limit, so that a plan is there whenever branch and bound alone would have one. A node
        limit alone does not race (the phase, then branch and bound), so that it gives the same
        result on any machine."""
        return self.time_limit is not None
