"""What the commands share: exit codes, parameter types, the error guard, progress, loading.

Only click and planner's light modules are imported here and in the command modules: a
command imports what it needs when it runs, so `planner --help` and `planner validate` never
load HiGHS, Pyomo or matplotlib.
"""

from __future__ import annotations

import math
import os
import re
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from planner import __version__
from planner.errors import (
    ClusterError,
    InfeasibleError,
    InstanceError,
    OutputError,
    OverrideError,
    PlannerError,
    ResultsError,
    SolveError,
)
from planner.instance.bundled import resolve_instance
from planner.options import SolveOptions
from planner.status import Status

if TYPE_CHECKING:
    from planner.instance.instance import Instance

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
SCHEDULER = re.compile(r"^((tcp|tls|inproc|ucx|ws|wss)://)?[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$")


def say(message: str) -> None:
    click.echo(message, err=True)


def fail(code: int, message: str) -> None:
    say(message)
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
FOLDER = click.Path(file_okay=True, path_type=Path)  # whether it may be written is planner's rule, not click's


class Progress:
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


def load(argument: str | None, **kwargs: object) -> Instance:
    from planner.instance.loader import load_instance

    path = resolve_instance(argument)
    instance = load_instance(path, **kwargs)
    for warning in instance.warnings:
        say(f"warning: {warning}")
    for note in instance.notes:
        say(f"note: {note}")
    return instance


def interrupted() -> None:
    """Ctrl-C: say so and leave at once. Nothing partial is on disk (every write is staged), and
    os._exit does not wait for a solver thread still finishing its iteration."""
    say("interrupted: nothing partial was written (finished sweep runs are kept).")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


def guard(action: Callable) -> Callable:
    """Turn planner errors into messages and exit codes; never show users a traceback."""

    def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        try:
            return action(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise  # usage errors: click prints the usage and exits 2
        except InstanceError as exc:
            count = len(exc.problems)
            fail(EXIT_INVALID_INPUT, "\n".join(f"error: {p}" for p in exc.problems)
                  + f"\n{count} problem{'s' if count != 1 else ''} found; nothing was solved or written.")
        except InfeasibleError as exc:
            fail(EXIT_INFEASIBLE, f"infeasible: {exc}\nNo results were written.")
        except SolveError as exc:
            code = EXIT_NO_SOLUTION if exc.status == Status.NO_PLAN else EXIT_SOLVER
            fail(code, f"{exc.status}: {exc}\nNo results were written.")
        except (ResultsError, OverrideError) as exc:
            fail(EXIT_INVALID_INPUT, f"error: {exc}")
        except OutputError as exc:
            fail(EXIT_OUTPUT, f"error: {exc}")
        except ClusterError as exc:
            fail(EXIT_CLUSTER, f"error: {exc}")
        except PlannerError as exc:
            fail(EXIT_INTERNAL, f"error: {exc}")
        except KeyboardInterrupt:
            interrupted()
        except Exception:  # a bug of ours: say so, keep the details for the report
            log = Path(tempfile.gettempdir()) / f"planner-crash-{os.getpid()}.log"
            log.write_text(traceback.format_exc(), encoding="utf-8")
            fail(EXIT_INTERNAL, f"internal error: this is a bug in planner {__version__}; "
                  f"details are in {log.resolve()}")

    wrapper.__name__ = action.__name__
    wrapper.__doc__ = action.__doc__
    return wrapper


def solve_options(mip_gap: float, time_limit: float | None, node_limit: int | None, no_decomposition: bool,
                   **kwargs: object) -> SolveOptions:
    return SolveOptions(mip_gap=mip_gap, time_limit=time_limit, node_limit=node_limit,
                        decomposition=not no_decomposition, **kwargs)  # type: ignore[arg-type]


def solve_flags(command: Callable) -> Callable:
    """The solve options `solve` and `sweep` share."""
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
