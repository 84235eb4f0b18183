"""Lagrangian fixing for the stages after the decomposition phase (the rule and its proof:
`planner.solve.decomposition.fixing`): branch and bound after the phase, or beside it in a
limited solve, and the tie-break stage at lambda = 1.

One `PhaseFixings` lives with a session and keeps the last fixing it found: what holds for a
plan and a cap holds for the same plan at a lower cap, so the tie-break stage after branch and
bound from the same plan reuses what branch and bound was given.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import NamedTuple

import highspy
import numpy as np

from planner.options import SolveOptions
from planner.solve import tiebreak
from planner.solve.compile import Compiled
from planner.solve.decomposition import Decomposition
from planner.solve.decomposition.block import BLOCK_THREADS
from planner.solve.decomposition.fixing import Certificate, near
from planner.solve.highs import highs_factory
from planner.solve.incumbent import Incumbent


class _Fixing(NamedTuple):
    """What `PhaseFixings.shared` found: the integer columns every plan with objective at most
    `cap` shares with the plan of integer values `choice`, by `certificate`."""

    certificate: Certificate
    choice: bytes
    cap: float
    fixed: np.ndarray


class PhaseFixings:
    """The Lagrangian fixings of one session's compiled model (module docstring)."""

    def __init__(self, decomposition: Decomposition | None, compiled: Compiled, options: SolveOptions,
                 log: Callable[[str], None]) -> None:
        self.decomposition, self.compiled, self.options, self._log = decomposition, compiled, options, log
        self._last: _Fixing | None = None

    def forget(self) -> None:
        """Drop the kept fixing (a new solve)."""
        self._last = None

    def shared(self, certificate: Certificate | None, h: highspy.Highs, plan: np.ndarray, cap: float,
               deadline: float | None, stage: str, cancel: threading.Event | None = None,
               nice: int = 0) -> np.ndarray:
        """Integer columns every plan with objective <= `cap` (with the offset) has at `plan`'s
        values, by the phase's bound `certificate`; `h` holds the whole model with this solve's
        bounds. The block MIPs stop when `cancel` is set (fewer columns are then fixed), at a
        priority lowered by `nice`; `stage` names the user in the log. None without a bound."""
        compiled, options = self.compiled, self.options
        if certificate is None or self.decomposition is None:
            return np.zeros(0, dtype=np.int32)
        choice = np.round(plan[compiled.integer]).tobytes()
        last = self._last
        if last is not None and last.certificate is certificate and last.choice == choice and cap <= last.cap:
            fixed = last.fixed
        else:
            fixed = self.decomposition.shared_binaries(
                h, compiled.lp, compiled.objective, compiled.objective_offset, certificate, plan, cap,
                options.mip_gap, highs_factory(options, log=False, threads=BLOCK_THREADS), deadline, options.clock,
                cancel, nice, options.workers, options.scheduler)
            self._last = _Fixing(certificate, choice, cap, fixed)
        if options.log:
            self._log(f"{stage}: {len(fixed)} of {len(compiled.integer)} binaries shared by every plan "
                      "within the cap (Lagrangian fixing), fixed\n")
        return fixed

    def near_bound(self, certificate: Certificate | None, h: highspy.Highs, best: Incumbent, deadline: float | None,
                   stage: str, cancel: threading.Event | None = None,
                   nice: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The integer columns every plan at most as dear as the best plan (the tie-break's cap on
        it) has at its values, and those values, when the best plan is within
        `fixing.FIX_WITHIN_GAPS` gaps of the phase's bound `certificate` (`fixing.near`); none
        otherwise (further off, too many choices are within reach for the fixing to pay: docs/performance.md,
        "Scale"). Arguments as for `shared`."""
        if certificate is None or not near(best, certificate.lower, self.options.mip_gap):
            return np.zeros(0, dtype=np.int32), np.zeros(0)
        plan = best.plan
        # (the tie-break stage's cap on the same plan is the same, so it reuses what is found here)
        fixed = self.shared(certificate, h, plan, tiebreak.cap(best.upper), deadline, stage, cancel, nice)
        return fixed, np.round(plan[fixed])
