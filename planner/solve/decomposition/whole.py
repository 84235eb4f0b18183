"""Whole plans from block plans: what each round offers for completion (package docstring, "The plans").

A round makes two: the union of the blocks' last plans, every agreement signed that one of them
uses (`union_plan`), and one that signs exactly what the LP relaxation or the master signs,
the blocks that used an agreement left unsigned solved again without it (`agreeing_tasks`,
then `agreeing_plan`). Both are integer values only; `PhaseRun.complete` makes them whole by the
whole model's LP, started, when HiGHS has no basis, from the block plans put together
(`put_together`), which also starts the first LP relaxation (`first`), from a basis put together
from the blocks' LP bases (`put_together_basis`). And the prices a whole plan would need to be
optimal, the next round's after a better plan (`supporting`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import highspy
import numpy as np

from planner.solve.decomposition.block import BASIC, LOWER, UPPER, ZERO, BlockResult, BlockTask, Codes, basis_of
from planner.solve.decomposition.prices import Prices

if TYPE_CHECKING:
    from planner.solve.decomposition.phase import PhaseRun


def union_plan(run: PhaseRun) -> np.ndarray:
    """Integer values of the blocks' last plans, each agreement signed when one uses it."""
    return np.round(_assembled(run)[run.decomposition.s.integer])


def agreeing_tasks(run: PhaseRun, signing: np.ndarray) -> list[BlockTask]:
    """The blocks to solve again for a plan that signs exactly `signing`: those whose last
    plan uses an agreement left unsigned, each without those agreements."""
    s = run.decomposition.s
    signed = dict(zip(s.agreements.tolist(), signing.tolist()))
    tasks = []
    for b, block in enumerate(s.blocks):
        nc, plan = len(block.columns), run.plans[b][-1]
        if any(value >= 0.5 and not signed[g] for g, value in zip(block.copies, plan[nc:])):
            copies = np.arange(nc, nc + len(block.copies), dtype=np.int32)
            allowed = np.array([float(signed[g]) for g in block.copies])
            tasks.append(BlockTask(b, None, copy_bounds=(copies, np.zeros(len(copies)), allowed), start=run.starts[b]))
    return tasks


def agreeing_plan(run: PhaseRun, signing: np.ndarray, tasks: list[BlockTask],
                  again: dict[int, BlockResult]) -> np.ndarray | None:
    """Integer values of a plan that signs exactly `signing`: each block's last plan when
    it uses no agreement left unsigned, else its plan solved again (`tasks`, results `again`),
    which joins the block's plans (for the master too)."""
    s = run.decomposition.s
    if any(task.block not in again or not again[task.block].ok for task in tasks):
        return None
    values = np.zeros(len(run.costs))
    values[s.agreements] = signing.astype(float)
    for b, block in enumerate(s.blocks):
        if b in again:
            run.add_plan(b, again[b].values)
        values[block.columns] = run.plans[b][-1][:len(block.columns)]
    return np.round(values[s.integer])


def put_together(run: PhaseRun, integer_values: np.ndarray | None,
                 block_plans: list[np.ndarray] | None = None) -> np.ndarray:
    """A whole plan from block plans (by default the blocks' last plans): their columns, each
    agreement signed as much as its most eager copy, then these integer values (if any),
    eta = 0 and each e_s the scenario's excess over it (so every tail row holds); with
    ambiguity rho = gamma_s = 0 and each beta_s what its worst-case row needs. A start for
    `PhaseRun.complete` and for the LP relaxation (`first`); it breaks only the budget, when the
    plans spend more than it."""
    form = run.decomposition.form
    plan = _assembled(run, block_plans)
    if integer_values is not None:
        plan[run.decomposition.s.integer] = integer_values
    if form.tail_count:
        plan[form.columns.tail_excess] = np.maximum(tail_excess(run, plan), 0.0)
    if form.worst_count:
        plan[form.columns.worst_above] = np.maximum(_worst_shortfall(run, plan), 0.0) / form.above
    return plan


def _assembled(run: PhaseRun, block_plans: list[np.ndarray] | None = None) -> np.ndarray:
    """The blocks' plans (by default their last) in the whole model's columns, each agreement at
    its most eager copy, every other linking column 0."""
    plan = np.zeros(len(run.costs))
    for b, block in enumerate(run.decomposition.s.blocks):
        values = run.plans[b][-1] if block_plans is None else block_plans[b]
        plan[block.columns] = values[:len(block.columns)]
        for g, value in zip(block.copies, values[len(block.columns):]):
            plan[g] = max(plan[g], value)
    return plan


def _activity_without(run: PhaseRun, plan: np.ndarray, columns: np.ndarray, rows: slice) -> np.ndarray:
    """The normalised activity g_i(x) of the linking rows `rows` at `plan` with `columns` at 0."""
    d = run.decomposition
    x = plan.copy()
    x[columns] = 0.0
    return d.normalised[rows] @ x - d.sign[rows] * run.rhs[rows]


def tail_excess(run: PhaseRun, plan: np.ndarray) -> np.ndarray:
    """Each tail row's activity over its right-hand side with the risk columns at 0: scenario
    s's recourse cost R_s(x) in the row's normalised form."""
    form = run.decomposition.form
    return _activity_without(run, plan, form.columns.all, slice(0, form.tail_count))


def _worst_shortfall(run: PhaseRun, plan: np.ndarray) -> np.ndarray:
    """Each worst-case row's activity with rho, beta_s and gamma_s at 0 (its e_s as in `plan`):
    what b_s beta_s must cover."""
    form = run.decomposition.form
    c = form.columns
    return _activity_without(run, plan, np.concatenate([c.worst_level, c.worst_above, c.worst_below]),
                             slice(form.tail_count, form.count))


def scenario_recourse(run: PhaseRun, plan: np.ndarray) -> np.ndarray:
    """Each scenario's recourse cost R_s(x) of `plan`, or a positive multiple of it: from the
    tail rows (`tail_excess`), else (lambda = 0) from the worst-case rows, (1 - lambda) R_s."""
    form = run.decomposition.form
    if form.tail_count:
        return tail_excess(run, plan)
    return _activity_without(run, plan, form.columns.all, slice(0, form.count))


def put_together_basis(run: PhaseRun, plan: np.ndarray, bases: list[Codes | None],
                       tail_weights: np.ndarray | None = None) -> highspy.HighsBasis | None:
    """A basis of the whole model from its blocks' LP bases (column and row status codes, a block's
    columns then its copies) and the plan they were put together into (`put_together`): each
    block's columns and rows keep their status; with the CVaR, tail row s has its e_s basic and sits at its
    bound when its excess at eta = 0 is positive, else its slack is basic and e_s at 0; eta is
    nonbasic (at a finite bound, else free at 0); or, given the tail rows' weights the blocks were
    priced at (`tail_weights`: a CVaR's vertex, `prices.tail_of`), the basis whose duals they are
    (`_tail_statuses`); with ambiguity, worst-case row s likewise with
    beta_s, and rho and gamma_s nonbasic; the budget row's slack is basic; an agreement
    is basic when a copy is, and the block of each other basic copy gives that place to the
    slack of one of its links (z_o <= w_g), else it sits at the bound its value in `plan`
    rounds to. So there are as many basic as rows; HiGHS takes it as an alien basis and
    repairs it where it is singular. None when a block has no basis."""
    if any(basis is None for basis in bases):
        return None
    d = run.decomposition
    s, form = d.s, d.form
    columns = np.full(len(run.costs), LOWER, dtype=np.int8)
    rows = np.full(len(run.row_lower), BASIC, dtype=np.int8)
    basic_copies: dict[int, list[int]] = {}
    for b, (block, (column_codes, row_codes)) in enumerate(zip(s.blocks, bases)):
        n = len(block.columns)
        columns[block.columns] = column_codes[:n]
        rows[block.rows] = row_codes
        for g, code in zip(block.copies, column_codes[n:]):
            if code == BASIC:
                basic_copies.setdefault(g, []).append(b)
    for free in (form.columns.value_at_risk, form.columns.worst_level):
        columns[free] = np.where(np.isfinite(run.lower0[free]), LOWER,
                                 np.where(np.isfinite(run.upper0[free]), UPPER, ZERO))
    if tail_weights is None or not _tail_statuses(run, tail_weights, columns, rows):
        _excess_statuses(run, slice(0, form.tail_count), form.columns.tail_excess, tail_excess(run, plan) > 0,
                         columns, rows)
    _excess_statuses(run, slice(form.tail_count, form.count), form.columns.worst_above,
                     plan[form.columns.worst_above] > 0, columns, rows)
    rows[s.linking_rows[form.count:]] = BASIC
    for g in s.agreements:
        holders = basic_copies.get(int(g), [])
        columns[g] = BASIC if holders else (UPPER if plan[g] > 0.5 else LOWER)
        for b in holders[1:]:
            free = [i for i in s.links[(b, int(g))] if rows[i] != BASIC]
            if free:
                rows[free[0]] = BASIC
    return basis_of(columns, rows)


def _excess_statuses(run: PhaseRun, part: slice, excess: np.ndarray, positive: np.ndarray, columns: np.ndarray,
                     rows: np.ndarray) -> None:
    """Risk rows `part` (linking rows), with their excess columns `excess`: where `positive`, the
    excess basic and the row at its bound, else the row's slack basic and the excess at 0."""
    d = run.decomposition
    columns[excess] = np.where(positive, BASIC, LOWER)
    rows[d.s.linking_rows[part]] = np.where(positive, np.where(d.sign[part] > 0, UPPER, LOWER), BASIC)


def _tail_statuses(run: PhaseRun, weights: np.ndarray, columns: np.ndarray, rows: np.ndarray) -> bool:
    """The tail rows' part of a whole basis whose duals are the tail weights `weights` (a vertex
    of their box: each row's weight at its upper end u_s = cost(e_s), at 0, or, for one row, in
    between, summing to cost(eta)): a row at u_s sits at its bound with e_s basic (its dual is
    then e_s's cost), a row at 0 has its slack basic and e_s at 0, the row in between sits at its
    bound with e_s at 0 and eta basic (eta's reduced cost is then 0: the weights sum to its cost);
    without a row in between, the last row at its upper end gives eta its place. Blocks priced at
    these weights then start dual feasible. False, and nothing set, when the weights are not such
    a vertex (none positive, or more than one in between)."""
    d = run.decomposition
    form = d.form
    upper, _ = form.tail_box(run.costs, np.zeros(form.count))
    full = weights >= upper * (1 - 1e-12)
    between = (weights > 0) & ~full
    if not (full | between).any() or between.sum() > 1:
        return False
    excess, part = form.columns.tail_excess, slice(0, form.tail_count)
    tight = np.where(d.sign[part] > 0, UPPER, LOWER)
    columns[excess] = np.where(full, BASIC, LOWER)
    rows[d.s.linking_rows[part]] = np.where(full | between, tight, BASIC)
    columns[form.columns.value_at_risk] = BASIC
    if not between.any():
        columns[excess[np.flatnonzero(full)[-1]]] = LOWER
    return True


def supporting(run: PhaseRun, prices: Prices, plan: np.ndarray) -> Prices:
    """Prices that `plan` satisfies the optimality conditions for, where it decides them:
    the risk rows' weights on its costliest scenarios (`RiskForm.supporting`, ties broken by
    the weights of `prices`), and each agreement it signs paid for only by the blocks that use
    it (what the other blocks' copies carried moved to them, in proportion: each agreement's
    sum, and so filled prices, unchanged; the risk rows hold no agreement, so its cap too)."""
    s = run.decomposition.s
    rows = supporting_rows(run, prices, plan)
    copies = dict(prices.copies)
    for g, keys in s.agreement_copies.items():
        users = [key for key in keys if _uses(run, key[0], g, plan)]
        if plan[g] < 0.5 or not users:
            continue
        held = sum(prices.copies[key] for key in users)
        moved = sum(prices.copies[key] for key in keys) - held
        for key in keys:
            copies[key] = 0.0
        for key in users:
            copies[key] = prices.copies[key] + moved * (prices.copies[key] / held if held > 0 else 1 / len(users))
    return Prices(rows, copies)


def supporting_rows(run: PhaseRun, prices: Prices, plan: np.ndarray) -> np.ndarray:
    """The linking rows' prices of `prices` with the risk rows' weights put on the costliest
    scenarios of `plan` (`RiskForm.supporting`, ties broken by the weights of `prices`)."""
    form = run.decomposition.form
    rows = prices.rows.copy()
    if form.count:
        rows[:form.count] = form.supporting(run.costs, scenario_recourse(run, plan), prices.rows[:form.count])
    return rows


def _uses(run: PhaseRun, b: int, g: int, plan: np.ndarray) -> bool:
    """Whether block b's part of `plan` contracts an option that agreement g gates."""
    d = run.decomposition
    block = d.s.blocks[b]
    link_rows = np.searchsorted(block.rows, d.s.links[(b, g)])  # its rows z_o - w_g <= 0
    return bool(np.max(d.block_matrices[b][link_rows][:, :len(block.columns)] @ plan[block.columns]) > 0.5)
