"""Solving a built Pyomo model with HiGHS through highspy.

Path into HiGHS: Pyomo's `LinearStandardFormCompiler` turns the model into sparse
matrices (Pyomo stays the single source of truth for the formulation), which are handed
to `highspy.Highs.passModel` in one call; the solution is written back into the Pyomo
variables. The termination status is checked before any value is read.

Two stages (MODEL.md section 3, last paragraph): at lambda = 1 the expected cost has no
weight, scenarios outside the CVaR tail do not count at all, and optimal plans may buy
needlessly there. After the first solve the objective is capped at its incumbent value
and the expected cost is minimised, warm-started from the first plan. The gap and bound
reported are those of the first, objective-defining stage. Below lambda = 1 the expected
cost carries weight 1 - lambda, so an optimal plan cannot buy needlessly; measured on a
6 x 15 x 8 x 30 instance at lambda = 0.5, a second stage took 23 s more than the 17 s
solve to move the expected cost by 1e-7 of itself, so it is not run there.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import highspy
import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp
from pyomo.core.expr.numvalue import is_constant
from pyomo.repn import generate_standard_repn
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from planner.decompose import Decomposition, DecompositionResult, find_structure

SOLVER_NAME = f"HiGHS {highspy.HIGHS_VERSION_MAJOR}.{highspy.HIGHS_VERSION_MINOR}.{highspy.HIGHS_VERSION_PATCH}"
# A tie-break may exceed the first stage's objective by this relative amount, no more.
TIEBREAK_RELATIVE_SLACK = 1e-9

_STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kTimeLimit: "time_limit",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnbounded: "unbounded",
    highspy.HighsModelStatus.kInterrupt: "interrupted",
    highspy.HighsModelStatus.kHighsInterrupt: "interrupted",
    highspy.HighsModelStatus.kIterationLimit: "iteration_limit",
    highspy.HighsModelStatus.kSolutionLimit: "solution_limit",
    highspy.HighsModelStatus.kMemoryLimit: "memory_limit",
}


@dataclass(frozen=True)
class SolveOptions:
    """What the user may set about the solve."""

    mip_gap: float = 1e-4  # relative
    time_limit: float | None = None  # seconds, whole solve (both stages)
    threads: int | None = None  # None: HiGHS chooses
    log: bool = False  # HiGHS log to stderr
    tiebreak: bool = True  # second stage: least expected cost among optimal plans
    decomposition: bool = True  # planning models: the decomposition phase first (planner.decompose)
    seed: int = 0
    # called during branch and bound with (seconds, incumbent or None, bound or None)
    progress: Callable[[float, float | None, float | None], None] | None = None


@dataclass
class SolveReport:
    """What the solver says about the plan now stored in the model's variables."""

    status: str
    has_plan: bool
    best_bound: float | None = None
    transfer_seconds: float = 0.0
    solve_seconds: float = 0.0
    sizes: dict[str, int] = field(default_factory=dict)
    solver: str = SOLVER_NAME
    tiebreak: str = "not run"  # "applied", "no change", "not run", or the stage's status
    method: str = "branch and bound"  # or "decomposition", "decomposition, then branch and bound"
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
    n, A = len(columns), info.A.tocsc()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, A.shape[0]
    lp.col_cost_ = costs[main]
    lp.offset_ = float(info.c_offset[main])
    inf = highspy.kHighsInf
    lp.col_lower_ = np.array([-inf if v.lb is None else v.lb for v in columns], dtype=float)
    lp.col_upper_ = np.array([inf if v.ub is None else v.ub for v in columns], dtype=float)
    rhs = np.asarray(info.rhs, dtype=float)
    sense = np.array([mult for _, mult in info.rows], dtype=int)
    lp.row_lower_ = np.where(sense <= 0, rhs, -inf)  # 0: equality, -1: >=
    lp.row_upper_ = np.where(sense >= 0, rhs, inf)  # 1: <=
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr
    lp.a_matrix_.index_ = A.indices
    lp.a_matrix_.value_ = A.data
    integer = [highspy.HighsVarType.kInteger if v.is_integer() else highspy.HighsVarType.kContinuous for v in columns]
    lp.integrality_ = integer
    return _Compiled(columns, lp, costs[main], float(info.c_offset[main]), costs[second],
                     float(info.c_offset[second]), int(A.nnz), _parametric_rows(info.rows, rhs),
                     [con for con, _ in info.rows])


@contextlib.contextmanager
def _stdout_silenced() -> Iterator[None]:
    """Silence file descriptor 1: highspy 1.16 prints its banner from C in the constructor."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


# HiGHS options that pay on this model family. Its root node is where the time goes (M: 0.44 s
# for the LP relaxation, 42 s at the root, 12.8 s of it in heuristic sub-MIPs); without RINS,
# RENS and the root reduced-cost heuristic, generated S solves in 0.6 s instead of 4.2 s and
# M in 20.0 s instead of 43.5 s, to the same optimum (benchmarks/, issue 8 notes).
HIGHS_OPTIONS = {
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_root_reduced_cost": False,
}


def _new_highs(options: SolveOptions) -> highspy.Highs:
    with _stdout_silenced():
        h = highspy.Highs()
    for name, value in HIGHS_OPTIONS.items():
        h.setOptionValue(name, value)
    h.setOptionValue("output_flag", options.log)
    h.setOptionValue("log_to_console", False)
    if options.log:
        h.cbLogging.subscribe(lambda event: sys.stderr.write(event.message))
    h.setOptionValue("mip_rel_gap", options.mip_gap)
    h.setOptionValue("random_seed", options.seed)
    if options.threads:
        h.setOptionValue("threads", options.threads)
    h.HandleKeyboardInterrupt = True  # Ctrl-C cancels the solve instead of waiting for it
    return h


def _quiet_highs(options: SolveOptions) -> highspy.Highs:
    """A HiGHS for the decomposition's blocks and master: the solve's options, no log."""
    return _new_highs(replace(options, log=False))


def _run(h: highspy.Highs) -> None:
    """Solve; a Ctrl-C during the solve cancels it and is raised again here."""
    h.solve()
    if h.getModelStatus() in (highspy.HighsModelStatus.kInterrupt, highspy.HighsModelStatus.kHighsInterrupt):
        raise KeyboardInterrupt


def _status_and_plan(h: highspy.Highs) -> tuple[str, bool]:
    status = _STATUS.get(h.getModelStatus(), "solver_error")
    has_plan = h.getInfo().primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
    return status, has_plan


def _set_time_limit(h: highspy.Highs, options: SolveOptions, started: float) -> bool:
    """Give HiGHS what remains of the time limit; False when nothing remains."""
    if options.time_limit is None:
        return True
    remaining = options.time_limit - (time.perf_counter() - started)
    if remaining <= 0:
        return False
    h.setOptionValue("time_limit", remaining)
    return True


def _run_tiebreak(h: highspy.Highs, compiled: _Compiled, plan: np.ndarray, options: SolveOptions,
                  started: float) -> tuple[str, np.ndarray]:
    """Minimise expected cost subject to objective <= its first-stage value.

    HiGHS is left as it was found (the cap row removed, the first objective restored), so
    that a session can be solved again.
    """
    first = float(compiled.objective @ plan) + compiled.objective_offset
    cap = first - compiled.objective_offset + TIEBREAK_RELATIVE_SLACK * max(1.0, abs(first))
    nz = np.flatnonzero(compiled.objective)
    h.addRow(-highspy.kHighsInf, cap, len(nz), nz.astype(np.int32), compiled.objective[nz])
    _set_costs(h, compiled.tiebreak, compiled.tiebreak_offset)
    try:
        _set_full_solution(h, plan)
        if not _set_time_limit(h, options, started):
            return "time_limit", plan
        _run(h)
        status, has_plan = _status_and_plan(h)
        if not has_plan:
            return status, plan
        second = np.asarray(h.getSolution().col_value)
    finally:
        h.deleteRows(1, np.array([h.getNumRow() - 1], dtype=np.int32))
        _set_costs(h, compiled.objective, compiled.objective_offset)
    scale = max(1.0, abs(compiled.tiebreak @ plan))
    better = compiled.tiebreak @ second < compiled.tiebreak @ plan - 1e-9 * scale
    return ("applied" if better else "no change"), (second if better else plan)


def _set_full_solution(h: highspy.Highs, values: np.ndarray) -> None:
    """A MIP start giving every column: HiGHS checks it as it is, it does not complete it."""
    start = highspy.HighsSolution()
    start.col_value = list(values)
    start.value_valid = True
    h.setSolution(start)


def _set_costs(h: highspy.Highs, costs: np.ndarray, offset: float) -> None:
    h.changeColsCost(len(costs), np.arange(len(costs), dtype=np.int32), costs)
    h.changeObjectiveOffset(offset)


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
    `options.decomposition`, each solve starts with the decomposition phase
    (`planner.decompose`) when the model has at least two materials with binaries.
    """

    def __init__(self, model: pyo.ConcreteModel, options: SolveOptions, planning: bool = False) -> None:
        started = time.perf_counter()
        self.model = model
        self.options = options
        self.compiled = _compile(model)
        self.column = {id(v): i for i, v in enumerate(self.compiled.columns)}
        self.highs = _new_highs(options)
        self.highs.passModel(self.compiled.lp)
        self.money_scale = 1.0  # of the solve under way: progress is reported in the user's money
        if options.progress is not None:
            self.highs.cbMipInterrupt.subscribe(self._relay_progress)
        self.sizes = {
            "variables": self.compiled.lp.num_col_,
            "binary_variables": int(sum(v.is_integer() for v in self.compiled.columns)),
            "constraints": self.compiled.lp.num_row_,
            "nonzeros": self.compiled.nonzeros,
        }
        self.decomposition = self._decomposition() if planning and options.decomposition else None
        self.transfer_seconds = time.perf_counter() - started
        self.last_plan: np.ndarray | None = None  # all columns of the last plan found
        self._starts: list = []  # MIP starts for the next branch and bound, set just before it

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
        self._progress(out.running_time, out.mip_primal_bound, out.mip_dual_bound)

    def _progress(self, seconds: float, incumbent: float | None, bound: float | None) -> None:
        scale = self.money_scale
        finite = lambda v: v * scale if v is not None and math.isfinite(v) else None  # noqa: E731
        self.options.progress(seconds, finite(incumbent), finite(bound))

    def refresh(self) -> None:
        """Push the model's current Param values into HiGHS."""
        started = time.perf_counter()
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
        _set_costs(h, c.objective, c.objective_offset)
        self.transfer_seconds = time.perf_counter() - started

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
                _set_full_solution(self.highs, values)
            else:
                self.highs.setSolution(len(index), index, values)
        self._starts = []

    def _decompose(self, started: float) -> DecompositionResult | None:
        options = self.options
        deadline = None if options.time_limit is None else started + options.time_limit
        log = (lambda text: sys.stderr.write(text)) if options.log else None
        return self.decomposition.run(
            self.highs, self.compiled.lp, self.compiled.objective, self.compiled.objective_offset,
            options.mip_gap, lambda: _quiet_highs(options), deadline,
            self._progress if options.progress is not None else None, log)

    def solve(self, risk_aversion: float, money_scale: float = 1.0) -> SolveReport:
        """Solve and store the plan in the model's variables (see `solve_model`).

        The decomposition phase (when the session has one) either proves its plan optimal to
        the gap, or hands it to branch and bound as a MIP start; the reported bound is then
        the better of its Lagrangian bound and HiGHS's.
        """
        started = time.perf_counter()
        self.money_scale = money_scale
        h, compiled, options = self.highs, self.compiled, self.options
        report = SolveReport(status="not_solved", has_plan=False, sizes=dict(self.sizes),
                             transfer_seconds=self.transfer_seconds)
        if not _set_time_limit(h, options, started):
            report.status = "time_limit"
            return report
        found = self._decompose(started) if self.decomposition is not None else None
        lower = -math.inf
        if found is not None:
            report.decomposition_rounds, lower = found.rounds, found.lower
        if found is not None and found.proven:
            report.method = "decomposition"
            report.status, report.has_plan, plan = "optimal", True, found.plan
        else:
            if self.decomposition is not None:  # the phase ran (it may have ended without a plan)
                report.method = "decomposition, then branch and bound"
            if found is not None and found.plan is not None:
                self.set_full_start(found.plan)
            self._push_starts()
            if not _set_time_limit(h, options, started):
                report.status, report.has_plan = "time_limit", found is not None and found.plan is not None
                plan = found.plan if report.has_plan else None
            else:
                _run(h)
                report.status, report.has_plan = _status_and_plan(h)
                plan = np.asarray(h.getSolution().col_value) if report.has_plan else None
                if report.has_plan and report.sizes["binary_variables"] > 0:
                    lower = max(lower, h.getInfo().mip_dual_bound)
                if found is not None and found.plan is not None and report.status != "infeasible":
                    if plan is None or found.upper < float(compiled.objective @ plan) + compiled.objective_offset:
                        report.has_plan, plan = True, found.plan  # HiGHS stopped before it improved on it
        if report.has_plan:
            self.last_plan = plan
            objective = float(compiled.objective @ plan) + compiled.objective_offset
            bound = lower if report.sizes["binary_variables"] > 0 else objective
            report.best_bound = float(bound) * money_scale if math.isfinite(bound) else None
            if options.tiebreak and risk_aversion >= 1:
                report.tiebreak, plan = _run_tiebreak(h, compiled, plan, options, started)
            _store(self.model, compiled.columns, plan)
        self._starts = []  # a start not used (the phase proved its plan) is not kept for the next solve
        report.solve_seconds = time.perf_counter() - started
        return report


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
