"""Lagrangian decomposition by material: the first phase of a planning solve.

The materials of the sourcing model share only three things: the CVaR of the scenario
costs (its tail rows sum every material's recourse cost), the agreements (w_g gates
options of several materials) and the budget. Everything else, contracts, spot, stock,
service levels and policy limits, belongs to one material. With those links priced
instead of enforced, the model falls apart into one small MIP per material, which HiGHS
solves in a fraction of the time it spends on the whole (its root cut loop grows with the
number of rows, and the whole has all of them).

The bound. CVaR_alpha(C) = max { sum_s q_s C_s : sum_s q_s = 1, 0 <= q_s <= p_s/(1-alpha) }
(the LP dual of the Rockafellar-Uryasev form), so for any such q, any beta >= 0 splitting
each agreement's cost among copies w^m_g of w_g, and any nu >= 0 pricing the budget,

    L(q, beta, nu) = offset - nu B + sum_m min_{X_m} [ c_m x_m + lambda sum_s q_s R_ms(x_m)
                                                       + nu b_m x_m + sum_g beta_gm w^m_g ]
                     + sum_g min(0, (1 + nu) f_g - sum_m beta_gm)

is a lower bound on the optimal objective (weak duality). c_m is the objective's cost of
m's columns (fixed cost, contract cost, (1 - lambda) sum_s p_s R_ms), R_ms = R_m,r(m,s)
its recourse cost in scenario s (the tail rows' coefficients), X_m m's rows with w_g
replaced by its copy, b the budget row (fixed costs). Each min is a block MIP; HiGHS's
dual bound of it is used, so the bound holds whatever the block's gap.

The multipliers. First from the duals of the whole model's LP relaxation (q from the tail
rows, beta from the agreement links z_o <= w_g, nu from the budget row; for models above
LP_START_MAX_COLUMNS, whose LP relaxation costs more than a round, q = p and beta splits
each agreement's cost evenly), then from the
restricted Dantzig-Wolfe master: the LP over convex combinations of the block plans
found so far, with the tail rows, agreement links and budget kept exactly. Its duals are
smoothed towards the best multipliers found (Wentges smoothing) before the next round.

The plans. Each round makes two: the blocks' plans with every agreement signed that one of
them uses, and a plan that signs what the LP relaxation (first round) or the master (later
rounds) signs, the blocks that used an agreement left unsigned solved again without it.
Each is made whole by the whole model's LP with z and w fixed; the best is the upper
bound. The phase ends when (upper - lower) <= gap |upper|, the gap of the solve: the plan
is then optimal to that gap, with the Lagrangian bound as its proof. Otherwise the best plan
goes to HiGHS as a MIP start and the whole model is solved as before: after ROUNDS rounds,
when the bound stalls, or when the master's value (at least the best bound any prices can
give, since its columns are a subset of all block plans) is below upper (1 - gap).

Measured (issue 8, README "Performance"): generated S, M and L end in one to four rounds
with the same optimum as branch and bound on the whole model (L: 11 s against 89 s), XL at
1% in one (55 s against 113 s). A binding budget and lambda = 1 leave a duality gap: the
phase hands over after two to four rounds.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from planner.model.structure import Structure as ModelStructure
from planner.solve.highs import RunStatus, highs_lp, run

ROUNDS = 20  # at most this many pricing rounds
STALL_ROUNDS = 3  # stop when the bound gained under 1% of the gap over this many rounds
SMOOTHING = 0.5  # weight of the best multipliers in the next round's (Wentges)
BLOCK_GAP_SHARE = 0.1  # each block MIP is solved to this share of the solve's gap
# First prices from the whole model's LP relaxation when it has at most this many columns, else
# from p and even shares: its LP relaxation then costs more than a round of blocks (generated XL,
# 290k columns: 69 s against 28 s; L, 35k: 2.3 s against 6 s), and plain prices need more rounds.
LP_START_MAX_COLUMNS = 100_000


@dataclass
class _Block:
    """One material's columns and rows (a connected part of the model without its links)."""

    columns: np.ndarray  # column indices in the whole model
    rows: np.ndarray
    copies: list[int]  # agreement columns this block's links refer to (each copied into it)
    has_integers: bool
    plans: list[np.ndarray] = field(default_factory=list)  # block plans found: values of columns + copies
    # per plan, its master column: (cost c_b x, linking-row usage a_i x)
    master_columns: list[tuple[float, np.ndarray]] = field(default_factory=list)

    @property
    def all_columns(self) -> np.ndarray:
        return np.concatenate([self.columns, np.array(self.copies, dtype=int)])


class Incumbent:
    """The best plan found so far by any part of a solve (all columns, model units) and the best
    bound proven; shared by the decomposition phase and a branch and bound running beside it."""

    def __init__(self, costs: np.ndarray, offset: float) -> None:
        self.costs, self.offset = costs, offset
        self.plan: np.ndarray | None = None
        self.upper = math.inf  # objective of `plan`
        self.lower = -math.inf
        self._fresh: np.ndarray | None = None  # the best plan, when branch and bound does not have it yet
        self._lock = threading.Lock()

    def value(self, plan: np.ndarray) -> float:
        return float(self.costs @ plan) + self.offset

    def offer(self, plan: np.ndarray | None, hand_on: bool = False) -> bool:
        """Keep `plan` when it is better than the best so far; True when it was kept. `hand_on`:
        branch and bound does not have it yet (a plan of the phase, a start)."""
        if plan is None:
            return False
        value = self.value(plan)
        with self._lock:
            if value >= self.upper:
                return False
            self.plan, self.upper = np.array(plan, dtype=float), value
            if hand_on:
                self._fresh = self.plan
            return True

    def replace(self, plan: np.ndarray | None) -> None:
        """Make `plan` the incumbent whatever its objective (a polished or a dropped plan)."""
        with self._lock:
            self.plan = None if plan is None else np.array(plan, dtype=float)
            self.upper = math.inf if plan is None else self.value(plan)

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


@dataclass
class DecompositionResult:
    """What the phase found: the best plan (every column), its objective and the bound."""

    plan: np.ndarray | None
    upper: float  # objective of `plan` (model units), inf without a plan
    lower: float  # Lagrangian bound (model units), -inf without one
    rounds: int
    proven: bool  # (upper - lower) <= gap |upper|


@dataclass
class Structure:
    """Where the links are in the compiled model, and the blocks without them."""

    blocks: list[_Block]
    linking_rows: np.ndarray  # tail rows (one per scenario), then the budget row if any
    tail_count: int  # the first tail_count linking rows are tail rows
    linking_columns: np.ndarray  # eta, the e_s and the w_g
    agreements: np.ndarray  # columns of w_g
    links: dict[tuple[int, int], list[int]]  # (block, agreement column) -> link rows z_o <= w_g
    integer: np.ndarray  # integer columns of the whole model


def find_structure(declared: ModelStructure, columns: list, rows: list, matrix: sp.csr_matrix) -> Structure | None:
    """The blocks of a compiled planning model from what it declares (its linking rows and
    columns, its agreement links, its material costs), or None when fewer than two blocks
    hold binaries (nothing to decompose)."""
    index = {id(v): j for j, v in enumerate(columns)}

    def cols_of(component: object) -> np.ndarray:
        if component is None:
            return np.zeros(0, dtype=int)
        return np.array([index[id(v)] for v in component.values() if id(v) in index], dtype=int)

    rows_by_component: dict[int, list[int]] = {}
    for i, con in enumerate(rows):
        rows_by_component.setdefault(id(con.parent_component()), []).append(i)

    def rows_of(component: object) -> np.ndarray:
        return np.array(rows_by_component.get(id(component), []) if component is not None else [], dtype=int)

    tail_rows = rows_of(declared.tail_rows)
    tail_excess = cols_of(declared.tail_excess)
    value_at_risk = cols_of(declared.value_at_risk)
    agreements = cols_of(declared.agreements)
    budget = rows_of(declared.budget_row)
    link_rows = rows_of(declared.agreement_links)
    integer = np.array([j for j, v in enumerate(columns) if v.is_integer()], dtype=int)

    n_rows, n_cols = matrix.shape
    linking_rows = np.zeros(n_rows, dtype=bool)
    linking_rows[tail_rows] = True
    linking_rows[budget] = True
    linking_cols = np.zeros(n_cols, dtype=bool)
    linking_cols[np.concatenate([tail_excess, value_at_risk, agreements])] = True
    kept_rows, kept_cols = np.flatnonzero(~linking_rows), np.flatnonzero(~linking_cols)
    inner = matrix[kept_rows][:, kept_cols]
    count, label = connected_components(sp.bmat([[None, inner], [inner.T, None]], format="csr"), directed=False)
    row_label, col_label = label[:len(kept_rows)], label[len(kept_rows):]
    recourse = np.zeros(n_cols, dtype=bool)
    recourse[cols_of(declared.material_costs)] = True
    is_integer = np.zeros(n_cols, dtype=bool)
    is_integer[integer] = True

    # a block per part holding recourse costs (a material); all other parts form one more
    groups: dict[int, int] = {}
    for part in range(count):
        if recourse[kept_cols[col_label == part]].any():
            groups[part] = len(groups)
    rest = len(groups)
    block_of_col = np.array([groups.get(part, rest) for part in col_label])
    block_of_row = np.array([groups.get(part, rest) for part in row_label])
    n_blocks = rest + int((block_of_col == rest).any() or (block_of_row == rest).any())
    with_binaries = {int(b) for b in block_of_col[is_integer[kept_cols]]}
    if len(with_binaries) < 2:
        return None

    links: dict[tuple[int, int], list[int]] = {}
    agreement_set = set(agreements.tolist())
    row_position = {int(r): k for k, r in enumerate(kept_rows)}
    for i in link_rows:
        entries = matrix.indices[matrix.indptr[i]:matrix.indptr[i + 1]]
        for g in entries:
            if int(g) in agreement_set:
                links.setdefault((int(block_of_row[row_position[int(i)]]), int(g)), []).append(int(i))
    blocks = []
    for b in range(n_blocks):
        copies = sorted(g for (bb, g) in links if bb == b)
        columns = kept_cols[block_of_col == b]
        blocks.append(_Block(columns, kept_rows[block_of_row == b], copies, bool(is_integer[columns].any())))
    return Structure(blocks, np.concatenate([tail_rows, budget]), len(tail_rows),
                     np.concatenate([value_at_risk, tail_excess, agreements]), agreements, links, integer)


def _project_tail_weights(weights: np.ndarray, upper: np.ndarray, total: float) -> np.ndarray:
    """The point of {0 <= mu <= upper, sum mu = total} reached from `weights` by clipping and
    shifting the excess or deficit onto the entries with room (proportionally)."""
    mu = np.clip(weights, 0.0, upper)
    for _ in range(100):
        deficit = total - mu.sum()
        if abs(deficit) <= 1e-15 * max(1.0, total):
            break
        room = (upper - mu) if deficit > 0 else mu
        if room.sum() <= 0:
            break
        mu = np.clip(mu + deficit * room / room.sum(), 0.0, upper)
    return mu



@dataclass
class _Prices:
    """Multipliers: nu_i >= 0 per linking row (tail rows: in the box above), beta_bg >= 0."""

    rows: np.ndarray
    copies: dict[tuple[int, int], float]


class Decomposition:
    """The decomposition phase of one compiled planning model (kept with its session)."""

    def __init__(self, structure: Structure, matrix: sp.csr_matrix, row_lower: np.ndarray,
                 row_upper: np.ndarray) -> None:
        self.s = structure
        rows = structure.linking_rows
        self.linking_matrix = matrix[rows]  # a_i, as compiled (the master keeps them so)
        # normalised linking rows g_i(x) = sign_i (a_i x - rhs_i) <= 0, priced by nu_i >= 0
        self.sign = np.where(np.isfinite(row_upper[rows]), 1.0, -1.0)
        self.normalised = (sp.diags(self.sign) @ self.linking_matrix).tocsr()
        self.block_matrices = [matrix[b.rows][:, b.all_columns].tocsc() for b in structure.blocks]
        self.block_linking = [self.linking_matrix[:, b.columns].tocsr() for b in structure.blocks]
        tail, k = self.normalised[:structure.tail_count], structure.tail_count
        cols = structure.linking_columns
        # the form the bound relies on: eta and e_s enter tail row s as -eta - e_s
        self.valid = k == 0 or (np.allclose(tail[:, cols[:1]].toarray(), -1.0)
                                and np.allclose(tail[:, cols[1:1 + k]].toarray(), -np.eye(k)))

    def bind(self, h: highspy.Highs, lp: highspy.HighsLp, costs: np.ndarray, offset: float,
             deadline: float | None) -> None:
        """Take this solve's whole model (HiGHS instance, bounds and right-hand sides as they
        are now, a re-solve may have changed them), costs and deadline."""
        self.h, self.costs, self.offset, self.deadline = h, costs, offset, deadline
        self.lower0, self.upper0 = np.asarray(lp.col_lower_), np.asarray(lp.col_upper_)
        self.row_lower, self.row_upper = np.asarray(lp.row_lower_), np.asarray(lp.row_upper_)
        self.rhs = np.where(self.sign > 0, self.row_upper[self.s.linking_rows], self.row_lower[self.s.linking_rows])

    def run(self, h: highspy.Highs, lp: highspy.HighsLp, costs: np.ndarray, offset: float, gap: float,
            new_highs: Callable[[], highspy.Highs], deadline: float | None, clock: Callable[[], float],
            best: Incumbent, progress: Callable[[float, float | None, float | None], None] | None = None,
            log: Callable[[str], None] | None = None, started: float | None = None,
            cancel: threading.Event | None = None, nice: int = 0) -> DecompositionResult | None:
        """Run the phase on the whole model held by `h` (compiled as `lp`, costs `costs`).

        `deadline` is on `clock`; `started` is when the solve began (for progress). Plans go
        to `best`, which may also receive plans from elsewhere (a branch and bound running
        beside the phase); the phase ends early when `cancel` is set, and its HiGHS runs have
        priority lowered by `nice`. Returns None when the LP relaxation ends without an
        optimum (an infeasible model, the time limit): the caller then solves the whole
        model as usual. A block without an optimum ends the rounds with what was found.
        """
        started = clock() if started is None else started
        self.clock, self.cancel, self.nice, self.best = clock, cancel, nice, best
        self.bind(h, lp, costs, offset, deadline)
        ints = self.s.integer.astype(np.int32)
        h.changeColsIntegrality(len(ints), ints, np.zeros(len(ints), dtype=np.uint8))
        try:
            if len(costs) <= LP_START_MAX_COLUMNS:
                if not self._run_lp(h):
                    return None
                solution = h.getSolution()
                prices = self._project(self._prices_from_duals(np.asarray(solution.row_dual)))
                signing = np.asarray(solution.col_value)[self.s.agreements] >= 0.5
            else:
                prices, signing = self._plain_prices(), np.zeros(len(self.s.agreements), dtype=bool)
            blocks = self._block_solvers(new_highs, gap)
            return self._rounds(prices, signing, blocks, new_highs, gap, started, progress, log)
        finally:
            h.changeColsBounds(len(ints), ints, self.lower0[ints], self.upper0[ints])
            h.changeColsIntegrality(len(ints), ints, np.ones(len(ints), dtype=np.uint8))

    def bound_at(self, h: highspy.Highs, lp: highspy.HighsLp, costs: np.ndarray, offset: float,
                 linking_prices: np.ndarray, agreement_prices: dict[tuple[int, int], float],
                 new_highs: Callable[[], highspy.Highs], clock: Callable[[], float]) -> float | None:
        """The Lagrangian bound L(q, beta, nu) at the given multipliers (model units), after
        projecting them onto the set where it holds: `linking_prices` per linking row (tail
        rows, then the budget row), `agreement_prices` per (block, agreement column) copy.
        None when a block has no optimum."""
        self.clock, self.cancel, self.nice, self.best = clock, None, 0, Incumbent(costs, offset)
        self.bind(h, lp, costs, offset, None)
        prices = self._project(_Prices(np.asarray(linking_prices, dtype=float), dict(agreement_prices)))
        return self._price(prices, self._block_solvers(new_highs, 1e-9))

    # -- the rounds --------------------------------------------------------------------------------

    def _rounds(self, prices: _Prices, signing: np.ndarray, blocks: list[highspy.Highs],
                new_highs: Callable[[], highspy.Highs], gap: float, started: float,
                progress: Callable | None, log: Callable | None) -> DecompositionResult:
        """Price, make plans, check the gap, ask the master for the next prices; `signing`
        (which agreements to sign) first from the LP relaxation, then from the master."""
        best_lower, best_prices, history = -math.inf, prices, []
        self.tried = set()
        if self.best.plan is not None:  # a plan found before the phase: its parts are block plans
            for b, block in enumerate(self.s.blocks):
                self._add_plan(b, self.best.plan[block.all_columns])
        rounds = 0
        for rounds in range(1, ROUNDS + 1):
            if self.cancel is not None and self.cancel.is_set():
                break
            lower = self._price(prices, blocks)
            if lower is None:  # a block without an optimum: out of time, or infeasible
                break
            if lower > best_lower:
                best_lower, best_prices = lower, prices
            history.append(best_lower)
            self._complete(self._union_plan())
            if not self._proven(best_lower, gap):
                agreeing = self._agreeing_plan(signing, blocks)
                if agreeing is not None:
                    self._complete(agreeing)
            if progress is not None:
                progress(self.clock() - started, self._finite(self.upper), best_lower)
            if log is not None:
                log(f"decomposition round {rounds} ({self.clock() - started:.1f} s): "
                    f"bound {best_lower:.10g}, best plan {self.upper:.10g}\n")
            stalled = (len(history) > STALL_ROUNDS
                       and history[-1] - history[-1 - STALL_ROUNDS] < 0.01 * (self.upper - best_lower))
            if self._proven(best_lower, gap) or stalled or rounds == ROUNDS:
                break
            master = self._master(new_highs)
            if master is None:
                break
            master_prices, signing, master_value = master
            if log is not None:
                log(f"decomposition master: {master_value:.10g}\n")
            # The master's value is at least the best bound any prices can give (the full
            # master's, over every block plan). Below upper (1 - gap) the bound cannot prove
            # this plan: branch and bound takes over.
            if master_value < self.upper - (gap + 1e-9) * abs(self.upper):
                break
            prices = self._project(self._blend(best_prices, master_prices))
        self.best.bound(best_lower)
        return DecompositionResult(self.plan, self.upper, best_lower, rounds, self._proven(best_lower, gap))

    @property
    def plan(self) -> np.ndarray | None:
        return self.best.plan

    @property
    def upper(self) -> float:
        return self.best.upper

    @staticmethod
    def _finite(value: float) -> float | None:
        return value if math.isfinite(value) else None

    def _proven(self, lower: float, gap: float) -> bool:
        return self.best.proven(gap, lower)

    # -- solves ------------------------------------------------------------------------------------

    def _run_lp(self, h: highspy.Highs) -> bool:
        """Solve with what remains of the time; True when optimal."""
        return run(h, self.deadline, self.clock, self.cancel, self.nice) is RunStatus.OPTIMAL

    def _block_solvers(self, new_highs: Callable[[], highspy.Highs], gap: float) -> list[highspy.Highs]:
        """One HiGHS per block, holding its rows with today's bounds (a re-solve may change them)."""
        solvers = []
        for block, matrix in zip(self.s.blocks, self.block_matrices):
            columns = block.all_columns
            lp = highs_lp(matrix, np.zeros(len(columns)), self.lower0[columns], self.upper0[columns],
                           self.row_lower[block.rows], self.row_upper[block.rows],
                           integer=np.isin(columns, self.s.integer))
            solver = new_highs()
            solver.setOptionValue("mip_rel_gap", gap * BLOCK_GAP_SHARE)
            solver.passModel(lp)
            block.plans, block.master_columns = [], []
            solvers.append(solver)
        return solvers

    def _price(self, prices: _Prices, blocks: list[highspy.Highs]) -> float | None:
        """Solve every block at `prices` (each block's plan is appended to its plans) and
        return the Lagrangian bound L(prices), or None when a block has no optimum."""
        reduced = self.costs + self.normalised.T @ prices.rows
        lower = self.offset - float(prices.rows @ self.rhs)
        for b, (block, solver) in enumerate(zip(self.s.blocks, blocks)):
            copy_costs = [prices.copies.get((b, g), 0.0) for g in block.copies]
            cost = np.concatenate([reduced[block.columns], copy_costs])
            solver.changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), cost)
            if not self._run_lp(solver):
                return None
            info = solver.getInfo()
            bound = info.mip_dual_bound if block.has_integers else info.objective_function_value
            if not math.isfinite(bound):
                return None
            lower += bound
            self._add_plan(b, np.asarray(solver.getSolution().col_value))
        for j in self.s.linking_columns:  # eta, e_s and w_g: min over their bounds
            r = reduced[j] - sum(prices.copies.get((b, j), 0.0) for b in range(len(self.s.blocks)))
            if abs(r) <= 1e-12 * max(1.0, abs(self.costs[j])):
                continue
            bound = self.lower0[j] if r > 0 else self.upper0[j]
            lower += r * bound if math.isfinite(bound) else -math.inf
        return lower

    def _union_plan(self) -> np.ndarray:
        """Integer values of the blocks' last plans, each agreement signed when one uses it."""
        values = np.zeros(len(self.costs))
        for block in self.s.blocks:
            plan = block.plans[-1]
            values[block.columns] = plan[:len(block.columns)]
            for g, value in zip(block.copies, plan[len(block.columns):]):
                values[g] = max(values[g], value)
        return np.round(values[self.s.integer])

    def _agreeing_plan(self, signing: np.ndarray, blocks: list[highspy.Highs]) -> np.ndarray | None:
        """Integer values of a plan that signs exactly `signing`: each block's last plan when
        it uses no agreement left unsigned, else the block solved again without those."""
        signed = dict(zip(self.s.agreements.tolist(), signing.tolist()))
        values = np.zeros(len(self.costs))
        for g, on in signed.items():
            values[g] = float(on)
        for b, (block, solver) in enumerate(zip(self.s.blocks, blocks)):
            nc, plan = len(block.columns), block.plans[-1]
            if any(value >= 0.5 and not signed[g] for g, value in zip(block.copies, plan[nc:])):
                copies = np.arange(nc, nc + len(block.copies), dtype=np.int32)
                allowed = np.array([float(signed[g]) for g in block.copies])
                solver.changeColsBounds(len(copies), copies, np.zeros(len(copies)), allowed)
                solved = self._run_lp(solver)
                solver.changeColsBounds(len(copies), copies, np.zeros(len(copies)), np.ones(len(copies)))
                if not solved:
                    return None
                plan = np.asarray(solver.getSolution().col_value)
                self._add_plan(b, plan)  # a plan of the block like any other, for the master too
            values[block.columns] = plan[:nc]
        return np.round(values[self.s.integer])

    def _complete(self, integer_values: np.ndarray) -> None:
        """The whole model's LP with the binaries fixed: a plan, kept when it is the best."""
        key = integer_values.tobytes()
        if key in self.tried:
            return
        self.tried.add(key)
        ints = self.s.integer.astype(np.int32)
        self.h.changeColsBounds(len(ints), ints, integer_values, integer_values)
        if self._run_lp(self.h):
            plan = np.asarray(self.h.getSolution().col_value)
            for b, block in enumerate(self.s.blocks):  # its part in each block is a block plan
                self._add_plan(b, plan[block.all_columns])
            self.best.offer(plan, hand_on=True)

    def _add_plan(self, b: int, plan: np.ndarray) -> None:
        """Keep a plan of block b (values of its columns, then its copies) for the master."""
        block = self.s.blocks[b]
        x = plan[:len(block.columns)]
        block.plans.append(plan)
        block.master_columns.append((float(self.costs[block.columns] @ x), self.block_linking[b] @ x))

    # -- multipliers -------------------------------------------------------------------------------

    def _prices_from_duals(self, row_dual: np.ndarray) -> _Prices:
        """From the whole model's LP relaxation: nu_i = -sign_i y_i, beta_bg = sum |y| of its links."""
        nu = -self.sign * row_dual[self.s.linking_rows]
        copies = {key: float(np.abs(row_dual[rows]).sum()) for key, rows in self.s.links.items()}
        return _Prices(nu, copies)

    def _plain_prices(self) -> _Prices:
        """Tail weights in proportion to p (the expected cost), agreement costs split evenly."""
        k, cols = self.s.tail_count, self.s.linking_columns
        nu = np.zeros(len(self.s.linking_rows))
        if k:
            upper = self.costs[cols[1:1 + k]]
            nu[:k] = self.costs[cols[0]] * upper / max(upper.sum(), 1e-300)
        sharing = Counter(g for _, g in self.s.links)  # blocks holding a copy of each w_g
        return _Prices(nu, {(b, g): float(self.costs[g]) / sharing[g] for (b, g) in self.s.links})

    def _project(self, prices: _Prices) -> _Prices:
        """Multipliers the bound holds for: tail weights in {0 <= nu_s <= cost(e_s), sum = cost(eta)}."""
        k, cols = self.s.tail_count, self.s.linking_columns
        nu = np.maximum(prices.rows, 0.0)
        if k:
            nu[:k] = _project_tail_weights(nu[:k], self.costs[cols[1:1 + k]], float(self.costs[cols[0]]))
        return _Prices(nu, {key: max(0.0, value) for key, value in prices.copies.items()})

    @staticmethod
    def _blend(best: _Prices, master: _Prices) -> _Prices:
        a = SMOOTHING
        keys = set(best.copies) | set(master.copies)
        return _Prices(a * best.rows + (1 - a) * master.rows,
                       {key: a * best.copies.get(key, 0.0) + (1 - a) * master.copies.get(key, 0.0) for key in keys})

    def _master(self, new_highs: Callable[[], highspy.Highs]) -> tuple[_Prices, np.ndarray, float] | None:
        """The restricted Dantzig-Wolfe master over the block plans found so far.

            min  sum_bk theta_bk c_b x_bk + sum_j c_j v_j            (v: eta, e_s, w_g)
            s.t. linking rows:  sum_bk theta_bk a_i x_bk + a_i v  within their bounds
                 convexity:     sum_k theta_bk = 1                    for every block b
                 agreements:    sum_k theta_bk w^b_gk - w_g <= 0      for every copy (b, g)

        Returns its multipliers, its signing (w_g rounded) and its value, or None when it
        has no optimum.
        """
        s, n_link = self.s, len(self.s.linking_rows)
        copies = sorted(s.links)
        copy_row = {key: n_link + len(s.blocks) + i for i, key in enumerate(copies)}
        entries: list[tuple[int, int, float]] = []
        cost: list[float] = []
        for b, block in enumerate(s.blocks):
            nc = len(block.columns)
            for plan, (plan_cost, usage) in zip(block.plans, block.master_columns):
                col = len(cost)
                cost.append(plan_cost)
                entries += [(i, col, float(v)) for i, v in enumerate(usage) if v]
                entries.append((n_link + b, col, 1.0))
                entries += [(copy_row[b, g], col, float(v)) for g, v in zip(block.copies, plan[nc:]) if v]
        first_linking = len(cost)
        for j in s.linking_columns:
            col = len(cost)
            cost.append(float(self.costs[j]))
            column = self.linking_matrix[:, [j]].tocoo()
            entries += [(int(i), col, float(v)) for i, v in zip(column.row, column.data)]
            entries += [(copy_row[b, g], col, -1.0) for (b, g) in copies if g == j]
        n_rows = n_link + len(s.blocks) + len(copies)
        r, c, v = zip(*entries)
        matrix = sp.csc_matrix((v, (r, c)), shape=(n_rows, len(cost)))
        inf = highspy.kHighsInf
        linking, rows = s.linking_columns, s.linking_rows
        lp = highs_lp(matrix, np.array(cost),
                       np.concatenate([np.zeros(first_linking), self.lower0[linking]]),
                       np.concatenate([np.full(first_linking, inf), self.upper0[linking]]),
                       np.concatenate([self.row_lower[rows], np.ones(len(s.blocks)), np.full(len(copies), -inf)]),
                       np.concatenate([self.row_upper[rows], np.ones(len(s.blocks)), np.zeros(len(copies))]))
        solver = new_highs()
        solver.passModel(lp)
        if not self._run_lp(solver):
            return None
        solution = solver.getSolution()
        dual, weight = np.asarray(solution.row_dual), np.asarray(solution.col_value)
        prices = _Prices(-self.sign * dual[:n_link], {key: -float(dual[copy_row[key]]) for key in copies})

        signing = weight[first_linking + np.flatnonzero(np.isin(linking, s.agreements))] >= 0.5
        return prices, signing, solver.getInfo().objective_function_value + self.offset
