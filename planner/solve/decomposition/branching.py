"""A block's MIP by LP-based branch and bound: HiGHS's dual simplex at every node, nothing else.

A block MIP (one material at a round's prices) has a few dozen binaries over a large LP, its
recourse in every scenario. HiGHS's MIP solver spends most of its time on such a model at the
root, beyond the LP relaxation: its analytic centre (an interior point solve), cut separation
and probing, all of which grow with the rows; its cuts close little of these blocks' gap, and a
few branchings close the rest (docs/performance.md, "How a plan is solved"). So a block's MIP
is solved here, and HiGHS's MIP solver takes over only when the tree grows large:

- **Root.** The LP relaxation of the block (integrality off, no presolve), from a cleared
  solver (`cleared`: a block solve starts from one, `block.solve_block`) and the caller's start
  basis when it gives one (the block's last root basis: `block`, "Starts"); its optimal basis
  is part of the result, the next solve's start.
- **Nodes.** A node is the block with some integer columns' bounds tightened; its LP is solved
  by HiGHS's dual simplex from its parent's optimal basis (the bounds changed, the basis stays
  dual feasible).
- **Pricing.** The tree's LPs (root and nodes) choose their leaving rows by Devex weights
  (`TREE_LP_OPTIONS`), not HiGHS's default dual steepest edge: a node's LP re-optimises every
  scenario's recourse after one contract's bound changed, in many cheap iterations; steepest
  edge's exact weights cost an update over every row at each of them, which grows with the
  block. Devex takes more iterations, each cheaper, to the same optima (where an LP has several
  optimal solutions it may end at another one; docs/performance.md, "How a plan is solved").
- **Branching.** On the integer column j whose LP value v is furthest from an integer (the
  first such column on ties): x_j <= floor(v) and x_j >= ceil(v), the lower child first.
- **Order.** Best bound first (ties: the node made first), so the tree is the same whatever
  machine or process runs it.
- **Plans.** A node LP whose integer columns are all within INTEGRALITY_TOLERANCE of an
  integer is a plan. At the root and every ROUND_EVERY-th node, the node's LP solution
  rounded up (each integer column at ceil(v - tolerance), within the node's bounds) is fixed
  and its LP solved: a plan when it is feasible.
- **Pruning.** A node whose LP bound LB satisfies LB >= UB - max(abs_gap, rel_gap |UB|) (UB:
  the best plan's objective; the gaps are the block HiGHS's `mip_abs_gap`, `mip_rel_gap`)
  cannot hold a plan better than the gap allows, nor can an infeasible one.
- **Bound.** The least LP bound among the nodes left open or given up within the gap, and UB.
  Each node's LP is a relaxation of the MIP restricted to its bounds, and those nodes cover
  every integer point not in an infeasible node, so it bounds the block's optimum from below,
  as HiGHS's dual bound does, and the Lagrangian bound built on it holds.
- **Hand-over.** Past NODE_LIMIT nodes, HiGHS's MIP solver solves the block from a cleared
  solver; its plan and bound are the result.

Every call to HiGHS goes through `run` (the caller's deadline and interruption), so a limited
or interrupted solve stops between two LPs or inside one.
"""

from __future__ import annotations

import contextlib
import heapq
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import highspy
import numpy as np

from planner.solve.highs import integrality, option_set

INTEGRALITY_TOLERANCE = 1e-6  # HiGHS's mip_feasibility_tolerance
ROUND_EVERY = 10  # the rounded plan at the root and at every ROUND_EVERY-th node
NODE_LIMIT = 100  # past it, HiGHS's MIP solver takes over
# The tree's LPs by Devex pricing (module docstring, "Pricing"); HiGHS's MIP solver past NODE_LIMIT
# keeps its own choice
TREE_LP_OPTIONS = {"simplex_dual_edge_weight_strategy": 1}


@dataclass
class Outcome:
    """A block MIP's result: `ok` when solved to its gap (then `bound` and `values`)."""

    ok: bool
    bound: float
    values: np.ndarray | None
    infeasible: bool = False  # no plan at all
    nodes: int = 0
    handed_over: bool = False  # HiGHS's MIP solver gave the result (NODE_LIMIT)
    root_basis: highspy.HighsBasis | None = None  # the root LP's optimal basis, None when it had none


@dataclass(eq=False)
class _Node:
    bound: float
    made: int  # order of making: ties go to the older node
    lower: np.ndarray  # bounds of the integer columns
    upper: np.ndarray
    integer_values: np.ndarray  # the node's LP values of its integer columns
    basis: highspy.HighsBasis | None  # its LP's optimal basis, its children's start

    def __lt__(self, other: _Node) -> bool:
        return (self.bound, self.made) < (other.bound, other.made)


def cleared(h: highspy.Highs) -> np.ndarray:
    """`h` with nothing of its earlier solves, and the positions of its integer columns. The model
    is passed again: HiGHS keeps data derived from an LP across `clearSolver`, and a block solved
    at home took other simplex paths than on an instance built for it, to other optimal plans."""
    lp = h.getLp()
    h.passModel(lp)
    return np.flatnonzero(np.asarray(lp.integrality_, dtype=int) > 0).astype(np.int32)


@contextlib.contextmanager
def as_lp(h: highspy.Highs, integer: np.ndarray) -> Iterator[None]:
    """`h`'s LP relaxation for the `with` block: integrality off, and no presolve (the search's
    LPs start from their parent's basis, and a block's first LP was faster without it:
    docs/performance.md, "How a plan is solved")."""
    with integrality(h, integer, False), option_set(h, "presolve", "off"):
        yield


def solve_mip(h: highspy.Highs, run: Callable[[highspy.Highs], bool], integer: np.ndarray,
              node_limit: int = NODE_LIMIT, start: highspy.HighsBasis | None = None) -> Outcome:
    """The MIP held by `h`, its integer columns `integer` (binaries or bounded integers), by the
    branch and bound of the module docstring, its root LP from the basis `start` when given;
    `run(h)` solves what `h` holds and is True when optimal."""
    _, rel_gap = h.getOptionValue("mip_rel_gap")
    _, abs_gap = h.getOptionValue("mip_abs_gap")
    _, _, _, lower0, upper0, _ = h.getCols(len(integer), integer)
    lower0, upper0 = np.asarray(lower0, dtype=float), np.asarray(upper0, dtype=float)
    with as_lp(h, integer), contextlib.ExitStack() as options:
        for name, value in TREE_LP_OPTIONS.items():
            options.enter_context(option_set(h, name, value))
        tree = _Tree(h, run, integer, lower0, upper0, float(rel_gap), float(abs_gap))
        outcome = tree.search(node_limit, start)
        h.changeColsBounds(len(integer), integer, lower0, upper0)
    if outcome is not None:
        return outcome
    return _hand_over(h, run, tree)


class _Tree:
    """The search's state: open nodes, best plan, counters."""

    def __init__(self, h: highspy.Highs, run: Callable[[highspy.Highs], bool], integer: np.ndarray,
                 lower0: np.ndarray, upper0: np.ndarray, rel_gap: float, abs_gap: float) -> None:
        self.h, self.run, self.integer = h, run, integer
        self.lower0, self.upper0 = lower0, upper0
        self.rel_gap, self.abs_gap = rel_gap, abs_gap
        self.best, self.best_values = math.inf, None
        self.open: list[_Node] = []
        self.pruned = math.inf  # the least LP bound of the nodes given up within the gap
        self.made = self.nodes = 0
        self.root_basis: highspy.HighsBasis | None = None

    def cutoff(self) -> float:
        """Nodes with an LP bound at or above this cannot hold a plan better than the gap allows."""
        if not math.isfinite(self.best):
            return math.inf
        return self.best - max(self.abs_gap, self.rel_gap * abs(self.best))

    def solve_lp(self, lower: np.ndarray, upper: np.ndarray, basis: highspy.HighsBasis | None,
                 below_root: bool = True) -> tuple[float, np.ndarray] | bool:
        """The LP with the integer columns within (lower, upper), from `basis`: (objective, values),
        or False when infeasible; raises _Stopped when the run did not end optimal or infeasible.
        `below_root`: a node's LP (or its rounded plan's), below a root LP that had an optimum."""
        h = self.h
        h.changeColsBounds(len(self.integer), self.integer, lower, upper)
        if basis is not None:
            h.setBasis(basis)
        if self.run(h):
            return h.getInfo().objective_function_value, np.asarray(h.getSolution().col_value)
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible or (
                below_root and status == highspy.HighsModelStatus.kUnboundedOrInfeasible):
            return False  # (below a root LP with an optimum, the LP cannot be unbounded)
        raise _Stopped

    def solve_root(self, start: highspy.HighsBasis | None) -> tuple[float, np.ndarray] | bool:
        """The root LP (`solve_lp`) from `start`; when that run ends neither optimal nor infeasible
        (HiGHS may not tell an infeasible LP from an unbounded one from a start), once more from a
        cleared solver, whose answer stands (a run out of time or interrupted does not start)."""
        try:
            return self.solve_lp(self.lower0, self.upper0, start, below_root=False)
        except _Stopped:
            if start is None:
                raise
        cleared(self.h)
        return self.solve_lp(self.lower0, self.upper0, None, below_root=False)

    def offer(self, objective: float, values: np.ndarray) -> None:
        if objective < self.best:
            self.best, self.best_values = objective, values

    def fractional(self, integer_values: np.ndarray) -> int | None:
        """The branching column's position (furthest from an integer), None when all are integral."""
        distance = np.abs(integer_values - np.round(integer_values))
        j = int(np.argmax(distance)) if len(distance) else 0
        return j if len(distance) and distance[j] > INTEGRALITY_TOLERANCE else None

    def add(self, objective: float, values: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """A solved node: a plan when integral, else open when not cut off."""
        integer_values = values[self.integer]
        if self.fractional(integer_values) is None:
            self.offer(objective, values)
        elif objective < self.cutoff():
            self.made += 1
            heapq.heappush(self.open, _Node(objective, self.made, lower, upper, integer_values, self.h.getBasis()))
        else:
            self.give_up(objective)

    def give_up(self, bound: float) -> None:
        """A node left within the gap: its bound stays part of the result's."""
        self.pruned = min(self.pruned, bound)

    def rounded_plan(self, node: _Node) -> None:
        """The node's LP values rounded up within its bounds, fixed, and the LP completed."""
        fixed = np.clip(np.ceil(node.integer_values - INTEGRALITY_TOLERANCE), node.lower, node.upper)
        solved = self.solve_lp(fixed, fixed, node.basis)
        if solved:
            self.offer(*solved)

    def search(self, node_limit: int, start: highspy.HighsBasis | None) -> Outcome | None:
        """The tree to the gap, its root from `start`: the outcome, or None past `node_limit`
        nodes (hand over)."""
        try:
            root = self.solve_root(start)
            if root is False:
                return Outcome(False, math.inf, None, infeasible=True)
            self.root_basis = self.h.getBasis()
            self.add(*root, self.lower0, self.upper0)
            while self.open:
                node = self.open[0]
                if node.bound >= self.cutoff():
                    break
                if self.nodes >= node_limit:
                    return None
                heapq.heappop(self.open)
                self.nodes += 1
                if self.nodes == 1 or self.nodes % ROUND_EVERY == 0:
                    self.rounded_plan(node)
                    if node.bound >= self.cutoff():
                        self.give_up(node.bound)
                        continue
                j = self.fractional(node.integer_values)
                value = node.integer_values[j]
                for lower_j, upper_j in ((node.lower[j], math.floor(value)), (math.ceil(value), node.upper[j])):
                    lower, upper = node.lower.copy(), node.upper.copy()
                    lower[j], upper[j] = lower_j, upper_j
                    solved = self.solve_lp(lower, upper, node.basis)
                    if solved:
                        self.add(*solved, lower, upper)
        except _Stopped:
            return Outcome(False, -math.inf, None, nodes=self.nodes, root_basis=self.root_basis)
        if self.best_values is None:
            return Outcome(False, math.inf, None, infeasible=True, nodes=self.nodes, root_basis=self.root_basis)
        bound = min([node.bound for node in self.open] + [self.pruned, self.best])
        return Outcome(True, bound, self.best_values, nodes=self.nodes, root_basis=self.root_basis)


class _Stopped(Exception):
    """An LP of the search ended neither optimal nor infeasible (time, interruption, error)."""


def _hand_over(h: highspy.Highs, run: Callable[[highspy.Highs], bool], tree: _Tree) -> Outcome:
    """HiGHS's MIP solver on the block from a cleared solver. Not given the tree's best plan:
    HiGHS 1.16 given a start by `setSolution` may report a bound that belongs to no plan
    (`planner.solve.highs_checks.solution_is_consistent`)."""
    h.clearSolver()
    ok = run(h)
    info = h.getInfo()
    infeasible = h.getModelStatus() == highspy.HighsModelStatus.kInfeasible
    values = np.asarray(h.getSolution().col_value) if ok else None
    return Outcome(ok and math.isfinite(info.mip_dual_bound), float(info.mip_dual_bound), values,
                   infeasible=infeasible, nodes=tree.nodes, handed_over=True, root_basis=tree.root_basis)
