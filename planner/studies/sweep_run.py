"""One run of a sweep, where it is solved: a local worker process or a Dask worker
(`planner.studies.sweep` sends them). Each worker loads and validates the base instance once
and keeps it (`BASE`): a run changes numbers in memory and never re-reads the files. Each
worker thread also keeps the last model it built, compiled into HiGHS (`planner.solve.resolve`).
A run writes its folder `DIR/runs/<id>/` whole (summary.json, or failed.json with the reason)
and only while the folder is still a sweep of what the run was sent for (`SWEPT_FOR`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

from planner.errors import (
    InfeasibleError,
    InputChanged,
    InstanceError,
    OutputError,
    OverrideError,
    PlannerError,
    SolveError,
)
from planner.instance.digest import INSTANCE_FILES
from planner.instance.instance import Instance
from planner.instance.loader import load_instance
from planner.instance.overrides import apply_values
from planner.options import SolveOptions
from planner.results.folder import FAILED_FILE, RUNS
from planner.results.manifest import Kind
from planner.results.ownership import staged_folder
from planner.results.write import write_json, write_results
from planner.scheduler import check_same_code, stopped_unless, task_wanted
from planner.status import Status
from planner.studies.runs import Run

SWEEP_META = "sweep.json"  # what the sweep is of: the instance (path, content) and the solve options


SWEPT_FOR = "sweep"  # in a run's summary.json or failed.json: what sweep.json said when it was sent


BASE: dict[str, tuple[str, Instance]] = {}  # per worker process: path -> (its files' SHA-256, the validated instance)


_KEPT = threading.local()  # per worker thread: {instance path: ModelCache}, never shared between runs at once


def base_instance(path: str, fingerprint: str | None) -> Instance:
    """The validated base instance at `path` as the sweep was begun for (`fingerprint`: the
    SHA-256 of its files that sweep.json records), loaded once per worker process.

    Kept by path alone, a worker that outlives its sweep (a Dask worker, or a process forked
    from one that ran a sweep) gave the next sweep of the same path the instance as it was
    before the user edited it: that sweep's table held the old instance's numbers under the new
    one's fingerprint. Now the kept instance serves only a sweep of the same files, and one
    whose files changed since it began stops it (`InputChanged`), since its runs would no
    longer be of one instance."""
    kept = BASE.get(path)
    if kept is not None and kept[0] == fingerprint:
        return kept[1]
    before = instance_fingerprint(Path(path))
    if fingerprint is not None and before != fingerprint:  # (before reading: they may not even be valid now)
        raise _changed(path)
    instance = load_instance(path)
    if instance_fingerprint(Path(path)) != before:  # changed while read
        raise _changed(path)
    BASE[path] = (before, instance)
    return instance


def _changed(path: str) -> InputChanged:
    return InputChanged(f"{path}: its files changed since this sweep began, or a worker of another machine holds "
                        "another copy (sweep.json records the version the sweep was begun for): the runs would no "
                        "longer be of one instance. The finished runs are kept; run the sweep again: --force "
                        "starts it over for the new version, or choose another --out to keep this one")


def _failure_status(exc: PlannerError) -> Status:
    if isinstance(exc, InfeasibleError):
        return Status.INFEASIBLE
    if isinstance(exc, SolveError):
        return Status(exc.status)
    if isinstance(exc, (InstanceError, OverrideError)):
        return Status.INVALID
    return Status.ERROR


# A run to solve: the instance's path, the run, the sweep folder, the solve options, and what the
# folder's sweep.json said when the run was sent (`execute` writes only while it says the same)
Task = tuple[str, Run, str, SolveOptions, dict | None]


def same_sweep(one: object, other: object) -> bool:
    """Whether two of what sweep.json says (`SWEPT_FOR` in a run's records) are one sweep: of the
    same instance files (their SHA-256) with the same solve options, wherever the instance is. By
    its path too, a sweep moved with its instance (a project folder renamed, a copy handed on)
    was refused as a sweep of another instance, and its runs taken as another sweep's."""
    if not isinstance(one, dict) or not isinstance(other, dict):
        return one == other
    return {k: v for k, v in one.items() if k != "instance"} == {k: v for k, v in other.items() if k != "instance"}


def sweep_of_folder(out: Path) -> dict | None:
    """What the sweep folder `out` says it is a sweep of (sweep.json), None when it says nothing."""
    try:
        return json.loads((Path(out) / SWEEP_META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def execute(task: Task) -> str:
    """Solve one run and write its folder; returns the run id. Failures of the run become
    failed.json; one of writing (a full disk) stops the sweep instead (OutputError): it is no
    outcome of the run, and its record could not be written either. The worker takes its next
    run once a branch and bound this one left to end alone has ended
    (`planner.solve.highs.wait_for_left_runs`), so that two runs do not share its core.

    Nothing is written once the folder is no longer a sweep of what the run was solved for
    (sweep.json changed): a run that ended on a Dask worker just as its sweep was stopped
    (before `execute_there` stopped it) would otherwise write a result of the old instance into
    a sweep started over there with --force, which then took it as done. A run that passed
    that check just before the folder was started over lands there all the same; it records
    what sweep.json said (SWEPT_FOR), and the new sweep takes only its own runs as done
    (`is_done`)."""
    from planner.solve.highs import wait_for_left_runs
    from planner.solve.pipeline import solve_instance
    from planner.solve.resolve import ModelCache

    path, run, out, options, sweep_of = task
    folder = Path(out) / RUNS / run.id
    base = base_instance(path, sweep_of.get("instance_sha256") if sweep_of else None)  # (changed files stop the sweep)
    try:
        if not hasattr(_KEPT, "caches"):
            _KEPT.caches = {}
        cache = _KEPT.caches.setdefault(path, ModelCache())
        outcome = solve_instance(apply_values(base, run.values), options, cache=cache)
        outcome.extra = {"sweep_values": run.values, SWEPT_FOR: sweep_of}
        if same_sweep(sweep_of_folder(Path(out)), sweep_of):
            write_results(outcome, folder, force=True, kind=Kind.RUN)
    except OutputError:
        raise
    except PlannerError as exc:
        if same_sweep(sweep_of_folder(Path(out)), sweep_of):
            write_failure(folder, run, _failure_status(exc), str(exc), getattr(exc, "reasons", None), sweep_of)
    wait_for_left_runs()
    return run.id


def write_failure(folder: Path, run: Run, status: Status, reason: str, reasons: list[str] | None = None,
                   sweep_of: dict | None = None) -> None:
    """failed.json: the status, the reason as the message gives it and, for an infeasible run,
    every one of the diagnosis's reasons; its folder swapped in whole, as a result's is."""
    with staged_folder(folder, Kind.RUN, force=True) as staging:
        write_json(staging / FAILED_FILE, {"values": run.values, "status": status, "reason": reason,
                                           **({"reasons": reasons} if reasons else {}), SWEPT_FOR: sweep_of})


def files_probe() -> Callable[[str, list[str]], str]:
    """A function giving the SHA-256 of the files `names` of a folder (each file's name and bytes;
    a missing one is left out), as the process calling it sees them. Made inside a function, so
    that Dask sends it by value: a worker compares its view of a folder with this command's
    (`_check_workers_see`), whatever planner it runs."""

    def files_digest(folder: str, names: list[str]) -> str:
        import hashlib
        import os

        digest = hashlib.sha256()
        for name in names:
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                with open(path, "rb") as file:
                    digest.update(name.encode() + b"\0" + file.read() + b"\0")
        return digest.hexdigest()

    return files_digest


def instance_fingerprint(path: Path) -> str:
    """SHA-256 of the instance files planner reads: another content is another instance."""
    return files_probe()(str(path), list(INSTANCE_FILES))


def execute_there(task: Task, sender: str) -> str | None:
    """`execute` on a Dask worker that runs the sender's planner (`check_same_code`), stopped as
    Ctrl-C stops a local run once the sweep lets go of it (`stopped_unless`: Ctrl-C, or the
    command killed); None then, once the HiGHS runs it stopped have ended, so that the worker's
    next task does not share the core with them."""
    from planner.solve.highs import wait_for_left_runs

    check_same_code(sender)
    done = stopped_unless(task_wanted(), lambda: execute(task))
    if done is None:
        wait_for_left_runs()
    return done

