"""Verifying a written result against its instance, from the files alone.

`verify_result` rebuilds the plan from the result CSVs (`planner.results.readback`, never
from the Pyomo model) and checks every file a user might read or paste:

- every table has exactly its rows (one per option, period, scenario, ...: a row missing,
  an extra row and a duplicated row are each reported), and every cell is a number where
  a number belongs (blank, NaN, inf and text are reported, never crash the check);
- every column that derives from the instance or the plan is recomputed (an option's
  country, bloc, risk and fixed cost; a contract's total volume; a scenario's probability
  and cost; supply delivered and bought; exposure, share and the tightest limit);
- every constraint of docs/model.md section 3.3 holds for the plan, under the rules the
  result was made with (an evaluation reports service levels rather than enforcing them,
  and may dispose of volume that can be neither used nor stored);
- every figure of summary.json is recomputed (section 4), the risk settings, currency and
  unit are the instance's, and status, bound and gap tell one story: the gap is the
  objective's distance to the bound (relative to a floor recomputed from the instance, not
  read), the bound is not above the objective, and `optimal` means a gap within the one asked
  for.

Each violation comes with its size. Tolerances are relative: 1e-6 of the quantity compared
(at least 1e-6 absolute), looser than solver noise, tight enough for money. Only a folder
that cannot be read as a result at all (a file missing or unreadable, a column missing, a
summary without its instance, status or risk settings: `planner.results.folder`) raises
`ResultsError`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from planner.instance.data import ModelData
from planner.model.families import FAMILIES
from planner.model.family import TOLERANCE, Rules, Violation
from planner.model.family import fmt as _fmt
from planner.model.family import tolerance as _tol
from planner.results.folder import SUMMARY_FILE, TABLE_COLUMNS
from planner.results.plan import Figures, Plan, arrivals, compute_figures, exposure_table, is_worst_case
from planner.results.readback import KEYS, Reader, ReadResult, as_made, finite_number, read_result, table_rows
from planner.status import Status, gap_floor, relative_gap


def verify_result(data: ModelData, folder: Path) -> list[Violation]:
    """Every violation, by the result in `folder`, of the files' rules, the constraints of
    docs/model.md and its reported figures (module docstring), under the stages it was made with."""
    folder = Path(folder)
    data = as_made(data, folder)
    reader = Reader(folder)
    result = read_result(data, folder, reader)
    figures = compute_figures(data, result.plan)
    found = plan_violations(data, result.plan, result.evaluation) + _check_tables(data, result, figures, reader)
    found += _check_summary(data, result, figures)
    return reader.problems + found


# ----------------------------------------------------------------------------- constraints


def plan_violations(data: ModelData, plan: Plan, evaluation: bool = False) -> list[Violation]:
    """Every constraint of docs/model.md section 3.3 that `plan` (in the user's units) breaks,
    each family checking its own (`planner.model.families`); under an evaluation's rules
    service levels are not enforced and volume may be disposed of. The solve runs this on
    every plan it returns."""
    rules = Rules(evaluation=evaluation)
    return [violation for family in FAMILIES for violation in family.check(data, plan, rules)]


def _non_anticipative(data: ModelData, plan: Plan) -> list[Violation]:
    """Multi-stage plans: spot purchases, stock and shortages of period t are one decision for
    the scenarios indistinguishable in t (docs/model.md section 3.6; the volumes are one row
    per class by the tables' keys)."""
    out: list[Violation] = []
    if not data.multi_stage:
        return out
    for t in data.horizon:
        for node in data.nodes_at(t):
            members = data.node_members(t, node)
            for s in members[1:]:
                pairs = [("spot", o, plan.spot) for o in data.spot_options if t in data.periods_of[o]]
                pairs += [(name, m, values) for m in data.commodities
                          for name, values in (("stock", plan.stock), ("shortage", plan.unmet))]
                for name, key, values in pairs:
                    first, other = values.get((key, t, node), 0.0), values.get((key, t, s), 0.0)
                    if abs(first - other) > _tol(first, other):
                        out.append(Violation("3.6 non-anticipativity", f"{key} {data.periods[t]}", abs(first - other),
                                             f"{name} {_fmt(other)} in {s}, {_fmt(first)} in {node}: "
                                             f"indistinguishable in {data.periods[t]}"))
    return out


# ----------------------------------------------------------------------------- derived columns


def _compare(out: list[Violation], file: str, column: str, where: str, reported: float, value: float,
             scale: float = 0.0) -> None:
    both_empty = math.isnan(reported) and math.isnan(value)
    if both_empty:
        return
    if math.isnan(reported) != math.isnan(value) or abs(reported - value) > _tol(value, scale):
        size = abs(reported - value) if math.isfinite(reported) and math.isfinite(value) else math.inf
        out.append(Violation(f"{file} {column}", where, size,
                             f"reported {_fmt(reported)}, recomputed {_fmt(value)}"))


def _compare_text(out: list[Violation], file: str, column: str, where: str, reported: str, value: str) -> None:
    if str(reported) != str(value):
        out.append(Violation(f"{file} {column}", where, 1, f"reported {reported!r}, expected {value!r}"))


def _check_tables(data: ModelData, result: ReadResult, figures: Figures, reader: Reader) -> list[Violation]:
    out: list[Violation] = []
    plan, tables, rows, period = result.plan, result.tables, result.rows, data.periods
    inst = data.instance
    options = inst.options.set_index("option")
    bloc = inst.countries.set_index("country")["bloc"]
    num = reader.number

    table = tables["contracts"]
    for (o,), i in rows["contracts"].items():
        rec = options.loc[o]
        for column, value in (("commodity", rec["commodity"]), ("origin", rec["origin"]),
                              ("processor", rec["processor"]), ("agreement", rec["agreement"]),
                              ("origin_bloc", bloc[rec["origin"]]), ("processor_bloc", bloc[rec["processor"]])):
            _compare_text(out, "contracts.csv", column, o, reader.text(table, i, column), value)
        total = sum(plan.expected_volume(data, o, t) for t in data.periods_of[o])
        _compare(out, "contracts.csv", "fixed_cost", o, num(table, i, "fixed_cost"), data.fixed_cost[o])
        _compare(out, "contracts.csv", "risk", o, num(table, i, "risk"), data.risk[o])
        _compare(out, "contracts.csv", "total_volume", o, num(table, i, "total_volume"), total)
    table = tables["volumes"]
    for (o, p), i in rows["volumes"].items():
        _compare_text(out, "volumes.csv", "commodity", f"{o} {p}", reader.text(table, i, "commodity"),
                      data.commodity_of[o])
    table = tables["adaptive_volumes"]
    index = {p: t for t, p in enumerate(period)}
    for (o, p, _), i in rows["adaptive_volumes"].items():
        where = f"{o} {p} {reader.text(table, i, 'scenarios')}"
        _compare_text(out, "adaptive_volumes.csv", "commodity", where, reader.text(table, i, "commodity"),
                      data.commodity_of[o])
        _compare_text(out, "adaptive_volumes.csv", "decision_period", where, reader.text(table, i, "decision_period"),
                      period[data.decision_period(o, index[p])])
    out += _non_anticipative(data, plan)
    table = tables["agreements"]
    for (g,), i in rows["agreements"].items():
        selected = sum(plan.contracted[o] for o, h in data.agreement_of.items() if h == g)
        _compare(out, "agreements.csv", "fixed_cost", g, num(table, i, "fixed_cost"), data.agreement_cost[g])
        _compare(out, "agreements.csv", "options_selected", g, num(table, i, "options_selected"), selected)
    table = tables["scenario_costs"]
    worst = {s: num(table, i, "worst_case_probability", default=data.probability[s])
             for (s,), i in rows["scenario_costs"].items()}
    a_worst_case = set(worst) == set(data.scenarios) and is_worst_case(  # (several are where costs tie)
        np.array([figures.scenario_cost[s] for s in data.scenarios]),
        np.array([data.probability[s] for s in data.scenarios]),
        np.array([worst[s] for s in data.scenarios]), data.ambiguity, data.cvar_alpha, TOLERANCE)
    for (s,), i in rows["scenario_costs"].items():
        cost = figures.scenario_cost[s]
        _compare(out, "scenario_costs.csv", "probability", s, num(table, i, "probability"), data.probability[s])
        if not a_worst_case:
            _compare(out, "scenario_costs.csv", "worst_case_probability", s, worst[s],
                     figures.worst_case_probability[s])
        _compare(out, "scenario_costs.csv", "cost", s, num(table, i, "cost"), cost)
        _compare(out, "scenario_costs.csv", "total_cost", s, num(table, i, "total_cost"), figures.fixed_cost + cost)
    table = tables["supply"]
    index = {p: t for t, p in enumerate(period)}
    arriving = arrivals(data, plan)
    for (s, m, p), i in rows["supply"].items():
        t = index[p]
        delivered, bought = arriving[m, t, s]
        where = f"{m} {p} {s}"
        _compare(out, "supply.csv", "demand", where, num(table, i, "demand"), data.demand[m, t])
        _compare(out, "supply.csv", "delivered", where, num(table, i, "delivered"), delivered, data.demand[m, t])
        _compare(out, "supply.csv", "spot", where, num(table, i, "spot"), bought, data.demand[m, t])
    table = tables["spot"]
    for (s, o, p), i in rows["spot"].items():
        _compare_text(out, "spot.csv", "commodity", f"{o} {p} {s}", reader.text(table, i, "commodity"),
                      data.commodity_of[o])
    out += _check_exposure(data, plan, tables["exposure"], reader)
    return out


def _check_exposure(data: ModelData, plan: Plan, table: pd.DataFrame, reader: Reader) -> list[Violation]:
    out: list[Violation] = []
    expected = exposure_table(data, plan)
    keys = {tuple(str(v) for v in k): i for i, k in enumerate(zip(*(expected[c] for c in KEYS["exposure"])))}
    rows = table_rows(reader, table, set(keys))
    wanted = {column: expected[column].tolist() for column in expected.columns}
    for key, i in rows.items():
        j = keys[key]
        where = " ".join(key)
        for column in TABLE_COLUMNS["exposure"][4:]:
            if column not in table.columns:  # an older result
                continue
            volume = column in ("contracted", "supplied")
            _compare(out, "exposure.csv", column, where, reader.number(table, i, column),
                     float(wanted[column][j]), float(wanted["demand"][j]) if volume else 0)
    return out


# ----------------------------------------------------------------------------- summary.json


def _check_summary(data: ModelData, result: ReadResult, figures: Figures) -> list[Violation]:
    out: list[Violation] = []
    summary = result.summary

    def number(key: str) -> float | None:
        value = summary.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            out.append(Violation("summary", key, math.inf, f"{value!r} is not a number"))
            return None
        return float(value)

    for key in ("fixed_cost", "expected_cost", "cvar", "objective"):
        reported = number(key)
        if reported is not None:
            _compare(out, "summary", key, SUMMARY_FILE, reported, getattr(figures, key))
    inst = data.instance
    worst = summary.get("worst_case")
    if isinstance(worst, dict):  # absent in results written before ambiguity was reported
        for key, value in (("expected_cost", figures.worst_case_expected_cost), ("cvar", figures.worst_case_cvar)):
            reported = worst.get(key)
            if isinstance(reported, bool) or not isinstance(reported, (int, float)) or not math.isfinite(reported):
                out.append(Violation("summary", f"worst_case.{key}", math.inf, f"{reported!r} is not a number"))
            else:
                _compare(out, "summary", f"worst_case.{key}", SUMMARY_FILE, reported, value)
    for key, value in (("risk_aversion", data.risk_aversion), ("cvar_alpha", data.cvar_alpha),
                       ("ambiguity", data.ambiguity), ("scenarios", len(data.scenarios))):
        reported = number(key)
        if reported is not None and abs(reported - value) > 1e-12 * max(1.0, abs(value)):
            out.append(Violation("summary", key, abs(reported - value), f"reported {_fmt(reported)}, the instance's is "
                                 f"{_fmt(value)}"))
    for key, value in (("instance", inst.name), ("currency", inst.currency), ("unit", inst.unit)):
        if summary.get(key) != value:
            out.append(Violation("summary", key, 1, f"reported {summary.get(key)!r}, the instance's is {value!r}"))
    out += _check_status(summary, figures.objective, result.evaluation, _gap_floor(data))
    return out


def _gap_floor(data: ModelData) -> float:
    """The least |objective| a relative gap divides by, as every solve of `data` sets it
    (`planner.status.gap_floor` of the model's money scale)."""
    from planner.solve.scaling import choose_scales  # what the solve scales by; no solver is loaded

    return gap_floor(choose_scales(data).money)


def _check_status(summary: dict, objective: float, evaluation: bool, floor: float) -> list[Violation]:
    """Status, bound and gap tell one story, the gap relative to `floor` at least (`_gap_floor`:
    recomputed, not read, so that an edited gap_floor cannot make a wide gap look narrow)."""
    out: list[Violation] = []
    status = summary.get("status")
    try:
        known = Status(status)
    except ValueError:
        known = None
    if known is None or not known.has_plan:
        out.append(Violation("summary", "status", 1, f"{status!r} is not the status of a written plan "
                             "(optimal, time_limit, node_limit)"))
    bound, gap = summary.get("best_bound"), summary.get("mip_gap")
    options = summary.get("solver_options") if isinstance(summary.get("solver_options"), dict) else {}
    asked = options.get("mip_gap")
    if bound is None and gap is None:
        if known is Status.OPTIMAL and not evaluation:
            out.append(Violation("summary", "best_bound", math.inf, "an optimal plan reports no bound"))
        return out
    if not (finite_number(bound) and finite_number(gap)):
        out.append(Violation("summary", "best_bound, mip_gap", math.inf,
                             f"best_bound {bound!r} and mip_gap {gap!r} must both be numbers (or both empty)"))
        return out
    if bound > objective + _tol(objective):
        out.append(Violation("summary", "best_bound", bound - objective,
                             f"bound {_fmt(bound)} above the objective {_fmt(objective)}"))
    reported = summary.get("gap_floor")
    if reported is not None and not (finite_number(reported) and abs(reported - floor) <= 1e-9 * floor):
        out.append(Violation("summary", "gap_floor", abs(reported - floor) if finite_number(reported) else math.inf,
                             f"reported {reported!r}, but the instance's money scale gives {_fmt(floor)}"))
    expected_gap = relative_gap(objective, bound, floor)
    if abs(gap - expected_gap) > 1e-9 + TOLERANCE * expected_gap:
        out.append(Violation("summary", "mip_gap", abs(gap - expected_gap),
                             f"reported {_fmt(gap)}, but (objective - best_bound) / |objective| is "
                             f"{_fmt(expected_gap)}"))
    if known is Status.OPTIMAL and isinstance(asked, (int, float)) and expected_gap > asked + 1e-9:
        out.append(Violation("summary", "status", expected_gap - asked,
                             f"'optimal' with a gap of {_fmt(expected_gap)}, above the {_fmt(asked)} asked for"))
    if known in (Status.TIME_LIMIT, Status.NODE_LIMIT) and isinstance(asked, (int, float)) \
            and not np.isclose(expected_gap, 0) and expected_gap <= asked * (1 - 1e-6):
        out.append(Violation("summary", "status", asked - expected_gap,
                             f"{status!r} with a gap of {_fmt(expected_gap)}, within the {_fmt(asked)} asked for: "
                             "that is 'optimal'"))
    return out
