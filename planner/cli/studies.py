"""Commands for studies: scenarios from events, evaluation of a plan, sweeps, comparisons."""

from __future__ import annotations

import os
from pathlib import Path

import click

import planner.cli.common as common
from planner.cli.common import (
    FOLDER,
    RegularFile,
    check_scheduler,
    emit_json,
    guard,
    load,
    note,
    output_flags,
    quiet_flag,
    solve_flags,
)
from planner.cli.progress import Progress, Steps
from planner.errors import InstanceError, OutputError, Problem
from planner.formatting import count, key_values
from planner.instance.bundled import bundled_dir, resolve_instance
from planner.instance.schema import MAX_SCENARIOS_FROM_EVENTS, SETTING
from planner.options import SolveOptions
from planner.status import has_plan


@click.command()
@click.argument("instance")
@click.option("--max-scenarios", type=click.IntRange(min=1, max=MAX_SCENARIOS_FROM_EVENTS), default=None,
              help="Most scenarios to keep (sample: how many to draw) [default: the instance's "
                   f"events.max_scenarios, {SETTING['events.max_scenarios'].default}].")
@click.option("--method", type=click.Choice(SETTING["events.method"].choices), default=None,
              help="exact: every combination; sample: seeded Monte Carlo; reduce: keep the severe ones; "
                   "auto: exact when it fits, else reduce, else sample [default: the instance's events.method, "
                   f"{SETTING['events.method'].default}].")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help=f"For --method sample [default: the instance's events.seed, {SETTING['events.seed'].default}].")
@click.option("--out", "out_dir", type=FOLDER,
              help="Folder for scenarios.csv and disruptions.csv [default: results/<instance name>-scenarios/].")
@click.option("--into-instance", is_flag=True,
              help="Write them into the instance folder instead (not a bundled one); solve then uses them "
                   "instead of events.csv.")
@click.option("--force", is_flag=True, help="Replace planner-written scenario files even if they changed since.")
@quiet_flag
@guard
def scenarios(instance: str, max_scenarios: int | None, method: str | None, seed: int | None, out_dir: Path | None,
              into_instance: bool, force: bool) -> None:
    """Write scenarios.csv and disruptions.csv generated from INSTANCE's events.csv."""
    from planner.instance.events import generate_scenarios
    from planner.results.ownership import check_location
    from planner.results.write import write_scenario_folder, write_scenarios_into

    if into_instance and out_dir is not None:
        raise click.UsageError("give either --out or --into-instance, not both")
    path = resolve_instance(instance)
    inst = load(instance, replace={"scenarios": None, "disruptions": None}, scenarios_from_events=False)
    if inst.tables["events"].empty:
        raise InstanceError([Problem(str(path / "events.csv"), "is missing or empty",
                                     hint="planner scenarios generates scenarios from events")])
    table, disruptions, how = generate_scenarios(inst, method, max_scenarios, seed)
    if into_instance:
        if Path(os.path.abspath(path)).resolve().is_relative_to(bundled_dir().resolve()):
            raise OutputError(f"{instance} is a bundled instance, an input planner never writes into: "
                              "use --out, or copy the instance folder first")
        written = write_scenarios_into(path, table, disruptions, force)
        click.echo(f"{', '.join(map(str, written))}: {how}")
        note("note: solve now uses these scenarios instead of events.csv; remove the two files to go back.")
        return
    folder = out_dir or Path("results") / f"{inst.name}-scenarios"
    check_location(folder, (path,))
    write_scenario_folder(folder, table, disruptions, force)
    click.echo(f"{folder}: {how}")


@click.command()
@click.argument("instance")
@click.argument("results", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--scenarios", "scenario_file", type=RegularFile(),
              help="A scenarios.csv (with disruptions.csv beside it) or an events.csv [default: the instance's].")
@click.option("--out", "out_dir", type=FOLDER, help="Folder for the evaluation [default: RESULTS-evaluation/].")
@click.option("--force", is_flag=True,
              help="Replace a planner-written --out folder even if its files changed since or it is of another kind.")
@output_flags
@guard
def evaluate(instance: str, results: Path, scenario_file: Path | None, out_dir: Path | None, force: bool,
             as_json: bool) -> None:
    """Cost and shortages of the plan in RESULTS (its contracts held) under a scenario set.

    Spot buys, stock and shortages adapt in each scenario; service levels are reported,
    not enforced, and volume that can be neither used nor stored may be disposed of.
    """
    from planner.instance.data import build_model_data
    from planner.instance.loader import load_instance
    from planner.results.folder import EVALUATION_SUFFIX, OWN_SCENARIOS
    from planner.results.manifest import Kind as OutputKind
    from planner.results.ownership import check_location, claimed_target
    from planner.results.readback import instance_as_made, read_first_stage
    from planner.results.terminal import format_evaluation
    from planner.results.write import write_results
    from planner.studies.evaluate import evaluate_outcome, scenario_replacement

    # the instance as the plan was solved, with the scenarios its events give: they name the rows of a
    # multi-stage plan (said only when they are the ones evaluated, not beside --scenarios)
    base = load(instance) if scenario_file is None else load_instance(resolve_instance(instance))
    folder = out_dir or results.parent / f"{results.name}{EVALUATION_SUFFIX}"
    inputs = (base.path, results) + ((scenario_file,) if scenario_file else ())
    check_location(folder, inputs)
    with claimed_target(folder, OutputKind.EVALUATION, force):  # (a second evaluation there is refused)
        # a sweep run's plan was made for the instance with the run's values; a multi-stage plan's
        # first period is held and its later ones decided again
        base, values = instance_as_made(base, results)
        if values:
            note(f"note: the plan is a sweep run's, evaluated with its values: {key_values(values)}")
        first_stage = read_first_stage(build_model_data(base), results)
        changed = common.note_instance_changes(results, base, "the plan is evaluated under the files as they are now, "
                                               "so its figures are not the solve's", scenario_file is not None)
        inst = base
        if scenario_file is not None:
            inst, _ = instance_as_made(load(instance, replace=scenario_replacement(scenario_file)), results)
        note(f"evaluating the plan of {results} under {count(len(inst.scenarios), 'scenario')} ...")
        with Progress(task="evaluating"):
            outcome = evaluate_outcome(inst, first_stage, SolveOptions(), str(results),
                                       str(scenario_file or OWN_SCENARIOS), changed)
        if values:  # (verify applies them, as to the run itself)
            outcome.extra["sweep_values"] = values
        folder = write_results(outcome, folder, force=force, kind=OutputKind.EVALUATION)
    if as_json:
        from planner.results.folder import read_summary

        emit_json({"command": "evaluate", "ok": True, "results": str(folder), "summary": read_summary(folder)})
        return
    click.echo(format_evaluation(outcome))
    click.echo(f"Evaluation in {folder}/")


def _varies(varies: tuple[str, ...], most: int) -> list[tuple[str, list[float]]]:
    from planner.studies.runs import parse_vary

    parsed = [parse_vary(v, most) for v in varies]
    keys = [key for key, _ in parsed]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise click.UsageError(f"--vary {repeated[0]!r} is given more than once; give all its values in one "
                               "--vary (a,b,c)")
    return parsed


@click.command()
@click.argument("instance")
@click.option("--vary", "varies", multiple=True, metavar="KEY=VALUES",
              help="A key and its values, a,b,c or start:stop:count; several make a grid.")
@click.option("--design", "design_file", type=RegularFile(),
              help="A CSV with one run per row, its columns keys (instead of --vary).")
@click.option("--out", "out_dir", type=FOLDER, required=True, help="Sweep folder: sweep.csv, charts, runs/.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Local worker processes [default: one per core, as many as the free memory holds].")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run on this Dask distributed scheduler (tcp://host:8786) instead of local processes.")
@solve_flags
@click.option("--retry-failed", is_flag=True, help="Run again the runs that failed before.")
@click.option("--max-runs", type=click.IntRange(min=1), default=10_000, show_default=True,  # runs.MAX_RUNS
              help="Refuse a sweep of more runs (a slip in start:stop:count).")
@click.option("--force", is_flag=True,
              help="Start over in an --out folder that holds another planner sweep (its runs are deleted).")
@quiet_flag
@guard
def sweep(instance: str, varies: tuple[str, ...], design_file: Path | None, out_dir: Path, workers: int | None,
          scheduler: str | None, mip_gap: float, time_limit: float | None, node_limit: int | None,
          no_decomposition: bool, retry_failed: bool, max_runs: int, force: bool) -> None:
    """Solve INSTANCE for every combination of the varied values (or every row of --design)."""
    if bool(varies) == bool(design_file):
        raise click.UsageError("give either --vary (one or more) or --design, not both")
    if scheduler is not None:
        check_scheduler(scheduler)
    from planner.results.ownership import check_location
    from planner.studies.runs import design as sweep_design
    from planner.studies.runs import distinct
    from planner.studies.runs import grid as sweep_grid
    from planner.studies.sweep import claim_sweep

    path = resolve_instance(instance)
    given = sweep_design(design_file, max_runs) if design_file else sweep_grid(_varies(varies, max_runs), max_runs)
    runs = distinct(given)
    if len(runs) < len(given):
        twice = len(given) - len(runs)
        note(f"note: {count(twice, 'run')} of {design_file or '--vary'} repeat{'s' if twice == 1 else ''} another's "
             f"values: each is solved and listed once ({count(len(runs), 'run')})")
    check_location(out_dir, (path,) + ((design_file,) if design_file else ()))
    options = common.solve_options(mip_gap, time_limit, node_limit, no_decomposition)
    with claim_sweep(out_dir, force):  # one sweep at a time in a folder
        _sweep_in(path, runs, out_dir, options, workers, scheduler, retry_failed, force)


def _sweep_in(path: Path, runs: list, out_dir: Path, options: SolveOptions, workers: int | None,
              scheduler: str | None, retry_failed: bool, force: bool) -> None:
    from planner.studies.charts import write_sweep_charts
    from planner.studies.sweep import SWEEP_FILE, first_run_summary, prepare_sweep, run_sweep

    done = prepare_sweep(path, runs, out_dir, options, force=force, retry_failed=retry_failed)
    keys = list(dict.fromkeys(k for run in runs for k in run.values))
    note(f"sweep of {path.name}: {count(len(runs), 'run')} over {', '.join(keys)}; {done} already done"
         + (f"; on {scheduler}" if scheduler else ""))
    failed = 0
    steps = Steps(len(runs), "sweep", unit="run", done=done)

    def on_done(run_id: str, status: str) -> None:
        nonlocal failed
        failed += not has_plan(status)
        steps(f"run {run_id}: {status}", failed=failed)

    try:
        table = run_sweep(path, runs, out_dir, workers=workers, scheduler=scheduler, options=options,
                          on_done=on_done, on_note=lambda text: note(f"note: {text}"))
    finally:
        steps.close()
    charts, why = write_sweep_charts(table, keys, out_dir, str(first_run_summary(out_dir).get("currency", "")))
    planned = table["status"].map(has_plan)
    click.echo(f"{out_dir / SWEEP_FILE}: {count(len(table), 'run')}, {int((~planned).sum())} without a plan"
               + (f"; charts: {', '.join(p.name for p in charts)}" if charts else f"; no chart: {why}"))
    for row in table[~planned].itertuples(index=False):
        reason = str(row.reason)
        if len(reason) > 300:
            reason = reason[:300].rsplit(" ", 1)[0] + f" ... (all of it in runs/{row.id}/failed.json)"
        click.echo(f"  run {row.id} ({row.status}): {reason}")


@click.command()
@click.argument("results", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=FOLDER,
              help="Folder for the comparison's tables and report.html [default: results/comparison/].")
@click.option("--force", is_flag=True,
              help="Replace a planner-written --out folder even if its files changed since or it is of another kind.")
@output_flags
@guard
def compare(results: tuple[Path, ...], out_dir: Path | None, force: bool, as_json: bool) -> None:
    """Compare two or more RESULTS folders of one instance (or a sweep folder: its runs).

    Against the first: figures, contracts added and dropped, volume by material and bloc of
    origin, expected shortage and exposure; printed, and written as tables and a report.
    """
    from planner.results.manifest import Kind as OutputKind
    from planner.results.ownership import check_location, check_target
    from planner.studies.compare import compare_results, format_comparison, write_comparison
    from planner.studies.sweep import still_running

    folder = out_dir or Path("results") / "comparison"
    check_location(folder, tuple(results))
    check_target(folder, OutputKind.COMPARISON, force)
    for running in filter(None, map(still_running, dict.fromkeys(results))):
        note(f"note: {running}")
    with Progress(task="comparing"):  # (results of a million rows take a while)
        comparison = compare_results(list(results))
    common.warn_edited([*results, *comparison.folders])
    write_comparison(comparison, folder, force=force)
    if as_json:
        emit_json({"command": "compare", "ok": True, "out": str(folder), "instance": comparison.instance,
                   "results": comparison.labels, "other_files": comparison.other_files,
                   "tables": {name: frame.to_dict(orient="records") for name, frame in comparison.tables().items()}})
        return
    click.echo(format_comparison(comparison))
    click.echo(f"Comparison in {folder}/ (tables as CSV, report.html)")
