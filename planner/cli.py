"""Command line: parse, call the library, print. Exit codes are documented in the README.

Only click and planner's light modules are imported here: a command imports what it needs
when it runs, so `planner --help` and `planner validate` never load HiGHS, Pyomo or
matplotlib.
"""

from __future__ import annotations

import math
import os
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path

import click

from planner import __version__
from planner.errors import (
    ClusterError,
    InfeasibleError,
    InstanceError,
    OutputError,
    OverrideError,
    PlannerError,
    Problem,
    ResultsError,
    SolveError,
)
from planner.instance.bundled import DEFAULT_INSTANCE, bundled_dir, instance_description, resolve_instance
from planner.options import SolveOptions
from planner.status import Status, has_plan

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2  # click's own code for a bad command line
EXIT_INVALID_INPUT = 3
EXIT_INFEASIBLE = 4
EXIT_NO_SOLUTION = 5  # a time or node limit reached before any feasible plan
EXIT_SOLVER = 6  # solver failure (numerical trouble, memory)
EXIT_OUTPUT = 7  # results could not be written
EXIT_VERIFY_FAILED = 8  # planner verify found violations
EXIT_CLUSTER = 9  # the Dask scheduler could not be reached
EXIT_INTERRUPTED = 130

DEFAULT_SAMPLES = 1000  # planner.evaluate.DEFAULT_OUT_OF_SAMPLE, kept here so that --help loads nothing heavy
DEFAULT_MAX_SCENARIOS = 200  # planner.scenarios.DEFAULT_MAX_SCENARIOS
SCENARIO_METHODS = ("auto", "exact", "sample", "reduce")  # planner.scenarios.METHODS
_SCHEDULER = re.compile(r"^((tcp|tls|inproc|ucx|ws|wss)://)?[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$")


def _say(message: str) -> None:
    click.echo(message, err=True)


def _fail(code: int, message: str) -> None:
    _say(message)
    sys.exit(code)


class FiniteFloat(click.ParamType):
    """A float in a range, never nan or inf (click.FloatRange accepts nan)."""

    name = "number"

    def __init__(self, low: float | None = None, high: float | None = None, low_open: bool = False) -> None:
        self.low, self.high, self.low_open = low, high, low_open

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        too_low = self.low is not None and (number < self.low or (self.low_open and number == self.low))
        too_high = self.high is not None and number > self.high
        if too_low or too_high:
            low = "" if self.low is None else f"{'>' if self.low_open else '>='} {self.low:g}"
            high = "" if self.high is None else f"<= {self.high:g}"
            self.fail(f"{value!r} is not {' and '.join(p for p in (low, high) if p)}", param, ctx)
        return number


class RegularFile(click.Path):
    """An existing regular file (not a folder, FIFO or device, which would hang a reader)."""

    def __init__(self) -> None:
        super().__init__(exists=True, dir_okay=False, path_type=Path)

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        path = super().convert(value, param, ctx)
        if not Path(path).is_file():
            self.fail(f"{value!r} is not a regular file", param, ctx)
        return Path(path)


GAP = FiniteFloat(0.0, 1.0)
SECONDS = FiniteFloat(0.0, low_open=True)
_FOLDER = click.Path(file_okay=True, path_type=Path)  # whether it may be written is planner's rule, not click's


class _Progress:
    """A status line on stderr while the solve runs: in place on a terminal, else every 30 s."""

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


def _load(argument: str | None, **kwargs: object):  # noqa: ANN202 - planner.instance.loader.Instance, loaded lazily
    from planner.instance.loader import load_instance

    path = resolve_instance(argument)
    instance = load_instance(path, **kwargs)
    for warning in instance.warnings:
        _say(f"warning: {warning}")
    for note in instance.notes:
        _say(f"note: {note}")
    return instance


def _interrupted() -> None:
    """Ctrl-C: say so and leave at once. Nothing partial is on disk (every write is staged), and
    os._exit does not wait for a solver thread still finishing its iteration."""
    _say("interrupted: nothing partial was written (finished sweep runs are kept).")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


def _guard(action):  # noqa: ANN001, ANN202 - decorator for click commands
    """Turn planner errors into messages and exit codes; never show users a traceback."""

    def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        try:
            return action(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise  # usage errors: click prints the usage and exits 2
        except InstanceError as exc:
            count = len(exc.problems)
            _fail(EXIT_INVALID_INPUT, "\n".join(f"error: {p}" for p in exc.problems)
                  + f"\n{count} problem{'s' if count != 1 else ''} found; nothing was solved or written.")
        except InfeasibleError as exc:
            _fail(EXIT_INFEASIBLE, f"infeasible: {exc}\nNo results were written.")
        except SolveError as exc:
            code = EXIT_NO_SOLUTION if exc.status == Status.NO_PLAN else EXIT_SOLVER
            _fail(code, f"{exc.status}: {exc}\nNo results were written.")
        except (ResultsError, OverrideError) as exc:
            _fail(EXIT_INVALID_INPUT, f"error: {exc}")
        except OutputError as exc:
            _fail(EXIT_OUTPUT, f"error: {exc}")
        except ClusterError as exc:
            _fail(EXIT_CLUSTER, f"error: {exc}")
        except PlannerError as exc:
            _fail(EXIT_INTERNAL, f"error: {exc}")
        except KeyboardInterrupt:
            _interrupted()
        except Exception:  # a bug of ours: say so, keep the details for the report
            log = Path(tempfile.gettempdir()) / f"planner-crash-{os.getpid()}.log"
            log.write_text(traceback.format_exc(), encoding="utf-8")
            _fail(EXIT_INTERNAL, f"internal error: this is a bug in planner {__version__}; "
                  f"details are in {log.resolve()}")

    wrapper.__name__ = action.__name__
    wrapper.__doc__ = action.__doc__
    return wrapper


def _solve_options(mip_gap: float, time_limit: float | None, node_limit: int | None, no_decomposition: bool,
                   **kwargs: object) -> SolveOptions:
    return SolveOptions(mip_gap=mip_gap, time_limit=time_limit, node_limit=node_limit,
                        decomposition=not no_decomposition, **kwargs)  # type: ignore[arg-type]


def _solve_flags(command):  # noqa: ANN001, ANN202 - the solve options `solve` and `sweep` share
    for option in reversed([
        click.option("--mip-gap", type=GAP, default=1e-4, show_default=True,
                     help="Relative MIP gap at which the solve stops; the achieved gap is reported."),
        click.option("--time-limit", type=SECONDS, default=None,
                     help="Seconds for the solve (per run in a sweep); the best plan found by then is returned."),
        click.option("--node-limit", type=click.IntRange(min=1), default=None,
                     help="Branch-and-bound nodes per HiGHS run: a limit that does not depend on the machine's speed."),
        click.option("--no-decomposition", "no_decomposition", is_flag=True,
                     help="Skip the decomposition phase: branch and bound on the whole model only."),
    ]):
        command = option(command)
    return command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="planner")
def main() -> None:
    """Plan critical-mineral sourcing under supply disruptions (docs/model.md)."""


@main.command()
@click.argument("instance", required=False)
@click.option("--out", "out_dir", type=_FOLDER, help="Results folder [default: results/<instance name>/].")
@_solve_flags
@click.option("--threads", type=click.IntRange(min=1), default=None, help="HiGHS threads [default: HiGHS decides].")
@click.option("--force", is_flag=True,
              help="Replace a planner-written --out folder even if its files changed since or it is of another kind.")
@click.option("--log", "show_log", is_flag=True, help="Show the HiGHS log on stderr.")
@click.option("--xlsx", is_flag=True, help="Also write the tables as one Excel workbook, results.xlsx.")
@click.option("--report", "html_report", is_flag=True, help="Also write the HTML report, report.html.")
@click.option("--metrics", is_flag=True, help="Also compute EVPI, VSS and the out-of-sample cost (more solves).")
@click.option("--samples", type=click.IntRange(min=2), default=DEFAULT_SAMPLES, show_default=True,
              help="Scenarios drawn from events.csv for the out-of-sample cost.")
@_guard
def solve(instance: str | None, out_dir: Path | None, mip_gap: float, time_limit: float | None,
          node_limit: int | None, no_decomposition: bool, threads: int | None, force: bool, show_log: bool,
          xlsx: bool, html_report: bool, metrics: bool, samples: int) -> None:
    """Solve INSTANCE (a folder, or a bundled name) and write the plan.

    Without INSTANCE, solves the bundled default instance.
    """
    from planner.results.folder import default_output_dir
    from planner.results.ownership import Kind as OutputKind
    from planner.results.ownership import check_location, check_target
    from planner.results.terminal import format_metrics, format_summary
    from planner.results.write import write_results

    started = time.perf_counter()
    inst = _load(instance)
    folder = out_dir or default_output_dir(inst.name)
    check_location(folder, (inst.path,))
    check_target(folder, OutputKind.RESULTS, force)  # before the solve: refuse early, not after it
    _say(f"solving {inst.name} ({len(inst.options)} options, {len(inst.scenarios)} scenarios, "
         f"{len(inst.periods)} periods) with HiGHS, gap {mip_gap:g}"
         + (f", time limit {time_limit:g} s" if time_limit else "")
         + (f", node limit {node_limit:,}" if node_limit else "") + " ...")
    from planner.solve.pipeline import solve_instance

    progress = _Progress()
    options = _solve_options(mip_gap, time_limit, node_limit, no_decomposition, threads=threads, log=show_log,
                             progress=None if show_log else progress)
    try:
        outcome = solve_instance(inst, options)
    finally:
        progress.close()
    if metrics:
        from planner.studies.evaluate import hedging_metrics

        _say("computing EVPI, VSS and the out-of-sample cost ...")
        outcome.extra = {"metrics": hedging_metrics(inst, outcome.data, outcome.plan, outcome.figures.objective,
                                                    options, out_of_sample=samples)}
    folder = write_results(outcome, folder, force=force, xlsx=xlsx, report=html_report)
    click.echo(format_summary(outcome))
    if metrics:
        click.echo(format_metrics(outcome.extra["metrics"], inst.currency, outcome.figures.expected_cost))
    if outcome.report.status is not Status.OPTIMAL:
        click.echo(f"  note: the {'time' if outcome.report.status is Status.TIME_LIMIT else 'node'} limit was "
                   "reached; the plan is the best found, not proven optimal.")
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
    from planner.instance.data import build_model_data
    from planner.results.verify import verify_result

    inst = _load(instance)
    violations = verify_result(build_model_data(inst), results)
    if violations:
        for violation in violations:
            click.echo(f"violation: {violation}", err=True)
        _fail(EXIT_VERIFY_FAILED, f"{len(violations)} violation{'s' if len(violations) != 1 else ''} found.")
    click.echo(f"{results}: every constraint and reported figure holds for {inst.name}")


@main.command()
@click.argument("out", type=_FOLDER)
@click.option("--commodities", type=click.IntRange(min=1), default=6, show_default=True, help="Materials.")
@click.option("--options", type=click.IntRange(min=1), default=15, show_default=True, help="Options per material.")
@click.option("--periods", type=click.IntRange(min=1), default=8, show_default=True, help="Periods (years).")
@click.option("--scenarios", type=click.IntRange(min=1), default=30, show_default=True, help="Scenarios.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same files.")
@click.option("--force", is_flag=True, help="Replace a folder planner generated, even if its files changed since.")
@_guard
def generate(out: Path, commodities: int, options: int, periods: int, scenarios: int, seed: int,
             force: bool) -> None:
    """Write a random but plausible instance of the given size into the folder OUT."""
    from planner.instance.generate import generate_instance
    from planner.results.ownership import check_location

    check_location(out, option="OUT")
    generate_instance(out, commodities, options, periods, scenarios, seed, force=force)
    click.echo(f"{out}: {commodities} materials x {options} options x {periods} periods x {scenarios} scenarios")


@main.command()
@click.argument("results", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="HTML file [default: RESULTS/report.html]; missing folders are made.")
@click.option("--xlsx", "xlsx_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the tables as an Excel workbook to this file.")
@_guard
def report(results: Path, out_file: Path | None, xlsx_file: Path | None) -> None:
    """Write a self-contained HTML report (charts inline) of a RESULTS folder or a sweep folder."""
    from planner.results.ownership import check_location
    from planner.studies.sweep import SWEEP_FILE

    is_sweep = (results / SWEEP_FILE).is_file()
    if not (results / "summary.json").is_file() and not is_sweep:
        raise ResultsError(f"{results} is not a results folder (no summary.json) nor a sweep (no sweep.csv)")
    if is_sweep and xlsx_file is not None:
        raise click.UsageError("--xlsx takes a results folder; a sweep's table is sweep.csv")
    for target, option in ((out_file, "--out"), (xlsx_file, "--xlsx")):
        if target is not None:
            check_location(target, option=option)
    from planner.results.report import write_report

    path = write_report(results, out_file or results / "report.html")
    click.echo(f"Report in {path}")
    if xlsx_file is not None:
        from planner.results.workbook import workbook_from_results

        click.echo(f"Workbook in {workbook_from_results(results, xlsx_file)}")


@main.command()
@click.argument("instance")
@click.option("--max-scenarios", type=click.IntRange(min=1), default=DEFAULT_MAX_SCENARIOS, show_default=True,
              help="Most scenarios to keep (sample: how many to draw).")
@click.option("--method", type=click.Choice(SCENARIO_METHODS), default="auto", show_default=True,
              help="exact: every combination; sample: seeded Monte Carlo; reduce: keep the severe ones; "
                   "auto: exact when it fits, else reduce.")
@click.option("--seed", type=int, default=0, show_default=True, help="For --method sample.")
@click.option("--out", "out_dir", type=_FOLDER,
              help="Folder for scenarios.csv and disruptions.csv [default: results/<instance name>-scenarios/].")
@click.option("--into-instance", is_flag=True,
              help="Write them into the instance folder instead (not a bundled one); solve then uses them "
                   "instead of events.csv.")
@click.option("--force", is_flag=True, help="Replace planner-written scenario files even if they changed since.")
@_guard
def scenarios(instance: str, max_scenarios: int, method: str, seed: int, out_dir: Path | None,
              into_instance: bool, force: bool) -> None:
    """Write scenarios.csv and disruptions.csv generated from INSTANCE's events.csv."""
    from planner.instance.events import generate_scenarios
    from planner.results.ownership import check_location
    from planner.results.write import write_scenario_folder, write_scenarios_into

    if into_instance and out_dir is not None:
        raise click.UsageError("give either --out or --into-instance, not both")
    path = resolve_instance(instance)
    inst = _load(instance, replace={"scenarios": None, "disruptions": None})
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
        _say("note: solve now uses these scenarios instead of events.csv; remove the two files to go back.")
        return
    folder = out_dir or Path("results") / f"{inst.name}-scenarios"
    check_location(folder, (path,))
    write_scenario_folder(folder, table, disruptions, force)
    click.echo(f"{folder}: {how}")


@main.command()
@click.argument("instance")
@click.argument("results", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--scenarios", "scenario_file", type=RegularFile(),
              help="A scenarios.csv (with disruptions.csv beside it) or an events.csv [default: the instance's].")
@click.option("--out", "out_dir", type=_FOLDER, help="Folder for the evaluation [default: RESULTS-evaluation/].")
@click.option("--force", is_flag=True,
              help="Replace a planner-written --out folder even if its files changed since or it is of another kind.")
@_guard
def evaluate(instance: str, results: Path, scenario_file: Path | None, out_dir: Path | None, force: bool) -> None:
    """Cost and shortages of the plan in RESULTS (its contracts held) under a scenario set.

    Spot buys, stock and shortages adapt in each scenario; service levels are reported,
    not enforced, and volume that can be neither used nor stored may be disposed of.
    """
    from planner.instance.data import build_model_data
    from planner.results.folder import EVALUATION_SUFFIX
    from planner.results.ownership import Kind as OutputKind
    from planner.results.ownership import check_location, check_target
    from planner.results.terminal import format_evaluation
    from planner.results.verify import read_plan
    from planner.results.write import write_results
    from planner.studies.evaluate import evaluate_outcome, scenario_replacement

    base = _load(instance)
    folder = out_dir or results.parent / f"{results.name}{EVALUATION_SUFFIX}"
    inputs = (base.path, results) + ((scenario_file,) if scenario_file else ())
    check_location(folder, inputs)
    check_target(folder, OutputKind.EVALUATION, force)
    first_stage, _, _ = read_plan(build_model_data(base), results)
    inst = base
    if scenario_file is not None:
        inst = _load(instance, replace=scenario_replacement(scenario_file))
    outcome = evaluate_outcome(inst, first_stage, SolveOptions(), str(results), str(scenario_file or "instance"))
    folder = write_results(outcome, folder, force=force, kind=OutputKind.EVALUATION)
    click.echo(format_evaluation(outcome))
    click.echo(f"Evaluation in {folder}/")


def _varies(varies: tuple[str, ...]) -> list[tuple[str, list[float]]]:
    from planner.studies.sweep import parse_vary

    parsed = [parse_vary(v) for v in varies]
    keys = [key for key, _ in parsed]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise click.UsageError(f"--vary {repeated[0]!r} is given more than once; give all its values in one "
                               "--vary (a,b,c)")
    return parsed


def _check_scheduler(address: str) -> None:
    if not _SCHEDULER.match(address):
        raise click.BadParameter(f"{address!r}: expected a scheduler address such as tcp://host:8786",
                                 param_hint="--scheduler")


@main.command()
@click.argument("instance")
@click.option("--vary", "varies", multiple=True, metavar="KEY=VALUES",
              help="A key and its values, a,b,c or start:stop:count; several make a grid.")
@click.option("--design", "design_file", type=RegularFile(),
              help="A CSV with one run per row, its columns keys (instead of --vary).")
@click.option("--out", "out_dir", type=_FOLDER, required=True, help="Sweep folder: sweep.csv, charts, runs/.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Local worker processes [default: cores].")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run on this Dask distributed scheduler (tcp://host:8786) instead of local processes.")
@_solve_flags
@click.option("--retry-failed", is_flag=True, help="Run again the runs that failed before.")
@click.option("--force", is_flag=True,
              help="Start over in an --out folder that holds another planner sweep (its runs are deleted).")
@_guard
def sweep(instance: str, varies: tuple[str, ...], design_file: Path | None, out_dir: Path, workers: int | None,
          scheduler: str | None, mip_gap: float, time_limit: float | None, node_limit: int | None,
          no_decomposition: bool, retry_failed: bool, force: bool) -> None:
    """Solve INSTANCE for every combination of the varied values (or every row of --design)."""
    if bool(varies) == bool(design_file):
        raise click.UsageError("give either --vary (one or more) or --design, not both")
    if scheduler is not None:
        _check_scheduler(scheduler)
    from tqdm import tqdm

    from planner.results.ownership import check_location
    from planner.studies.charts import write_sweep_charts
    from planner.studies.sweep import SWEEP_FILE, prepare_sweep, run_sweep
    from planner.studies.sweep import design as sweep_design
    from planner.studies.sweep import grid as sweep_grid

    path = resolve_instance(instance)
    runs = sweep_design(design_file) if design_file else sweep_grid(_varies(varies))
    check_location(out_dir, (path,) + ((design_file,) if design_file else ()))
    options = _solve_options(mip_gap, time_limit, node_limit, no_decomposition)
    done = prepare_sweep(path, runs, out_dir, options, force=force, retry_failed=retry_failed)
    keys = list(dict.fromkeys(k for run in runs for k in run.values))
    _say(f"sweep of {path.name}: {len(runs)} runs over {', '.join(keys)}; {done} already done"
         + (f"; on {scheduler}" if scheduler else ""))
    failed = 0
    with tqdm(total=len(runs), initial=done, unit="run", file=sys.stderr, dynamic_ncols=True,
              disable=None if sys.stderr.isatty() else True) as bar:
        def on_done(_: str, status: str) -> None:
            nonlocal failed
            failed += not has_plan(status)
            bar.set_postfix(failed=failed)
            bar.update(1)

        table = run_sweep(path, runs, out_dir, workers=workers, scheduler=scheduler, options=options,
                          on_done=on_done)
    charts, why = write_sweep_charts(table, keys, out_dir)
    planned = table["status"].map(has_plan)
    click.echo(f"{out_dir / SWEEP_FILE}: {len(table)} runs, {int((~planned).sum())} without a plan"
               + (f"; charts: {', '.join(p.name for p in charts)}" if charts else f"; no chart: {why}"))
    for row in table[~planned].itertuples(index=False):
        click.echo(f"  run {row.id} ({row.status}): {row.reason}")


@main.command(name="instances")
def list_instances() -> None:
    """List the bundled instances with what each is."""
    from planner.instance.bundled import bundled_names

    for name in bundled_names():
        marker = "  (default)" if name == DEFAULT_INSTANCE else ""
        click.echo(f"{name}{marker}: {instance_description(name)}")


if __name__ == "__main__":  # pragma: no cover
    main()
