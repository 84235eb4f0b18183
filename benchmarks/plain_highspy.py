"""A plain build of the sourcing model handed straight to highspy: the yardstick of the ladder.

    python benchmarks/plain_highspy.py INSTANCE [--gap 1e-4] [--threads 1] [--time-limit S]

Independent of planner's model code: the instance is read by `tests/reference_model.py`
(plain pandas; availability, exposure and risk derived there), and the MIP of docs/model.md
section 3 (two-stage, or multi-stage with the non-anticipativity rows of section 3.6; with
ambiguity when the instance has it) is written here row by row
into scipy arrays and passed to one `highspy.Highs` with its default options, apart from the
gap, threads and time limit. No decomposition, no scaling beyond one money unit (the
geometric mean of the cost coefficients, as the reference does), no starts. An instance with
events.csv must be expanded first (`planner scenarios INSTANCE --out DIR`), as the reference
reads scenarios.csv and disruptions.csv only. Prints one JSON line: status, objective (in the
instance's money), build and solve seconds, columns, rows.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import highspy
import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from reference_model import nonanticipative_pairs, read_reference  # noqa: E402


class Rows:
    """Sparse rows lo <= a x <= up, collected as triplets."""

    def __init__(self) -> None:
        self.r: list[int] = []
        self.c: list[int] = []
        self.v: list[float] = []
        self.lo: list[float] = []
        self.up: list[float] = []

    def add(self, entries: dict[int, float], lo: float, up: float) -> None:
        i = len(self.lo)
        for j, value in entries.items():
            if value != 0.0:
                self.r.append(i)
                self.c.append(j)
                self.v.append(value)
        self.lo.append(lo)
        self.up.append(up)


def build(folder: Path) -> tuple[highspy.HighsLp, float]:
    """The MIP of the instance and its money unit (objective x unit = the instance's money)."""
    ref = read_reference(folder)
    T, S, options, P, a, cap, mats, mat = ref.T, ref.S, ref.O, ref.P, ref.a, ref.cap, ref.mats, ref.mat
    inf = highspy.kHighsInf
    cols: dict[tuple, int] = {}
    lower: list[float] = []
    upper: list[float] = []
    integer: list[int] = []

    def add(key: tuple, lo: float, up: float, is_int: bool = False) -> int:
        cols[key] = len(lower)
        lower.append(lo)
        upper.append(up)
        integer.append(1 if is_int else 0)
        return cols[key]

    for o in options:
        add(("z", o), 0, 1, True)
    agreements = sorted({g for g in ref.agr.values() if g})
    for g in agreements:
        add(("w", g), 0, 1, True)
    # multi-stage: a volume per scenario, tied below to the scenarios not yet told apart when it is decided
    for o in options:
        for t in P[o]:
            for s in S if ref.multi else [None]:
                add(("x", o, t, s) if ref.multi else ("x", o, t), 0, cap[o, t])
            if ref.spot[o]:
                for s in S:
                    if a[o, t, s] > 0:
                        add(("y", o, t, s), 0, inf)
    for m in mats:
        for t in range(T):
            for s in S:
                add(("I", m, t, s), 0, inf if ref.storage[m] is None else ref.storage[m])
                add(("u", m, t, s), 0, inf)
    add(("eta",), -inf, inf)
    for s in S:
        add(("xi", s), 0, inf)
    robust = ref.delta > 0
    if robust:
        add(("rho",), -inf, inf)
        for s in S:
            add(("beta", s), 0, inf)
            add(("gamma", s), 0, inf)
    n = len(lower)

    def x(o: str, t: int, s: str) -> int:
        """The column of the volume x_ot scenario s uses."""
        return cols["x", o, t, s] if ref.multi else cols["x", o, t]

    def cost_entries(s: str) -> dict[int, float]:
        row: dict[int, float] = {}
        for o in options:
            for t in P[o]:
                j = x(o, t, s)
                row[j] = row.get(j, 0.0) + ref.d[t] * ref.cost[o] * a[o, t, s]
                if ("y", o, t, s) in cols:
                    row[cols["y", o, t, s]] = ref.d[t] * ref.cost[o] * (1 + ref.prem[o]) * ref.f[mat[o], t, s]
        for m in mats:
            for t in range(T):
                row[cols["I", m, t, s]] = ref.d[t] * ref.holding[m]
                row[cols["u", m, t, s]] = ref.d[t] * ref.penalty[m]
        return row

    cost_rows = {s: cost_entries(s) for s in S}
    magnitudes = np.abs([v for row in cost_rows.values() for v in row.values() if v])
    money = float(np.sqrt(magnitudes.min() * magnitudes.max())) if len(magnitudes) else 1.0
    cost_rows = {s: {j: v / money for j, v in row.items()} for s, row in cost_rows.items()}

    c = np.zeros(n)
    for o in options:
        c[cols["z", o]] = ref.fixed[o] / money
    for g in agreements:
        c[cols["w", g]] = ref.agcost.get(g, 0.0) / money
    lam, alpha = ref.lam, ref.alpha
    c[cols["eta",]] += lam
    if robust:
        c[cols["rho",]] = 1.0
        for s in S:
            c[cols["beta", s]] = min(1.0, ref.prob[s] * (1 + ref.delta))
            c[cols["gamma", s]] = -ref.prob[s] * (1 - ref.delta)
    else:
        for s in S:
            for j, v in cost_rows[s].items():
                c[j] += (1 - lam) * ref.prob[s] * v
            c[cols["xi", s]] += lam * ref.prob[s] / (1 - alpha)

    rows = Rows()
    for o in options:  # contract bounds: min(minv, cap) z <= x <= cap z; agreement links z <= w
        z = cols["z", o]
        for t in P[o]:
            floor = min(ref.minv[o], cap[o, t])
            for s in S if ref.multi else S[:1]:
                rows.add({x(o, t, s): 1.0, z: -cap[o, t]}, -inf, 0.0)
                if floor > 0:
                    rows.add({x(o, t, s): 1.0, z: -floor}, 0.0, inf)
            if ref.spot[o]:
                for s in S:
                    if ("y", o, t, s) in cols:  # y + a x <= a cap
                        rows.add({cols["y", o, t, s]: 1.0, x(o, t, s): a[o, t, s]}, -inf, a[o, t, s] * cap[o, t])
        if ref.agr[o]:
            rows.add({z: 1.0, cols["w", ref.agr[o]]: -1.0}, -inf, 0.0)
    for m in mats:
        if ref.min_sup[m] > 0:
            rows.add({cols["z", o]: 1.0 for o in options if mat[o] == m}, ref.min_sup[m], inf)
    if ref.budget is not None:
        entries = {cols["z", o]: ref.fixed[o] / money for o in options}
        entries.update({cols["w", g]: ref.agcost.get(g, 0.0) / money for g in agreements})
        rows.add(entries, -inf, ref.budget / money)
    for m in mats:
        for s in S:
            for t in range(T):  # I_t - I_{t-1} - sum a x - sum y - u = init - demand
                entries = {cols["I", m, t, s]: 1.0, cols["u", m, t, s]: -1.0}
                if t > 0:
                    entries[cols["I", m, t - 1, s]] = -1.0
                for o in options:
                    if mat[o] == m and t in P[o]:
                        entries[x(o, t, s)] = -a[o, t, s]
                        if ("y", o, t, s) in cols:
                            entries[cols["y", o, t, s]] = -1.0
                rhs = (ref.init[m] if t == 0 else 0.0) - ref.demand[m, t]
                rows.add(entries, rhs, rhs)
            if ref.service[m] is not None:
                rows.add({cols["u", m, t, s]: 1.0 for t in range(T)}, -inf,
                         (1 - ref.service[m]) * sum(ref.demand[m, t] for t in range(T)))
        if ref.max_risk[m] is not None:
            for t in range(T):
                for s in S if ref.multi else S[:1]:
                    rows.add({x(o, t, s): ref.r[o] - ref.max_risk[m] for o in options if mat[o] == m and t in P[o]},
                             -inf, 0.0)
    for scope, name, m, share, supplied in ref.limits:
        for t in range(T):
            for s in S if supplied or ref.multi else S[:1]:
                entries = {}
                for o in options:
                    if mat[o] == m and t in P[o] and ref.exposed(o, scope, name):
                        entries[x(o, t, s)] = a[o, t, s] if supplied else 1.0
                        if supplied and ("y", o, t, s) in cols:
                            entries[cols["y", o, t, s]] = 1.0
                rows.add(entries, -inf, share * ref.demand[m, t])
    if ref.multi:  # non-anticipativity: each scenario's decisions equal those of the first it cannot be told from
        for key, key2 in nonanticipative_pairs(ref):
            rows.add({cols[key]: 1.0, cols[key2]: -1.0}, 0.0, 0.0)
    for s in S:  # C_s - eta - xi_s <= 0 (and the worst case's rows)
        entries = dict(cost_rows[s])
        entries[cols["eta",]] = -1.0
        entries[cols["xi", s]] = -1.0
        rows.add(entries, -inf, 0.0)
        if robust:
            entries = {j: (1 - lam) * v for j, v in cost_rows[s].items()}
            entries[cols["xi", s]] = entries.get(cols["xi", s], 0.0) + lam / (1 - alpha)
            entries.update({cols["rho",]: -1.0, cols["beta", s]: -1.0, cols["gamma", s]: 1.0})
            rows.add(entries, -inf, 0.0)

    matrix = sp.csc_matrix((rows.v, (rows.r, rows.c)), shape=(len(rows.lo), n))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, len(rows.lo)
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = c, np.array(lower), np.array(upper)
    lp.row_lower_, lp.row_upper_ = np.array(rows.lo), np.array(rows.up)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = matrix.indptr, matrix.indices, matrix.data
    lp.integrality_ = [highspy.HighsVarType.kInteger if k else highspy.HighsVarType.kContinuous for k in integer]
    return lp, money


def solve(folder: Path, gap: float, threads: int | None, time_limit: float | None) -> dict:
    started = time.perf_counter()
    lp, money = build(folder)
    built = time.perf_counter()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", gap)
    if threads:
        h.setOptionValue("threads", threads)
    if time_limit:
        h.setOptionValue("time_limit", time_limit)
    if h.passModel(lp) != highspy.HighsStatus.kOk or h.run() == highspy.HighsStatus.kError:
        # e.g. a `threads` other than the one HiGHS's global scheduler started with in this process
        raise RuntimeError("HiGHS could not run the plain build (see its log with output_flag on)")
    done = time.perf_counter()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    has_plan = info.primal_solution_status == 2
    return {"status": status, "objective": info.objective_function_value * money if has_plan else None,
            "bound": info.mip_dual_bound * money, "mip_gap": info.mip_gap, "build_s": built - started,
            "solve_s": done - built, "columns": lp.num_col_, "rows": lp.num_row_}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("instance", type=Path)
    parser.add_argument("--gap", type=float, default=1e-4)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--time-limit", type=float, default=None)
    args = parser.parse_args()
    print(json.dumps(solve(args.instance, args.gap, args.threads, args.time_limit)))


if __name__ == "__main__":
    main()
