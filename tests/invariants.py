"""Checks of a written result against its instance, from the CSV files alone.

Uses the independent derivation of `reference_model.read_reference`, never planner's
own data or model, so a mistake in planner's derived data cannot hide itself.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
from reference_model import read_reference

TOL = 1e-6


def _close(a: float, b: float, scale: float = 1.0) -> bool:
    return abs(a - b) <= TOL * max(1.0, abs(a), abs(b), scale)


def _cvar_by_sorting(costs: np.ndarray, probs: np.ndarray, alpha: float) -> float:
    """Mean of the worst (1 - alpha) probability mass of the costs (splitting an atom)."""
    order = np.argsort(-costs)
    mass, total = 1.0 - alpha, 0.0
    for c, p in zip(costs[order], probs[order]):
        take = min(p, mass)
        total += take * c
        mass -= take
        if mass <= 1e-15:
            break
    return total / (1.0 - alpha)


def _worst_case_by_greedy(costs: np.ndarray, probs: np.ndarray, alpha: float, lam: float, delta: float) -> float:
    """max over p in {l <= p <= u, sum p = 1} of (1 - lam) E_p[C] + lam CVaR_alpha,p(C), with
    l = p (1 - delta) and u = min(1, p (1 + delta)). The function of eta under the min of
    CVaR is convex and piecewise linear with its kinks at the costs, and min and max swap
    (convex in eta, linear in p), so it is evaluated at each cost as eta; for a given eta the
    max over p fills the mass left above the lower bounds into the dearest scenarios first."""
    lower, upper = probs * (1 - delta), np.minimum(1.0, probs * (1 + delta))
    best = np.inf
    for eta in costs:
        value = (1 - lam) * costs + lam / (1 - alpha) * np.maximum(0.0, costs - eta)
        p, room = lower.copy(), 1.0 - lower.sum()
        for s in np.argsort(-value, kind="stable"):
            take = min(upper[s] - lower[s], room)
            p[s] += take
            room -= take
        best = min(best, lam * eta + float(p @ value))
    return best


def check_result(instance: Path, results: Path) -> list[str]:
    """Every violation found, as text; an empty list means the result is consistent."""
    ref = read_reference(Path(instance))
    read = lambda name: pd.read_csv(Path(results) / f"{name}.csv", keep_default_na=False)  # noqa: E731
    summary = json.loads((Path(results) / "summary.json").read_text())
    contracts, volumes, supply = read("contracts"), read("volumes"), read("supply")
    spot, costs, agreements = read("spot"), read("scenario_costs"), read("agreements")
    problems: list[str] = []
    period_index = {p: t for t, p in enumerate(ref.periods)}

    selected = dict(zip(contracts["option"], contracts["selected"]))
    # x per scenario: volumes.csv for every scenario, adaptive_volumes.csv for the scenarios it names
    xs = {(o, period_index[str(p)], s): float(v)
          for o, p, v in zip(volumes["option"], volumes["period"], volumes["volume"]) for s in ref.S}
    adaptive_path = Path(results) / "adaptive_volumes.csv"
    if adaptive_path.exists():
        adaptive = pd.read_csv(adaptive_path, keep_default_na=False, dtype={"period": str})
        for o, p, names, v in zip(adaptive["option"], adaptive["period"], adaptive["scenarios"], adaptive["volume"]):
            for s in str(names).split(";"):
                if (o, period_index[p], s) in xs:
                    problems.append(f"volume of {o} in {p} for {s} given twice")
                xs[o, period_index[p], s] = float(v)
    for (o, t, s), v in xs.items():  # 1. contract
        if t not in ref.P[o]:
            problems.append(f"volume of {o} in period {t} outside its periods")
        if v > ref.cap[o, t] * selected[o] + TOL * max(1, ref.cap[o, t]):
            problems.append(f"{o} period {t} {s}: volume {v} above capacity x selected")
        if v < min(ref.minv[o], ref.cap[o, t]) * selected[o] - TOL * max(1, ref.cap[o, t]):
            problems.append(f"{o} period {t} {s}: volume {v} below the minimum volume")
    for o in ref.O:
        for t in ref.P[o]:
            for s in ref.S:
                if (o, t, s) not in xs:
                    problems.append(f"no volume of {o} in period {t} for {s}")

    def X(o: str, t: int, s: str) -> float:  # noqa: N802
        return xs.get((o, t, s), 0.0)
    signed = dict(zip(agreements["agreement"], agreements["signed"]))
    for o in ref.O:  # 2. agreement
        if ref.agr[o] and selected[o] > signed[ref.agr[o]]:
            problems.append(f"{o} selected without agreement {ref.agr[o]}")
    y = defaultdict(float)
    for s, o, p, v in zip(spot["scenario"], spot["option"], spot["period"], spot["volume"]):
        t = period_index[str(p)]
        y[o, t, s] = float(v)
        if not ref.spot[o] or t not in ref.P[o]:
            problems.append(f"spot purchase of {o} in period {t} where none exists")
        elif v > ref.a[o, t, s] * (ref.cap[o, t] - X(o, t, s)) + TOL * max(1, ref.cap[o, t]):  # 3. spot
            problems.append(f"spot of {o} in {s} period {t}: {v} above available capacity")

    stock_prev: dict = {}
    shortage_total = defaultdict(float)
    for rec in supply.itertuples(index=False):  # 4. balance
        m, s, t = rec.commodity, rec.scenario, period_index[str(rec.period)]
        delivered = sum(ref.a[o, t, s] * X(o, t, s) for o in ref.O if ref.mat[o] == m)
        bought = sum(y[o, t, s] for o in ref.O if ref.mat[o] == m)
        if not _close(rec.delivered, delivered, ref.demand[m, t]) or not _close(rec.spot, bought, ref.demand[m, t]):
            problems.append(f"supply.csv {s}/{m}/{rec.period}: delivered or spot disagrees with volumes")
        before = stock_prev.get((m, s), ref.init[m])
        expected = before + delivered + bought + rec.shortage - ref.demand[m, t]
        if not _close(rec.stock, expected, ref.demand[m, t] + before):
            problems.append(f"balance {s}/{m}/{rec.period}: stock {rec.stock} != {expected}")
        if rec.stock < -TOL or rec.shortage < -TOL:
            problems.append(f"negative stock or shortage in {s}/{m}/{rec.period}")
        if ref.storage[m] is not None and rec.stock > ref.storage[m] + TOL * max(1, ref.storage[m]):
            problems.append(f"stock above storage capacity in {s}/{m}/{rec.period}")
        stock_prev[m, s] = rec.stock
        shortage_total[m, s] += rec.shortage
    for (m, s), short in shortage_total.items():  # 5. service level
        if ref.service[m] is not None:
            allowed = (1 - ref.service[m]) * sum(ref.demand[m, t] for t in range(ref.T))
            if short > allowed + TOL * max(1, allowed):
                problems.append(f"service level of {m} broken in {s}: {short} > {allowed}")
    for m in ref.mats:
        if sum(selected[o] for o in ref.O if ref.mat[o] == m) < ref.min_sup[m]:  # 6
            problems.append(f"{m}: fewer suppliers than min_suppliers")
        for t in range(ref.T):
            for s in ref.S:
                if ref.max_risk[m] is not None:  # 7
                    vol = sum(X(o, t, s) for o in ref.O if ref.mat[o] == m)
                    risk = sum(ref.r[o] * X(o, t, s) for o in ref.O if ref.mat[o] == m)
                    if risk > ref.max_risk[m] * vol + TOL * max(1, vol):
                        problems.append(f"{m} period {t} {s}: average risk above {ref.max_risk[m]}")
    for scope, name, m, share, supplied in ref.limits:  # 8
        for t in range(ref.T):
            for s in ref.S:
                vol = sum(ref.a[o, t, s] * X(o, t, s) + y.get((o, t, s), 0.0) if supplied else X(o, t, s)
                          for o in ref.O if ref.mat[o] == m and ref.exposed(o, scope, name) and t in ref.P[o])
                if vol > share * ref.demand[m, t] + TOL * max(1, ref.demand[m, t]):
                    problems.append(f"share limit {scope}:{name} on {m} period {t} {s}: {vol}")
    if ref.multi:  # 3.6: nothing differs between scenarios indistinguishable when it is decided
        def alike(s: str, s2: str, tau: int) -> bool:
            return all(ref.a[o, t, s] == ref.a[o, t, s2] for o in ref.O for t in ref.P[o] if t <= tau) and all(
                ref.f[m, t, s] == ref.f[m, t, s2] for m in ref.mats for t in range(tau + 1))

        recourse = {(r.commodity, period_index[str(r.period)], r.scenario): (r.stock, r.shortage)
                    for r in supply.itertuples(index=False)}
        for s in ref.S:
            for s2 in ref.S:
                for o in ref.O:
                    for t in ref.P[o]:
                        if alike(s, s2, max(-1, t - ref.lead[o])) and not _close(X(o, t, s), X(o, t, s2)):
                            problems.append(f"volume of {o} in {t} differs between {s} and {s2}")
                for t in range(ref.T):
                    if alike(s, s2, t):
                        for m in ref.mats:
                            if not all(_close(a, b) for a, b in zip(recourse[m, t, s], recourse[m, t, s2])):
                                problems.append(f"stock or shortage of {m} in {t} differs between {s} and {s2}")
                        for o in ref.O:
                            if not _close(y.get((o, t, s), 0.0), y.get((o, t, s2), 0.0)):
                                problems.append(f"spot of {o} in {t} differs between {s} and {s2}")

    fixed = sum(ref.fixed[o] * selected[o] for o in ref.O) + sum(ref.agcost[g] * signed[g] for g in signed)
    if ref.budget is not None and fixed > ref.budget + TOL * max(1, ref.budget):  # 9
        problems.append(f"budget exceeded: {fixed}")

    recomputed = {}
    for s in ref.S:
        c = 0.0
        for o in ref.O:
            for t in ref.P[o]:
                c += ref.d[t] * ref.cost[o] * ref.a[o, t, s] * X(o, t, s)
        for (o, t, s2), v in y.items():
            if s2 == s:
                c += ref.d[t] * ref.cost[o] * (1 + ref.prem[o]) * ref.f[ref.mat[o], t, s] * v
        for rec in supply[supply["scenario"] == s].itertuples(index=False):
            t = period_index[str(rec.period)]
            c += ref.d[t] * (ref.holding[rec.commodity] * rec.stock + ref.penalty[rec.commodity] * rec.shortage)
        recomputed[s] = c
    reported = dict(zip(costs["scenario"], costs["cost"]))
    for s in ref.S:
        if not _close(reported[s], recomputed[s]):
            problems.append(f"scenario cost of {s}: reported {reported[s]}, recomputed {recomputed[s]}")
    c = np.array([recomputed[s] for s in ref.S])
    p = np.array([ref.prob[s] for s in ref.S])
    expected = fixed + float(p @ c)
    cvar = fixed + _cvar_by_sorting(c, p, ref.alpha)
    objective = (1 - ref.lam) * expected + ref.lam * cvar
    if ref.delta > 0:
        objective = fixed + _worst_case_by_greedy(c, p, ref.alpha, ref.lam, ref.delta)
    figures = {"fixed_cost": fixed, "expected_cost": expected, "cvar": cvar, "objective": objective}
    for key, value in figures.items():
        if not _close(summary[key], value):
            problems.append(f"summary {key}: reported {summary[key]}, recomputed {value}")
    return problems


def agrees_with_reference(folder: Path, results: Path) -> None:
    """Solve `folder` exactly; its optimum must be the independent formulation's (both
    infeasible, or equal to 1e-6), and the written result must pass `check_result`."""
    import pytest
    from helpers import solve_exactly
    from reference_model import reference_optimum

    from planner.errors import InfeasibleError
    from planner.results.verify import verify_result
    from planner.results.write import write_results

    expected = reference_optimum(folder)
    try:
        outcome = solve_exactly(folder)
    except InfeasibleError:
        assert expected is None
        return
    assert expected is not None
    assert outcome.figures.objective == pytest.approx(expected, rel=1e-6, abs=1e-6)
    write_results(outcome, results)
    assert verify_result(outcome.data, results) == []
    assert check_result(folder, results) == []
