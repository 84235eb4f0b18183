"""Solving a built Pyomo model with HiGHS through highspy.

Path into HiGHS: Pyomo's `LinearStandardFormCompiler` turns the model into sparse
matrices (Pyomo stays the single source of truth for the formulation), which are handed
to `highspy.Highs.passModel` in one call; the solution is written back into the Pyomo
variables. The termination status is checked before any value is read. Every HiGHS run
goes through `planner.highs.run` (time limits on the solve's clock, Ctrl-C).

The order of a planning solve:
1. the decomposition phase (`planner.solve.decomposition`), which may prove a plan optimal;
2. otherwise branch and bound on the whole model, from the best plan so far;
3. at lambda = 1, the tie-break stage: among optimal plans, one with the least expected cost
   (`planner.solve.tiebreak`).
With a time limit, 1 and 2 run side by side instead (`planner.solve.race`), so that a
limited solve has a plan whenever branch and bound alone would, and the better of the two. A
node limit alone keeps the order above (each HiGHS run stops at its nodes), so that the result
does not depend on the machine's speed.
Branch and bound after the phase, or beside it in a limited solve, starts with the binaries
fixed that the phase's bound shows every better plan shares, when the phase's best plan is
near that bound (`planner.solve.fixings`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from functools import partial

import highspy
import numpy as np
import scipy.sparse as sp

from planner.errors import SolveError
from planner.model.pyomo_import import pyo
from planner.model.structure import BuiltModel
from planner.options import SolveOptions
from planner.solve import race, tiebreak
from planner.solve.compile import compile_model, objective_costs, store
from planner.solve.decomposition import Decomposition, DecompositionResult, find_structure
from planner.solve.decomposition.block import BLOCK_THREADS
from planner.solve.decomposition.fixing import Certificate
from planner.solve.fixings import PhaseFixings
from planner.solve.highs import (
    STRICT_TOLERANCE,
    HighsRun,
    RunStatus,
    columns_fixed,
    highs_factory,
    integrality,
    new_highs,
    run,
)
from planner.solve.highs_checks import fixed_leak, has_feasible_solution, run_fixed, solution_is_consistent
from planner.solve.incumbent import Incumbent
from planner.solve.report import SolveReport
from planner.status import Method, Status, gap_floor, proof_gap, within_gap

__all__ = ["HighsSession", "SolveOptions", "solve_model"]

_LIMITED = {RunStatus.TIME_LIMIT: Status.TIME_LIMIT, RunStatus.NODE_LIMIT: Status.NODE_LIMIT,
            RunStatus.SOLUTION_LIMIT: Status.NODE_LIMIT}


class HighsSession(race.LimitedSolve):
    """A built model compiled into one HiGHS instance, kept so that it can be solved again.

    `refresh()` re-reads the model's mutable Params (`planner.model.parameters`): it
    recomputes the right-hand sides that hold them and both objectives' costs, and passes
    the model so changed to HiGHS. The matrix, the columns and their bounds never hold
    Params, so they stay as compiled. A sweep so re-solves without
    building or compiling again (`planner.solve.resolve`).

    With `planning=True` (the planning model, not its elastic or fixed-plan variants) and
    `options.decomposition`, each solve runs the decomposition phase (`planner.solve.decomposition`)
    when the model has at least two materials with binaries.
    """

    def __init__(self, built: BuiltModel, options: SolveOptions, planning: bool = False) -> None:
        clock = options.clock
        started = clock()
        self.built = built
        self.model = built.model
        self.options = options
        self.compiled = compile_model(built)
        self.column = {id(v): i for i, v in enumerate(self.compiled.columns)}
        self.highs = new_highs(options)
        self.highs.passModel(self.compiled.lp)
        self.money_scale = 1.0  # of the solve under way: progress is reported in the user's money
        self.interrupted = False  # a solve was interrupted: this session is not solved again
        self._progress_lock = threading.Lock()
        self._shown_incumbent, self._shown_bound = math.inf, -math.inf  # what progress showed in this solve
        self._started = started
        self.sizes = {
            "variables": self.compiled.lp.num_col_,
            "binary_variables": int(sum(v.is_integer() for v in self.compiled.columns)),
            "constraints": self.compiled.lp.num_row_,
            "nonzeros": self.compiled.nonzeros,
        }
        self._by_column: sp.csc_matrix | None = None  # the model's matrix by column, for `fixed_leak`
        self.decomposition = self._decomposition() if planning and options.decomposition else None
        self.transfer_seconds = clock() - started
        self.last_plan: np.ndarray | None = None  # all columns of the last plan found
        self._starts: list = []  # MIP starts for the next branch and bound, set just before it
        self._phase_copy: highspy.Highs | None = None  # the whole model again, for the phase of a limited solve
        self._polish_infeasible = False  # the last polishing LP was infeasible
        self.certificate: Certificate | None = None  # the phase's bound in the last solve (for its tie-break)
        self.fixings = PhaseFixings(self.decomposition, self.compiled, options, self._log)

    def _decomposition(self) -> Decomposition | None:
        lp = self.compiled.lp
        by_column = self._matrix_by_column()
        matrix = by_column.tocsr()
        structure = find_structure(self.built.structure, self.compiled.columns, self.compiled.rows, matrix)
        if structure is None:
            return None
        decomposition = Decomposition(structure, matrix, by_column, np.asarray(lp.row_lower_),
                                      np.asarray(lp.row_upper_))
        return decomposition if decomposition.valid else None

    def _relay(self) -> Callable[[float, float], None] | None:
        """What a branch and bound whose bound holds for the whole model reports its figures to
        (`HighsRun(progress=...)`); None without progress. Not for the restricted MIP (its bound
        is the restricted model's) nor the tie-break stage (another objective)."""
        if self.options.progress is None:
            return None
        return lambda incumbent, bound: self._progress(self.options.clock() - self._started, incumbent, bound)

    def _progress(self, seconds: float, incumbent: float | None, bound: float | None) -> None:
        """Report the solve's best plan and best bound so far: the best of what each part
        reported (the phase, branch and bound, one beside it), so the line never goes back."""
        with self._progress_lock:
            if incumbent is not None and math.isfinite(incumbent):
                self._shown_incumbent = min(self._shown_incumbent, incumbent)
            if bound is not None and math.isfinite(bound):
                self._shown_bound = max(self._shown_bound, bound)
            shown = self._shown_incumbent, self._shown_bound
        scale = self.money_scale
        self.options.progress(seconds, *(v * scale if math.isfinite(v) else None for v in shown))

    def refresh(self) -> None:
        """Push the model's current Param values into HiGHS: the compiled model's right-hand sides
        and costs are recomputed, and HiGHS is given the model anew (`passModel`). Changing them
        in place (`changeRowBounds`, `changeColsCost`, `clearSolver`) left some state of the
        earlier solves in HiGHS: a re-solve could end at another bound than a fresh build (a
        sweep's mip_gap depended on the order of its runs). The copies made later (the phase's
        beside branch and bound, a fresh or strict branch and bound) are passed this model too."""
        started = self.options.clock()
        c, lp = self.compiled, self.compiled.lp
        lower, upper = np.array(lp.row_lower_), np.array(lp.row_upper_)
        for row, bound, offset in c.parametric_rows:
            rhs = pyo.value(bound) + offset
            if lower[row] == upper[row]:
                lower[row] = upper[row] = rhs
            elif math.isfinite(upper[row]):
                upper[row] = rhs
            else:
                lower[row] = rhs
        lp.row_lower_, lp.row_upper_ = lower, upper
        n = lp.num_col_
        c.objective, c.objective_offset = objective_costs(self.built.objective, self.column, n)
        c.tiebreak, c.tiebreak_offset = objective_costs(self.built.tiebreak, self.column, n)
        lp.col_cost_, lp.offset_ = c.objective, c.objective_offset
        self.highs.passModel(lp)
        self._phase_copy = None  # rebuilt from the refreshed model when a limited solve needs it
        self.transfer_seconds = self.options.clock() - started

    def set_start(self, start: list[tuple[object, float]]) -> None:
        """A partial MIP start ((Pyomo variable, value) pairs): before branch and bound it is
        completed into a whole plan (the LP with those values fixed), if it can be."""
        pairs = sorted((self.column[id(v)], value) for v, value in start if id(v) in self.column)
        if pairs:
            self._starts.append((np.array([i for i, _ in pairs], dtype=np.int32),
                                 np.array([value for _, value in pairs], dtype=float)))

    def set_full_start(self, values: np.ndarray) -> None:
        """A MIP start giving every column (a previous plan), handed to branch and bound as it is."""
        self._starts.append((None, np.asarray(values, dtype=float)))

    def _offer_starts(self, best: Incumbent, deadline: float | None) -> None:
        """The starts set for this solve, whole, into the incumbent (which hands them on)."""
        for index, values in self._starts:
            plan = values if index is None else self._fixed_lp(index, values, deadline)
            best.offer(plan)
        self._starts = []

    def _matrix_by_column(self) -> sp.csc_matrix:
        """The compiled model's matrix (kept: its coefficients never change, only bounds and costs)."""
        if self._by_column is None:
            lp = self.compiled.lp
            self._by_column = sp.csc_matrix((np.asarray(lp.a_matrix_.value_), np.asarray(lp.a_matrix_.index_),
                                             np.asarray(lp.a_matrix_.start_)), shape=(lp.num_row_, lp.num_col_))
        return self._by_column

    def _fixed_lp(self, index: np.ndarray, values: np.ndarray, deadline: float | None) -> np.ndarray | None:
        """The whole model's LP (integrality relaxed, the objective HiGHS holds) with columns
        `index` fixed at `values`: its optimal plan, or None (infeasible: then
        `_polish_infeasible` is set; out of time)."""
        h, compiled, lp = self.highs, self.compiled, self.compiled.lp
        by_column, row_lower, row_upper = self._matrix_by_column(), np.asarray(lp.row_lower_), np.asarray(lp.row_upper_)
        with integrality(h, compiled.integer, False), columns_fixed(h, lp, index, values):
            status = run_fixed(h, lambda: run(h, deadline, self.options.clock),
                               lambda: fixed_leak(h, by_column, row_lower, row_upper, index, values))
            self._polish_infeasible = status is RunStatus.INFEASIBLE
            return np.asarray(h.getSolution().col_value) if status is RunStatus.OPTIMAL else None

    def _decompose(self, h: highspy.Highs, deadline: float | None, best: Incumbent, report: SolveReport,
                   cancel: threading.Event | None = None, nice: int = 0,
                   early_plan: bool = False) -> DecompositionResult | None:
        """The decomposition phase on `h`; `report` gets its method (then branch and bound, unless
        the caller finds the phase proved the gap), rounds and seconds."""
        options = self.options
        log = (lambda text: self._log(text)) if options.log else None
        found = self.decomposition.run(
            h, self.compiled.lp, self.compiled.objective, self.compiled.objective_offset,
            options.mip_gap, highs_factory(options, log=False, threads=BLOCK_THREADS), deadline, options.clock, best,
            self._progress if options.progress is not None else None, log, self._started, cancel, nice,
            options.workers, options.scheduler, early_plan)
        self.certificate = None if found is None else found.certificate
        report.method = Method.DECOMPOSITION_THEN_BRANCH_AND_BOUND
        if found is not None:
            report.decomposition_rounds, report.decomposition_seconds = found.rounds, found.seconds
        return found

    @staticmethod
    def _log(text: str) -> None:
        import sys

        sys.stderr.write(text)

    def solve(self, risk_aversion: float, money_scale: float = 1.0) -> SolveReport:
        """Solve and store the plan in the model's variables (see the module docstring).

        The reported bound is the best one proven by any stage (HiGHS's dual bounds, the
        phase's Lagrangian bound), in the user's money. A session whose solve was interrupted
        is not solved again (`interrupted`): HiGHS may have been left with the bounds of a
        stage (`planner.solve.highs.in_use`), so a `SolveError` asks for the model anew.
        """
        if self.interrupted:
            raise SolveError(Status.SOLVER_ERROR, "a solve of this model was interrupted, which may have left "
                             "its HiGHS instance changed; build the model again to solve it")
        try:
            return self._solve(risk_aversion, money_scale)
        except KeyboardInterrupt:
            self.interrupted = True
            raise

    def _solve(self, risk_aversion: float, money_scale: float) -> SolveReport:
        options, clock = self.options, self.options.clock
        started = self._started = clock()
        self._shown_incumbent, self._shown_bound = math.inf, -math.inf
        if options.progress is not None:  # the solve starts: no plan and no bound yet
            options.progress(0.0, None, None)
        deadline = None if options.time_limit is None else started + options.time_limit
        self.money_scale = money_scale
        report = SolveReport(status=Status.NO_PLAN, has_plan=False, sizes=dict(self.sizes),
                             transfer_seconds=self.transfer_seconds)
        binaries = report.sizes["binary_variables"] > 0
        self.certificate = None
        self.fixings.forget()
        best = Incumbent(self.compiled.objective, self.compiled.objective_offset)
        self._offer_starts(best, deadline)
        if self.decomposition is not None and options.races:
            final = self._race(deadline, best, report)
        else:
            final = None
            if self.decomposition is not None:
                self._decompose(self.highs, deadline, best, report)
                if best.proven(options.mip_gap):
                    report.method, final = Method.DECOMPOSITION, RunStatus.OPTIMAL
            if final is None:
                final = self._branch_and_bound_after_phase(best, deadline)
        return self._finish(report, best, final, risk_aversion, deadline, binaries)

    def _branch_and_bound_after_phase(self, best: Incumbent, deadline: float | None) -> RunStatus:
        """Branch and bound on the whole model, after a phase (if any) that did not prove the gap.

        When the phase's best plan is within `fixing.FIX_WITHIN_GAPS` gaps of its Lagrangian
        bound, the binaries every plan at least as good shares (`planner.solve.decomposition.fixing`,
        with the best plan's objective as the cap, and the tie-break's slack) are fixed at its
        values first: the optimum is such a plan, so branch and bound over the binaries left finds
        it, and its bound is a bound of the whole model. Further from the bound, too many choices
        are within reach for the fixing to pay (a binding budget: docs/performance.md, "Scale")."""
        fixed, values = self.fixings.near_bound(self.certificate, self.highs, best, deadline, "branch and bound")
        with columns_fixed(self.highs, self.compiled.lp, fixed, values):
            return self._finish_branch_and_bound(self._branch_and_bound(deadline, best), best, deadline)

    def _branch_and_bound(self, deadline: float | None, best: Incumbent) -> HighsRun:
        """Start branch and bound on the whole model; it gets the incumbent's plans as user
        solutions (never through setSolution, see `solution_is_consistent`) and gives its own."""
        provide, improved = best.feed()
        return HighsRun(self.highs, deadline, self.options.clock, provide=provide, improved=improved,
                        progress=self._relay())

    def _finish_branch_and_bound(self, bnb: HighsRun, best: Incumbent, deadline: float | None) -> RunStatus:
        """Wait for branch and bound; keep its plan and its bound when HiGHS's figures hold
        together. When they do not, solve again on a fresh HiGHS with no plan handed in.

        One still going `race.STOP_GRACE` past the deadline is left to end alone (`_leave`): the solve
        ends at its limit with the plans it handed out and the phase's bound, if any."""
        final, held = self._wait_and_take(bnb, self.highs, best)
        if bnb.left:
            self._leave(bnb)
        if held:
            return final
        fresh = new_highs(self.options)
        fresh.passModel(self.compiled.lp)
        final, held = self._wait_and_take(HighsRun(fresh, deadline, self.options.clock, improved=best.offer,
                                                   progress=self._relay()), fresh, best)
        return RunStatus.SOLVER_ERROR if not held and final is RunStatus.OPTIMAL else final  # twice inconsistent

    def _wait_and_take(self, run: HighsRun, h: highspy.Highs, best: Incumbent) -> tuple[RunStatus, bool]:
        """Wait for a branch and bound on `h` (left to end alone `race.STOP_GRACE` past its deadline), then
        take its plan and bound (`_take_highs_plan`): how it ended, and whether HiGHS's figures
        held together (True for a run left: nothing of it is read)."""
        final = run.wait(leave_after=race.STOP_GRACE)
        return final, run.left or self._take_highs_plan(h, best, final)

    def _take_highs_plan(self, h: highspy.Highs, best: Incumbent, final: RunStatus) -> bool:
        """The plan and bound HiGHS ended with, if any; False when its figures do not hold together."""
        if final in (RunStatus.INFEASIBLE, RunStatus.CANCELLED) or not has_feasible_solution(h):
            return True
        best.offer(np.asarray(h.getSolution().col_value))
        if not solution_is_consistent(h, self.compiled.objective, self.compiled.objective_offset):
            return False
        if len(self.compiled.integer):
            best.bound(h.getInfo().mip_dual_bound)
        return True

    def _finish(self, report: SolveReport, best: Incumbent, final: RunStatus, risk_aversion: float,
                deadline: float | None, binaries: bool = True) -> SolveReport:
        """Status, bound and plan of a solve whose last HiGHS run ended with `final`.

        The plan is polished first (`_polish`), and the proof is judged on the polished plan's
        objective and the best bound: `optimal` only when they are within the gap asked for.
        When branch and bound claimed optimality but the polished plan is not proven, or the
        polish found no plan with its binaries rounded (its incumbent leant on HiGHS's
        integrality tolerance, as a large capacity in x <= cap z lets it), branch and bound runs
        once more with tight tolerances, from the plan if one is left.
        """
        options = self.options
        if best.plan is not None and binaries:
            self._polish_incumbent(best, deadline)
            # a plan the polish dropped (its rounded binaries admit no plan) or cannot prove
            if final is RunStatus.OPTIMAL and (best.plan is None or not best.proven(options.mip_gap)):
                final = self._strict_branch_and_bound(best, deadline)
                if best.plan is not None:
                    self._polish_incumbent(best, deadline)
        if best.plan is None:
            report.status = {RunStatus.INFEASIBLE: Status.INFEASIBLE, RunStatus.UNBOUNDED: Status.SOLVER_ERROR,
                             RunStatus.SOLVER_ERROR: Status.SOLVER_ERROR,
                             # HiGHS ended optimal, but no plan of its held with its binaries rounded
                             RunStatus.OPTIMAL: Status.SOLVER_ERROR}.get(final, Status.NO_PLAN)
        else:
            if not binaries and final is RunStatus.OPTIMAL:
                best.bound(best.upper)  # an LP: its optimum is its bound
            if best.proven(options.mip_gap):
                report.status = Status.OPTIMAL
            else:
                report.status = _LIMITED.get(final, Status.SOLVER_ERROR)
                if final is RunStatus.OPTIMAL and math.isfinite(best.lower):
                    report.unproven_gap = proof_gap(best.upper, best.lower)
            report.has_plan = report.status.has_plan
        if report.has_plan:
            plan = best.plan
            self.last_plan = plan
            # no valid bound lies above a plan (an excess is numerical, `status.proof_gap`), and the
            # plan's own objective bounds the optimum from above: the bound reported never exceeds it
            lower = min(best.lower, best.upper)
            report.best_bound = lower * self.money_scale if math.isfinite(lower) else None
            report.gap_floor = gap_floor(self.money_scale)
            if options.tiebreak and risk_aversion >= 1:
                tiebreak_started = options.clock()
                report.tiebreak, plan = self.least_expected_cost(plan, deadline, best.lower)
                report.tiebreak_seconds = options.clock() - tiebreak_started
                # a limit left the plan unproven, and the stage's plan is cheaper: it may be proven
                if report.status is not Status.OPTIMAL and within_gap(self.compiled.value(plan), lower,
                                                                       options.mip_gap):
                    report.status = Status.OPTIMAL
            store(self.model, self.compiled.columns, plan)
        report.solve_seconds = options.clock() - self._started
        return report

    def _polish_incumbent(self, best: Incumbent, deadline: float | None) -> None:
        """Replace the incumbent by its polished plan; drop it when its integer decisions, rounded,
        admit no plan at all (it was not a plan, only within HiGHS's tolerances of one). A plan
        the phase completed is already the LP's optimum with its integers fixed, so it is kept
        as it is (`Incumbent.polished`): polishing it again, after a race, was the whole model's
        LP from scratch on branch and bound's HiGHS."""
        if best.polished:
            return
        polished = self._polish(best.plan, deadline)
        if polished is not None or not self._polish_infeasible:
            best.replace(best.plan if polished is None else polished, polished=polished is not None)
        else:
            best.replace(None)

    def _strict_branch_and_bound(self, best: Incumbent, deadline: float | None) -> RunStatus:
        """Branch and bound once more on a fresh HiGHS with integrality and feasibility tolerances
        of 1e-9, from the best plan so far; a bound above that plan is forgotten first (its proof,
        if any, is this run's)."""
        best.forget_bound_above_plan()
        strict = new_highs(self.options)
        for name in ("mip_feasibility_tolerance", "primal_feasibility_tolerance"):
            strict.setOptionValue(name, STRICT_TOLERANCE)
        strict.passModel(self.compiled.lp)
        provide, improved = best.feed()
        final, held = self._wait_and_take(HighsRun(strict, deadline, self.options.clock, provide=provide,
                                                   improved=improved, progress=self._relay()), strict, best)
        return RunStatus.SOLVER_ERROR if not held and final is RunStatus.OPTIMAL else final

    def _polish(self, plan: np.ndarray, deadline: float | None) -> np.ndarray | None:
        """The cheapest plan (for the objective HiGHS holds) with the integer decisions of `plan`
        rounded: the LP with the integers fixed. None when that LP does not end optimal
        (`_polish_infeasible` says whether it was infeasible, or out of time).

        A plan of branch and bound has the best integer decisions to the gap, but its
        continuous part (volumes, spot, stock) need not be the best for those decisions
        (heuristics find such plans), and its binaries are integral only to a tolerance
        (z = 1e-7 lets x <= cap z hold a volume when cap is large). Polished, every reported
        plan is exactly consistent with its contracts and the cheapest with them, and an
        evaluation of it on its own scenarios gives the solve's figures."""
        ints = self.compiled.integer
        self._polish_infeasible = False
        if not len(ints):
            return plan
        fixed = np.round(plan[ints])
        polished = self._fixed_lp(ints, fixed, deadline)
        if polished is None:
            return None
        polished[ints] = fixed
        return polished

    def least_expected_cost(self, plan: np.ndarray, deadline: float | None = None,
                            lower: float = -math.inf) -> tuple[str, np.ndarray]:
        """The tie-break stage from `plan` (all columns), on this session's HiGHS, with the binaries
        the phase's bound shows every plan within the cap shares fixed (`planner.solve.tiebreak`);
        with the first stage's bound `lower` (model units), its plan stays proven at the solve's gap."""
        shared = partial(self.fixings.shared, self.certificate, self.highs, stage="tie-break")
        return tiebreak.least_expected_cost(self.highs, self.compiled, plan, deadline, self.options.clock,
                                            self._polish, shared, lower, self.options.mip_gap)


def solve_model(model: BuiltModel, risk_aversion: float, options: SolveOptions,
                money_scale: float = 1.0, start: list[tuple[object, float]] | None = None) -> SolveReport:
    """Solve `model` (built by `planner.model.build.create_model`) and store the plan in it.

    Returns the report whatever the outcome; `has_plan` says whether the variables hold
    a feasible plan. Reading values when it is False is the caller's mistake. The model's
    objective is in units of `money_scale`; the reported bound and objective are not.
    `start` ((Pyomo variable, value) pairs, in the model's units) is handed to HiGHS as a
    partial MIP start.
    """
    session = HighsSession(model, options)
    if start:
        session.set_start(start)
    return session.solve(risk_aversion, money_scale)
