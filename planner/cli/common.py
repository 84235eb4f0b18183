"""What the commands share: exit codes, parameter types, the error guard, progress, loading.

Only click and planner's light modules are imported here and in the command modules: a
command imports what it needs when it runs, so `planner --help` and `planner validate` never
load HiGHS, Pyomo or matplotlib.
"""

from __future__ import annotations

import _thread
import contextlib
import dataclasses
import errno
import math
import os
import re
import sys
import tempfile
import threading
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from planner import __version__, launch
from planner.errors import (
    ClusterError,
    InfeasibleError,
    InputChanged,
    InstallationError,
    InstanceError,
    MemoryShortage,
    Notice,
    OutputError,
    OverrideError,
    PlannerError,
    PrecisionError,
    ResultsError,
    SolveError,
    WorkerLost,
)
from planner.instance.bundled import resolve_instance
from planner.launch import StandardOutputFailed
from planner.options import SolveOptions
from planner.processes import is_thread_limit
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
EXIT_INTERRUPTED = launch.EXIT_INTERRUPTED
EXIT_HUNG_UP = 129  # 128 + SIGHUP: the terminal closed (`planner.launch`)
EXIT_TERMINATED = 143  # 128 + SIGTERM: `kill`, `timeout`, a batch scheduler's time limit
EXIT_OUTPUT_CLOSED = 141  # 128 + SIGPIPE: what a shell shows for a command whose reader went away

MAX_THREADS = 1024  # --threads at most: more is a slip (each is a thread of this process)
DEFAULT_SAMPLES = 1000  # planner.evaluate.DEFAULT_OUT_OF_SAMPLE, kept here so that --help loads nothing heavy
SCHEDULER = re.compile(r"^((tcp|tls|inproc|ucx|ws|wss)://)?[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$")


def say(message: str) -> None:
    click.echo(message, err=True)


def warn_edited(folders: list[Path]) -> None:
    """A warning per file of `folders` changed since planner wrote it (`folder.edited_files`)."""
    from planner.results.folder import edited_files

    for folder in dict.fromkeys(Path(f) for f in folders):
        for name in edited_files(folder):
            say(f"warning: {Path(folder) / name} was changed since planner wrote it; it is read as it is now "
                "(planner verify INSTANCE RESULTS checks a result against its instance)")


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
# Where planner writes: whether it may be written (or read first, to see what is there) is
# planner's rule (`planner.results.ownership`), not click's
FOLDER = click.Path(file_okay=True, readable=False, path_type=Path)
OUTPUT_FILE = click.Path(dir_okay=False, readable=False, path_type=Path)


QUIET = {"on": False}  # --quiet: no notes and no progress on stderr (warnings and errors still)


def quiet(on: bool) -> None:
    QUIET["on"] = on


def note(message: str) -> None:
    """An informational line on stderr, unless --quiet."""
    if not QUIET["on"]:
        say(message)


def note_instance_changes(results: Path, inst: Instance, what: str, other_scenarios: bool = False) -> list[str] | None:
    """The files of `inst` changed since the result in `results` was made from them
    (`readback.instance_changes`), said in a note ending in `what`."""
    from planner.results.readback import changed_note, instance_changes

    changed = instance_changes(results, inst, other_scenarios)
    said = changed_note(changed, inst, results, what)
    if said:
        note(f"note: {said}")
    return changed


def load(argument: str | None, **kwargs: object) -> Instance:
    from planner.instance.loader import load_instance

    path = resolve_instance(argument)
    instance = load_instance(path, **kwargs)
    for warning in instance.warnings:
        say(f"warning: {warning}")
    for text in instance.notes:
        note(f"note: {text}")
    return instance


OUTPUT_CLOSED = threading.Event()


def stop_for_closed_output() -> None:
    """From a thread other than the main one (the solver's, showing progress): stderr's reader
    went away. The main thread is stopped as Ctrl-C stops it (`_thread.interrupt_main`), and the
    guard then leaves by `output_closed`, not as interrupted."""
    OUTPUT_CLOSED.set()
    _thread.interrupt_main()


def output_closed() -> None:
    """Whatever read planner's output went away (`planner solve | head -3`): leave at once and
    quietly, as a command killed by SIGPIPE does, with the shell's code for it (141). Whatever
    was in hand is dropped as after Ctrl-C (every write is staged, and the error unwound
    through them); files finished before are whole. Nothing is said: where to say it is gone.
    Both streams are pointed at the null device first, so that nothing at exit writes to a
    closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            try:
                os.dup2(devnull, stream.fileno())
            except (OSError, ValueError):  # a stream without a file descriptor (a test's capture)
                continue
    os._exit(EXIT_OUTPUT_CLOSED)


def output_failed(exc: OSError) -> None:
    """Standard output refused a write (`launch.StandardOutputFailed`: a full disk under
    `planner solve > log`): say so on stderr and leave with exit 7, as for any output planner
    cannot write. Files finished before are whole (every write is staged). Standard output is
    pointed at the null device first, so that what it still holds is not written again at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # a stream without a file descriptor (a test's capture)
        pass
    fail(EXIT_OUTPUT, f"error: standard output could not be written ({exc.strerror}); files planner "
         "finished before are whole")


def interrupted(command: str) -> None:
    """Ctrl-C, or a signal asking planner to stop (`planner.launch`), during `command`: say so
    and leave at once with 128 + the signal's number. Nothing partial is on disk (every write is
    staged), and os._exit does not wait for a solver thread still finishing its iteration. A
    second signal is ignored from here on."""
    launch.stopping()
    kept = " (its finished runs are kept)" if command == "sweep" else ""
    try:
        say(f"{launch.stopped_as()}: nothing partial was written{kept}.")
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        output_closed()
    except (OSError, ValueError):  # the terminal is gone (SIGHUP)
        pass
    os._exit(launch.exit_code())


def emit_json(document: dict) -> None:
    """The one JSON document of a --json command, on stdout (README, "Machine-readable output")."""
    import json

    click.echo(json.dumps(document, indent=2, allow_nan=False, default=str))


def error_document(command: str, code: int, kind: str, message: str, **details: object) -> dict:
    return {"command": command, "ok": False,
            "error": {"kind": kind, "exit_code": code, "message": message, **details}}


def _notices_as_notes(show: Callable[..., None]) -> Callable[..., None]:
    """`warnings.showwarning` that shows planner's notices (`errors.Notice`) as notes, and hands
    any other warning to `show`, what showed warnings before."""
    if getattr(show, "shows_notices", False):
        return show

    def shown(message: Warning | str, category: type[Warning], *args: object, **kwargs: object) -> None:
        if issubclass(category, Notice):
            note(f"note: {message}")
        else:
            show(message, category, *args, **kwargs)

    shown.shows_notices = True  # type: ignore[attr-defined]
    return shown


def guard(action: Callable) -> Callable:
    """Turn planner errors into messages and exit codes; never show users a traceback. With
    --json the error is also one JSON document on stdout; --quiet silences notes and progress."""

    def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        launch.started()  # Ctrl-C, SIGTERM and SIGHUP raise KeyboardInterrupt, caught below
        threading.excepthook = _thread_failed
        warnings.showwarning = _notices_as_notes(warnings.showwarning)
        warnings.filterwarnings("always", category=Notice)  # each one, even if the same words came before
        quiet(bool(kwargs.pop("quiet", False)))
        as_json = bool(kwargs.get("as_json"))
        command = action.__name__.removeprefix("list_")

        def failed(code: int, kind: str, message: str, **details: object) -> None:
            if as_json:
                emit_json(error_document(command, code, kind, message, **details))
            fail(code, message)

        try:
            if not _current_folder_exists():
                failed(EXIT_USAGE, "usage", "error: the folder you are in no longer exists (deleted or moved since "
                       "your shell went there): cd to a folder that exists and run the command again")
            return attempt(failed, command, *args, **kwargs)
        except BrokenPipeError:  # also while saying what went wrong
            output_closed()
        except StandardOutputFailed as exc:  # also while saying what went wrong (--json)
            output_failed(exc)

    def attempt(failed: Callable[..., None], command: str, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        try:
            return action(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise  # usage errors: click prints the usage and exits 2
        except InstanceError as exc:
            count = len(exc.problems)
            failed(EXIT_INVALID_INPUT, "invalid_input", "\n".join(f"error: {p}" for p in exc.problems)
                   + f"\n{count} problem{'s' if count != 1 else ''} found; nothing was solved or written.",
                   problems=[dataclasses.asdict(p) for p in exc.problems])
        except InfeasibleError as exc:
            failed(EXIT_INFEASIBLE, "infeasible", f"infeasible: {exc}\nNo results were written.",
                   reasons=list(exc.reasons))
        except SolveError as exc:
            code = EXIT_NO_SOLUTION if exc.status == Status.NO_PLAN else EXIT_SOLVER
            gaps = {"proven_gap": exc.proven_gap, "suggested_gap": exc.suggested_gap} \
                if isinstance(exc, PrecisionError) else {}
            failed(code, str(exc.status), f"{exc.status}: {exc}\nNo results were written.", **gaps)
        except (ResultsError, OverrideError, InputChanged) as exc:
            failed(EXIT_INVALID_INPUT, "invalid_input", f"error: {exc}")
        except OutputError as exc:
            failed(EXIT_OUTPUT, "output", f"error: {exc}")
        except ClusterError as exc:
            failed(EXIT_CLUSTER, "cluster", f"error: {exc}")
        except WorkerLost as exc:
            failed(EXIT_SOLVER, "worker_lost", f"error: {exc}.")
        except MemoryShortage as exc:
            failed(EXIT_SOLVER, "resources", f"error: {exc}.")
        except InstallationError as exc:
            failed(EXIT_INTERNAL, "installation", f"error: {exc}")
        except PlannerError as exc:
            failed(EXIT_INTERNAL, "internal", f"error: {exc}")
        except KeyboardInterrupt:
            if OUTPUT_CLOSED.is_set():
                output_closed()
            interrupted(command)
        except (BrokenPipeError, StandardOutputFailed):
            raise  # stdout or stderr's reader went away, or stdout's disk is full: not a bug
        except Exception as exc:  # a bug of ours: say so, keep the details for the report
            if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] != "planner":
                failed(EXIT_INTERNAL, "installation", f"error: {launch.missing_package(exc)}")
                return None  # (a package planner needs is not installed: not a bug)
            limit = _system_limit(exc)
            if limit:  # not a bug: a limit the system sets on this process
                failed(EXIT_SOLVER, "resources", f"error: {limit}")
                return None
            log = Path(tempfile.gettempdir()) / f"planner-crash-{os.getpid()}.log"
            try:
                log.write_text(traceback.format_exc(), encoding="utf-8")
                details = f"details are in {log.resolve()}"
            except OSError as unsaved:  # the temporary folder is full or not writable
                details = f"its details could not be saved in {log} ({unsaved.strerror}): {exc!r}"
            failed(EXIT_INTERNAL, "bug", f"internal error: this is a bug in planner {__version__}; {details}")

    wrapper.__name__ = action.__name__
    wrapper.__doc__ = action.__doc__
    return wrapper


def _thread_failed(args: threading.ExceptHookArgs) -> None:
    """An exception that ends one of the command's threads (a progress line, a worker pool's own
    thread): no traceback on stderr. A limit of the system (`ulimit -u`: a thread that could not
    start the next) is said by the main thread, which meets it too or finds the pool broken; any
    other is a bug, kept in a crash log as the guard keeps the main thread's."""
    if args.exc_type is SystemExit or (isinstance(args.exc_value, Exception) and _system_limit(args.exc_value)):
        return
    log = Path(tempfile.gettempdir()) / f"planner-crash-{os.getpid()}-thread.log"
    with contextlib.suppress(OSError):
        log.write_text("".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback)),
                       encoding="utf-8")
    name = args.thread.name if args.thread is not None else "a thread"
    with contextlib.suppress(OSError):
        say(f"internal error in {name}: this is a bug in planner {__version__}; details are in {log.resolve()}")


def _current_folder_exists() -> bool:
    """False when the folder the command runs in was deleted under the shell: every relative
    path (a bundled instance's name is checked as one first) ended in an internal error."""
    try:
        os.getcwd()
    except FileNotFoundError:
        return False
    return True


def _system_limit(exc: Exception) -> str:
    """What to say when `exc` is a limit the system sets on this process (open files, processes
    and threads, memory: `ulimit -n`, `ulimit -u`, `ulimit -v`), "" when it is not one."""
    if isinstance(exc, MemoryError):
        return ("out of memory: an allocation failed (the machine's memory, its container's limit or this process's "
                "`ulimit -v` ran out); solve it with fewer scenarios, periods or options, fewer --workers, or on a "
                "machine with more memory")
    if isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE):
        what, name, option = "open files", "RLIMIT_NOFILE", "-n"
    elif is_thread_limit(exc):
        what, name, option = "processes and threads", "RLIMIT_NPROC", "-u"
    else:
        return ""
    try:
        import resource

        limit = f" ({resource.getrlimit(getattr(resource, name))[0]}: `ulimit {option}`)"
    except (ImportError, AttributeError, OSError, ValueError):
        limit = ""
    whose = "the machine's" if isinstance(exc, OSError) and exc.errno == errno.ENFILE else "the"
    said = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"{said}: {whose} limit on {what}{limit} was reached; raise it, or use fewer --workers"


def quiet_flag(command: Callable) -> Callable:
    """--quiet: no notes or progress on stderr."""
    return click.option("--quiet", "-q", "quiet", is_flag=True,
                        help="No notes or progress on stderr; warnings and errors only.")(command)


def output_flags(command: Callable) -> Callable:
    """--json (one JSON document on stdout instead of text) and --quiet (no notes or progress)."""
    command = quiet_flag(command)
    return click.option("--json", "as_json", is_flag=True,
                        help="Print one JSON document on stdout instead of text (README, \"Machine-readable "
                             "output\").")(command)


def check_scheduler(address: str) -> None:
    """Refuse what cannot be a Dask scheduler address (usage error) before any work."""
    if not SCHEDULER.match(address):
        raise click.BadParameter(f"{address!r}: expected a scheduler address such as tcp://host:8786",
                                 param_hint="--scheduler")


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
                     help="Seconds for the solve once the model is built (per run in a sweep); the best plan "
                          "found by then is returned."),
        click.option("--node-limit", type=click.IntRange(min=1), default=None,
                     help="Branch-and-bound nodes per HiGHS run: a limit that does not depend on the machine's speed."),
        click.option("--no-decomposition", "no_decomposition", is_flag=True,
                     help="Skip the decomposition phase: branch and bound on the whole model only."),
    ]):
        command = option(command)
    return command
