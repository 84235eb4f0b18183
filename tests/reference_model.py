"""An independent implementation of docs/model.md section 3, for small instances.

It shares no code with `planner`: it reads the instance folder with plain pandas,
derives availability, risk and exposure itself, enumerates every contract decision z
(2^|options|), signs exactly the agreements the chosen options need, and solves the
remaining linear programme with `scipy.optimize.linprog` on dense matrices. The best
objective over all z is the optimum. Only for clean instances with a handful of options.
"""

from __future__ import annotations

import itertools
import tomllib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
from scipy.optimize import linprog


def _read(folder: Path, name: str) -> pd.DataFrame | None:
    path = folder / f"{name}.csv"
    if not path.exists():
        return None
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _num(value: str, default: float | None) -> float | None:
    return default if value is None or str(value).strip() == "" else float(value)


def read_reference(folder: Path) -> SimpleNamespace:
    """The instance's sets and derived parameters, computed independently of planner."""
    folder = Path(folder)
    settings = tomllib.loads((folder / "instance.toml").read_text())
    periods = [str(p) for p in settings["periods"]]
    T = len(periods)
    rate = settings.get("discount_rate", 0.0)
    lam = settings.get("risk", {}).get("aversion", 0.0)
    alpha = settings.get("risk", {}).get("cvar_alpha", 0.9)
    delta = settings.get("risk", {}).get("ambiguity", 0.0)
    multi = settings.get("decisions", {}).get("stages", "two") == "multi"
    budget = settings.get("budget", {}).get("fixed_cost_max")
    d = [(1 + rate) ** (-t) for t in range(T)]

    com = _read(folder, "commodities")
    mats = list(com["commodity"])
    col = lambda df, c: df[c] if c in df.columns else pd.Series([""] * len(df))  # noqa: E731
    penalty = dict(zip(mats, map(float, com["shortage_penalty"])))
    holding = {m: _num(v, 0.0) for m, v in zip(mats, col(com, "holding_cost"))}
    init = {m: _num(v, 0.0) for m, v in zip(mats, col(com, "initial_stock"))}
    storage = {m: _num(v, None) for m, v in zip(mats, col(com, "storage_capacity"))}
    service = {m: _num(v, None) for m, v in zip(mats, col(com, "service_level"))}
    min_sup = {m: int(_num(v, 0)) for m, v in zip(mats, col(com, "min_suppliers"))}
    max_risk = {m: _num(v, None) for m, v in zip(mats, col(com, "max_avg_risk"))}

    demand = {(m, t): 0.0 for m in mats for t in range(T)}
    dem = _read(folder, "demand")
    for m, p, v in zip(dem["commodity"], dem["period"], dem["demand"]):
        demand[m, periods.index(p)] = float(v)

    cty = _read(folder, "countries")
    bloc = dict(zip(cty["country"], cty["bloc"]))
    crisk = dict(zip(cty["country"], map(float, cty["risk"])))

    opt = _read(folder, "options")
    O = list(opt["option"])
    mat = dict(zip(O, opt["commodity"]))
    origin = dict(zip(O, opt["origin"]))
    proc = {o: (p or origin[o]) for o, p in zip(O, col(opt, "processor"))}
    cap = {(o, t): float(c) for o, c in zip(O, opt["capacity"]) for t in range(T)}
    capdf = _read(folder, "capacity")
    if capdf is not None:
        for o, p, c in zip(capdf["option"], capdf["period"], capdf["capacity"]):
            cap[o, periods.index(p)] = float(c)
    cost = dict(zip(O, map(float, opt["unit_cost"])))
    fixed = {o: _num(v, 0.0) for o, v in zip(O, col(opt, "fixed_cost"))}
    minv = {o: _num(v, 0.0) for o, v in zip(O, col(opt, "min_volume"))}
    start = {o: (periods.index(v) if v else 0) for o, v in zip(O, col(opt, "available_from"))}
    spot = {o: _num(v, 0) == 1 for o, v in zip(O, col(opt, "spot"))}
    prem = {o: _num(v, 0.0) for o, v in zip(O, col(opt, "spot_premium"))}
    agr = {o: v for o, v in zip(O, col(opt, "agreement"))}
    agdf = _read(folder, "agreements")
    agcost = dict(zip(agdf["agreement"], map(float, agdf["fixed_cost"]))) if agdf is not None else {}
    P = {o: [t for t in range(T) if t >= start[o] and cap[o, t] > 0] for o in O}
    lead = {o: int(_num(v, 1)) for o, v in zip(O, col(opt, "lead_time"))}
    r = {o: max(crisk[origin[o]], crisk[proc[o]]) for o in O}

    def exposed(o: str, scope: str, name: str) -> bool:
        places = {origin[o], proc[o]}
        return name in places if scope == "country" else any(bloc[c] == name for c in places)

    scdf = _read(folder, "scenarios")
    S = list(scdf["scenario"]) if scdf is not None else ["base"]
    prob = dict(zip(S, map(float, scdf["probability"]))) if scdf is not None else {"base": 1.0}
    sev: dict = {}
    dis = _read(folder, "disruptions")
    price: dict = {}  # spot price factor per (material, period, scenario): the largest of the rows hitting it
    if dis is not None:
        for rec in dis.to_dict("records"):
            first = periods.index(rec["start_period"])
            last = periods.index(rec["end_period"]) if rec.get("end_period") else T - 1
            for m in mats:
                if rec["commodity"] in ("*", m):
                    for t in range(first, last + 1):
                        key = (m, t, rec["scenario"])
                        price[key] = max(price.get(key, -np.inf), _num(rec.get("price_factor"), 1.0))
            for o in O:
                if (rec["commodity"] in ("*", mat[o])) and exposed(o, rec["scope"], rec["name"]):
                    for t in range(first, last + 1):
                        key = (o, t, rec["scenario"])
                        sev[key] = max(sev.get(key, 0.0), _num(rec.get("severity"), 1.0))
    a = {(o, t, s): 1 - sev.get((o, t, s), 0.0) for o in O for t in range(T) for s in S}
    f = {(m, t, s): price.get((m, t, s), 1.0) for m in mats for t in range(T) for s in S}
    lim = _read(folder, "limits")
    limits = [] if lim is None else [  # (scope, name, material, share, True when on what is supplied)
        (sc, nm, m, float(sh), basis == "supplied")
        for sc, nm, cm, sh, basis in zip(lim["scope"], lim["name"], lim["commodity"], lim["max_share"],
                                         col(lim, "basis"))
        for m in (mats if cm == "*" else [cm])
    ]

    return SimpleNamespace(**{k: v for k, v in locals().items() if k not in ("col", "exposed")},
                           exposed=exposed)


# The ways the reference tries an LP, in turn, until one proves it optimal or infeasible: at
# extreme magnitudes (a shortage penalty of 5e10 against unit costs of 100) scipy's HiGHS ended some
# with "Solve error" and the reference called a feasible instance infeasible (seed 7165420 of
# test_magnitudes); without presolve they solve.
LP_ATTEMPTS = ({}, {"presolve": False}, {"method": "highs-ipm"})


def _solve_lp(c: np.ndarray, A_ub, b_ub, A_eq, b_eq, bounds):  # noqa: ANN001, ANN202
    """linprog's answer, optimal (status 0) or infeasible (2); never an inconclusive one."""
    for attempt in LP_ATTEMPTS:
        options = {k: v for k, v in attempt.items() if k != "method"}
        res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=bounds,
                      method=attempt.get("method", "highs"), options=options or None)
        if res.status in (0, 2):
            return res
    raise RuntimeError(f"the reference could not solve an LP: {res.message}")


def nonanticipative_pairs(ref: SimpleNamespace) -> list[tuple[tuple, tuple]]:
    """The pairs of columns a multi-stage plan holds equal: each scenario's decisions of a period
    equal those of the first scenario it cannot be told from by then (volumes x, keyed ("x", o, t,
    s), when they are decided: t - lead time; spot y, stock I and shortage u in their period)."""
    T, S, O, P, a, mats = ref.T, ref.S, ref.O, ref.P, ref.a, ref.mats

    def alike(s: str, s2: str, tau: int) -> bool:
        return all(a[o, t, s] == a[o, t, s2] for o in O for t in P[o] if t <= tau) and all(
            ref.f[m, t, s] == ref.f[m, t, s2] for m in mats for t in range(tau + 1))

    pairs = []
    for s in S:
        for tau in range(-1, T):
            first = next(s2 for s2 in S if alike(s, s2, tau))
            if first == s:
                continue
            pairs += [(("x", o, t, s), ("x", o, t, first)) for o in O for t in P[o] if max(-1, t - ref.lead[o]) == tau]
            if tau >= 0:
                for m in mats:
                    pairs += [(("I", m, tau, s), ("I", m, tau, first)), (("u", m, tau, s), ("u", m, tau, first))]
                # a spot purchase exists where the option is spot and available (alike: in both or neither)
                pairs += [(("y", o, tau, s), ("y", o, tau, first)) for o in O
                          if ref.spot[o] and tau in P[o] and a[o, tau, s] > 0]
    return pairs


def reference_optimum(folder: Path) -> float | None:
    """Optimal objective of the instance at `folder`, or None when infeasible."""
    ref = read_reference(Path(folder))
    T, S, O, P, a, cap, mats = ref.T, ref.S, ref.O, ref.P, ref.a, ref.cap, ref.mats
    d, cost, prem, spot, mat = ref.d, ref.cost, ref.prem, ref.spot, ref.mat
    lam, alpha, prob = ref.lam, ref.alpha, ref.prob
    holding, penalty, init, demand, service, max_risk, r = (
        ref.holding, ref.penalty, ref.init, ref.demand, ref.service, ref.max_risk, ref.r)
    limits, exposed, min_sup, agr, fixed, agcost, budget, minv, storage = (
        ref.limits, ref.exposed, ref.min_sup, ref.agr, ref.fixed, ref.agcost, ref.budget, ref.minv, ref.storage)

    # ---- the LP for fixed z: columns
    cols: dict = {}

    def add(key: object) -> int:
        cols[key] = len(cols)
        return cols[key]

    # multi-stage: a volume per scenario, tied to the scenarios indistinguishable when it is decided
    X = (lambda o, t, s: cols["x", o, t, s]) if ref.multi else (lambda o, t, s: cols["x", o, t])  # noqa: E731
    for o in O:
        for t in P[o]:
            for s in S if ref.multi else [None]:
                add(("x", o, t, s) if ref.multi else ("x", o, t))
            if spot[o]:
                for s in S:
                    if a[o, t, s] > 0:
                        add(("y", o, t, s))
    for m in mats:
        for t in range(T):
            for s in S:
                add(("I", m, t, s))
                add(("u", m, t, s))
    add(("eta",))
    for s in S:
        add(("xi", s))
    robust = ref.delta > 0
    if robust:  # the worst case over the ambiguity set, as the LP dual of the max over p
        add(("rho",))
        for s in S:
            add(("beta", s))
            add(("gamma", s))
    n = len(cols)

    def scenario_cost_row(s: str) -> np.ndarray:
        row = np.zeros(n)
        for o in O:
            for t in P[o]:
                row[X(o, t, s)] += d[t] * cost[o] * a[o, t, s]
                if ("y", o, t, s) in cols:
                    row[cols["y", o, t, s]] += d[t] * cost[o] * (1 + prem[o]) * ref.f[mat[o], t, s]
        for m in mats:
            for t in range(T):
                row[cols["I", m, t, s]] += d[t] * holding[m]
                row[cols["u", m, t, s]] += d[t] * penalty[m]
        return row

    cost_rows = {s: scenario_cost_row(s) for s in S}
    # For numerics only: money in a unit at the centre of the range of the cost coefficients
    # (the geometric mean of the smallest and the largest), so that the LP sees numbers as
    # near 1 as the instance allows, whatever its magnitudes.
    magnitudes = np.abs(np.concatenate(list(cost_rows.values())))
    magnitudes = magnitudes[magnitudes > 0]
    money = float(np.sqrt(magnitudes.min() * magnitudes.max())) if len(magnitudes) else 1.0
    cost_rows = {s: row / money for s, row in cost_rows.items()}
    c = np.zeros(n)
    c[cols["eta",]] += lam
    if robust:
        # min lam eta + rho + sum_s (u_s beta_s - l_s gamma_s)
        # s.t. (1 - lam) C_s + lam / (1 - alpha) xi_s <= rho + beta_s - gamma_s
        c[cols["rho",]] = 1.0
        for s in S:
            c[cols["beta", s]] = min(1.0, prob[s] * (1 + ref.delta))
            c[cols["gamma", s]] = -prob[s] * (1 - ref.delta)
    else:
        for s in S:
            c += (1 - lam) * prob[s] * cost_rows[s]
            c[cols["xi", s]] += lam * prob[s] / (1 - alpha)

    A_ub, b_ub, A_eq, b_eq = [], [], [], []
    for (kind, *rest), j in cols.items():
        if kind == "y":
            o, t, s = rest
            row = np.zeros(n)
            row[j] = 1
            row[X(o, t, s)] = a[o, t, s]
            A_ub.append(row)
            b_ub.append(a[o, t, s] * cap[o, t])
    for m in mats:
        for s in S:
            for t in range(T):
                row = np.zeros(n)
                row[cols["I", m, t, s]] = 1
                if t > 0:
                    row[cols["I", m, t - 1, s]] = -1
                for o in O:
                    if mat[o] == m and t in P[o]:
                        row[X(o, t, s)] -= a[o, t, s]
                        if ("y", o, t, s) in cols:
                            row[cols["y", o, t, s]] -= 1
                row[cols["u", m, t, s]] = -1
                A_eq.append(row)
                b_eq.append((init[m] if t == 0 else 0.0) - demand[m, t])
            if service[m] is not None:
                row = np.zeros(n)
                for t in range(T):
                    row[cols["u", m, t, s]] = 1
                A_ub.append(row)
                b_ub.append((1 - service[m]) * sum(demand[m, t] for t in range(T)))
        for t in range(T):
            for s in S if ref.multi else S[:1]:
                if max_risk[m] is not None:
                    row = np.zeros(n)
                    for o in O:
                        if mat[o] == m and t in P[o]:
                            row[X(o, t, s)] = r[o] - max_risk[m]
                    A_ub.append(row)
                    b_ub.append(0.0)
    for scope, name, m, share, supplied in limits:
        for t in range(T):
            for s in S if ref.multi or supplied else S[:1]:
                row = np.zeros(n)
                for o in O:
                    if mat[o] == m and t in P[o] and exposed(o, scope, name):
                        row[X(o, t, s)] += a[o, t, s] if supplied else 1  # supplied: what arrives, spot too
                        if supplied and ("y", o, t, s) in cols:
                            row[cols["y", o, t, s]] += 1
                A_ub.append(row)
                b_ub.append(share * demand[m, t])
    if ref.multi:  # non-anticipativity, as equality rows
        for key, key2 in nonanticipative_pairs(ref):
            row = np.zeros(n)
            row[cols[key]], row[cols[key2]] = 1.0, -1.0
            A_eq.append(row)
            b_eq.append(0.0)
    for s in S:  # C_s - eta - xi_s <= 0
        row = cost_rows[s].copy()
        row[cols["eta",]] -= 1
        row[cols["xi", s]] -= 1
        A_ub.append(row)
        b_ub.append(0.0)
        if robust:
            row = (1 - lam) * cost_rows[s]
            row[cols["xi", s]] += lam / (1 - alpha)
            row[cols["rho",]] -= 1
            row[cols["beta", s]] -= 1
            row[cols["gamma", s]] += 1
            A_ub.append(row)
            b_ub.append(0.0)

    best = None
    for z in itertools.product([0, 1], repeat=len(O)):
        chosen = {o for o, zo in zip(O, z) if zo}
        if any(sum(1 for o in chosen if mat[o] == m) < min_sup[m] for m in mats):
            continue
        signed = {agr[o] for o in chosen if agr[o]}
        fc = sum(fixed[o] for o in chosen) + sum(agcost[g] for g in signed)
        if budget is not None and fc > budget + 1e-9:
            continue
        bounds = []
        for key in cols:
            if key[0] == "x":
                _, o, t, *_ = key
                on = o in chosen
                bounds.append((min(minv[o], cap[o, t]) if on else 0.0, cap[o, t] if on else 0.0))
            elif key[0] == "I":
                bounds.append((0.0, storage[key[1]]))
            elif key[0] in ("eta", "rho"):
                bounds.append((None, None))
            else:
                bounds.append((0.0, None))
        res = _solve_lp(c, np.array(A_ub) if A_ub else None, b_ub or None, np.array(A_eq), b_eq, bounds)
        if res.status == 0:
            value = fc + res.fun * money
            best = value if best is None else min(best, value)
    return best
