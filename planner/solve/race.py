"""A limited solve: branch and bound on the whole model and the decomposition phase side by
side (`LimitedSolve._race`), the part of `planner.solve.session.HighsSession` a time
limit runs (`SolveOptions.races`).

Branch and bound runs for the whole limit, as it would alone but on one HiGHS thread fewer
(`planner.solve.highs.threads_beside_phase`), while the phase runs beside it on its own copy
of the model (`_phase_highs`) at a lower priority (PHASE_NICE), on the core left. Plans go
both ways, and whichever proves the gap first ends the other; a branch and bound that has not
stopped STOP_GRACE seconds after it was asked to is left to end alone (`_leave`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import highspy

from planner.solve.highs import HighsRun, RunStatus, columns_fixed, new_highs, option_set, threads_beside_phase
from planner.solve.incumbent import Incumbent
from planner.solve.report import SolveReport
from planner.status import Method

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from planner.options import SolveOptions
    from planner.solve.compile import Compiled
    from planner.solve.decomposition import DecompositionResult
    from planner.solve.decomposition.fixing import Certificate
    from planner.solve.fixings import PhaseFixings

PHASE_NICE = 10  # the phase's priority below branch and bound's when the two run side by side
# seconds branch and bound gets to stop once the phase has proven the gap or its deadline has
# passed, before it is left to end alone (`LimitedSolve._leave`)
STOP_GRACE = 1.0


class LimitedSolve:
    """What `HighsSession` runs under a time limit (module docstring). A part of the
    session, not used alone: it reads the session's options, model and fixings, and runs its
    branch and bound (`_branch_and_bound`, `_finish_branch_and_bound`, `_wait_and_take`) and
    its phase (`_decompose`)."""

    options: SolveOptions
    highs: highspy.Highs
    compiled: Compiled
    fixings: PhaseFixings
    certificate: Certificate | None
    _phase_copy: highspy.Highs | None

    if TYPE_CHECKING:  # the session's, which these methods use
        def _branch_and_bound(self, deadline: float | None, best: Incumbent) -> HighsRun: ...

        def _finish_branch_and_bound(self, bnb: HighsRun, best: Incumbent, deadline: float | None) -> RunStatus: ...

        def _wait_and_take(self, run: HighsRun, h: highspy.Highs, best: Incumbent) -> tuple[RunStatus, bool]: ...

        def _decompose(self, h: highspy.Highs, deadline: float | None, best: Incumbent, report: SolveReport,
                       cancel: threading.Event | None = None, nice: int = 0,
                       early_plan: bool = False) -> DecompositionResult | None: ...

        def _relay(self) -> Callable[[float, float], None] | None: ...

    def _race(self, deadline: float | None, best: Incumbent, report: SolveReport) -> RunStatus:
        """A limited solve: branch and bound on the whole model runs for the whole limit, with one
        HiGHS thread fewer than alone (`threads_beside_phase`), while the decomposition phase runs
        beside it on its own copy of the model at a lower priority, on the core left (offering the
        LP relaxation's plan, rounded, before its first round). Plans go both ways: the phase's
        to branch and bound as user solutions, branch and bound's to the phase's incumbent.
        Whichever proves the gap first ends the other (a branch and bound that does not stop at
        once is left to end alone: `_leave`). So a limited solve has a plan whenever branch and
        bound alone would, and the better of the two. When the phase hands over near its bound,
        branch and bound with its fixings takes the phase's place (`_fixed_branch_and_bound_beside`).
        Returns how branch and bound ended (OPTIMAL when the phase, or the one beside it, proved
        the gap)."""
        with option_set(self.highs, "threads", threads_beside_phase(self.options.threads)):
            return self._run_race(deadline, best, report)

    def _run_race(self, deadline: float | None, best: Incumbent, report: SolveReport) -> RunStatus:
        """`_race`, with branch and bound's threads set (given back once it has ended)."""
        gap = self.options.mip_gap
        bnb = self._branch_and_bound(deadline, best)
        try:
            found = self._decompose(self._phase_highs(), deadline, best, report, cancel=bnb.finished,
                                    nice=PHASE_NICE, early_plan=True)
            beside = not best.proven(gap) and self._fixed_branch_and_bound_beside(bnb, best, deadline)
        except BaseException:
            bnb.stop()  # Ctrl-C during the phase stops branch and bound too
            raise
        if best.proven(gap):
            bnb.stop()
            if not bnb.finished.wait(STOP_GRACE):
                self._leave(bnb)
                if not beside:
                    report.method = Method.DECOMPOSITION
                return RunStatus.OPTIMAL
        final = self._finish_branch_and_bound(bnb, best, deadline)
        if best.proven(gap):
            if not beside and (final is not RunStatus.OPTIMAL or (found is not None and found.proven)):
                report.method = Method.DECOMPOSITION
            return RunStatus.OPTIMAL
        if final is RunStatus.OPTIMAL:
            report.method = Method.BRANCH_AND_BOUND
        return final

    def _fixed_branch_and_bound_beside(self, bnb: HighsRun, best: Incumbent, deadline: float | None) -> bool:
        """In a race whose phase handed over near its bound: branch and bound with the phase's
        fixings (as `_branch_and_bound_after_phase`) on the phase's copy of the model, at the
        phase's priority, beside the one on the whole model; each gets the other's plans, and
        it ends when the other does. Its dual bound holds for the whole model (the optimum is
        among the plans it searches), so it is kept however the run ends. True when it proved
        the gap (then the caller stops the other)."""
        if bnb.finished.is_set():
            return False
        h = self._phase_highs()
        fixed, values = self.fixings.near_bound(self.certificate, h, best, deadline,
                                                "branch and bound beside the phase", bnb.finished, PHASE_NICE)
        if not len(fixed) or bnb.finished.is_set():
            return False
        provide, improved = best.feed()
        with columns_fixed(h, self.compiled.lp, fixed, values):
            run = HighsRun(h, deadline, self.options.clock, cancel=bnb.finished, nice=PHASE_NICE,
                           provide=provide, improved=improved, progress=self._relay())
            final, _ = self._wait_and_take(run, h, best)
        if run.left:  # past the deadline: the phase's copy is in use until it ends
            self._phase_copy = None
        return final is RunStatus.OPTIMAL and best.proven(self.options.mip_gap)

    def _leave(self, bnb: HighsRun) -> None:
        """Branch and bound on the session's HiGHS has not stopped within STOP_GRACE, when the
        phase proved the gap or the deadline passed: HiGHS sees a stop only between the LPs it
        solves, and the first LP of a large model's branch and bound can take minutes
        (docs/performance.md, "Scale"). It is left to end alone (`HighsRun.leave`: no plans in
        or out), and the phase's copy of the model becomes the session's HiGHS for what follows
        (a polish, a tie-break, a re-solve)."""
        bnb.leave()
        self.highs, self._phase_copy = self._phase_highs(), None
        self.highs.setOptionValue("output_flag", self.options.log)

    def _phase_highs(self) -> highspy.Highs:
        """A second HiGHS holding the whole model, for the phase while branch and bound runs."""
        if self._phase_copy is None:
            self._phase_copy = new_highs(self.options, log=False)
            self._phase_copy.passModel(self.compiled.lp)
        return self._phase_copy
