"""A built model compiled for HiGHS: Pyomo's `LinearStandardFormCompiler` turns it into
sparse matrices, which become one `highspy.HighsLp` (Pyomo stays the single source of truth
for the formulation); and a plan written back into the model's variables.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

from planner.model.pyomo_import import LinearStandardFormCompiler, generate_standard_repn, is_constant, pyo
from planner.model.structure import BuiltModel
from planner.solve.highs import highs_lp


@dataclass
class Compiled:
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


def parametric_rows(rows: list, rhs: np.ndarray) -> list[tuple[int, object, float]]:
    found = []
    for i, (con, mult) in enumerate(rows):
        bound = con.upper if mult >= 0 else con.lower
        if bound is not None and not is_constant(bound):
            found.append((i, bound, float(rhs[i]) - pyo.value(bound)))
    return found


def objective_costs(objective: pyo.Objective, column: dict[int, int], n: int) -> tuple[np.ndarray, float]:
    """Dense cost vector and offset of a linear objective, its Params at their current values."""
    repn = generate_standard_repn(objective.expr, compute_values=True)
    costs = np.zeros(n)
    for var, coef in zip(repn.linear_vars, repn.linear_coefs):
        costs[column[id(var)]] += coef
    return costs, float(repn.constant)


def compile_model(built: BuiltModel) -> Compiled:
    model, second_objective = built.model, built.tiebreak  # no tie-break in the elastic model
    if second_objective is not None:
        second_objective.activate()
    try:
        info = LinearStandardFormCompiler().write(model, mixed_form=True)
    finally:
        if second_objective is not None:
            second_objective.deactivate()
    columns = info.columns
    # Both objectives' costs as `refresh` computes them, so that a kept model refreshed with
    # new parameters holds, to the last bit, what a fresh build would (same plan either way).
    column = {id(v): j for j, v in enumerate(columns)}
    objective, objective_offset = objective_costs(built.objective, column, len(columns))
    tiebreak, tiebreak_offset = ((objective, objective_offset) if second_objective is None
                                 else objective_costs(second_objective, column, len(columns)))
    inf = highspy.kHighsInf
    rhs = np.asarray(info.rhs, dtype=float)
    sense = np.array([mult for _, mult in info.rows], dtype=int)
    is_integer = np.array([v.is_integer() for v in columns], dtype=bool)
    lp = highs_lp(info.A, objective,
                  np.array([-inf if v.lb is None else v.lb for v in columns], dtype=float),
                  np.array([inf if v.ub is None else v.ub for v in columns], dtype=float),
                  np.where(sense <= 0, rhs, -inf),  # 0: equality, -1: >=
                  np.where(sense >= 0, rhs, inf),  # 1: <=
                  integer=is_integer, offset=objective_offset)
    return Compiled(columns, lp, objective, objective_offset, tiebreak, tiebreak_offset,
                     int(info.A.nnz), parametric_rows(info.rows, rhs),
                     [con for con, _ in info.rows], np.flatnonzero(is_integer).astype(np.int32))


def store(model: pyo.ConcreteModel, columns: list, values: np.ndarray) -> None:
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
