"""Solving a built Pyomo model with HiGHS through highspy.

Path into HiGHS: Pyomo's `LinearStandardFormCompiler` turns the model into sparse
matrices (Pyomo stays the single source of truth for the formulation), which are handed
to `highspy.Highs.passModel` in one call; the solution is written back into the Pyomo
variables. The termination status is checked before any value is read. Every HiGHS run
goes through `planner.highs.run` (time limits on the solve's clock, Ctrl-C).

The order of a planning solve:
1. the decomposition phase (`planner.decompose`), which may prove a plan optimal;
2. otherwise branch and bound on the whole model, from the best plan so far;
3. at lambda = 1, the tie-break stage: among optimal plans, one with the least expected cost.
With a time or node limit, 1 and 2 run side by side instead (`HighsSession._race`), so that a
limited solve has a plan whenever branch and bound alone would, and the better of the two.

The tie-break (docs/model.md section 5, "Ties at lambda = 1"): at lambda = 1 the expected cost has no
weight, scenarios outside the CVaR tail do not count at all, and optimal plans may buy
needlessly there. After the first solve the objective is capped at its incumbent value
and the expected cost is minimised, warm-started from the first plan. The gap and bound
reported are those of the first, objective-defining stage. Below lambda = 1 the expected
cost carries weight 1 - lambda, so an optimal plan cannot buy needlessly, and the stage is
not run (its cost and effect were measured: README, "Choices").
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

import highspy
import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp
from pyomo.core.expr.numvalue import is_constant
from pyomo.repn import generate_standard_repn
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from planner.decompose import Decomposition, DecompositionResult, Incumbent, find_structure
from planner.highs import (
    SOLVER_NAME,
    HighsRun,
    RunStatus,
    has_feasible_solution,
    highs_lp,
    new_highs,
    run,
    set_costs,
    set_full_solution,
)
from planner.options import SolveOptions
from planner.status import Method, Status

__all__ = ["HighsSession", "SolveOptions", "SolveReport", "solve_model"]

# A tie-break may exceed the first stage's objective by this relative amount, no more.
TIEBREAK_RELATIVE_SLACK = 1e-9
PHASE_NICE = 10  # the phase's priority below branch and bound's when the two run side by side
_LIMITED = {RunStatus.TIME_LIMIT: Status.TIME_LIMIT, RunStatus.NODE_LIMIT: Status.NODE_LIMIT,
            RunStatus.SOLUTION_LIMIT: Status.NODE_LIMIT}


@dataclass
class SolveReport:
    """What the solver says about the plan now stored in the model's variables."""

    status: Status
    has_plan: bool
    best_bound: float | None = None  # in the user's money, with the objective's constant
    transfer_seconds: float = 0.0
    solve_seconds: float = 0.0
    sizes: dict[str, int] = field(default_factory=dict)
    solver: str = SOLVER_NAME
    tiebreak: str = "not run"  # "applied", "no change", "not run", or the stage's status
    method: Method = Method.BRANCH_AND_BOUND
    decomposition_rounds: int = 0


@dataclass
class _Compiled:
    columns: list  # Pyomo VarData, in column order
    lp: highspy.HighsLp
    objective: np.ndarray  # dense cost vector of `objective`
    objective_offset: float
    tiebreak: np.ndarray  # dense cost vector of `tiebreak_objective`
    tiebreak_offset: float
    nonzeros: int
    # rows whose right-hand side holds a mutable Param: (row, bound expression, rhs - its value)
    parametric_rows: list[tuple[int, object, float]]
    rows: list  # Pyomo ConstraintData, in row order
    integer: np.ndarray  # indices of the integer columns (int32)

    def value(self, plan: np.ndarray) -> float:
        """The objective of a plan (all columns), in model units, constant included."""
        return float(self.objective @ plan) + self.objective_offset


def _parametric_rows(rows: list, rhs: np.ndarray) -> list[tuple[int, object, float]]:
    found = []
    for i, (con, mult) in enumerate(rows):
        bound = con.upper if mult >= 0 else con.lower
        if bound is not None and not is_constant(bound):
            found.append((i, bound, float(rhs[i]) - pyo.value(bound)))
    return found


def _objective_costs(objective: pyo.Objective, column: dict[int, int], n: int) -> tuple[np.ndarray, float]:
    """Dense cost vector and offset of a linear objective, its Params at their current values."""
    repn = generate_standard_repn(objective.expr, compute_values=True)
    costs = np.zeros(n)
    for var, coef in zip(repn.linear_vars, repn.linear_coefs):
        costs[column[id(var)]] += coef
    return costs, float(repn.constant)


def _compile(model: pyo.ConcreteModel) -> _Compiled:
    second_objective = getattr(model, "tiebreak_objective", None)  # absent in the elastic model
    if second_objective is not None:
        second_objective.activate()
    try:
        info = LinearStandardFormCompiler().write(model, mixed_form=True)
    finally:
        if second_objective is not None:
            second_objective.deactivate()
    order = [id(obj.parent_component()) for obj in info.objectives]
    costs = info.c.toarray()
    main = order.index(id(model.objective))
    second = order.index(id(second_objective)) if second_objective is not None else main

    columns = info.columns
    inf = highspy.kHighsInf
    rhs = np.asarray(info.rhs, dtype=float)
    sense = np.array([mult for _, mult in info.rows], dtype=int)
    is_integer = np.array([v.is_integer() for v in columns], dtype=bool)
    lp = highs_lp(info.A, costs[main],
                  np.array([-inf if v.lb is None else v.lb for v in columns], dtype=float),
                  np.array([inf if v.ub is None else v.ub for v in columns], dtype=float),
                  np.where(sense <= 0, rhs, -inf),  # 0: equality, -1: >=
                  np.where(sense >= 0, rhs, inf),  # 1: <=
                  integer=is_integer, offset=float(info.c_offset[main]))
    return _Compiled(columns, lp, costs[main], float(info.c_offset[main]), costs[second],
                     float(info.c_offset[second]), int(info.A.nnz), _parametric_rows(info.rows, rhs),
                     [con for con, _ in info.rows], np.flatnonzero(is_integer).astype(np.int32))


def _store(model: pyo.ConcreteModel, columns: list, values: np.ndarray) -> None:
    """Write a plan into the Pyomo variables: binaries rounded, solver noise clipped."""
    for var in model.component_data_objects(pyo.Var, active=True):
        if not var.fixed:  # fixed values (an evaluated plan's first stage) stay as they are
            var.set_value(var.lb if var.lb is not None else 0.0, skip_validation=True)
    for var, value in zip(columns, values):
        if var.is_integer():
            value = float(round(value))
        else:
            if var.lb is not None and value < var.lb:
                value = var.lb
            if var.ub is not None and value > var.ub:
                value = var.ub
            if abs(value) < 1e-9:
                value = 0.0
        var.set_value(float(value), skip_validation=True)


class HighsSession:
    """A built model compiled into one HiGHS instance, kept so that it can be solved again.

    `refresh()` re-reads the model's mutable Params (`planner.model.parameters`): it
    recomputes the right-hand sides that hold them and both objectives' costs, and pushes
    them into HiGHS (`changeRowBounds`, `changeColsCost`). The matrix, the columns and their
    bounds never hold Params, so they stay as compiled. A sweep so re-solves without
    building or compiling again (`planner.resolve`).

    With `planning=True` (the planning model, not its elastic or fixed-plan variants) and
    `options.decomposition`, each solve runs the decomposition phase (`planner.decompose`)
    when the model has at least two materials with binaries.
    """

    def __init__(self, model: pyo.ConcreteModel, options: SolveOptions, planning: bool = False) -> None:
        clock = options.clock
        started = clock()
        self.model = model
        self.options = options
        self.compiled = _compile(model)
        self.column = {id(v): i for i, v in enumerate(self.compiled.columns)}
        self.highs = new_highs(options)
        self.highs.passModel(self.compiled.lp)
        self.money_scale = 1.0  # of the solve under way: progress is reported in the user's money
        self._started = started
        if options.progress is not None:
            self.highs.cbMipInterrupt.subscribe(self._relay_progress)
        self.sizes = {
            "variables": self.compiled.lp.num_col_,
            "binary_variables": int(sum(v.is_integer() for v in self.compiled.columns)),
            "constraints": self.compiled.lp.num_row_,
            "nonzeros": self.compiled.nonzeros,
        }
        self.decomposition = self._decomposition() if planning and options.decomposition else None
        self.transfer_seconds = clock() - started
        self.last_plan: np.ndarray | None = None  # all columns of the last plan found
        self._starts: list = []  # MIP starts for the next branch and bound, set just before it
        self._phase_copy: highspy.Highs | None = None  # the whole model again, for the phase of a limited solve

    def _decomposition(self) -> Decomposition | None:
        lp = self.compiled.lp
        matrix = sp.csc_matrix((np.asarray(lp.a_matrix_.value_), np.asarray(lp.a_matrix_.index_),
                                np.asarray(lp.a_matrix_.start_)), shape=(lp.num_row_, lp.num_col_)).tocsr()
        structure = find_structure(self.model, self.compiled.columns, self.compiled.rows, matrix)
        if structure is None:
            return None
        decomposition = Decomposition(structure, matrix, np.asarray(lp.row_lower_), np.asarray(lp.row_upper_))
        return decomposition if decomposition.valid else None

    def _relay_progress(self, event: highspy.cb.HighsCallbackEvent) -> None:
        out = event.data_out
        self._progress(self.options.clock() - self._started, out.mip_primal_bound, out.mip_dual_bound)

    def _progress(self, seconds: float, incumbent: float | None, bound: float | None) -> None:
        scale = self.money_scale
        finite = lambda v: v * scale if v is not None and math.isfinite(v) else None  # noqa: E731
        self.options.progress(seconds, finite(incumbent), finite(bound))

    def refresh(self) -> None:
        """Push the model's current Param values into HiGHS."""
        started = self.options.clock()
        c, lp, h = self.compiled, self.compiled.lp, self.highs
        lower, upper = np.asarray(lp.row_lower_), np.asarray(lp.row_upper_)
        for row, bound, offset in c.parametric_rows:
            rhs = pyo.value(bound) + offset
            if lower[row] == upper[row]:
                lower[row] = upper[row] = rhs
            elif math.isfinite(upper[row]):
                upper[row] = rhs
            else:
                lower[row] = rhs
            h.changeRowBounds(row, lower[row], upper[row])
        lp.row_lower_, lp.row_upper_ = lower, upper
        n = lp.num_col_
        c.objective, c.objective_offset = _objective_costs(self.model.objective, self.column, n)
        c.tiebreak, c.tiebreak_offset = _objective_costs(self.model.tiebreak_objective, self.column, n)
        set_costs(h, c.objective, c.objective_offset)
        self.transfer_seconds = self.options.clock() - started

    def set_start(self, start: list[tuple[object, float]]) -> None:
        """A partial MIP start ((Pyomo variable, value) pairs); HiGHS completes or ignores it."""
        pairs = sorted((self.column[id(v)], value) for v, value in start if id(v) in self.column)
        if pairs:
            self._starts.append((np.array([i for i, _ in pairs], dtype=np.int32),
                                 np.array([value for _, value in pairs], dtype=float)))

    def set_full_start(self, values: np.ndarray) -> None:
        """A MIP start giving every column (a previous plan): checked as it is, not completed."""
        self._starts.append((None, np.asarray(values, dtype=float)))

    def _push_starts(self) -> None:
        for index, values in self._starts:
            if index is None:
                set_full_solution(self.highs, values)
            else:
                self.highs.setSolution(len(index), index, values)
        self._starts = []

    def _decompose(self, h: highspy.Highs, deadline: float | None, best: Incumbent,
                   cancel: threading.Event | None = None, nice: int = 0) -> DecompositionResult | None:
        options = self.options
        log = (lambda text: self._log(text)) if options.log else None
        return self.decomposition.run(
            h, self.compiled.lp, self.compiled.objective, self.compiled.objective_offset,
            options.mip_gap, lambda: new_highs(options, log=False), deadline, options.clock, best,
            self._progress if options.progress is not None else None, log, self._started, cancel, nice)

    @staticmethod
    def _log(text: str) -> None:
        import sys

        sys.stderr.write(text)

    def solve(self, risk_aversion: float, money_scale: float = 1.0) -> SolveReport:
        """Solve and store the plan in the model's variables (see the module docstring).

        The reported bound is the best one proven by any stage (HiGHS's dual bounds, the
        phase's Lagrangian bound), in the user's money.
        """
        options, clock = self.options, self.options.clock
        started = self._started = clock()
        deadline = None if options.time_limit is None else started + options.time_limit
        self.money_scale = money_scale
        report = SolveReport(status=Status.NO_PLAN, has_plan=False, sizes=dict(self.sizes),
                             transfer_seconds=self.transfer_seconds)
        binaries = report.sizes["binary_variables"] > 0
        best = Incumbent(self.compiled.objective, self.compiled.objective_offset)
        if self.decomposition is not None and options.limited:
            final = self._race(deadline, best, report)
        else:
            final = None
            if self.decomposition is not None:
                found = self._decompose(self.highs, deadline, best)
                report.method = Method.DECOMPOSITION_THEN_BRANCH_AND_BOUND
                if found is not None:
                    report.decomposition_rounds = found.rounds
                if best.proven(options.mip_gap):
                    report.method, final = Method.DECOMPOSITION, RunStatus.OPTIMAL
            if final is None:
                if best.plan is not None:
                    self.set_full_start(best.plan)
                self._push_starts()
                final = run(self.highs, deadline, clock)
                self._take_highs_plan(best, final, binaries)
        self._starts = []  # a start not used (the phase proved its plan) is not kept for the next solve
        return self._finish(report, best, final, risk_aversion, deadline, binaries)

    def _take_highs_plan(self, best: Incumbent, final: RunStatus, binaries: bool) -> None:
        """The plan and bound the whole model's HiGHS ended with, if any."""
        h = self.highs
        if has_feasible_solution(h) and final is not RunStatus.INFEASIBLE:
            best.offer(np.asarray(h.getSolution().col_value))
            if binaries:
                best.bound(h.getInfo().mip_dual_bound)

    def _race(self, deadline: float | None, best: Incumbent, report: SolveReport) -> RunStatus:
        """A limited solve: branch and bound on the whole model runs for the whole limit, as it
        would alone, while the decomposition phase runs beside it on its own copy of the model
        at a lower priority (it uses a free core, and gives way when none is free). Plans go
        both ways: the phase's to branch and bound as user solutions, branch and bound's to the
        phase's incumbent. Whichever proves the gap first ends the other.

        So a limited solve has a plan whenever branch and bound alone would, and the better of
        the two. Returns how branch and bound ended (OPTIMAL when the phase proved the gap)."""
        h = self.highs
        self._push_starts()

        def give(event: highspy.cb.HighsCallbackEvent) -> None:
            fresh = best.take_fresh()
            if fresh is not None:
                event.data_in.setSolution(fresh)

        def take(event: highspy.cb.HighsCallbackEvent) -> None:
            best.offer(np.asarray(event.data_out.mip_solution))

        h.cbMipUserSolution.subscribe(give)
        h.cbMipImprovingSolution.subscribe(take)
        bnb = HighsRun(h, deadline, self.options.clock)
        try:
            found = self._decompose(self._phase_highs(), deadline, best, cancel=bnb.finished, nice=PHASE_NICE)
            report.method = Method.DECOMPOSITION_THEN_BRANCH_AND_BOUND
            if found is not None:
                report.decomposition_rounds = found.rounds
            if best.proven(self.options.mip_gap):
                bnb.stop()
            final = bnb.wait()
        finally:
            bnb.stop()
            bnb.wait()
            h.cbMipUserSolution.unsubscribe(give)
            h.cbMipImprovingSolution.unsubscribe(take)
        self._take_highs_plan(best, final, True)
        if best.proven(self.options.mip_gap):
            if final is not RunStatus.OPTIMAL or (found is not None and found.proven):
                report.method = Method.DECOMPOSITION
            return RunStatus.OPTIMAL
        if final is RunStatus.OPTIMAL:
            report.method = Method.BRANCH_AND_BOUND
        return final

    def _phase_highs(self) -> highspy.Highs:
        """A second HiGHS holding the whole model, for the phase while branch and bound runs."""
        if self._phase_copy is None:
            self._phase_copy = new_highs(self.options, log=False)
            self._phase_copy.passModel(self.compiled.lp)
        return self._phase_copy

    def _finish(self, report: SolveReport, best: Incumbent, final: RunStatus, risk_aversion: float,
                deadline: float | None, binaries: bool = True) -> SolveReport:
        """Status, bound and plan of a solve whose last HiGHS run ended with `final`."""
        options = self.options
        if best.plan is None:
            report.status = {RunStatus.INFEASIBLE: Status.INFEASIBLE, RunStatus.UNBOUNDED: Status.SOLVER_ERROR,
                             RunStatus.SOLVER_ERROR: Status.SOLVER_ERROR}.get(final, Status.NO_PLAN)
        else:
            if not binaries and final is RunStatus.OPTIMAL:
                best.bound(best.upper)  # an LP: its optimum is its bound
            proven = final is RunStatus.OPTIMAL or best.proven(options.mip_gap)
            report.status = Status.OPTIMAL if proven else _LIMITED.get(final, Status.SOLVER_ERROR)
            report.has_plan = report.status.has_plan
        if report.has_plan:
            plan = self._polish(best.plan, self.compiled.objective, deadline) if binaries else best.plan
            self.last_plan = plan
            report.best_bound = best.lower * self.money_scale if math.isfinite(best.lower) else None
            if options.tiebreak and risk_aversion >= 1:
                report.tiebreak, plan = self.least_expected_cost(plan, deadline)
            _store(self.model, self.compiled.columns, plan)
        report.solve_seconds = options.clock() - self._started
        return report

    def _polish(self, plan: np.ndarray, costs: np.ndarray, deadline: float | None) -> np.ndarray:
        """The cheapest plan (for `costs`, the objective HiGHS holds) with the integer decisions
        of `plan`: the LP with the integers fixed; `plan` when that LP does not end optimal
        (out of time) or is not cheaper.

        A plan of branch and bound has the best integer decisions to the gap, but its
        continuous part (volumes, spot, stock) need not be the best for those decisions
        (heuristics find such plans). Polished, every reported plan is the cheapest with its
        contracts, and an evaluation of it on its own scenarios gives the solve's figures."""
        h, compiled = self.highs, self.compiled
        ints = compiled.integer
        if not len(ints):
            return plan
        lower, upper = np.asarray(compiled.lp.col_lower_)[ints], np.asarray(compiled.lp.col_upper_)[ints]
        fixed = np.round(plan[ints])
        h.changeColsIntegrality(len(ints), ints, np.zeros(len(ints), dtype=np.uint8))
        h.changeColsBounds(len(ints), ints, fixed, fixed)
        try:
            status = run(h, deadline, self.options.clock)
            polished = np.asarray(h.getSolution().col_value) if status is RunStatus.OPTIMAL else None
        finally:
            h.changeColsBounds(len(ints), ints, lower, upper)
            h.changeColsIntegrality(len(ints), ints, np.ones(len(ints), dtype=np.uint8))
        if polished is None or costs @ polished > costs @ plan:
            return plan
        polished[ints] = fixed
        return polished

    def least_expected_cost(self, plan: np.ndarray, deadline: float | None = None) -> tuple[str, np.ndarray]:
        """The tie-break stage from `plan` (all columns): minimise expected cost subject to
        objective <= the plan's; returns ("applied" or "no change", the plan kept).

        HiGHS is left as it was found (the cap row removed, the first objective restored), so
        that a session can be solved again.
        """
        h, compiled = self.highs, self.compiled
        first = compiled.value(plan)
        cap = first - compiled.objective_offset + TIEBREAK_RELATIVE_SLACK * max(1.0, abs(first))
        nz = np.flatnonzero(compiled.objective)
        h.addRow(-highspy.kHighsInf, cap, len(nz), nz.astype(np.int32), compiled.objective[nz])
        set_costs(h, compiled.tiebreak, compiled.tiebreak_offset)
        try:
            set_full_solution(h, plan)
            status = run(h, deadline, self.options.clock)
            if not has_feasible_solution(h) or status is RunStatus.INFEASIBLE:
                return str(status), plan
            second = self._polish(np.asarray(h.getSolution().col_value), compiled.tiebreak, deadline)
        finally:
            h.deleteRows(1, np.array([h.getNumRow() - 1], dtype=np.int32))
            set_costs(h, compiled.objective, compiled.objective_offset)
        scale = max(1.0, abs(compiled.tiebreak @ plan))
        better = compiled.tiebreak @ second < compiled.tiebreak @ plan - 1e-9 * scale
        return ("applied" if better else "no change"), (second if better else plan)


def solve_model(model: pyo.ConcreteModel, risk_aversion: float, options: SolveOptions,
                money_scale: float = 1.0, start: list[tuple[object, float]] | None = None) -> SolveReport:
    """Solve `model` (built by `planner.model.create_model`) and store the plan in it.

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
