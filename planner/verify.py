"""Verifying a written result against its instance, from the files alone.

`verify_result` rebuilds the plan from the result CSVs (never from the Pyomo model),
checks every constraint of MODEL.md section 3 and every figure of summary.json, and
returns each violation with its size. Tolerances are relative: 1e-6 of the quantity
compared (at least 1e-6 absolute), looser than solver noise, tight enough for money.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from planner.data import ModelData
from planner.errors import ResultsError
from planner.output import SUMMARY_FILE, unneutralise
from planner.results import TABLE_COLUMNS, Plan, compute_figures, delivered_and_spot

TOLERANCE = 1e-6


@dataclass(frozen=True)
class Violation:
    check: str  # the constraint or figure, as MODEL.md names it
    where: str
    size: float  # by how much, in the quantity's own unit
    detail: str

    def __str__(self) -> str:
        return f"{self.check}: {self.where}: {self.detail} (off by {self.size:.6g})"


def _read(folder: Path, name: str) -> pd.DataFrame:
    path = folder / f"{name}.csv"
    try:
        table = pd.read_csv(path, dtype={"period": str}, keep_default_na=False, na_values=[""])
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ResultsError(f"{path}: cannot be read as a result table ({exc})") from None
    missing = [c for c in TABLE_COLUMNS[name] if c not in table.columns]
    if missing:
        raise ResultsError(f"{path}: missing columns {', '.join(missing)}")
    for col in ("option", "agreement", "scenario", "commodity"):
        if col in table.columns:
            table[col] = table[col].map(unneutralise)
    return table


def read_plan(data: ModelData, folder: Path) -> tuple[Plan, dict, dict[str, pd.DataFrame]]:
    """The plan, summary and tables of a results folder, checked to match the instance."""
    folder = Path(folder)
    try:
        summary = json.loads((folder / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ResultsError(f"{folder / SUMMARY_FILE}: cannot be read ({exc})") from None
    tables = {name: _read(folder, name) for name in TABLE_COLUMNS}
    index = {p: t for t, p in enumerate(data.periods)}
    try:
        contracted = {o: int(z) for o, z in zip(tables["contracts"]["option"], tables["contracts"]["selected"])}
        signed = {g: int(w) for g, w in zip(tables["agreements"]["agreement"], tables["agreements"]["signed"])}
        volume = {(o, index[p]): float(v) for o, p, v in
                  zip(tables["volumes"]["option"], tables["volumes"]["period"], tables["volumes"]["volume"])}
        sp = tables["spot"]
        spot = {(o, index[p], s): float(v) for o, p, s, v in zip(sp["option"], sp["period"], sp["scenario"],
                                                                  sp["volume"])}
        su = tables["supply"]
        keys = [(m, index[p], s) for m, p, s in zip(su["commodity"], su["period"], su["scenario"])]
    except (KeyError, ValueError) as exc:
        raise ResultsError(f"{folder}: the result does not belong to this instance (unknown {exc})") from None
    if set(contracted) != set(data.options) or set(signed) != set(data.agreements):
        raise ResultsError(f"{folder}: its options or agreements are not those of the instance")
    stock = dict(zip(keys, map(float, su["stock"])))
    unmet = dict(zip(keys, map(float, su["shortage"])))
    expected_keys = {(m, t, s) for m in data.commodities for t in data.horizon for s in data.scenarios}
    if set(keys) != expected_keys:
        raise ResultsError(f"{folder / 'supply.csv'}: does not have one row per scenario, material and period")
    # Spot purchases that were not bought are not written: complete them with zeros.
    full_spot = {(o, t, s): 0.0 for o in data.spot_options for t in data.periods_of[o] for s in data.scenarios
                 if data.availability[o, t, s] > 0}
    full_spot.update(spot)
    return Plan(contracted, signed, volume, full_spot, stock, unmet), summary, tables


def _tol(*scales: float) -> float:
    return TOLERANCE * max(1.0, *(abs(s) for s in scales))


def verify_result(data: ModelData, folder: Path) -> list[Violation]:
    """Every violation of MODEL.md's constraints and reported figures by the result in `folder`."""
    plan, summary, tables = read_plan(data, folder)
    out: list[Violation] = []
    period = data.periods

    def check(ok_by: float, scale: float, name: str, where: str, detail: str) -> None:
        """Record a violation when `ok_by` (>= 0 when satisfied) is below -tolerance."""
        if ok_by < -_tol(scale):
            out.append(Violation(name, where, -ok_by, detail))

    for o in data.options:
        z = plan.contracted[o]
        if z not in (0, 1):
            out.append(Violation("1 contract", o, abs(z - round(z)), f"selected is {z}, expected 0 or 1"))
        for t in data.periods_of[o]:
            x, cap, q = plan.volume.get((o, t), 0.0), data.capacity[o, t], data.min_volume[o, t]
            check(cap * z - x, cap, "1 contract", f"{o} {period[t]}", f"volume {x:g} above capacity x selected")
            check(x - q * z, cap, "1 contract", f"{o} {period[t]}", f"volume {x:g} below min_volume x selected")
        if o in data.agreement_of:
            g = data.agreement_of[o]
            check(plan.signed[g] - z, 1, "2 agreement", o, f"selected without agreement {g}")
    for (o, t), x in plan.volume.items():
        if t not in data.periods_of.get(o, ()) and abs(x) > _tol(x):
            out.append(Violation("1 contract", f"{o} {period[t]}", abs(x), "volume in a period it cannot deliver"))
    for (o, t, s), y in plan.spot.items():
        if (o, t, s) not in data.availability or not data.is_spot.get(o) or data.availability[o, t, s] == 0:
            out.append(Violation("3 spot", f"{o} {period[t]} {s}", y, "spot purchase where none is possible"))
            continue
        room = data.availability[o, t, s] * (data.capacity[o, t] - plan.volume.get((o, t), 0.0))
        check(room - y, data.capacity[o, t], "3 spot", f"{o} {period[t]} {s}", f"spot {y:g} above available {room:g}")

    supply = tables["supply"].set_index(["scenario", "commodity", "period"])
    for m in data.commodities:
        for s in data.scenarios:
            before = data.initial_stock[m]
            for t in data.horizon:
                delivered, bought = delivered_and_spot(data, plan, m, t, s)
                stock, unmet, demand = plan.stock[m, t, s], plan.unmet[m, t, s], data.demand[m, t]
                where = f"{m} {period[t]} {s}"
                balance = before + delivered + bought + unmet - demand - stock
                scale = max(demand, before, delivered)
                check(-abs(balance), scale, "4 balance", where, f"stock {stock:g} != {stock + balance:g}")
                row = supply.loc[(s, m, period[t])]
                check(-abs(row["delivered"] - delivered), scale, "4 balance", where, "delivered column disagrees")
                check(-abs(row["spot"] - bought), scale, "4 balance", where, "spot column disagrees")
                check(stock, scale, "4 balance", where, f"negative stock {stock:g}")
                check(unmet, scale, "4 balance", where, f"negative shortage {unmet:g}")
                if data.storage_capacity[m] is not None:
                    cap = data.storage_capacity[m]
                    check(cap - stock, cap, "4 balance", where, f"stock {stock:g} above storage_capacity {cap:g}")
                before = stock
            if data.service_level[m] is not None:
                total = sum(data.demand[m, t] for t in data.horizon)
                allowed = (1 - data.service_level[m]) * total
                short = sum(plan.unmet[m, t, s] for t in data.horizon)
                check(allowed - short, total, "5 service level", f"{m} {s}", f"shortage {short:g} above {allowed:g}")
        if data.min_suppliers[m]:
            count = sum(plan.contracted[o] for o in data.options_of[m])
            check(count - data.min_suppliers[m], 1, "6 diversification", m,
                  f"{count} options contracted, at least {data.min_suppliers[m]} required")
        if data.max_avg_risk[m] is not None:
            for t in data.horizon:
                vols = [(o, plan.volume.get((o, t), 0.0)) for o in data.options_of[m]]
                total = sum(v for _, v in vols)
                excess = sum((data.risk[o] - data.max_avg_risk[m]) * v for o, v in vols)
                check(-excess, total, "7 average risk", f"{m} {period[t]}",
                      f"average risk above {data.max_avg_risk[m]:g}")
    for limit in data.limits:
        exposed = data.exposed.get((limit.scope, limit.name), set())
        for t in data.horizon:
            vol = sum(plan.volume.get((o, t), 0.0) for o in data.options_of[limit.commodity] if o in exposed)
            allowed = limit.max_share * data.demand[limit.commodity, t]
            check(allowed - vol, data.demand[limit.commodity, t], "8 share limit",
                  f"{limit.scope} {limit.name} {limit.commodity} {period[t]}", f"{vol:g} exposed, at most {allowed:g}")

    figures = compute_figures(data, plan)
    if data.fixed_cost_max is not None:
        check(data.fixed_cost_max - figures.fixed_cost, data.fixed_cost_max, "9 budget", "fixed costs",
              f"{figures.fixed_cost:,.2f} above {data.fixed_cost_max:,.2f}")
    costs = tables["scenario_costs"].set_index("scenario")
    for s in data.scenarios:
        for column, value in (("cost", figures.scenario_cost[s]),
                              ("total_cost", figures.fixed_cost + figures.scenario_cost[s])):
            reported = float(costs.at[s, column]) if s in costs.index else math.nan
            if not math.isfinite(reported) or abs(reported - value) > _tol(value):
                out.append(Violation("scenario cost", f"{s} {column}", abs(reported - value),
                                     f"reported {reported:,.6f}, recomputed {value:,.6f}"))
    for key in ("fixed_cost", "expected_cost", "cvar", "objective"):
        value, reported = getattr(figures, key), summary.get(key)
        if not isinstance(reported, (int, float)) or abs(reported - value) > _tol(value):
            size = abs(reported - value) if isinstance(reported, (int, float)) else math.inf
            out.append(Violation("summary", key, size, f"reported {reported}, recomputed {value:,.6f}"))
    return out
