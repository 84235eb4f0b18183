"""Commands about one instance and one plan: solve, validate, verify, generate, report, instances."""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from pathlib import Path

import click

import planner.cli.common as common
from planner.cli.common import (
    DEFAULT_SAMPLES,
    EXIT_VERIFY_FAILED,
    FOLDER,
    MAX_THREADS,
    OUTPUT_FILE,
    FiniteFloat,
    RegularFile,
    emit_json,
    fail,
    guard,
    load,
    note,
    output_flags,
    solve_flags,
)
from planner.cli.progress import Progress, Steps
from planner.formatting import count, key_values
from planner.instance.bundled import DEFAULT_INSTANCE, instance_description
from planner.instance.schema import MAX_GENERATED_SIZE, MAX_SCENARIOS_FROM_EVENTS
from planner.processes import usable_cores
from planner.status import Status


@click.command()
@click.argument("instance", required=False)
@click.option("--out", "out_dir", type=FOLDER, help="Results folder [default: results/<instance name>/].")
@solve_flags
@click.option("--threads", type=click.IntRange(min=1, max=MAX_THREADS), default=None,
              help="HiGHS threads [default: HiGHS decides].")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes the decomposition phase solves its blocks in, side by side, and --metrics its "
                   "solves (same result).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Solve the decomposition's blocks on this Dask scheduler's workers (tcp://host:8786; same result).")
@click.option("--force", is_flag=True,
              help="Replace a planner-written --out folder even if its files changed since or it is of another kind.")
@click.option("--log", "show_log", is_flag=True, help="Show the HiGHS log on stderr.")
@click.option("--xlsx", is_flag=True, help="Also write the tables as one Excel workbook, results.xlsx.")
@click.option("--report", "html_report", is_flag=True, help="Also write the HTML report, report.html.")
@click.option("--metrics", is_flag=True, help="Also compute EVPI, VSS and the out-of-sample cost (more solves).")
@click.option("--samples", type=click.IntRange(min=2, max=MAX_SCENARIOS_FROM_EVENTS), default=DEFAULT_SAMPLES,
              show_default=True,
              help="Scenarios drawn from events.csv for the out-of-sample cost.")
@click.option("--multi-stage", "multi_stage", is_flag=True,
              help="Decide each volume when it is due, on what is known then (overrides [decisions] stages).")
@output_flags
@guard
def solve(instance: str | None, out_dir: Path | None, mip_gap: float, time_limit: float | None,
          node_limit: int | None, no_decomposition: bool, threads: int | None, workers: int,
          scheduler: str | None, force: bool,
          show_log: bool, xlsx: bool, html_report: bool, metrics: bool, samples: int, multi_stage: bool,
          as_json: bool) -> None:
    """Solve INSTANCE (a folder, or a bundled name) and write the plan.

    Without INSTANCE, solves the bundled default instance.
    """
    from planner.results.folder import default_output_dir
    from planner.results.manifest import Kind as OutputKind
    from planner.results.ownership import check_location, claimed_target
    from planner.results.terminal import format_metrics, format_summary
    from planner.results.write import write_results

    started = time.perf_counter()
    if scheduler is not None:
        common.check_scheduler(scheduler)
    inst = load(instance)
    if multi_stage:
        inst = dataclasses.replace(inst, stages="multi")
    folder = out_dir or default_output_dir(inst.name)
    check_location(folder, (inst.path,))
    # checked and claimed before the solve: refused early, not after it; a second solve into the same
    # folder meanwhile is refused, not left to replace this one's result when it ends
    with claimed_target(folder, OutputKind.RESULTS, force):
        note(f"solving {inst.name} ({count(len(inst.options), 'option')}, {count(len(inst.scenarios), 'scenario')}, "
             f"{count(len(inst.periods), 'period')}) with HiGHS, gap {mip_gap:g}"
             + (f", time limit {time_limit:g} s" if time_limit else "")
             + (f", node limit {node_limit:,}" if node_limit else "") + " ...")
        cores = usable_cores()
        if threads is not None and threads > cores:
            note(f"note: --threads {threads} is more than the {cores} cores this process may use: HiGHS's threads "
                 "then take turns on them, which is slower, not faster")
        if scheduler is not None and no_decomposition:
            note("note: --scheduler shares out the decomposition's blocks; without the phase it is not used")
        elif workers > 1 and no_decomposition and not metrics:
            note("note: --workers shares out the decomposition's blocks and the solves of --metrics; with neither "
                 "here, it is not used")
        from planner.solve.pipeline import solve_instance

        with Progress(inst.currency, every=0.0 if show_log else None) as progress:  # (--log: HiGHS's own lines)
            options = common.solve_options(mip_gap, time_limit, node_limit, no_decomposition, threads=threads,
                                           log=show_log, progress=None if show_log else progress, workers=workers,
                                           scheduler=scheduler)
            outcome = solve_instance(inst, options)
        if metrics:
            from planner.studies.evaluate import hedging_metrics, metric_steps

            note("computing EVPI, VSS and the out-of-sample cost"
                 + (" and the price of robustness" if inst.ambiguity > 0 else "") + " ...")
            steps = Steps(metric_steps(outcome.data), "metrics")
            try:
                outcome.extra = {"metrics": hedging_metrics(
                    inst, outcome.data, outcome.plan, outcome.figures.objective, options, out_of_sample=samples,
                    best_bound=outcome.report.best_bound, on_step=steps)}
            finally:
                steps.close()
        with Progress(task="writing the results"):  # (a workbook of a large result takes a while)
            folder = write_results(outcome, folder, force=force, xlsx=xlsx, report=html_report)
    seconds = time.perf_counter() - started
    if as_json:
        from planner.results.folder import read_summary

        emit_json({"command": "solve", "ok": True, "results": str(folder), "seconds": round(seconds, 3),
                   "summary": read_summary(folder)})
        return
    click.echo(format_summary(outcome))
    if metrics:
        click.echo(format_metrics(outcome.extra["metrics"], inst.currency, outcome.figures.expected_cost))
    if outcome.report.status is not Status.OPTIMAL:
        click.echo(f"  note: the {'time' if outcome.report.status is Status.TIME_LIMIT else 'node'} limit was "
                   "reached; the plan is the best found, not proven optimal.")
    if outcome.report.strict_tolerances:
        click.echo("  note: HiGHS's first plan broke a constraint in your units; solved again with strict "
                   "tolerances (README, 'Every plan is checked').")
    click.echo(f"Results in {folder}/ ({seconds:.1f} s)")


@click.command()
@click.argument("instance", required=False)
@output_flags
@guard
def validate(instance: str | None, as_json: bool) -> None:
    """Check INSTANCE against the format and report every problem (nothing is solved)."""
    inst = load(instance)
    if as_json:
        emit_json({"command": "validate", "ok": True, "instance": inst.name, "path": str(inst.path),
                   "materials": len(inst.commodities), "options": len(inst.options),
                   "scenarios": len(inst.scenarios), "periods": len(inst.periods),
                   "warnings": list(inst.warnings), "notes": list(inst.notes)})
        return
    click.echo(f"{inst.path}: valid ({count(len(inst.commodities), 'material')}, {count(len(inst.options), 'option')}, "
               f"{count(len(inst.scenarios), 'scenario')}, {count(len(inst.periods), 'period')})")


@click.command()
@click.argument("instance")
@click.argument("results", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--scenarios", "scenario_file", type=RegularFile(),
              help="For an evaluation made with --scenarios: the same scenario file.")
@output_flags
@guard
def verify(instance: str, results: Path, scenario_file: Path | None, as_json: bool) -> None:
    """Check RESULTS against INSTANCE: every constraint and every reported figure.

    Recomputed from the instance and the result files alone, not from the model.
    """
    from planner.instance.data import build_model_data
    from planner.results.readback import evaluated_under, instance_as_made
    from planner.results.verify import verify_result

    under = evaluated_under(results)
    if under is not None and scenario_file is None:
        raise click.UsageError(f"{results} is an evaluation under the scenarios of {under}: give the same file with "
                               "--scenarios")
    if under is None and scenario_file is not None:
        raise click.UsageError(f"--scenarios is for an evaluation made with --scenarios; {results} is not one")
    if scenario_file is None:
        inst = load(instance)
    else:
        from planner.studies.evaluate import scenario_replacement

        inst = load(instance, replace=scenario_replacement(scenario_file))
    changed = common.note_instance_changes(results, inst, "it is checked under the files as they are now")
    inst, values = instance_as_made(inst, results)
    if values:  # a sweep's run: its instance is INSTANCE with the run's values
        note(f"note: checked with the values of its sweep run: {key_values(values)}")
    with Progress(task="verifying"):  # (large results take a while: the elapsed time shows)
        violations = verify_result(build_model_data(inst), results)
    if as_json:
        emit_json({"command": "verify", "ok": not violations, "instance": inst.name, "results": str(results),
                   "instance_changed": changed,
                   "violations": [{"check": v.check, "where": v.where, "size": v.size if math.isfinite(v.size)
                                   else None, "detail": v.detail} for v in violations]})
        if violations:
            sys.exit(EXIT_VERIFY_FAILED)
        return
    if violations:
        for violation in violations:
            click.echo(f"violation: {violation}", err=True)
        fail(EXIT_VERIFY_FAILED, f"{len(violations)} violation{'s' if len(violations) != 1 else ''} found.")
    click.echo(f"{results}: every constraint and reported figure holds for {inst.name}")


@click.command()
@click.argument("out", type=FOLDER)
@click.option("--commodities", type=click.IntRange(min=1), default=6, show_default=True,
              help="Materials (commodities) in the instance.")
@click.option("--options", type=click.IntRange(min=1), default=15, show_default=True,
              help="Supply options per material.")
@click.option("--periods", type=click.IntRange(min=1), default=8, show_default=True,
              help="Periods (years) of the horizon.")
@click.option("--scenarios", type=click.IntRange(min=1), default=30, show_default=True,
              help="Scenarios (explicit, with disruptions); with --events, the most kept of the events' "
                   "combinations.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Random seed: the same seed writes the same files.")
@click.option("--aversion", type=FiniteFloat(0.0, 1.0), default=0.3, show_default=True,
              help="Risk aversion lambda of the instance (1: CVaR only).")
@click.option("--ambiguity", type=FiniteFloat(0.0, 1.0), default=0.0, show_default=True,
              help="Ambiguity delta of the instance: each probability trusted to within this share.")
@click.option("--budget-share", type=FiniteFloat(0.0, 1.0), default=None,
              help="A fixed-cost budget of this share of all fixed costs (0.1 binds) [default: none].")
@click.option("--shared-agreements", type=click.IntRange(min=0), default=0, show_default=True,
              help="Extra deals, each gating one country's options across every material.")
@click.option("--events", type=click.IntRange(min=0, max=30), default=0, show_default=True,
              help="Scenarios from this many independent events (events.csv) instead of explicit ones.")
@click.option("--lead-times", is_flag=True,
              help="Volumes fixed 0-3 periods ahead in a multi-stage plan (new projects longest) instead of 1.")
@click.option("--price-shocks", is_flag=True, help="Some cut-offs also multiply spot prices (1.5-3 times).")
@click.option("--supplied-limits", is_flag=True,
              help="Share caps on what arrives in each scenario (Global South 50%, one country 30%).")
@click.option("--force", is_flag=True, help="Replace a folder planner generated, even if its files changed since.")
@guard
def generate(out: Path, commodities: int, options: int, periods: int, scenarios: int, seed: int,
             aversion: float, ambiguity: float, budget_share: float | None, shared_agreements: int,
             events: int, lead_times: bool, price_shocks: bool, supplied_limits: bool, force: bool) -> None:
    """Write a random but plausible instance of the given size and family into the folder OUT.

    Materials x periods x (options + scenarios) is at most 10,000,000.
    """
    from planner.instance.generate import Shape, generate_instance
    from planner.results.ownership import check_location

    size = commodities * periods * (options + scenarios)
    if size > MAX_GENERATED_SIZE:
        raise click.UsageError(f"--commodities x --periods x (--options + --scenarios) is {size:,}; planner "
                               f"generate writes at most {MAX_GENERATED_SIZE:,}, about a hundred times the largest "
                               "instance measured (docs/performance.md, 'Many scenarios')")
    if events and scenarios > MAX_SCENARIOS_FROM_EVENTS:
        raise click.UsageError(f"with --events, --scenarios is at most {MAX_SCENARIOS_FROM_EVENTS:,} "
                               f"(events.max_scenarios of instance.toml), not {scenarios:,}")
    check_location(out, option="OUT")
    shape = Shape(aversion=aversion, ambiguity=ambiguity, budget=budget_share, agreements=shared_agreements,
                  events=events, lead_times=lead_times, price_shocks=price_shocks, supplied_limits=supplied_limits)
    generate_instance(out, commodities, options, periods, scenarios, seed, force=force, shape=shape,
                      on_note=lambda text: note(f"note: {text}"))
    kept = (f"at most {count(scenarios, 'scenario')} from {count(events, 'independent event')} "
            f"({count(2 ** events, 'combination')})" if events else count(scenarios, "scenario"))
    click.echo(f"{out}: {count(commodities, 'material')} x {count(options, 'option')} (each) x "
               f"{count(periods, 'period')} x {kept}")


@click.command()
@click.argument("results", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_file", type=OUTPUT_FILE,
              help="HTML file, its name ending in .html [default: RESULTS/report.html]; missing folders are made.")
@click.option("--xlsx", "xlsx_file", type=OUTPUT_FILE,
              help="Also write the tables as an Excel workbook to this file (its name ending in .xlsx).")
@guard
def report(results: Path, out_file: Path | None, xlsx_file: Path | None) -> None:
    """Write a self-contained HTML report (charts inline) of a RESULTS folder or a sweep folder."""
    from planner.results.ownership import check_location
    from planner.studies.sweep import SWEEP_FILE, not_a_result, still_running

    is_sweep = (results / SWEEP_FILE).is_file()
    if not (results / "summary.json").is_file() and not is_sweep:
        raise not_a_result(results)
    running = still_running(results)
    if running:
        note(f"note: {running}")
    if is_sweep and xlsx_file is not None:
        raise click.UsageError("--xlsx takes a results folder; a sweep's table is sweep.csv")
    for target, option, suffixes, what in ((out_file, "--out", (".html", ".htm"), "the HTML report"),
                                           (xlsx_file, "--xlsx", (".xlsx",), "an Excel workbook")):
        if target is None:
            continue
        if target.suffix.lower() not in suffixes:  # a browser or Excel would not open it by its name
            other = " (a workbook is --xlsx FILE.xlsx)" if option == "--out" else ""
            raise click.UsageError(f"{option} {target}: {what} is written there, so its name ends in "
                                   f"{suffixes[0]}{other}")
        check_location(target, option=option)
    from planner.results.report import write_report

    common.warn_edited([results])
    with Progress(task="writing the report"):  # (a large result takes a while)
        path = write_report(results, out_file or results / "report.html")
    click.echo(f"Report in {path}")
    if xlsx_file is not None:
        from planner.results.workbook import workbook_from_results

        with Progress(task="writing the workbook"):
            written = workbook_from_results(results, xlsx_file)
        click.echo(f"Workbook in {written}")


@click.command(name="instances")
@guard
def list_instances() -> None:
    """List the bundled instances with what each is and where its files are (copy one to edit it)."""
    from planner.instance.bundled import bundled_dir, bundled_names

    for name in bundled_names():
        marker = "  (default)" if name == DEFAULT_INSTANCE else ""
        click.echo(f"{name}{marker}: {instance_description(name)}")
        click.echo(f"    files in {bundled_dir() / name}")
