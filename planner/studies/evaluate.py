"""What a plan costs under other scenarios, and what hedging is worth.

`evaluate_plan` holds a plan's first stage (contracts z, agreements w, volumes x) and lets
each scenario's recourse (spot buys, stock, shortage) adapt optimally. Each scenario's cost
is minimised on its own, which is optimal for the risk-weighted objective too (it only
grows with each scenario's cost).

`hedging_metrics`, with RP the optimal objective of the stochastic problem:
- WS (wait and see): each scenario solved alone with perfect foresight; its costs combined
  with the same risk measure, (1 - lambda) E + lambda CVaR. EVPI = RP - WS >= 0.
- EV: the expected-value problem, one scenario whose availability is the probability-
  weighted mean a_ot = sum_s p_s a_ots. EEV: its plan evaluated on the real scenarios
  under the model's own rules (service levels and limits on what is supplied enforced, no
  disposal). VSS = EEV - RP >= 0.
  When the EV plan breaks those rules in some scenario, EEV and VSS are infinite (null in
  summary.json), with the reason; `eev_shortfalls_paid` then gives the EV plan's objective
  under the rules of a stress test instead (`evaluate_plan`'s: service levels not enforced,
  disposal allowed, its contracts held beyond a limit on what is supplied).
- Out of sample (instances with events.csv): the plan evaluated on a larger sample of
  scenarios drawn from the events with another seed; the mean total cost with a 95%
  confidence interval (mean +- 1.96 s / sqrt(n)). Service levels are reported there, not
  enforced, and volume that can be neither used nor stored may be disposed of.

Each of these solves runs HiGHS on one thread. With `SolveOptions.workers` above 1 the
scenarios alone and the agreements' solves (`planner.studies.agreements`) run on that many
local processes (`planner.processes.run_each`), with the same figures: each solve is the
same model, options and thread, wherever it runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from planner.errors import InfeasibleError
from planner.formatting import volume
from planner.instance.data import ModelData, build_model_data, with_scenarios, with_stages
from planner.instance.instance import Instance
from planner.model.balance import inflows
from planner.model.family import tolerance
from planner.model.variant import Variant
from planner.processes import run_each
from planner.results.plan import Figures, Plan, compute_figures, result_tables, risk_measure
from planner.solve.pipeline import Outcome, solve_data
from planner.solve.report import SolveReport
from planner.solve.session import SolveOptions

DEFAULT_OUT_OF_SAMPLE = 1000


@dataclass(frozen=True)
class Evaluation:
    plan: Plan  # the fixed first stage with the recourse found for each scenario
    figures: Figures
    report: SolveReport
    build_seconds: float
    # the rows of the limits on what is supplied (8b) that the held contracts alone exceed, by how
    # much (`supplied_allowance`, past the tolerance of the period's demand)
    exceeded: dict[tuple[int, int, str], float]


DISPOSAL_SLACK = 1e-9  # relative: the second stage may dispose of this much more than the least


def evaluate_plan(data: ModelData, first_stage: Plan, options: SolveOptions, recourse_rules: bool = False,
                  disposal: bool = True) -> Evaluation:
    """The cost of `first_stage` under the scenarios of `data`, recourse re-optimised.

    By default for stress tests: service levels are not enforced (the shortages show) and
    volume that can be neither used nor stored may be disposed of, free of charge (it was
    paid for when delivered) but only as much as must be. The recourse without disposal is
    solved first: when it exists, no scenario needs any, and the evaluation is the planning
    model's own recourse (its figures are the solve's). Otherwise a solve finds the least
    volume each material must shed in each scenario, and another the cheapest recourse that
    sheds no more. Raises InfeasibleError when the rules asked for cannot hold with this
    first stage.
    """
    quiet = replace(options, tiebreak=False)
    variant = Variant(fixed_first_stage=True, recourse_rules=recourse_rules, disposal=False)
    allowance = supplied_allowance(data, first_stage)
    exceeded = {key: over for key, over in allowance.items()
                if over > tolerance(data.demand[data.limits[key[0]].commodity, key[1]])}
    if recourse_rules and exceeded:  # the model's own rules: contracts that alone exceed such a limit break it
        raise InfeasibleError([_beyond_limit(data, key, over) for key, over in exceeded.items()])
    data = replace(data, supplied_allowance=allowance)
    seconds = 0.0
    try:
        report, plan, more = solve_data(data, quiet, variant, fixed=first_stage)
    except InfeasibleError:
        if not disposal:
            raise
        seconds, data = _least_disposal(data, first_stage, quiet, variant)
        report, plan, more = solve_data(data, quiet, replace(variant, disposal=True), fixed=first_stage)
        plan = _disposal_as_balanced(data, plan)
    plan = replace(plan, contracted=first_stage.contracted, signed=first_stage.signed)
    return Evaluation(plan, compute_figures(data, plan), report, seconds + more, exceeded)


def _least_disposal(data: ModelData, first_stage: Plan, options: SolveOptions,
                    variant: Variant) -> tuple[float, ModelData]:
    """The least volume each material must shed in each scenario, as `data`'s disposal caps
    (a relative slack of DISPOSAL_SLACK above it, for the solver's tolerances), with the
    build seconds of its solve."""
    _, least, seconds = solve_data(data, options, replace(variant, disposal=True, least_disposal=True),
                                   fixed=first_stage)
    caps = {(m, s): sum(least.disposed.get((m, t, s), 0.0) for t in data.horizon)
            for m in data.commodities for s in data.recourse_scenarios[m]}
    volume = {m: max([1.0, *(data.demand[m, t] for t in data.horizon)]) for m in data.commodities}
    return seconds, replace(data, disposal_cap={(m, s): cap * (1 + DISPOSAL_SLACK) + DISPOSAL_SLACK * volume[m]
                                                for (m, s), cap in caps.items()})


def _disposal_as_balanced(data: ModelData, plan: Plan) -> Plan:
    """`plan` with each disposal taken from its balance (constraint 4, `balance.inflows`) where
    the two differ by no more than the solver's tolerance. Disposal is free and capped a hair
    above the least (DISPOSAL_SLACK), and HiGHS may leave it at the cap with the balance short by
    that hair: 50.00000015 t disposed of 150 t delivered against 100 t of demand. No cost changes."""
    disposed = dict(plan.disposed)
    for key, inflow, scale in inflows(data, plan):
        balanced, value = max(0.0, inflow - plan.stock[key]), disposed.get(key, 0.0)
        if value > 0 and abs(balanced - value) <= tolerance(scale):
            disposed[key] = balanced
    return replace(plan, disposed=disposed)


def _beyond_limit(data: ModelData, key: tuple[int, int, str], over: float) -> str:
    limit = data.limits[key[0]]
    allowed = limit.max_share * data.demand[limit.commodity, key[1]]
    unit = data.instance.unit
    return (f"{limit.commodity}: the contracts alone supply {volume(allowed + over, unit)} from {limit.scope} "
            f"{limit.name} in {data.periods[key[1]]}, scenario {key[2]}, above its limit on what is supplied, "
            f"{volume(allowed, unit)} (by {volume(over, unit)})")


def supplied_allowance(data: ModelData, first_stage: Plan) -> dict[tuple[int, int, str], float]:
    """How far the held contracts alone already go past each share limit on what is supplied
    (8b), per row: the evaluation keeps that limit for the spot buys and volumes it decides
    again, but cannot undo contracts fixed up front. What they hold is the volume fixed up
    front, and for a volume decided again (a multi-stage plan's later periods) the least a held
    contract takes (min_volume). Zero where they stay within it."""
    allowance = {}
    for i, limit in enumerate(data.limits):
        if limit.basis != "supplied":
            continue
        exposed = [o for o in data.options_of[limit.commodity] if o in data.exposed.get((limit.scope, limit.name), ())]
        for t in data.horizon:
            for r in data.recourse_nodes(limit.commodity, t):
                held = sum(data.availability[o, t, r] * (first_stage.x(o, t, r) if data.decision_period(o, t) < 0
                                                         else data.min_volume[o, t] * first_stage.contracted[o])
                           for o in exposed if t in data.periods_of[o])
                allowance[i, t, r] = max(0.0, held - limit.max_share * data.demand[limit.commodity, t])
    return allowance


def evaluate_outcome(inst: Instance, first_stage: Plan, options: SolveOptions, plan_from: str,
                     scenarios_from: str, instance_changed: list[str] | None = None) -> Outcome:
    """`evaluate_plan` on an instance, as an Outcome whose tables and summary can be written;
    `instance_changed` names the instance's files that changed since the plan was solved
    (`planner.results.readback.instance_changes`; None: not known)."""
    data = build_model_data(inst)
    result = evaluate_plan(data, first_stage, options)
    tables = result_tables(data, result.plan, result.figures)
    context = {"evaluation": {"plan": plan_from, "scenarios": scenarios_from,
                              "rules": "contracts held; service levels reported, not enforced; disposal allowed",
                              "instance_changed": instance_changed,
                              "service_levels_missed": missed_service_levels(data, result.plan),
                              "supplied_limits_exceeded": exceeded_supplied_limits(data, result.exceeded)}}
    return Outcome(inst, data, options, result.report, result.plan, result.figures, tables, result.build_seconds,
                   extra=context)


def missed_service_levels(data: ModelData, plan: Plan) -> dict[str, list[str]]:
    """The scenarios, per material with a service level (constraint 5), where the plan's shortage
    over the horizon is above (1 - level) x its demand: what an evaluation reports rather than
    enforces (so it may cost less than the solve, where paying for shortages is cheaper). Only
    materials that miss it somewhere."""
    missed: dict[str, list[str]] = {}
    for m, level in data.service_level.items():
        if level is None:
            continue
        demand = sum(data.demand[m, t] for t in data.horizon)
        allowed = (1 - level) * demand + tolerance(demand)
        scenarios = [s for s in data.scenarios if sum(plan.unmet.get((m, t, s), 0.0) for t in data.horizon) > allowed]
        if scenarios:
            missed[m] = scenarios
    return missed


def exceeded_supplied_limits(data: ModelData, exceeded: dict[tuple[int, int, str], float]) -> list[dict]:
    """Each limit on what is supplied (8b) with rows the held contracts alone exceed
    (`Evaluation.exceeded`), with the scenarios of those rows (`scope`, `name`, `commodity`,
    `max_share`, `scenarios`): an evaluation cannot undo contracts fixed up front and allows it,
    where the solve kept within the limit under its own scenarios (so an evaluation under others
    may cost less)."""
    scenarios: dict[int, set[str]] = {}
    for i, t, node in exceeded:
        scenarios.setdefault(i, set()).update(data.recourse_members(data.limits[i].commodity, t, node))
    return [{"scope": data.limits[i].scope, "name": data.limits[i].name, "commodity": data.limits[i].commodity,
             "max_share": data.limits[i].max_share, "scenarios": [s for s in data.scenarios if s in members]}
            for i, members in sorted(scenarios.items())]


def scenario_replacement(path: Path) -> dict[str, Path | None]:
    """What `load_instance(replace=...)` needs to use the scenario file `path` instead of its own.

    An events.csv (its header has `event`) replaces the events and lets scenarios be
    generated; a scenarios.csv brings the disruptions.csv beside it, if there is one.
    """
    header = Path(path).read_text(encoding="utf-8-sig", errors="replace").split("\n", 1)[0].lower()
    if "event" in [h.strip() for h in header.replace(";", ",").split(",")]:
        return {"events": Path(path), "scenarios": None, "disruptions": None}
    beside = Path(path).with_name("disruptions.csv")
    return {"scenarios": Path(path), "disruptions": beside if beside.exists() else None, "events": None}


def _single_scenario(data: ModelData, name: str, availability: dict, price_factor: dict) -> ModelData:
    return with_scenarios(data, {name: 1.0}, availability, price_factor)


def _by_scenario(table: dict[tuple, float], scenarios: list[str]) -> dict[str, dict[tuple, float]]:
    """A table keyed (.., .., scenario) split into one table per scenario, its keys as they are."""
    split: dict[str, dict[tuple, float]] = {s: {} for s in scenarios}
    for key, value in table.items():
        split[key[2]][key] = value
    return split


def _alone_objective(shared: tuple[ModelData, SolveOptions, dict, dict], s: str) -> float:
    """The optimum of scenario s alone (wait and see); `shared` holds the availability and the
    price factors split by scenario (`_by_scenario`), once for all the scenarios."""
    data, options, availability, price_factor = shared
    alone = _single_scenario(data, s, availability[s], price_factor[s])
    _, best, _ = solve_data(alone, options)
    return compute_figures(alone, best).objective


def metric_options(options: SolveOptions) -> SolveOptions:
    """The options of the metrics' solves: quiet, one HiGHS thread, no processes of their own
    (module docstring)."""
    return replace(options, progress=None, log=False, threads=1, workers=1, scheduler=None)


def _risk_objective(data: ModelData, totals: np.ndarray, probabilities: np.ndarray) -> float:
    return risk_measure(totals, probabilities, data.risk_aversion, data.cvar_alpha, data.ambiguity)[0]


def metric_steps(data: ModelData) -> int:
    """How many solves `hedging_metrics` makes (for progress): each scenario alone, the
    expected-value problem, its plan evaluated, the out-of-sample evaluation, and with
    ambiguity the nominal problem."""
    from planner.studies.agreements import agreement_steps

    return len(data.scenarios) + 3 + (data.ambiguity > 0) + 2 * data.multi_stage + agreement_steps(data.instance)


def hedging_metrics(inst: Instance, data: ModelData, plan: Plan, objective: float, options: SolveOptions,
                    out_of_sample: int = DEFAULT_OUT_OF_SAMPLE, seed: int = 1,
                    best_bound: float | None = None, on_step: Callable[[str], None] | None = None) -> dict:
    """EVPI, VSS and the out-of-sample cost of `plan` (see the module docstring); with
    ambiguity, the price of robustness. `best_bound` is the plan's solve's bound; `on_step`
    is called after each of the `metric_steps(data)` solves with what it was."""
    quiet = metric_options(options)
    step = on_step or (lambda _: None)
    split = (_by_scenario(data.availability, data.scenarios), _by_scenario(data.price_factor, data.scenarios))
    totals = run_each(_alone_objective, (data, quiet, *split), data.scenarios, options.workers,
                      lambda s: step(f"scenario {s} alone"))
    probabilities = np.array([data.probability[s] for s in data.scenarios])
    wait_and_see = _risk_objective(data, np.array(totals), probabilities)

    mean_availability: dict = {}
    for (o, t, s), a in data.availability.items():
        mean_availability[o, t, "expected"] = mean_availability.get((o, t, "expected"), 0.0) + data.probability[s] * a
    mean_price = {(m, t, "expected"): sum(data.probability[s] * data.price_factor.get((m, t, s), 1.0)
                                          for s in data.scenarios) for m in data.commodities for t in data.horizon}
    expected_value = _single_scenario(data, "expected", mean_availability,
                                      {key: f for key, f in mean_price.items() if f != 1.0})
    _, ev_plan, _ = solve_data(expected_value, quiet)
    step("the expected-value problem")
    metrics: dict = {
        "wait_and_see": wait_and_see,
        "evpi": objective - wait_and_see,
        "expected_value_problem": compute_figures(expected_value, ev_plan).objective,
    }
    try:
        eev = evaluate_plan(data, ev_plan, quiet, recourse_rules=True, disposal=False).figures.objective
        metrics.update(eev=eev, vss=eev - objective, vss_note="")
    except InfeasibleError as exc:
        relaxed = evaluate_plan(data, ev_plan, quiet).figures.objective
        broken = (f"a limit on what is supplied ({exc.reasons[0]})" if exc.reasons
                  else "a service level, or buys more than can be used or stored, in some scenario")
        metrics.update(eev=None, vss=None, vss_note=f"the expected-value plan breaks {broken}: its cost is unbounded",
                       eev_shortfalls_paid=relaxed)
    step("the expected-value plan evaluated")
    metrics["out_of_sample"] = _out_of_sample(inst, plan, quiet, out_of_sample, seed)
    step("out of sample")
    if data.ambiguity > 0:
        metrics["price_of_robustness"] = price_of_robustness(data, plan, objective, quiet, best_bound)
        step("the plan for the given probabilities")
    if data.multi_stage:
        metrics["stages"] = value_of_flexibility(data, objective, quiet, step)
    if not inst.agreements.empty:
        from planner.studies.agreements import agreement_values

        metrics["agreements"] = agreement_values(inst, data, objective, quiet, step, options.workers)
    return metrics


def value_of_flexibility(data: ModelData, objective: float, options: SolveOptions,
                         step: Callable[[str], None] | None = None) -> dict:
    """What deciding later is worth, for a multi-stage plan (docs/model.md section 3.6):

    - `contracts_up_front`: the optimum with every lead time reaching back to the first
      period (each volume fixed at the start, spot, stock and shortage still decided as
      events unfold);
    - `value_of_flexibility` = that minus the multi-stage optimum (>= 0): what being able to
      wait before fixing volumes is worth;
    - `two_stage`: today's two-stage optimum, whose recourse knows each scenario's future;
    - `foresight_bias` = contracts_up_front minus two_stage (>= 0): how much the two-stage
      model flatters itself by buying spot and stock with foresight."""
    step = step or (lambda _: None)
    up_front = replace(data, lead_time={o: len(data.periods) for o in data.options})
    _, up_front_plan, _ = solve_data(up_front, options)
    fixed = compute_figures(up_front, up_front_plan).objective
    step("the plan with every volume fixed up front")
    two = with_stages(data, False)
    _, two_plan, _ = solve_data(two, options)
    two_stage = compute_figures(two, two_plan).objective
    step("the two-stage plan")
    return {"multi_stage": objective, "contracts_up_front": fixed, "value_of_flexibility": fixed - objective,
            "two_stage": two_stage, "foresight_bias": fixed - two_stage}


def price_of_robustness(data: ModelData, plan: Plan, objective: float, options: SolveOptions,
                        best_bound: float | None = None) -> dict:
    """What weighing the worst case over the ambiguity set costs and saves, against the plan made
    for the given probabilities alone (the nominal plan):

    - `worst_case_saved`: the nominal plan's worst-case objective minus the robust plan's (>= 0);
    - `nominal_cost`: the robust plan's objective at the given probabilities minus the nominal
      optimum (>= 0): what robustness costs if the given probabilities are right.

    Each scenario's recourse is the cheapest for its plan, whatever the probabilities, so the
    plans' figures under the other probabilities follow from the plans themselves.

    Both plans are optimal only to the solver's gap: `solver_tolerance` is the sum of the two
    solves' absolute gaps (objective minus bound; the robust one's when `best_bound` is
    given), and a difference within it cannot be told from 0."""
    nominal_data = replace(data, ambiguity=0.0)
    report, nominal_plan, _ = solve_data(nominal_data, options)
    nominal_optimum = compute_figures(nominal_data, nominal_plan).objective
    tolerance = sum(max(0.0, value - bound) for value, bound in
                    ((nominal_optimum, report.best_bound), (objective, best_bound)) if bound is not None)
    nominal_worst = compute_figures(data, nominal_plan).objective
    robust_nominal = compute_figures(nominal_data, plan).objective
    return {"nominal_plan_worst_case": nominal_worst, "robust_plan_worst_case": objective,
            "worst_case_saved": nominal_worst - objective, "nominal_optimum": nominal_optimum,
            "robust_plan_nominal": robust_nominal, "nominal_cost": robust_nominal - nominal_optimum,
            "solver_tolerance": tolerance}


def _out_of_sample(inst: Instance, plan: Plan, options: SolveOptions, count: int, seed: int) -> dict:
    if inst.tables["events"].empty:
        return {"note": "needs events.csv to sample scenarios from"}
    from planner.instance.events import generate_scenarios

    scenarios, disruptions, _ = generate_scenarios(inst, "sample", count, seed)
    sampled = replace(inst, tables={**inst.tables, "scenarios": scenarios, "disruptions": disruptions})
    data = build_model_data(sampled)
    result = evaluate_plan(data, plan, options)
    totals = np.array([result.figures.fixed_cost + result.figures.scenario_cost[s] for s in data.scenarios])
    weights = np.array([data.probability[s] for s in data.scenarios])
    mean = float(weights @ totals)
    sd = math.sqrt(max(0.0, float(weights @ (totals - mean) ** 2)) * count / max(count - 1, 1))
    half = 1.96 * sd / math.sqrt(count)
    return {"samples": count, "seed": seed, "distinct_scenarios": len(data.scenarios), "expected_cost": mean,
            "ci95": [mean - half, mean + half], "cvar": result.figures.cvar}
