"""The magnitudes planner solves reliably (docs/model.md section 5, "Magnitudes"), checked when
an instance is loaded, so that an input outside them is refused with its reason rather than
solved into a wrong answer.

planner scales the model before HiGHS sees it (`planner.solve.scaling`): volumes of each material
by its typical volume, money by a unit at the centre of the range of the cost coefficients.
What scaling cannot remove is a *spread*: HiGHS works to tolerances of about 1e-9 to 1e-6,
so coefficients that differ by too many orders of magnitude within one model lose their
meaning. Measured against the independent formulation (tests/test_magnitudes.py):

- money: every per-unit cost times its material's typical volume, every fixed cost, and the
  cost of holding an initial stock above the typical volume for a period, within a factor
  MONEY_SPAN of each other (1e8). Random instances with one class of money
  figures scaled (tests/test_magnitudes.py, and a scan of about 4,000 of them): every span up to 1e9
  solved to the reference's optimum; from 1.9e10 up HiGHS's presolve, on cost rows that hold a
  shortage penalty of 1e6 beside unit costs of 1e-2 in model units, called plans 0.2-12% dearer
  than the optimum optimal, a wrong answer that no check of the plan catches (it is feasible).
  So the envelope keeps a factor of about 200 below the smallest such span;
- volumes of one material (demand, capacities, minimum volumes, initial stock) within a
  factor VOLUME_SPAN (1e7): a capacity far above demand turns x <= cap z into a constraint
  that HiGHS's integrality tolerance lets leak (a volume with z = 1e-9); 1e8 still solved,
  1e11 did not;
- no figure above LARGEST (1e15) in magnitude.

A typical volume is the material's mean demand per period (its mean capacity when it has no
demand), as in the scaling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from planner.errors import Problem

MONEY_SPAN = 1e8
VOLUME_SPAN = 1e7
LARGEST = 1e15

_MONEY_PER_UNIT = (("options", "unit_cost"), ("commodities", "shortage_penalty"), ("commodities", "holding_cost"))
_MONEY_LUMP = (("options", "fixed_cost"), ("agreements", "fixed_cost"))
_VOLUMES = (("demand", "demand"), ("options", "capacity"), ("capacity", "capacity"), ("options", "min_volume"),
            ("commodities", "initial_stock"))


@dataclass(frozen=True)
class _Figure:
    magnitude: float  # as the model sees it
    value: float  # as written
    table: str
    row: int
    column: str
    note: str = ""  # how the magnitude follows from the value


def _numbers(frame: pd.DataFrame, column: str) -> list[tuple[int, float, int]]:
    """(position, value, spreadsheet row) of the finite nonzero cells of a column."""
    if column not in frame.columns:
        return []
    return [(i, float(v), int(r)) for i, (v, r) in enumerate(zip(frame[column], frame["_row"]))
            if isinstance(v, (int, float)) and math.isfinite(v) and v != 0]


def typical_volumes(tables: dict[str, pd.DataFrame], periods: int) -> dict[str, float]:
    """Mean demand per period of each material, else its mean capacity, else 1."""
    demand = tables["demand"].groupby("commodity")["demand"].sum() if not tables["demand"].empty else {}
    capacity = (tables["options"].groupby("commodity")["capacity"].mean() if not tables["options"].empty
                else {})
    typical = {}
    for m in tables["commodities"]["commodity"]:
        mean = float(demand.get(m, 0.0)) / max(periods, 1)
        if not mean > 0:
            mean = float(capacity.get(m, 0.0))
        typical[m] = mean if mean > 0 else 1.0
    return typical


def _material_of(tables: dict[str, pd.DataFrame], table: str) -> list[str]:
    frame = tables[table]
    if "commodity" in frame.columns:
        return list(frame["commodity"])
    if table == "capacity":
        of = dict(zip(tables["options"]["option"], tables["options"]["commodity"]))
        return [of.get(o, "") for o in frame["option"]]
    return [""] * len(frame)


def _money_figures(tables: dict[str, pd.DataFrame], typical: dict[str, float]) -> list[_Figure]:
    figures = []
    for table, column in _MONEY_PER_UNIT:
        materials = _material_of(tables, table)
        for i, value, row in _numbers(tables[table], column):
            volume = typical.get(materials[i], 1.0)
            figures.append(_Figure(abs(value) * volume, value, table, row, column,
                                   f"x a typical volume of {volume:.3g}"))
    for table, column in _MONEY_LUMP:
        figures += [_Figure(abs(v), v, table, row, column) for _, v, row in _numbers(tables[table], column)]
    figures += _stock_holding(tables["commodities"], typical)
    return figures


def _stock_holding(commodities: pd.DataFrame, typical: dict[str, float]) -> list[_Figure]:
    """The cost of holding an initial stock larger than the material's typical volume for one
    period: a stock that cannot be thrown away is held whatever the plan, so this cost dwarfs the
    decisions when it is far above the other money figures (a stock of 2.8e6 t at 4.8e6 USD/t
    where demand is 12 t: HiGHS ended without a plan)."""
    figures: list[_Figure] = []
    if "initial_stock" not in commodities.columns:
        return figures
    stocks = list(commodities["initial_stock"])
    for i, value, row in _numbers(commodities, "holding_cost"):
        stock = stocks[i]
        if isinstance(stock, (int, float)) and math.isfinite(stock) and stock > typical.get(
                commodities["commodity"].iloc[i], 1.0):
            figures.append(_Figure(abs(value) * stock, value, "commodities", row, "holding_cost",
                                   f"x an initial stock of {stock:.3g}"))
    return figures


def _describe(f: _Figure, files: dict[str, str]) -> str:
    return f"{f.column} {f.value:.3g}{' ' + f.note if f.note else ''} ({files[f.table]} row {f.row})"


def magnitude_problems(tables: dict[str, pd.DataFrame], periods: int, files: dict[str, str],
                       budget: float | None = None) -> list[Problem]:
    """Every figure outside the magnitudes planner solves reliably (module docstring), each
    as a Problem at the figure that stretches the range most."""
    problems: list[Problem] = []
    for table, frame in tables.items():
        for column in frame.columns:
            if column == "_row":
                continue
            for _, value, row in _numbers(frame, column):
                if abs(value) > LARGEST:
                    problems.append(Problem(files[table], f"is above {LARGEST:.0e}, the largest figure planner solves "
                                            "reliably", row=row, column=column, value=f"{value:g}",
                                            hint="check the unit: t rather than g, millions rather than units?"))
    if budget is not None and abs(budget) > LARGEST:
        problems.append(Problem(files["instance.toml"], f"is above {LARGEST:.0e}, the largest figure planner "
                                "solves reliably", column="budget.fixed_cost_max", value=f"{budget:g}"))
    if problems:
        return problems
    typical = typical_volumes(tables, periods)
    money = _money_figures(tables, typical)
    if money:
        low, high = min(money, key=lambda f: f.magnitude), max(money, key=lambda f: f.magnitude)
        if high.magnitude > MONEY_SPAN * low.magnitude:
            problems.append(Problem(
                files[high.table], f"the money figures span {high.magnitude / low.magnitude:.1e}, from "
                f"{_describe(low, files)} to {_describe(high, files)}; planner solves spans up to {MONEY_SPAN:.0e} "
                "reliably", row=high.row, column=high.column, value=f"{high.value:g}",
                hint="check the units of both (per tonne? thousands?); a cost too small to matter can be 0"))
    for m in tables["commodities"]["commodity"]:
        volumes = []
        for table, column in _VOLUMES:
            materials = _material_of(tables, table)
            volumes += [_Figure(abs(v), v, table, row, column) for i, v, row in _numbers(tables[table], column)
                        if materials[i] == m]
        if not volumes:
            continue
        low, high = min(volumes, key=lambda f: f.magnitude), max(volumes, key=lambda f: f.magnitude)
        if high.magnitude > VOLUME_SPAN * low.magnitude:
            problems.append(Problem(
                files[high.table], f"the volumes of {m} span {high.magnitude / low.magnitude:.1e}, from "
                f"{_describe(low, files)} to {_describe(high, files)}; planner solves spans up to {VOLUME_SPAN:.0e} "
                "reliably", row=high.row, column=high.column, value=f"{high.value:g}",
                hint="a capacity with no real limit can be written as a few times the largest demand"))
    return problems
