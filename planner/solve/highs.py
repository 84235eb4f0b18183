"""The one place where HiGHS is created and run: options, time limits, Ctrl-C, status.

Every solve of planner (the whole model, the decomposition's blocks and master, the
elastic model of a diagnosis, an evaluation) goes through `run`. It runs HiGHS in a helper
thread while the main thread waits, so that Ctrl-C reaches Python at once: the solve is
asked to stop (HiGHS's interrupt callbacks see the request at its next iteration or node)
and `KeyboardInterrupt` is raised within `INTERRUPT_GRACE` seconds, whether HiGHS has
stopped by then or not. An interrupt is never lost: HiGHS ending "interrupted" raises it too.

A run HiGHS has not ended yet (it may still be stopping after Ctrl-C) keeps its instance
`in_use`: a call on it then (new bounds, a row deleted) would crash the process, so code that
gives an instance back as it found it (`finally:`) does so only when it is not in use. Whether
HiGHS has ended is read from the run's own event, never from `Thread.join`: in Python 3.11 a
join interrupted by Ctrl-C marks the thread ended while it still runs.

HiGHS does not see a stop during the first LP of a branch and bound (on a large model it takes
minutes), nor its own time limit there or in parts of presolve, so a run the solve no longer
needs may be left to end alone (`HighsRun.leave`): its plans are no longer taken, its instance
stays in use until it ends, and a process about to solve again waits for it
(`wait_for_left_runs`). A branch and bound whose deadline has passed is left so too
(`HighsRun.wait(leave_after=...)`; what it overran by: docs/performance.md, "Scale").
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum

import highspy
import numpy as np
import scipy.sparse as sp

from planner.errors import InstallationError, PlannerError
from planner.options import SolveOptions
from planner.processes import usable_cores
from planner.status import GAP_FLOOR

HIGHS_VERSION = (highspy.HIGHS_VERSION_MAJOR, highspy.HIGHS_VERSION_MINOR, highspy.HIGHS_VERSION_PATCH)
SOLVER_NAME = "HiGHS {}.{}.{}".format(*HIGHS_VERSION)
# The oldest HiGHS planner's suite passes with (pyproject.toml asks for it). With 1.13-1.15 the
# suite's random instances found a plan 2.4% dearer than the optimum called optimal (1.12 and
# older lack options and statuses planner uses): planner refuses to solve with them.
OLDEST_HIGHS = (1, 16, 0)
if HIGHS_VERSION < OLDEST_HIGHS:
    raise InstallationError(f"planner needs HiGHS {'.'.join(map(str, OLDEST_HIGHS))} or later, and this Python "
                            f"({sys.executable}) has {SOLVER_NAME}, with which planner's tests fail (1.13-1.15 "
                            "called a plan 2.4% dearer than the optimum optimal): pip install --upgrade highspy")

INTERRUPT_GRACE = 0.5  # seconds HiGHS gets to stop after Ctrl-C before KeyboardInterrupt is raised anyway
_POLL = 0.05  # seconds between checks of the solver thread
HIGHS_INT_MAX = 2**31 - 1  # HiGHS's integer options are 32-bit: a node limit above is no limit
_IN_USE: dict[int, int] = {}  # id of a HiGHS instance -> its runs not ended yet
_LEFT: list[HighsRun] = []  # runs left to end alone (`HighsRun.leave`), until `wait_for_left_runs`
_IN_USE_LOCK = threading.Lock()

# HiGHS also stops at an absolute gap (1e-6 by default, in model units), which let it call a plan
# optimal that the solve's relative gap had not proven (an objective near 1 asked to 1e-9): then
# planner reported no plan at all (`status solver_error`). Its absolute gap is therefore the
# relative gap times the floor of the denominator by which planner judges a proof
# (`incumbent.within_gap`), so that HiGHS's proof is planner's. The blocks keep HiGHS's default
# (`block.BLOCK_OPTIONS`): their bounds are summed into the phase's, which is judged as a whole.
# HiGHS's feasibility and integrality tolerances where the defaults let a plan through that breaks a
# row: the second branch and bound of a solve (`session`), and a solve again (`SolveOptions.strict_tolerances`)
STRICT_TOLERANCE = 1e-9

# HiGHS options that pay on this model family: no RINS, RENS or root reduced-cost heuristic,
# no restart after the root (the model has few binaries and a large LP, every scenario's
# recourse: a restart repeats presolve and the root cut loop on it), and cuts separated at the
# root only (at the nodes, separation over that LP grew the cut pool past 13,000 rows on L
# under a binding budget and cost more than the bound it gained). The measurements: docs/performance.md, "Performance".
HIGHS_OPTIONS = {
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_root_reduced_cost": False,
    "mip_allow_restart": False,
    "mip_allow_cut_separation_at_nodes": False,
}


class RunStatus(StrEnum):
    """How one HiGHS run ended."""

    OPTIMAL = "optimal"
    TIME_LIMIT = "time_limit"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    SOLUTION_LIMIT = "solution_limit"  # stopped at the first plan, when asked to
    NODE_LIMIT = "node_limit"  # stopped by a node or iteration limit
    CANCELLED = "cancelled"  # stopped by another part of the solve (`HighsRun.stop`, `cancel`)
    SOLVER_ERROR = "solver_error"


_STATUS = {
    highspy.HighsModelStatus.kOptimal: RunStatus.OPTIMAL,
    highspy.HighsModelStatus.kTimeLimit: RunStatus.TIME_LIMIT,
    highspy.HighsModelStatus.kInfeasible: RunStatus.INFEASIBLE,
    highspy.HighsModelStatus.kUnboundedOrInfeasible: RunStatus.INFEASIBLE,
    highspy.HighsModelStatus.kUnbounded: RunStatus.UNBOUNDED,
    highspy.HighsModelStatus.kIterationLimit: RunStatus.NODE_LIMIT,
    highspy.HighsModelStatus.kSolutionLimit: RunStatus.SOLUTION_LIMIT,
}
_INTERRUPTED = (highspy.HighsModelStatus.kInterrupt, highspy.HighsModelStatus.kHighsInterrupt)


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


def set_option(h: highspy.Highs, name: str, value: object) -> None:
    """Set a HiGHS option, or raise: HiGHS refuses a value out of its range with a status and
    keeps the value it had, so an unchecked call let a value planner meant go unused."""
    if h.setOptionValue(name, value) != highspy.HighsStatus.kOk:
        raise PlannerError(f"HiGHS refused its option {name} = {value!r}: a bug in planner, please report it")


@dataclass(frozen=True)
class HighsFactory:
    """Makes HiGHS instances with fixed option values. Plain data, so it can be pickled: the
    decomposition's blocks are built from it in worker processes and on Dask workers."""

    values: tuple[tuple[str, bool | int | float | str], ...]
    log: bool = False

    def __call__(self) -> highspy.Highs:
        with _stdout_silenced():
            h = highspy.Highs()
        for name, value in self.values:
            set_option(h, name, value)
        if self.log:
            h.cbLogging.subscribe(lambda event: sys.stderr.write(event.message))
        return h


def highs_factory(settings: SolveOptions, log: bool | None = None, threads: int | None = None) -> HighsFactory:
    """The factory of `new_highs` (`log` and `threads` override the settings)."""
    log = settings.log if log is None else log
    threads = settings.threads if threads is None else threads
    values: dict[str, bool | int | float | str] = {**HIGHS_OPTIONS, "output_flag": log, "log_to_console": False,
                                                   "mip_rel_gap": settings.mip_gap,
                                                   "mip_abs_gap": settings.mip_gap * GAP_FLOOR,
                                                   "random_seed": settings.seed}
    if threads:
        values["threads"] = threads
    if settings.strict_tolerances:
        values["primal_feasibility_tolerance"] = values["mip_feasibility_tolerance"] = STRICT_TOLERANCE
    if settings.node_limit is not None:
        values["mip_max_nodes"] = min(settings.node_limit, HIGHS_INT_MAX)
    return HighsFactory(tuple(values.items()), log)


def threads_beside_phase(threads: int | None) -> int:
    """HiGHS threads for a branch and bound that runs beside the decomposition phase (a limited
    solve): one fewer than it would have alone (`threads`, or every core this process may use),
    at least one, so that the phase, at its lower priority, has a core: with all of them, HiGHS's
    threads kept both cores of a 2-core machine busy and the phase got next to none
    (docs/performance.md, "How a plan is solved")."""
    cores = threads or usable_cores()
    return max(1, cores - 1)


def new_highs(settings: SolveOptions, log: bool | None = None) -> highspy.Highs:
    """A HiGHS instance with planner's options and the user's gap, threads, seed, node limit
    and log (`log` overrides the setting: the decomposition's blocks never log)."""
    return highs_factory(settings, log)()


def start_from_plan(h: highspy.Highs, plan: np.ndarray) -> None:
    """Give HiGHS `plan` (every column) as its start: for an LP it builds a basis from it."""
    solution = highspy.HighsSolution()
    solution.col_value = plan
    solution.value_valid = True
    h.setSolution(solution)


def start_from_basis(h: highspy.Highs, basis: highspy.HighsBasis | None) -> bool:
    """Give HiGHS `basis` when there is one with a status per column and row (HiGHS 1.16 crashes
    on a basis of another size, so that is checked here); True when HiGHS took it."""
    if basis is None or (len(basis.col_status), len(basis.row_status)) != (h.getNumCol(), h.getNumRow()):
        return False
    return h.setBasis(basis) == highspy.HighsStatus.kOk


# Changes to a HiGHS instance for the length of a `with` block: each is undone when the block
# ends (also by an exception, Ctrl-C included), unless HiGHS is still in use (`in_use`).

@contextlib.contextmanager
def columns_bounded(h: highspy.Highs, columns: np.ndarray, lower: np.ndarray | None, upper: np.ndarray | None,
                    restore: tuple[np.ndarray, np.ndarray]) -> Iterator[None]:
    """Columns `columns` of `h` between `lower` and `upper` (left as they are when None), then
    given the bounds `restore` (lower, upper)."""
    columns = np.asarray(columns, dtype=np.int32)
    if lower is not None and upper is not None:
        h.changeColsBounds(len(columns), columns, lower, upper)
    try:
        yield
    finally:
        if not in_use(h):
            h.changeColsBounds(len(columns), columns, *restore)


def columns_fixed(h: highspy.Highs, lp: highspy.HighsLp, columns: np.ndarray,
                  values: np.ndarray) -> contextlib.AbstractContextManager[None]:
    """Columns `columns` of `h` fixed at `values`, then given back their bounds in `lp` (the
    model as compiled)."""
    columns = np.asarray(columns, dtype=np.int32)
    return columns_bounded(h, columns, values, values,
                           (np.asarray(lp.col_lower_)[columns], np.asarray(lp.col_upper_)[columns]))


@contextlib.contextmanager
def integrality(h: highspy.Highs, columns: np.ndarray, integer: bool) -> Iterator[None]:
    """Columns `columns` of `h` integer (`integer`) or continuous, then the other way round."""
    columns = np.asarray(columns, dtype=np.int32)
    on, off = np.ones(len(columns), dtype=np.uint8), np.zeros(len(columns), dtype=np.uint8)
    h.changeColsIntegrality(len(columns), columns, on if integer else off)
    try:
        yield
    finally:
        if not in_use(h):
            h.changeColsIntegrality(len(columns), columns, off if integer else on)


@contextlib.contextmanager
def option_set(h: highspy.Highs, name: str, value: object) -> Iterator[None]:
    """HiGHS option `name` of `h` at `value`, then at what it was."""
    _, before = h.getOptionValue(name)  # (status, value)
    set_option(h, name, value)
    try:
        yield
    finally:
        if not in_use(h):
            set_option(h, name, before)


def in_use(h: highspy.Highs) -> bool:
    """Whether a run of `h` has not ended: HiGHS is still at work on it in a thread (after
    Ctrl-C, until it reaches its next interrupt check), so nothing may be changed on it."""
    with _IN_USE_LOCK:
        return id(h) in _IN_USE


def _count_run(h: highspy.Highs, change: int) -> None:
    with _IN_USE_LOCK:
        left = _IN_USE.get(id(h), 0) + change
        if left:
            _IN_USE[id(h)] = left
        else:
            _IN_USE.pop(id(h), None)


class HighsRun:
    """One run of HiGHS in a thread of its own (module docstring).

    `deadline` is on `clock`; a run whose deadline has passed does not start and ends
    TIME_LIMIT. `cancel` (an event another part of the solve may set) and `stop()` end it
    early: it then ends CANCELLED. `nice` lowers the priority of the run's thread (Linux),
    so that a run made in the background gives way to the one that matters. A MIP run hands
    out its improving plans (`improved`), asks for plans found elsewhere (`provide`) and
    reports its best plan's objective and its dual bound (`progress`) as it goes.
    """

    def __init__(self, h: highspy.Highs, deadline: float | None = None,
                 clock: Callable[[], float] = time.perf_counter, cancel: threading.Event | None = None,
                 nice: int = 0, provide: Callable[[], np.ndarray | None] | None = None,
                 improved: Callable[[np.ndarray], None] | None = None,
                 progress: Callable[[float, float], None] | None = None) -> None:
        self.h, self.cancel, self.nice = h, cancel, nice
        self.deadline, self.clock = deadline, clock
        self._progress = progress
        self._provide, self._improved = provide, improved
        self.finished = threading.Event()
        self._stop = threading.Event()
        self._left = False  # `leave`: no plans in or out any more
        self._timed_out = False  # stopped by `wait` at its deadline
        self._status: RunStatus | None = None
        if deadline is not None:
            remaining = deadline - clock()
            if remaining <= 0:
                self._status = RunStatus.TIME_LIMIT
                self.finished.set()
                return
            set_option(h, "time_limit", remaining)
        else:
            set_option(h, "time_limit", highspy.kHighsInf)
        self._hooks = [(h.cbSimplexInterrupt, self._check), (h.cbIpmInterrupt, self._check),
                       (h.cbMipInterrupt, self._check)]
        if provide is not None:
            self._hooks.append((h.cbMipUserSolution, self._give))
        if improved is not None:
            self._hooks.append((h.cbMipImprovingSolution, self._take))
        if progress is not None:
            self._hooks.append((h.cbMipInterrupt, self._report))
        for hook, callback in self._hooks:
            hook.subscribe(callback)
        _count_run(h, +1)
        threading.Thread(target=self._run, name="highs", daemon=True).start()

    def _check(self, event: highspy.cb.HighsCallbackEvent) -> None:
        # set the flag, or clear it: HiGHS keeps it between runs, and a run after a stopped
        # one would otherwise stop at its first callback
        event.interrupt(self._stop.is_set() or (self.cancel is not None and self.cancel.is_set()))

    def _give(self, event: highspy.cb.HighsCallbackEvent) -> None:
        if self._left:
            return
        plan = self._provide()
        if plan is not None:
            event.data_in.setSolution(np.asarray(plan, dtype=float))

    def _report(self, event: highspy.cb.HighsCallbackEvent) -> None:
        if not self._left:
            self._progress(event.data_out.mip_primal_bound, event.data_out.mip_dual_bound)

    def _take(self, event: highspy.cb.HighsCallbackEvent) -> None:
        if not self._left:
            self._improved(np.asarray(event.data_out.mip_solution))

    def _run(self) -> None:
        try:
            if self.nice and hasattr(os, "setpriority"):
                with contextlib.suppress(OSError):
                    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.nice)
            self.h.run()
        finally:
            _count_run(self.h, -1)
            self.finished.set()

    def stop(self) -> None:
        """Ask HiGHS to stop at its next callback; `wait` then returns CANCELLED."""
        self._stop.set()

    def leave(self) -> None:
        """Stop the run and let it end on its own, unwaited: from now on it gives and takes no
        plans. Its HiGHS stays `in_use` until it ends, and is not to be used again."""
        if not self._left:
            _LEFT.append(self)
        self._left = True
        self._stop.set()

    @property
    def left(self) -> bool:
        """Whether the run was left to end alone (`leave`): nothing of it may be read."""
        return self._left

    def wait(self, leave_after: float | None = None) -> RunStatus:
        """Wait for the run to end (Ctrl-C: stop it, and raise KeyboardInterrupt within the grace).

        With `leave_after` (seconds) and a deadline, a run still going `leave_after` seconds past
        its deadline (on its clock) is stopped, and left to end alone (`leave`) when it has not
        ended `leave_after` seconds later: it then ends TIME_LIMIT with `left` set, and its
        instance, still in use, must not be read."""
        if self._status is not None:
            return self._status
        try:
            while not self.finished.wait(_POLL):
                if leave_after is not None and self._past_deadline(leave_after):
                    self._timed_out = True
                    self._stop.set()
                    if not self.finished.wait(leave_after):
                        self.leave()
                        self._status = RunStatus.TIME_LIMIT
                        return self._status
        except KeyboardInterrupt:
            self._stop.set()
            if not self.finished.wait(INTERRUPT_GRACE):
                self.leave()  # a process that goes on (a Dask worker) waits for it before it solves again
            raise
        for hook, callback in self._hooks:
            hook.unsubscribe(callback)
        model_status = self.h.getModelStatus()
        if model_status in _INTERRUPTED:
            if not (self._stop.is_set() or (self.cancel is not None and self.cancel.is_set())):
                raise KeyboardInterrupt  # HiGHS was interrupted, and not by us: treat it as Ctrl-C
            self._status = RunStatus.TIME_LIMIT if self._timed_out else RunStatus.CANCELLED
        else:
            self._status = _STATUS.get(model_status, RunStatus.SOLVER_ERROR)
        return self._status

    def _past_deadline(self, seconds: float) -> bool:
        return self.deadline is not None and self.clock() >= self.deadline + seconds


def wait_for_left_runs() -> None:
    """Wait until every run left to end alone (`HighsRun.leave`) in this process has ended: a
    process that solves again (a sweep's worker) then gives the next solve the cores and memory
    those runs held. Ctrl-C stops the wait."""
    while _LEFT:
        while not _LEFT[0].finished.wait(_POLL):
            pass
        _LEFT.pop(0)


def run(h: highspy.Highs, deadline: float | None = None, clock: Callable[[], float] = time.perf_counter,
        cancel: threading.Event | None = None, nice: int = 0) -> RunStatus:
    """Run HiGHS until it ends, `deadline` passes or `cancel` is set (`HighsRun`); raises
    KeyboardInterrupt on Ctrl-C."""
    return HighsRun(h, deadline, clock, cancel, nice).wait()


def within(seconds: float | None, clock: Callable[[], float] = time.perf_counter) -> Callable[[highspy.Highs], bool]:
    """Runs of HiGHS in the calling thread within `seconds` from now (None: no limit), each True
    when optimal: each run gets what is left, and one that would start out of time does not start
    (as `HighsRun`). What a worker process runs its blocks by (`decomposition.block`), where no
    Ctrl-C reaches and nothing else stops a run."""
    end = None if seconds is None else clock() + seconds

    def run(h: highspy.Highs) -> bool:
        left = highspy.kHighsInf if end is None else end - clock()
        if left <= 0:
            return False
        set_option(h, "time_limit", left)
        h.run()
        return h.getModelStatus() == highspy.HighsModelStatus.kOptimal

    return run


def set_costs(h: highspy.Highs, costs: np.ndarray, offset: float) -> None:
    h.changeColsCost(len(costs), np.arange(len(costs), dtype=np.int32), costs)
    h.changeObjectiveOffset(offset)


def highs_lp(matrix: sp.spmatrix, cost: np.ndarray, col_lower: np.ndarray, col_upper: np.ndarray,
             row_lower: np.ndarray, row_upper: np.ndarray, integer: np.ndarray | None = None,
             offset: float = 0.0) -> highspy.HighsLp:
    """A HiGHS model of `matrix` (any scipy format) with these costs, bounds and integer columns."""
    matrix = sp.csc_matrix(matrix)
    lp = highspy.HighsLp()
    lp.num_row_, lp.num_col_ = matrix.shape
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, col_lower, col_upper
    lp.row_lower_, lp.row_upper_ = row_lower, row_upper
    lp.offset_ = offset
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = matrix.indptr, matrix.indices, matrix.data
    if integer is not None:
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous for i in integer]
    return lp
