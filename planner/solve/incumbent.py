"""The best plan found so far by any part of a solve, and the best bound proven."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

import numpy as np

from planner.status import BOUND_NOISE, within_gap


class Incumbent:
    """The best plan found so far by any part of a solve (all columns, model units) and the best
    bound proven; shared by the decomposition phase and a branch and bound running beside it."""

    def __init__(self, costs: np.ndarray, offset: float) -> None:
        self.costs, self.offset = costs, offset
        self.plan: np.ndarray | None = None
        self.upper = math.inf  # objective of `plan`
        # whether `plan` is the optimum of the whole model's LP with its integers fixed at their
        # values (a plan the phase completed, or one polished): polishing it again gives nothing
        self.polished = False
        self.lower = -math.inf
        self._version = 0  # how many plans were kept; a feed (`feed`) hands on those it has not seen
        self._lock = threading.Lock()

    def value(self, plan: np.ndarray) -> float:
        return float(self.costs @ plan) + self.offset

    def offer(self, plan: np.ndarray | None, polished: bool = False) -> bool:
        """Keep `plan` when it is better than the best so far; True when it was kept (every
        feed that did not give it then hands it on). `polished`: it is the optimum of the LP
        with its integers fixed (`polished`)."""
        return self._offer(plan, polished) is not None

    def _offer(self, plan: np.ndarray | None, polished: bool) -> int | None:
        """`offer`; the kept plan's version, or None."""
        if plan is None:
            return None
        value = self.value(plan)
        with self._lock:
            if value >= self.upper:
                return None
            self.plan, self.upper, self.polished = np.array(plan, dtype=float), value, polished
            self._version += 1
            return self._version

    def feed(self) -> tuple[Callable[[], np.ndarray | None], Callable[[np.ndarray], None]]:
        """The two ends of one branch and bound's exchange of plans with the rest of the solve
        (`HighsRun(provide=..., improved=...)`): `provide` gives the best plan when this run has
        not had it yet (at its first call, the best plan so far), `improved` offers a plan the
        run found, which the run then has. Two runs side by side each get the other's plans."""
        seen = 0

        def provide() -> np.ndarray | None:
            nonlocal seen
            with self._lock:
                if self._version == seen or self.plan is None:
                    return None
                seen = self._version
                return self.plan

        def improved(plan: np.ndarray) -> None:
            nonlocal seen
            version = self._offer(plan, False)
            if version is not None:
                with self._lock:
                    seen = max(seen, version)

        return provide, improved

    def replace(self, plan: np.ndarray | None, polished: bool = False) -> None:
        """Make `plan` the incumbent whatever its objective (a polished or a dropped plan)."""
        with self._lock:
            self.plan = None if plan is None else np.array(plan, dtype=float)
            self.upper = math.inf if plan is None else self.value(plan)
            self.polished = polished and plan is not None

    def bound(self, value: float) -> None:
        if math.isfinite(value):
            with self._lock:
                self.lower = max(self.lower, value)

    def forget_bound_above_plan(self) -> None:
        """Forget a bound above the plan by more than BOUND_NOISE: no valid bound lies above a
        plan, so it came from a numerical error and proves nothing (HiGHS's presolve, on options
        whose capacities are 4e-7 of the demand, claimed an optimum 2.6e-4 above a plan that buys
        nothing); the next branch and bound, with strict tolerances, proves its own."""
        with self._lock:
            if self.plan is not None and self.lower > self.upper + BOUND_NOISE:
                self.lower = -math.inf

    def proven(self, gap: float, lower: float | None = None) -> bool:
        """Whether the best plan is within `gap` of the bound (of `lower`, when given)."""
        lower = self.lower if lower is None else max(self.lower, lower)
        return self.plan is not None and within_gap(self.upper, lower, gap)
