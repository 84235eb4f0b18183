"""One solve, end to end: instance -> model -> HiGHS -> plan, figures and tables."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from planner import __version__
from planner.errors import InfeasibleError, PrecisionError, SolveError
from planner.instance.data import ModelData, build_model_data
from planner.instance.instance import Instance
from planner.instance.loader import load_instance
from planner.model.build import create_model
from planner.model.variant import PLAN, Variant
from planner.results.plan import Figures, Plan, compute_figures, drop_idle_contracts, result_tables
from planner.solve.diagnose import explain_infeasibility
from planner.solve.readout import plan_from_model
from planner.solve.report import SolveReport
from planner.solve.resolve import ModelCache
from planner.solve.scaling import choose_scales, first_stage_values, fix_first_stage, scale_data, unscale_plan
from planner.solve.session import HighsSession, SolveOptions
from planner.status import Status, relative_gap


@dataclass
class Outcome:
    """A solved instance: the plan, its figures and tables, and how the solve went."""

    instance: Instance
    data: ModelData
    options: SolveOptions
    report: SolveReport
    plan: Plan
    figures: Figures
    tables: dict[str, pd.DataFrame]
    build_seconds: float
    extra: dict | None = None  # more summary.json entries: metrics, what an evaluation evaluated

    @property
    def mip_gap(self) -> float | None:
        """(objective - best bound) / |objective|, from the reported objective."""
        bound = self.report.best_bound
        if bound is None:
            return None
        return relative_gap(self.figures.objective, bound, self.report.gap_floor)

    def summary(self) -> dict:
        """The content of summary.json."""
        inst, f, r = self.instance, self.figures, self.report
        return {
            "instance": inst.name,
            "status": r.status,
            "objective": f.objective,
            "expected_cost": f.expected_cost,
            "cvar": f.cvar,
            "fixed_cost": f.fixed_cost,
            "mip_gap": self.mip_gap,
            "best_bound": r.best_bound,
            "gap_floor": r.gap_floor,
            "currency": inst.currency,
            "unit": inst.unit,
            "risk_aversion": inst.risk_aversion,
            "cvar_alpha": inst.cvar_alpha,
            "ambiguity": inst.ambiguity,
            "stages": "multi" if self.data.multi_stage else "two",
            "worst_case": {"expected_cost": f.worst_case_expected_cost, "cvar": f.worst_case_cvar},
            "scenarios": len(self.data.scenarios),
            "build_seconds": round(self.build_seconds, 3),
            "transfer_seconds": round(r.transfer_seconds, 3),
            "solve_seconds": round(r.solve_seconds, 3),
            "model": r.sizes,
            "tiebreak": r.tiebreak,
            "tiebreak_seconds": round(r.tiebreak_seconds, 3),
            "method": r.method,
            "decomposition_rounds": r.decomposition_rounds,
            "decomposition_seconds": round(r.decomposition_seconds, 3),
            "solver": r.solver,
            "strict_tolerances": r.strict_tolerances,
            "solver_options": {
                "mip_gap": self.options.mip_gap,
                "time_limit": self.options.time_limit,
                "threads": self.options.threads,
                "node_limit": self.options.node_limit,
                "seed": self.options.seed,
                "decomposition": self.options.decomposition,
                "workers": self.options.workers,
            },
            "instance_files": inst.file_digests,
            "planner_version": __version__,
            **(self.extra or {}),
        }


# the diagnosis of an evaluation under a stress test's rules that finds no recourse: its first stage
# held, disposal free, the later volumes' and recourse's limits relaxed (`planner.solve.diagnose`)
STRESS_DIAGNOSIS = Variant(elastic=True, fixed_first_stage=True, recourse_rules=False, disposal=True)


def solve_data(data: ModelData, options: SolveOptions, variant: Variant = PLAN,
               fixed: Plan | None = None, start: Plan | None = None,
               cache: ModelCache | None = None) -> tuple[SolveReport, Plan, float]:
    """Build and solve the model of `data`: (report, plan in the user's units, build seconds).

    `fixed` gives the first-stage decisions (z, w, x) to hold when `variant` fixes the
    first stage; `start` a plan whose first stage seeds HiGHS (a MIP start). Raises
    `InfeasibleError` (explained for the planning model) and `SolveError` when HiGHS
    returns no plan. With a `cache` (planning model only), a model kept from an earlier
    call is solved again when only its parameters differ (`planner.solve.resolve`).
    """
    started = time.perf_counter()
    if cache is not None and variant == PLAN and fixed is None and start is None:
        scales, session, build_seconds = cache.session_for(data, options)
    else:
        scales = choose_scales(data)
        built = create_model(scale_data(data, scales), variant)
        if fixed is not None:
            fix_first_stage(built, data, scales, fixed)
        build_seconds = time.perf_counter() - started
        session = HighsSession(built, options, planning=variant == PLAN and fixed is None)
        if start is not None:
            session.set_start(first_stage_values(built, data, scales, start))
    report = session.solve(data.risk_aversion, money_scale=scales.money)
    if not report.has_plan:
        if report.status is Status.INFEASIBLE:
            reasons = []
            if variant == PLAN:
                reasons = explain_infeasibility(data, scales, options)
            elif variant.fixed_first_stage and variant.disposal and not variant.recourse_rules:  # a stress test's
                reasons = explain_infeasibility(data, scales, options, STRESS_DIAGNOSIS, fixed)
            raise InfeasibleError(reasons)
        if report.status is Status.NO_PLAN:
            limits = []
            if options.time_limit is not None:
                limits.append(f"the time limit of {options.time_limit:g} s")
            if options.node_limit is not None:
                limits.append(f"the node limit of {options.node_limit:,}")
            raise SolveError(Status.NO_PLAN, f"no feasible plan found within {' and '.join(limits) or 'the limits'}")
        if report.unproven_gap is not None:
            raise PrecisionError(report.unproven_gap, options.mip_gap)
        raise SolveError(report.status, f"the solver stopped without a plan (status {report.status})")
    plan = drop_idle_contracts(data, unscale_plan(plan_from_model(session.built, data), data, scales))
    broken = [] if variant.elastic or variant.least_disposal else _broken_in_users_units(data, plan, variant)
    if broken and not options.strict_tolerances:
        # HiGHS's tolerances hold on its scaled model, not always in the user's units: the same
        # solve once more with strict ones, in what is left of the time (a plan or a proof of none)
        left = None if options.time_limit is None else options.time_limit - report.solve_seconds
        if left is None or left > 0:
            again = replace(options, strict_tolerances=True, time_limit=left)
            report_again, plan, build_again = solve_data(data, again, variant, fixed, start)
            report_again.solve_seconds += report.solve_seconds
            report_again.strict_tolerances = True
            return report_again, plan, build_seconds + build_again
    if broken:
        more = f" (and {len(broken) - 1} more)" if len(broken) > 1 else ""
        raise SolveError(Status.SOLVER_ERROR, f"the plan HiGHS returned breaks a constraint in your units: "
                         f"{broken[0]}{more}. This is numerical trouble at this instance's magnitudes "
                         f"(money scale {scales.money:.3g}); check its units, or narrow the range of its figures")
    return report, plan, build_seconds


def _broken_in_users_units(data: ModelData, plan: Plan, variant: Variant) -> list:
    """The constraints, in the user's units, that the plan HiGHS returned breaks, the objective
    recomputed: numerical trouble is an error, never a result (docs/model.md section 5,
    "Magnitudes")."""
    from planner.results.verify import plan_violations

    return plan_violations(data, plan, evaluation=variant.fixed_first_stage)


def solve_instance(instance: Instance | str | Path, options: SolveOptions | None = None,
                   start: Plan | None = None, cache: ModelCache | None = None) -> Outcome:
    """Load (if given a path), build, solve and evaluate an instance.

    Raises `InstanceError` for invalid input, `InfeasibleError` when no plan satisfies
    the constraints, `ClusterError` when `options.scheduler` cannot be reached, and
    `SolveError` when the solver returns no plan (time limit without an incumbent,
    numerical failure).
    """
    options = options or SolveOptions()
    inst = instance if isinstance(instance, Instance) else load_instance(instance)
    if options.scheduler is not None:  # asked for a cluster: refuse now, not after the first stage
        from planner.solve.decomposition.cluster import check_reachable

        check_reachable(options.scheduler)
    started = time.perf_counter()
    data = build_model_data(inst)
    derive_seconds = time.perf_counter() - started
    report, plan, build_seconds = solve_data(data, options, start=start, cache=cache)
    figures = compute_figures(data, plan)
    return Outcome(inst, data, options, report, plan, figures, result_tables(data, plan, figures),
                   derive_seconds + build_seconds)
