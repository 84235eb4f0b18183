"""The rounds of the decomposition phase (the mathematics: `planner.solve.decomposition`).

`Decomposition` belongs to one compiled planning model and lives as long as its session:
the blocks and the matrices sliced from the model. `PhaseRun` is one solve's phase: the
bounds and right-hand sides of that solve (a re-solve may change them), its deadline, the
block solvers, the block plans found and the plans tried.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import highspy
import numpy as np
import scipy.sparse as sp

import planner.solve.decomposition.first as first
import planner.solve.decomposition.rounding as rounding
import planner.solve.decomposition.whole as whole
from planner.solve.decomposition.block import BlockResult, BlockSpec, BlockTask, Codes, solve_block
from planner.solve.decomposition.fixing import Certificate, near, shared_binaries
from planner.solve.decomposition.master import solve_master
from planner.solve.decomposition.pool import WORKER_NICE, BlockPool
from planner.solve.decomposition.prices import (
    Prices,
    RiskForm,
    blend,
    fill_agreements,
    from_duals,
    plain,
    project,
)
from planner.solve.decomposition.restricted import restricted_mip, support
from planner.solve.decomposition.structure import Structure
from planner.solve.highs import RunStatus, columns_bounded, integrality, run, start_from_plan
from planner.solve.highs_checks import fixed_leak, run_fixed
from planner.solve.incumbent import Incumbent

if TYPE_CHECKING:
    from planner.solve.decomposition.cluster import DaskBlockPool

ROUNDS = 20  # at most this many pricing rounds
STALL_ROUNDS = 3  # stop when the bound gained under 1% of the gap over this many rounds
BLOCK_GAP_SHARE = 0.1  # each block MIP is solved to this share of the solve's gap


@dataclass
class Submitted:
    """Block tasks sent off (`PhaseRun.submit`): the pool's handle, None when solved here."""

    tasks: list[BlockTask]
    handle: list | None


@dataclass
class DecompositionResult:
    """What the phase found: the best plan (every column), its objective and the bound."""

    plan: np.ndarray | None
    upper: float  # objective of `plan` (model units), inf without a plan
    lower: float  # Lagrangian bound (model units), -inf without one
    rounds: int
    proven: bool  # (upper - lower) <= gap |upper|
    seconds: float = 0.0  # in the phase, on the solve's clock
    certificate: Certificate | None = None  # what `lower` is made of (`fixing`), None without a bound


class Decomposition:
    """The decomposition phase of one compiled planning model (kept with its session)."""

    def __init__(self, structure: Structure, matrix: sp.csr_matrix, by_column: sp.csc_matrix,
                 row_lower: np.ndarray, row_upper: np.ndarray) -> None:
        self.s = structure
        self.by_column = by_column  # the same matrix by column, to check a completed plan with its binaries exact
        rows = structure.linking_rows
        self.linking_matrix = matrix[rows]  # a_i, as compiled (the master keeps them so)
        # normalised linking rows g_i(x) = sign_i (a_i x - rhs_i) <= 0, priced by nu_i >= 0
        self.sign = np.where(np.isfinite(row_upper[rows]), 1.0, -1.0)
        self.normalised = (sp.diags(self.sign) @ self.linking_matrix).tocsr()
        self.block_matrices = [matrix[b.rows][:, b.all_columns].tocsc() for b in structure.blocks]
        self.block_linking = [self.linking_matrix[:, b.columns].tocsr() for b in structure.blocks]
        # the form the bound relies on: how eta, e_s, rho, beta_s and gamma_s enter the risk rows
        self.form = RiskForm.of(structure, self.normalised)
        # the rows over integer columns only (budget, agreement links, diversification), for `rounding`
        self.integer_rows = rounding.integer_rows(matrix, structure.integer)
        self.integer_row_matrix = matrix[self.integer_rows][:, structure.integer].tocsc()
        self.valid = self.form.valid

    def run(self, h: highspy.Highs, lp: highspy.HighsLp, costs: np.ndarray, offset: float, gap: float,
            new_highs: Callable[[], highspy.Highs], deadline: float | None, clock: Callable[[], float],
            best: Incumbent, progress: Callable[[float, float | None, float | None], None] | None = None,
            log: Callable[[str], None] | None = None, started: float | None = None,
            cancel: threading.Event | None = None, nice: int = 0, workers: int = 1,
            scheduler: str | None = None, early_plan: bool = False) -> DecompositionResult | None:
        """Run the phase on the whole model held by `h` (compiled as `lp`, costs `costs`).

        `deadline` is on `clock`; `started` is when the solve began (for progress). Plans go
        to `best`, which may also receive plans from elsewhere (a branch and bound running
        beside the phase); the phase ends early when `cancel` is set, and its HiGHS runs have
        priority lowered by `nice`; with `workers` > 1 the blocks of a round are solved side by
        side in that many processes (`pool`), with a `scheduler` address on the actors of that
        Dask cluster (`cluster`; `new_highs` must then be a `HighsFactory`). Returns None when
        the LP relaxation ends without an optimum (an infeasible model, the time limit): the
        caller then solves the whole model as usual. A block without an optimum ends the rounds with what was found.
        With `early_plan` (a limited solve) the LP relaxation's plan, rounded, is offered before
        the first round (`PhaseRun.relaxation_found`).
        """
        phase = PhaseRun(self, h, lp, costs, offset, new_highs, deadline, clock, best, cancel, nice, workers,
                         scheduler, early_plan)
        entered = clock()
        result = phase.execute(gap, entered if started is None else started, progress, log)
        if result is not None:
            result.seconds = clock() - entered
        return result

    def bound_at(self, h: highspy.Highs, lp: highspy.HighsLp, costs: np.ndarray, offset: float,
                 linking_prices: np.ndarray, agreement_prices: dict[tuple[int, int], float],
                 new_highs: Callable[[], highspy.Highs], clock: Callable[[], float]) -> float | None:
        """The Lagrangian bound L(q, beta, nu) at the given multipliers (model units), after
        projecting them onto the set where it holds: `linking_prices` per linking row (tail
        rows, worst-case rows, then the budget row), `agreement_prices` per (block, agreement column) copy.
        None when a block has no optimum."""
        phase = PhaseRun(self, h, lp, costs, offset, new_highs, None, clock, Incumbent(costs, offset))
        prices = project(Prices(np.asarray(linking_prices, dtype=float), dict(agreement_prices)),
                         self.form, costs)
        priced = phase.price(prices, phase.block_solvers(1e-9))
        return None if priced is None else priced.lower

    def shared_binaries(self, h: highspy.Highs, lp: highspy.HighsLp, costs: np.ndarray, offset: float,
                        certificate: Certificate, plan: np.ndarray, cap: float, gap: float,
                        new_highs: Callable[[], highspy.Highs], deadline: float | None,
                        clock: Callable[[], float], cancel: threading.Event | None = None,
                        nice: int = 0, workers: int = 1, scheduler: str | None = None) -> np.ndarray:
        """The integer columns every plan with objective <= `cap` has at `plan`'s values, by the
        phase's bound `certificate` (`fixing`); `lp` holds this solve's bounds. Its block MIPs
        end early when `cancel` is set (then fewer columns are fixed), at priority lowered by `nice`,
        on `workers` processes or the actors of the Dask cluster at `scheduler` as the phase's."""
        phase = PhaseRun(self, h, lp, costs, offset, new_highs, deadline, clock, Incumbent(costs, offset),
                         cancel, nice, workers, scheduler)
        return shared_binaries(phase, certificate, plan, cap, gap)


class PhaseRun:
    """One solve's decomposition phase (module docstring)."""

    def __init__(self, decomposition: Decomposition, h: highspy.Highs, lp: highspy.HighsLp, costs: np.ndarray,
                 offset: float, new_highs: Callable[[], highspy.Highs], deadline: float | None,
                 clock: Callable[[], float], best: Incumbent, cancel: threading.Event | None = None,
                 nice: int = 0, workers: int = 1, scheduler: str | None = None, early_plan: bool = False) -> None:
        self.decomposition = d = decomposition
        self.early_plan = early_plan  # offer the LP relaxation's plan, rounded (`relaxation_found`)
        self.workers, self.scheduler = workers, scheduler
        self.pool: BlockPool | DaskBlockPool | None = None
        self.h, self.costs, self.offset, self.new_highs = h, costs, offset, new_highs
        self.deadline, self.clock, self.best, self.cancel, self.nice = deadline, clock, best, cancel, nice
        # the whole model's bounds and right-hand sides as they are now (a re-solve may have changed them)
        self.lower0, self.upper0 = np.asarray(lp.col_lower_), np.asarray(lp.col_upper_)
        self.row_lower, self.row_upper = np.asarray(lp.row_lower_), np.asarray(lp.row_upper_)
        rows = d.s.linking_rows
        self.rhs = np.where(d.sign > 0, self.row_upper[rows], self.row_lower[rows])
        self.plans: list[list[np.ndarray]] = [[] for _ in d.s.blocks]  # block plans: its columns, then copies
        # per plan, its master column: (cost c_b x, linking-row usage a_i x)
        self.master_columns: list[list[tuple[float, np.ndarray]]] = [[] for _ in d.s.blocks]
        # per block, the basis its next task's root LP starts from: its last root basis (`block`, "Starts")
        self.starts: list[Codes | None] = [None] * len(d.s.blocks)
        self.tried: set[bytes] = set()  # integer decisions already completed into whole plans
        self.restricted_tried: set[bytes] = set()  # supports the restricted MIP was solved over

    # -- the phase ---------------------------------------------------------------------------------

    def execute(self, gap: float, started: float, progress: Callable | None,
                log: Callable | None) -> DecompositionResult | None:
        """First prices (the LP relaxation's duals, or plain ones: `first`), then the rounds."""
        s, h = self.decomposition.s, self.h
        ints = s.integer.astype(np.int32)
        # (the rounds fix the binaries to complete plans: their bounds are this solve's again after)
        with (integrality(h, ints, False), columns_bounded(h, ints, None, None, (self.lower0[ints], self.upper0[ints])),
              self.block_solvers_open(gap) as blocks):
            if first.lp_first(len(self.costs), gap):
                if not first.lp_relaxation(self, h, blocks):
                    return None
                solution = h.getSolution()
                prices = project(from_duals(np.asarray(solution.row_dual), s, self.decomposition.sign),
                                 self.decomposition.form, self.costs)
                signing = np.asarray(solution.col_value)[s.agreements] >= 0.5
                self.relaxation_found(h.getInfo().objective_function_value,
                                      np.asarray(solution.col_value)[s.integer], started, progress)
            else:
                prices = plain(s, self.decomposition.form, self.costs)
                signing = np.zeros(len(s.agreements), dtype=bool)
            return self.rounds(self.filled(prices), signing, blocks, gap, started, progress, log)

    @contextlib.contextmanager
    def block_solvers_open(self, gap: float) -> Iterator[list[highspy.Highs]]:
        """Where the blocks are solved for the `with` block: the pool's workers (`self.pool`, with
        more than one worker or a scheduler; closed after), or the HiGHS instances yielded."""
        s = self.decomposition.s
        integers = [b.has_integers for b in s.blocks]
        if self.scheduler is not None:
            from planner.solve.decomposition.cluster import DaskBlockPool

            self.pool = DaskBlockPool([self.block_spec(b, gap) for b in range(len(s.blocks))], self.new_highs,
                                      integers, self.scheduler)
        elif self.workers > 1 and len(s.blocks) > 1:
            self.pool = BlockPool(lambda b: self.block_solver(b, gap), [len(b.all_columns) for b in s.blocks],
                                  integers, self.workers, max(self.nice, WORKER_NICE))
        try:
            yield [] if self.pool else self.block_solvers(gap)
        finally:
            if self.pool is not None:
                self.pool.close()
                self.pool = None

    def rounds(self, prices: Prices, signing: np.ndarray, blocks: list[highspy.Highs], gap: float,
               started: float, progress: Callable | None, log: Callable | None) -> DecompositionResult:
        """Price, make plans, check the gap, ask the master for the next prices; `signing`
        (which agreements to sign) first from the LP relaxation, then from the master."""
        s, best = self.decomposition.s, self.best
        best_lower, best_prices, history, masters = -math.inf, prices, [], []
        certificate = None
        if best.plan is not None:  # a plan found before the phase: its parts are block plans
            for b, block in enumerate(s.blocks):
                self.add_plan(b, best.plan[block.all_columns])
        rounds = 0
        # prices from the best plan (`whole.supporting`): the objective of the last plan priced so, whether
        # this round's prices came from it, and whether such prices still help (none gave a bound
        # below the best yet)
        priced_upper, plan_priced, plan_prices_help = math.inf, False, True
        for rounds in range(1, ROUNDS + 1):
            if self.cancel is not None and self.cancel.is_set():
                break
            priced = self.price(prices, blocks)
            if priced is None:  # a block without an optimum: out of time, or infeasible
                break
            lower = priced.lower
            if plan_priced and lower < best_lower:
                plan_prices_help = False
            if lower > best_lower:
                best_lower, best_prices = lower, prices
                certificate = priced
            history.append(best_lower)
            # two plans: the union of the blocks' plans, and one signing `signing`, for which the
            # workers re-solve some blocks while the union is completed here
            union = whole.union_plan(self)
            re_solve = self.submit(whole.agreeing_tasks(self, signing), blocks)
            self.complete(union, partial(whole.put_together, self, union))
            again = self.collect(re_solve, blocks, wanted=not best.proven(gap, best_lower))
            if again is not None:
                agreeing = whole.agreeing_plan(self, signing, re_solve.tasks, again)
                if agreeing is not None:
                    self.complete(agreeing, partial(whole.put_together, self, agreeing))
            if progress is not None:
                progress(self.clock() - started, best.upper if math.isfinite(best.upper) else None, best_lower)
            if log is not None:
                log(f"decomposition round {rounds} ({self.clock() - started:.1f} s): "
                    f"bound {best_lower:.10g}, best plan {best.upper:.10g}\n")
            stalled = (len(history) > STALL_ROUNDS
                       and history[-1] - history[-1 - STALL_ROUNDS] < 0.01 * (best.upper - best_lower)
                       and (len(masters) < STALL_ROUNDS
                            or masters[-STALL_ROUNDS] - masters[-1] < 0.01 * (best.upper - best_lower)))
            if best.proven(gap, best_lower):
                break
            last = stalled or rounds == ROUNDS
            master = None if last else self.master(masters, log)
            if master is None or not math.isfinite(best.upper) or self.out_of_reach(master[2], gap):
                # The rounds cannot prove the best plan, or there is none: a plan from the options the
                # blocks use (`restricted`), once per set of options; then on while the master can. Not
                # when the rounds stalled near the bound: branch and bound then fixes what every better
                # plan shares (`fixing.near`), and finds such a plan in less time.
                if not (last and near(best, best_lower, gap)) and self.restricted_plan(log):
                    master = None if last or best.proven(gap, best_lower) else self.master(masters, log)
                if master is None or self.out_of_reach(master[2], gap):
                    break
            master_prices, signing, _ = master
            prices = self.filled(project(blend(best_prices, master_prices), self.decomposition.form, self.costs))
            plan_priced = plan_prices_help and best.plan is not None and best.upper < priced_upper
            if plan_priced:  # a new best plan: price what it does (filled prices stay filled)
                prices, priced_upper = whole.supporting(self, prices, best.plan), best.upper
        best.bound(best_lower)
        return DecompositionResult(best.plan, best.upper, best_lower, rounds, best.proven(gap, best_lower),
                                   certificate=certificate)

    def filled(self, prices: Prices) -> Prices:
        """`prices` with each agreement's copies raised to its cap (`prices.fill_agreements`)."""
        return fill_agreements(prices, self.decomposition.s, self.costs, self.decomposition.normalised)

    def master(self, masters: list[float], log: Callable | None) -> tuple[Prices, np.ndarray, float] | None:
        """The restricted master (`master`); its value is kept in `masters`."""
        found = solve_master(self)
        if found is not None:
            masters.append(found[2])
            if log is not None:
                log(f"decomposition master: {found[2]:.10g}\n")
        return found

    def out_of_reach(self, master_value: float, gap: float) -> bool:
        """Whether no prices can prove the best plan: the master's value is at least the best bound
        any prices can give (the full master's, over every block plan). False without a plan."""
        upper = self.best.upper
        return math.isfinite(upper) and master_value < upper - (gap + 1e-9) * abs(upper)

    def restricted_plan(self, log: Callable | None) -> bool:
        """Offer the restricted MIP's plan (`restricted`) unless its options were tried before;
        True when it improved the best plan."""
        free = support(self)
        key = free.tobytes()
        if key in self.restricted_tried:
            return False
        self.restricted_tried.add(key)
        before = self.best.upper
        plan = restricted_mip(self, free)
        if plan is not None:
            self.complete(np.round(plan[self.decomposition.s.integer]), lambda: plan)
        if log is not None:
            log(f"decomposition restricted MIP over {int(free.sum())} of {len(free)} binaries: "
                f"best plan {self.best.upper:.10g}\n")
        return self.best.upper < before

    # -- solves ------------------------------------------------------------------------------------

    def run_lp(self, h: highspy.Highs) -> bool:
        """Solve with what remains of the time; True when optimal."""
        return run(h, self.deadline, self.clock, self.cancel, self.nice) is RunStatus.OPTIMAL

    def block_solvers(self, gap: float) -> list[highspy.Highs]:
        """One HiGHS per block, holding its rows with this solve's bounds."""
        return [self.block_solver(b, gap) for b in range(len(self.decomposition.s.blocks))]

    def block_spec(self, b: int, gap: float) -> BlockSpec:
        """What block b's HiGHS is built from, with this solve's bounds."""
        d = self.decomposition
        block = d.s.blocks[b]
        columns = block.all_columns
        return BlockSpec(d.block_matrices[b], self.lower0[columns], self.upper0[columns], self.row_lower[block.rows],
                         self.row_upper[block.rows], np.isin(columns, d.s.integer), gap * BLOCK_GAP_SHARE)

    def block_solver(self, b: int, gap: float) -> highspy.Highs:
        """The HiGHS instance of block b (in this process, or in a worker of the pool)."""
        return self.block_spec(b, gap).build(self.new_highs)

    def seconds_left(self) -> float | None:
        """What is left of the solve's time on its clock (None: no limit)."""
        return None if self.deadline is None else self.deadline - self.clock()

    def price(self, prices: Prices, blocks: list[highspy.Highs]) -> Certificate | None:
        """Solve every block at `prices` (each block's plan is kept) and return the Lagrangian
        bound L(prices) with what it is made of, or None when a block has no optimum."""
        d = self.decomposition
        reduced = self.costs + d.normalised.T @ prices.rows
        lower = self.offset - float(prices.rows @ self.rhs)
        if self.cancel is not None and self.cancel.is_set():
            return None
        results = self.solve_blocks(self.block_tasks(prices, reduced), blocks)
        for b in range(len(d.s.blocks)):
            if b not in results or not results[b].ok:
                return None
            lower += results[b].bound
            self.add_plan(b, results[b].values)
        self.keep_starts(results)
        for j in d.s.linking_columns:  # eta, e_s and w_g: min over their bounds
            r = reduced[j] - sum(prices.copies.get((b, j), 0.0) for b in range(len(d.s.blocks)))
            if abs(r) <= 1e-12 * max(1.0, abs(self.costs[j])):
                continue
            bound = self.lower0[j] if r > 0 else self.upper0[j]
            lower += r * bound if math.isfinite(bound) else -math.inf
        return Certificate(prices, lower, [results[b].bound for b in range(len(d.s.blocks))], list(self.starts))

    def keep_starts(self, results: dict[int, BlockResult]) -> None:
        """The root bases of `results` (a round's MIPs, the first LP relaxation's block LPs) as
        their blocks' next starts."""
        for b, result in results.items():
            if result.basis is not None:
                self.starts[b] = result.basis

    def block_tasks(self, prices: Prices, reduced: np.ndarray | None = None) -> list[BlockTask]:
        """A task per block at `prices`: its columns' costs c + A^T nu (`reduced`, when given,
        holds them for every column), then its copies' prices. Its time is the solve's deadline:
        here `run_lp`'s, on a worker what is left when the task is sent (`Dispatch.as_sent`); its
        root LP starts from the block's last root basis (`starts`)."""
        d = self.decomposition
        if reduced is None:
            reduced = self.costs + d.normalised.T @ prices.rows
        return [BlockTask(b, np.concatenate([reduced[block.columns], [prices.copies.get((b, g), 0.0)
                                                                       for g in block.copies]]),
                          start=self.starts[b])
                for b, block in enumerate(d.s.blocks)]

    def solve_blocks(self, tasks: list[BlockTask], blocks: list[highspy.Highs]) -> dict[int, BlockResult]:
        """The tasks on the pool's workers (`Dispatch.solve`), or here on `blocks` (`solve_here`)."""
        if self.pool is not None:
            return self.pool.solve(tasks, self.seconds_left) if tasks else {}
        return self.solve_here(tasks, blocks)

    def submit(self, tasks: list[BlockTask], blocks: list[highspy.Highs]) -> Submitted:
        """Send the tasks to the pool's workers and return at once; without a pool they wait
        for `collect`. Every submit is collected before the next."""
        sent = self.pool.submit(tasks, self.seconds_left) if self.pool is not None and tasks else None
        return Submitted(tasks, sent)

    def collect(self, submitted: Submitted, blocks: list[highspy.Highs],
                wanted: bool = True) -> dict[int, BlockResult] | None:
        """The results of submitted tasks, or None when not `wanted` (the pool's are dropped,
        not waited for; here they are not solved); without a pool they are solved now
        (`solve_here`)."""
        if not wanted:
            if submitted.handle is not None and self.pool is not None:
                self.pool.drop(submitted.handle)
            return None
        if submitted.handle is not None and self.pool is not None:
            return self.pool.collect(submitted.handle)
        return self.solve_here(submitted.tasks, blocks)

    def solve_here(self, tasks: list[BlockTask], blocks: list[highspy.Highs]) -> dict[int, BlockResult]:
        """The tasks solved in this process on `blocks`, by the calls a worker makes
        (`block.solve_block`) but each run interruptible and within the solve's deadline (`run`),
        stopping at the first block without an optimum, unless it is infeasible."""
        results: dict[int, BlockResult] = {}
        for task in tasks:
            result = solve_block(blocks[task.block], task, self.decomposition.s.blocks[task.block].has_integers,
                                 run=self.run_lp)
            results[task.block] = result
            if not result.ok and not result.infeasible:
                break
        return results

    def complete(self, integer_values: np.ndarray, start: Callable[[], np.ndarray] | None = None,
                 block_plans: bool = True) -> None:
        """The whole model's LP with the binaries fixed: a plan, offered to the incumbent (and its
        parts kept as block plans for the master, unless `block_plans` is False).

        HiGHS starts the LP from its last basis (the LP relaxation's, or the last completion's);
        without one (first prices not from the LP relaxation, `first.lp_first`; after the
        restricted MIP) from `start()`, a whole plan with these integer values, from which HiGHS
        builds a basis (far fewer iterations than from scratch). A start is made only then: with
        a basis, the basis of a neighbouring plan is the better one (README, "How a plan is
        solved")."""
        key = integer_values.tobytes()
        if key in self.tried:
            return
        self.tried.add(key)
        h, d = self.h, self.decomposition
        s = d.s
        ints = s.integer.astype(np.int32)
        h.changeColsBounds(len(ints), ints, integer_values, integer_values)
        if start is not None and not h.getBasis().valid:
            start_from_plan(h, start())
        status = run_fixed(h, lambda: run(h, self.deadline, self.clock, self.cancel, self.nice),
                           lambda: fixed_leak(h, d.by_column, self.row_lower, self.row_upper, ints, integer_values))
        if status is RunStatus.OPTIMAL:
            plan = np.array(h.getSolution().col_value)
            plan[s.integer] = integer_values  # (as fixed: exactly, and the rows hold so, `run_fixed`)
            for b, block in enumerate(s.blocks if block_plans else []):  # its part in each block is a block plan
                self.add_plan(b, plan[block.all_columns])
            self.best.offer(plan, polished=True)

    def relaxation_found(self, value: float, relaxed: np.ndarray, started: float, progress: Callable | None) -> None:
        """What the LP relaxation gives before the rounds: its value `value` (model units, with the
        offset), a bound of the whole model; and with `early_plan` (a limited solve) a first plan
        from its integer values `relaxed` rounded (`rounding`), completed and offered, in case the
        limit comes before the first round's plans."""
        self.best.bound(value)
        if self.early_plan:
            d = self.decomposition
            ints, rows = d.s.integer, d.integer_rows
            values = rounding.rounded(relaxed, self.lower0[ints], self.upper0[ints], d.integer_row_matrix,
                                      self.row_lower[rows], self.row_upper[rows])
            if values is not None:  # (its parts become block plans as the best plan's, if it is: `rounds`)
                self.complete(values, block_plans=False)
        if progress is not None:
            progress(self.clock() - started, self.best.upper if self.best.plan is not None else None, self.best.lower)

    def add_plan(self, b: int, plan: np.ndarray) -> None:
        """Keep a plan of block b (values of its columns, then its copies) for the master."""
        block = self.decomposition.s.blocks[b]
        x = plan[:len(block.columns)]
        self.plans[b].append(plan)
        self.master_columns[b].append((float(self.costs[block.columns] @ x),
                                       self.decomposition.block_linking[b] @ x))
