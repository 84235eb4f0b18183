"""Whole plans from block plans: what each round offers for completion (package docstring, "The plans").

A round makes two: the union of the blocks' last plans, every agreement signed that one of them
uses (`union_plan`), and one that signs exactly what the LP relaxation or the master signs,
the blocks that used an agreement left unsigned solved again without it (`agreeing_tasks`,
then `agreeing_plan`). Both are integer values only; `PhaseRun.complete` makes them whole by the
whole model's LP, started, when HiGHS has no basis, from the block plans put together
(`put_together`), which also starts the first LP relaxation (`first`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from planner.solve.decomposition.block import BlockResult, BlockTask

if TYPE_CHECKING:
    from planner.solve.decomposition.phase import PhaseRun


def union_plan(run: PhaseRun) -> np.ndarray:
    """Integer values of the blocks' last plans, each agreement signed when one uses it."""
    s = run.decomposition.s
    values = np.zeros(len(run.costs))
    for b, block in enumerate(s.blocks):
        plan = run.plans[b][-1]
        values[block.columns] = plan[:len(block.columns)]
        for g, value in zip(block.copies, plan[len(block.columns):]):
            values[g] = max(values[g], value)
    return np.round(values[s.integer])


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
            tasks.append(BlockTask(b, None, copy_bounds=(copies, np.zeros(len(copies)), allowed)))
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
    eta = 0 and each e_s the scenario's excess over it (so every tail row holds). A start for
    `PhaseRun.complete` and for the LP relaxation (`first`); it breaks only the budget, when the
    plans spend more than it."""
    s = run.decomposition.s
    plan = np.zeros(len(run.costs))
    for b, block in enumerate(s.blocks):
        values = run.plans[b][-1] if block_plans is None else block_plans[b]
        plan[block.columns] = values[:len(block.columns)]
        for g, value in zip(block.copies, values[len(block.columns):]):
            plan[g] = max(plan[g], value)
    if integer_values is not None:
        plan[s.integer] = integer_values
    if s.tail_count:
        plan[s.linking_columns[1:1 + s.tail_count]] = np.maximum(tail_excess(run, plan), 0.0)
    return plan


def tail_excess(run: PhaseRun, plan: np.ndarray) -> np.ndarray:
    """Each tail row's activity over its right-hand side with eta and e_s at 0: scenario s's
    recourse cost R_s(x) in the row's normalised form."""
    d = run.decomposition
    k = d.s.tail_count
    x = plan.copy()
    x[d.s.linking_columns[:1 + k]] = 0.0
    return d.normalised[:k] @ x - d.sign[:k] * run.rhs[:k]
