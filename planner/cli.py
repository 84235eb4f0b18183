"""Command line: parse, call the library, print. Exit codes are documented in the README."""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

import click
from tqdm import tqdm

from planner import __version__
from planner.bundled import DEFAULT_INSTANCE, resolve_instance
from planner.data import build_model_data
from planner.errors import (
    InfeasibleError,
    InstanceError,
    OutputError,
    OverrideError,
    PlannerError,
    Problem,
    ResultsError,
    SolveError,
)
from planner.evaluate import DEFAULT_OUT_OF_SAMPLE, evaluate_outcome, hedging_metrics, scenario_replacement
from planner.generate import generate_instance
from planner.loader import Instance, load_instance
from planner.output import (
    EVALUATION_FOLDER,
    REPORT_FILE,
    default_output_dir,
    format_evaluation,
    format_metrics,
    format_summary,
    write_results,
    write_scenario_files,
)
from planner.pipeline import solve_instance
from planner.report import write_report
from planner.scenarios import DEFAULT_MAX_SCENARIOS, METHODS, generate_scenarios
from planner.solve import SolveOptions
from planner.sweep import SWEEP_FILE, is_done, parse_vary, run_sweep
from planner.sweep import design as sweep_design
from planner.sweep import grid as sweep_grid
from planner.sweep_charts import write_sweep_charts
from planner.verify import read_plan, verify_result
from planner.workbook import workbook_from_results

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2  # click's own code for a bad command line
EXIT_INVALID_INPUT = 3
EXIT_INFEASIBLE = 4
EXIT_NO_SOLUTION = 5  # time limit reached before any feasible plan
EXIT_SOLVER = 6  # solver failure (numerical trouble, memory)
EXIT_OUTPUT = 7  # results could not be written
EXIT_VERIFY_FAILED = 8  # planner verify found violations
EXIT_INTERRUPTED = 130


def _say(message: str) -> None:
    click.echo(message, err=True)


def _fail(code: int, message: str) -> None:
    _say(message)
    sys.exit(code)


class _Progress:
    """A status line on stderr while HiGHS branches: in place on a terminal, else every 30 s."""

    def __init__(self) -> None:
        self.interactive = sys.stderr.isatty()
        self.every = 1.0 if self.interactive else 30.0
        self.last = 0.0
        self.shown = False

    def __call__(self, seconds: float, incumbent: float | None, bound: float | None) -> None:
        if seconds - self.last < self.every:
            return
        self.last = seconds
        text = f"  {seconds:7.1f} s  best plan {'-' if incumbent is None else f'{incumbent:,.2f}'}"
        if bound is not None:
            text += f"  bound {bound:,.2f}"
        if incumbent is not None and bound is not None:
            text += f"  gap {max(0.0, incumbent - bound) / max(abs(incumbent), 1e-10):.2%}"
        click.echo(("\r" + text.ljust(78)) if self.interactive else text, err=True, nl=not self.interactive)
        self.shown = True

    def close(self) -> None:
        if self.shown and self.interactive:
            click.echo("", err=True)


def _load(argument: str | None) -> Instance:
    path = resolve_instance(argument)
    instance = load_instance(path)
    for warning in instance.warnings:
        _say(f"warning: {warning}")
    for note in instance.notes:
        _say(f"note: {note}")
    return instance


def _guard(action):  # noqa: ANN001, ANN202 - decorator for click commands
    """Turn planner errors into messages and exit codes; never show users a traceback."""

    def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        try:
            return action(*args, **kwargs)
        except InstanceError as exc:
            count = len(exc.problems)
            _fail(EXIT_INVALID_INPUT, "\n".join(f"error: {p}" for p in exc.problems)
                  + f"\n{count} problem{'s' if count != 1 else ''} found; nothing was solved or written.")
        except InfeasibleError as exc:
            _fail(EXIT_INFEASIBLE, f"infeasible: {exc}\nNo results were written.")
        except SolveError as exc:
            code = EXIT_NO_SOLUTION if exc.status == "time_limit" else EXIT_SOLVER
            _fail(code, f"{exc.status}: {exc}\nNo results were written.")
        except (ResultsError, OverrideError) as exc:
            _fail(EXIT_INVALID_INPUT, f"error: {exc}")
        except OutputError as exc:
            _fail(EXIT_OUTPUT, f"error: {exc}")
        except PlannerError as exc:
            _fail(EXIT_INTERNAL, f"error: {exc}")
        except KeyboardInterrupt:
            _fail(EXIT_INTERRUPTED, "interrupted: nothing partial was written (finished sweep runs are kept).")
        except Exception:  # a bug of ours: say so, keep the details for the report
            log = Path(tempfile.gettempdir()) / f"planner-crash-{os.getpid()}.log"
            log.write_text(traceback.format_exc(), encoding="utf-8")
            _fail(EXIT_INTERNAL, f"internal error: this is a bug in planner {__version__}; "
                  f"details are in {log.resolve()}")

    wrapper.__name__ = action.__name__
    wrapper.__doc__ = action.__doc__
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="planner")
def main() -> None:
    """Plan critical-mineral sourcing under supply disruptions (MODEL.md)."""


@main.command()
@click.argument("instance", required=False)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Results folder [default: results/<instance name>/].")
@click.option("--mip-gap", type=click.FloatRange(0, 1), default=1e-4, show_default=True,
              help="Relative MIP gap at which HiGHS stops.")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds for the solve; the best plan found by then is returned.")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="HiGHS threads [default: HiGHS decides].")
@click.option("--no-decomposition", "no_decomposition", is_flag=True,
              help="Skip the decomposition phase: branch and bound on the whole model only.")
@click.option("--force", is_flag=True, help="Write into --out even if it holds other files.")
@click.option("--log", "show_log", is_flag=True, help="Show the HiGHS log on stderr.")
@click.option("--xlsx", is_flag=True, help="Also write the tables as one Excel workbook, results.xlsx.")
@click.option("--report", "html_report", is_flag=True, help="Also write the HTML report, report.html.")
@click.option("--metrics", is_flag=True, help="Also compute EVPI, VSS and the out-of-sample cost (more solves).")
@click.option("--samples", type=click.IntRange(min=2), default=DEFAULT_OUT_OF_SAMPLE, show_default=True,
              help="Scenarios drawn from events.csv for the out-of-sample cost.")
@_guard
def solve(instance: str | None, out_dir: Path | None, mip_gap: float, time_limit: float | None,
          threads: int | None, no_decomposition: bool, force: bool, show_log: bool, xlsx: bool,
          html_report: bool, metrics: bool, samples: int) -> None:
    """Solve INSTANCE (a folder, or a bundled name) and write the plan.

    Without INSTANCE, solves the bundled default instance.
    """
    started = time.perf_counter()
    inst = _load(instance)
    _say(f"solving {inst.name} ({len(inst.options)} options, {len(inst.scenarios)} scenarios, "
         f"{len(inst.periods)} periods) with HiGHS, gap {mip_gap:g}"
         + (f", time limit {time_limit:g} s" if time_limit else "") + " ...")
    progress = _Progress()
    options = SolveOptions(mip_gap=mip_gap, time_limit=time_limit, threads=threads, log=show_log,
                           decomposition=not no_decomposition, progress=None if show_log else progress)
    try:
        outcome = solve_instance(inst, options)
    finally:
        progress.close()
    if metrics:
        _say("computing EVPI, VSS and the out-of-sample cost ...")
        outcome.extra = {"metrics": hedging_metrics(inst, outcome.data, outcome.plan, outcome.figures.objective,
                                                    options, out_of_sample=samples)}
    folder = write_results(outcome, out_dir or default_output_dir(outcome), force=force, xlsx=xlsx)
    if html_report:
        write_report(folder, folder / REPORT_FILE)
    click.echo(format_summary(outcome))
    if metrics:
        click.echo(format_metrics(outcome.extra["metrics"], inst.currency, outcome.figures.expected_cost))
    if outcome.report.status == "time_limit":
        click.echo("  note: the time limit was reached; the plan is the best found, not proven optimal.")
    click.echo(f"Results in {folder}/ ({time.perf_counter() - started:.1f} s)")


@main.command()
@click.argument("instance", required=False)
@_guard
def validate(instance: str | None) -> None:
    """Check INSTANCE against the format and report every problem (nothing is solved)."""
    inst = _load(instance)
    click.echo(f"{inst.path}: valid ({len(inst.commodities)} materials, {len(inst.options)} options, "
               f"{len(inst.scenarios)} scenarios, {len(inst.periods)} periods)")


@main.command()
@click.argument("instance")
@click.argument("results", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_guard
def verify(instance: str, results: Path) -> None:
    """Check RESULTS against INSTANCE: every constraint and every reported figure.

    Recomputed from the instance and the result files alone, not from the model.
    """
    inst = _load(instance)
    violations = verify_result(build_model_data(inst), results)
    if violations:
        for violation in violations:
            click.echo(f"violation: {violation}", err=True)
        _fail(EXIT_VERIFY_FAILED, f"{len(violations)} violation{'s' if len(violations) != 1 else ''} found.")
    click.echo(f"{results}: every constraint and reported figure holds for {inst.name}")


@main.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--commodities", type=click.IntRange(min=1), default=6, show_default=True, help="Materials.")
@click.option("--options", type=click.IntRange(min=1), default=15, show_default=True, help="Options per material.")
@click.option("--periods", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--scenarios", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@_guard
def generate(out: Path, commodities: int, options: int, periods: int, scenarios: int, seed: int) -> None:
    """Write a random but plausible instance of the given size into the new folder OUT."""
    if out.exists():
        raise OutputError(f"{out} already exists; choose a new folder")
    generate_instance(out, commodities, options, periods, scenarios, seed)
    click.echo(f"{out}: {commodities} materials x {options} options x {periods} periods x {scenarios} scenarios")


@main.command()
@click.argument("results", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="HTML file [default: RESULTS/report.html].")
@click.option("--xlsx", "xlsx_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the tables as an Excel workbook to this file.")
@_guard
def report(results: Path, out_file: Path | None, xlsx_file: Path | None) -> None:
    """Write a self-contained HTML report (charts inline) of a RESULTS folder or a sweep folder."""
    is_sweep = (results / SWEEP_FILE).is_file()
    if not (results / "summary.json").is_file() and not is_sweep:
        raise ResultsError(f"{results} is not a results folder (no summary.json) nor a sweep (no sweep.csv)")
    if is_sweep and xlsx_file is not None:
        raise ResultsError("--xlsx takes a results folder; a sweep's table is sweep.csv")
    path = write_report(results, out_file or results / REPORT_FILE)
    click.echo(f"Report in {path}")
    if xlsx_file is not None:
        click.echo(f"Workbook in {workbook_from_results(results, xlsx_file)}")


@main.command()
@click.argument("instance")
@click.option("--max-scenarios", type=click.IntRange(min=1), default=DEFAULT_MAX_SCENARIOS, show_default=True)
@click.option("--method", type=click.Choice(METHODS), default="auto", show_default=True,
              help="exact: every combination; sample: seeded Monte Carlo; reduce: keep the severe ones; "
                   "auto: exact when it fits, else reduce.")
@click.option("--seed", type=int, default=0, show_default=True, help="For --method sample.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for scenarios.csv and disruptions.csv [default: the instance folder].")
@click.option("--force", is_flag=True, help="Overwrite existing scenarios.csv and disruptions.csv.")
@_guard
def scenarios(instance: str, max_scenarios: int, method: str, seed: int, out_dir: Path | None,
              force: bool) -> None:
    """Write scenarios.csv and disruptions.csv generated from INSTANCE's events.csv."""
    path = resolve_instance(instance)
    inst = load_instance(path, {"scenarios": None, "disruptions": None})
    if inst.tables["events"].empty:
        raise InstanceError([Problem(str(path / "events.csv"), "is missing or empty",
                                     hint="planner scenarios generates scenarios from events")])
    table, disruptions, how = generate_scenarios(inst, method, max_scenarios, seed)
    folder = out_dir or path
    write_scenario_files(folder, table, disruptions, force)
    click.echo(f"{folder}: {how}")


@main.command()
@click.argument("instance")
@click.argument("results", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--scenarios", "scenario_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A scenarios.csv (with disruptions.csv beside it) or an events.csv [default: the instance's].")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the evaluation [default: RESULTS/evaluation].")
@_guard
def evaluate(instance: str, results: Path, scenario_file: Path | None, out_dir: Path | None) -> None:
    """Cost and shortages of the plan in RESULTS (its contracts held) under a scenario set.

    Spot buys, stock and shortages adapt in each scenario; service levels are reported,
    not enforced, and volume that can be neither used nor stored may be disposed of.
    """
    base = _load(instance)
    first_stage, _, _ = read_plan(build_model_data(base), results)
    inst = base
    if scenario_file is not None:
        inst = load_instance(resolve_instance(instance), scenario_replacement(scenario_file))
        for note in inst.notes:
            _say(f"note: {note}")
    outcome = evaluate_outcome(inst, first_stage, SolveOptions(), str(results), str(scenario_file or "instance"))
    folder = write_results(outcome, out_dir or results / EVALUATION_FOLDER, force=True)
    click.echo(format_evaluation(outcome))
    click.echo(f"Evaluation in {folder}/")


@main.command()
@click.argument("instance")
@click.option("--vary", "varies", multiple=True, metavar="KEY=VALUES",
              help="A key and its values, a,b,c or start:stop:count; several make a grid.")
@click.option("--design", "design_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A CSV with one run per row, its columns keys (instead of --vary).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Local worker processes [default: cores].")
@click.option("--scheduler", default=None, metavar="ADDRESS", help="Run on this Dask distributed scheduler.")
@click.option("--mip-gap", type=click.FloatRange(0, 1), default=1e-4, show_default=True)
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None, help="Seconds per run.")
@click.option("--retry-failed", is_flag=True, help="Run again the runs that failed before.")
@_guard
def sweep(instance: str, varies: tuple[str, ...], design_file: Path | None, out_dir: Path, workers: int | None,
          scheduler: str | None, mip_gap: float, time_limit: float | None, retry_failed: bool) -> None:
    """Solve INSTANCE for every combination of the varied values (or every row of --design)."""
    if bool(varies) == bool(design_file):
        raise click.UsageError("give either --vary (one or more) or --design")
    path = resolve_instance(instance)
    runs = sweep_design(design_file) if design_file else sweep_grid([parse_vary(v) for v in varies])
    keys = list(dict.fromkeys(k for run in runs for k in run.values))
    done = sum(is_done(out_dir, run) for run in runs) if not retry_failed else 0
    _say(f"sweep of {path.name}: {len(runs)} runs over {', '.join(keys)}; {done} already done"
         + (f"; on {scheduler}" if scheduler else ""))
    failed = 0
    with tqdm(total=len(runs), initial=done, unit="run", file=sys.stderr, dynamic_ncols=True) as bar:
        def on_done(_: str, status: str) -> None:
            nonlocal failed
            failed += status not in ("optimal", "time_limit")
            bar.set_postfix(failed=failed)
            bar.update(1)

        table = run_sweep(path, runs, out_dir, workers=workers, scheduler=scheduler,
                          options=SolveOptions(mip_gap=mip_gap, time_limit=time_limit), retry_failed=retry_failed,
                          on_done=on_done)
    charts = write_sweep_charts(table, keys, out_dir)
    bad = int((~table["status"].isin(["optimal", "time_limit"])).sum())
    click.echo(f"{out_dir / SWEEP_FILE}: {len(table)} runs, {bad} without a plan; charts: "
               + ", ".join(p.name for p in charts))


@main.command(name="instances")
def list_instances() -> None:
    """List the bundled instances."""
    from planner.bundled import bundled_names

    for name in bundled_names():
        click.echo(name + ("  (default)" if name == DEFAULT_INSTANCE else ""))


if __name__ == "__main__":  # pragma: no cover
    main()
