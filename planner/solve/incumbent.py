"""The best plan found so far by any part of a solve, and the best bound proven."""

from __future__ import annotations

import math
import threading

import numpy as np


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
        self._fresh: np.ndarray | None = None  # the best plan, when branch and bound does not have it yet
        self._lock = threading.Lock()

    def value(self, plan: np.ndarray) -> float:
        return float(self.costs @ plan) + self.offset

    def offer(self, plan: np.ndarray | None, hand_on: bool = False, polished: bool = False) -> bool:
        """Keep `plan` when it is better than the best so far; True when it was kept. `hand_on`:
        branch and bound does not have it yet (a plan of the phase, a start); `polished`: it is
        the optimum of the LP with its integers fixed (`polished`)."""
        if plan is None:
            return False
        value = self.value(plan)
        with self._lock:
            if value >= self.upper:
                return False
            self.plan, self.upper, self.polished = np.array(plan, dtype=float), value, polished
            if hand_on:
                self._fresh = self.plan
            return True

    def replace(self, plan: np.ndarray | None, polished: bool = False) -> None:
        """Make `plan` the incumbent whatever its objective (a polished or a dropped plan)."""
        with self._lock:
            self.plan = None if plan is None else np.array(plan, dtype=float)
            self.upper = math.inf if plan is None else self.value(plan)
            self.polished = polished and plan is not None

    def take_fresh(self) -> np.ndarray | None:
        """The best plan if branch and bound has not had it yet (then it has)."""
        with self._lock:
            fresh, self._fresh = self._fresh, None
            return fresh

    def bound(self, value: float) -> None:
        if math.isfinite(value):
            with self._lock:
                self.lower = max(self.lower, value)

    def proven(self, gap: float, lower: float | None = None) -> bool:
        """Whether the best plan is within `gap` of the bound (of `lower`, when given)."""
        lower = self.lower if lower is None else max(self.lower, lower)
        return self.plan is not None and self.upper - lower <= gap * max(abs(self.upper), 1e-10)
