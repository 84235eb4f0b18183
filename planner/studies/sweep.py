"""Sensitivity studies: many solves of one instance with some numbers changed.

A sweep is a list of runs (`planner.studies.runs`), each a dict key -> value
(`planner.instance.overrides` keys). Each run has an id hashed from its values, and its full
results go to `DIR/runs/<id>/`, written
atomically (a finished run is a folder with summary.json; a failed one holds only
failed.json with the reason). `DIR/sweep.csv` is always rebuilt from those folders, so:
rerunning the same command skips finished and failed runs; Ctrl-C keeps every finished
run; a failure is recorded and the rest go on. One sweep at a time writes a folder
(`claim_sweep`): a second is refused while the first runs.

Runs go to local worker processes (one HiGHS thread each, never several HiGHS in threads
of one process) or to an existing Dask cluster. Each worker loads and validates the base
instance once and keeps it: a run changes numbers in memory and never re-reads the files.
Each worker also keeps the last model it built, compiled into HiGHS: a run that changes
only parameters (aversion, alpha, probabilities, budget, service levels, share limits)
sets them and solves again without building anything (`planner.solve.resolve`).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from planner.errors import (
    ClusterError,
    InfeasibleError,
    InputChanged,
    InstanceError,
    OutputError,
    OverrideError,
    PlannerError,
    ResultsError,
    SolveError,
    WorkerLost,
)
from planner.instance.instance import Instance
from planner.instance.loader import load_instance
from planner.instance.overrides import apply_values, whole_number_key
from planner.instance.schema import TABLES
from planner.options import SolveOptions
from planner.processes import in_processes, usable_cores
from planner.results.claim import claimed, held_elsewhere
from planner.results.folder import SUMMARY_FILE, checked_summary, read_json_file, read_summary, read_table
from planner.results.ownership import (
    Kind,
    check_target,
    empty_owned,
    read_manifest,
    record_files,
    remove_owned,
    staged_file,
    staged_folder,
    write_manifest,
)
from planner.results.write import write_csv, write_json, write_results
from planner.scheduler import (
    CODE,
    ask_workers,
    check_cluster,
    check_same_code,
    connect,
    is_lost,
    lost,
    stopped_unless,
    task_wanted,
)
from planner.status import Status
from planner.studies.runs import Run, check_runs

RUNS = "runs"
FAILED_FILE = "failed.json"
SWEEP_FILE = "sweep.csv"
SWEEP_META = "sweep.json"  # what the sweep is of: the instance (path, content) and the solve options
SWEPT_FOR = "sweep"  # in a run's summary.json or failed.json: what sweep.json said when it was sent
NO_WORKERS_NOTE_AFTER = 10.0  # seconds of waiting on a cluster without workers before it is said
FIGURES = ["status", "objective", "expected_cost", "cvar", "fixed_cost", "mip_gap", "seconds", "options_selected"]


# ----------------------------------------------------------------------------- one run, in a worker

_BASE: dict[str, tuple[str, Instance]] = {}  # per worker process: path -> (its files' SHA-256, the validated instance)
_KEPT = threading.local()  # per worker thread: {instance path: ModelCache}, never shared between runs at once


def _base(path: str, fingerprint: str | None) -> Instance:
    """The validated base instance at `path` as the sweep was begun for (`fingerprint`: the
    SHA-256 of its files that sweep.json records), loaded once per worker process.

    Kept by path alone, a worker that outlives its sweep (a Dask worker, or a process forked
    from one that ran a sweep) gave the next sweep of the same path the instance as it was
    before the user edited it: that sweep's table held the old instance's numbers under the new
    one's fingerprint. Now the kept instance serves only a sweep of the same files, and one
    whose files changed since it began stops it (`InputChanged`), since its runs would no
    longer be of one instance."""
    kept = _BASE.get(path)
    if kept is not None and kept[0] == fingerprint:
        return kept[1]
    before = _fingerprint(Path(path))
    if fingerprint is not None and before != fingerprint:  # (before reading: they may not even be valid now)
        raise _changed(path)
    instance = load_instance(path)
    if _fingerprint(Path(path)) != before:  # changed while read
        raise _changed(path)
    _BASE[path] = (before, instance)
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


def _sweep_of(out: Path) -> dict | None:
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
    (before `_execute_there` stopped it) would otherwise write a result of the old instance into
    a sweep started over there with --force, which then took it as done. A run that passed
    that check just before the folder was started over lands there all the same; it records
    what sweep.json said (SWEPT_FOR), and the new sweep takes only its own runs as done
    (`is_done`)."""
    from planner.solve.highs import wait_for_left_runs
    from planner.solve.pipeline import solve_instance
    from planner.solve.resolve import ModelCache

    path, run, out, options, sweep_of = task
    folder = Path(out) / RUNS / run.id
    base = _base(path, sweep_of.get("instance_sha256") if sweep_of else None)  # (changed files stop the sweep)
    try:
        if not hasattr(_KEPT, "caches"):
            _KEPT.caches = {}
        cache = _KEPT.caches.setdefault(path, ModelCache())
        outcome = solve_instance(apply_values(base, run.values), options, cache=cache)
        outcome.extra = {"sweep_values": run.values, SWEPT_FOR: sweep_of}
        if _sweep_of(Path(out)) == sweep_of:
            write_results(outcome, folder, force=True, kind=Kind.RUN)
    except OutputError:
        raise
    except PlannerError as exc:
        if _sweep_of(Path(out)) == sweep_of:
            _write_failure(folder, run, _failure_status(exc), str(exc), getattr(exc, "reasons", None), sweep_of)
    wait_for_left_runs()
    return run.id


def _write_failure(folder: Path, run: Run, status: Status, reason: str, reasons: list[str] | None = None,
                   sweep_of: dict | None = None) -> None:
    """failed.json: the status, the reason as the message gives it and, for an infeasible run,
    every one of the diagnosis's reasons; its folder swapped in whole, as a result's is."""
    with staged_folder(folder, Kind.RUN, force=True) as staging:
        write_json(staging / FAILED_FILE, {"values": run.values, "status": status, "reason": reason,
                                           **({"reasons": reasons} if reasons else {}), SWEPT_FOR: sweep_of})


_UNRECORDED = object()  # a run written before runs recorded their sweep: taken as the folder's


def _record(out: Path, run: Run, sweep_of: dict | None) -> tuple[str, dict] | None:
    """What the run's folder holds for the sweep that sweep.json now describes (`sweep_of`), read
    once: its result (SUMMARY_FILE) or its failure record (FAILED_FILE) with the document, or
    None: nothing, or a record of another sweep (a run that landed after the folder was started
    over). `ResultsError` when the file cannot be read as JSON."""
    folder = out / RUNS / run.id
    for name in (SUMMARY_FILE, FAILED_FILE):
        if (folder / name).is_file():
            document = read_json_file(folder / name)
            recorded = document.get(SWEPT_FOR, _UNRECORDED)
            return (name, document) if recorded is _UNRECORDED or recorded == sweep_of else None
    return None


def is_done(out: Path, run: Run, sweep_of: dict | None = None) -> bool:
    """A run is done when its folder holds its result or its failure record, written for this
    sweep (`sweep_of`: what sweep.json says, read when not given)."""
    try:
        return _record(out, run, sweep_of if sweep_of is not None else _sweep_of(out)) is not None
    except ResultsError:
        return True  # (its table's reader says what is wrong with it)


# ----------------------------------------------------------------------------- the table


def _status(out: Path, run: Run, sweep_of: dict | None) -> str:
    """A finished run's status, read from its summary or failure record only."""
    record = _record(out, run, sweep_of)
    if record is None:
        return "not_run"
    name, document = record
    path = out / RUNS / run.id / name
    return (checked_summary(document, path) if name == SUMMARY_FILE else _checked_failure(document, path))["status"]


def _row(out: Path, run: Run, sweep_of: dict | None) -> dict:
    folder = out / RUNS / run.id
    row: dict = {**run.values, "id": run.id}
    record = _record(out, run, sweep_of)
    if record is not None and record[0] == SUMMARY_FILE:
        s = checked_summary(record[1], folder / SUMMARY_FILE,
                            numbers=("objective", "expected_cost", "cvar", "fixed_cost", "mip_gap", "build_seconds",
                                     "transfer_seconds", "solve_seconds"))
        contracts = read_table(folder, "contracts")
        row.update(status=s["status"], objective=s["objective"], expected_cost=s["expected_cost"], cvar=s["cvar"],
                   fixed_cost=s["fixed_cost"], mip_gap=s["mip_gap"],
                   seconds=round(s["build_seconds"] + s["transfer_seconds"] + s["solve_seconds"], 3),
                   options_selected=int(contracts["selected"].sum()), reason="")
        exposure = read_table(folder, "exposure")
        blocs = exposure[exposure["scope"] == "bloc"].groupby(["name", "commodity"])["share"].mean()
        for (bloc, commodity), share in blocs.items():
            row[f"share_{bloc}_{commodity}"] = share
    elif record is not None:
        failure = _checked_failure(record[1], folder / FAILED_FILE)
        row.update(status=failure["status"], reason=" ".join(failure["reason"].split()))
    else:
        row.update(status="not_run", reason="")
    return row


def _checked_failure(failure: dict, path: Path) -> dict:
    """failed.json of a run without a plan, read from `path`: its status and reason as text
    (`ResultsError` else)."""
    if not isinstance(failure.get("status"), str) or not isinstance(failure.get("reason"), str):
        raise ResultsError(f"{path}: status, reason: missing, or not text as planner wrote them")
    return failure


def sweep_currency(out: Path) -> str:
    """The currency of a sweep's runs (the first run with a summary), or ""."""
    for summary in sorted((Path(out) / RUNS).glob(f"*/{SUMMARY_FILE}")):
        return str(read_summary(summary.parent).get("currency", ""))
    return ""


def write_table(out: Path, runs: list[Run]) -> pd.DataFrame:
    """sweep.csv from the run folders: varied values, id, figures, reason, bloc shares."""
    sweep_of = _sweep_of(out)
    rows = [_row(out, run, sweep_of) for run in runs]
    keys = list(dict.fromkeys(k for run in runs for k in run.values))
    shares = sorted({c for r in rows for c in r if c.startswith("share_")})
    table = pd.DataFrame(rows).reindex(columns=[*keys, "id", *FIGURES, "reason", *shares])
    for key in filter(whole_number_key, keys):  # as integers (20, not 20.0), a blank where a run lacks one
        column = pd.to_numeric(table[key], errors="coerce")
        if bool((column.dropna() % 1 == 0).all()):
            table[key] = column.astype("Int64")
    with staged_file(out / SWEEP_FILE) as staging:
        write_csv(staging, table)
    record_files(out, [SWEEP_FILE], Kind.SWEEP)
    return table


# ----------------------------------------------------------------------------- running it all


def _files_probe() -> Callable[[str, list[str]], str]:
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


_INSTANCE_FILES = ["instance.toml", *sorted(t.file for t in TABLES)]


def _fingerprint(path: Path) -> str:
    """SHA-256 of the instance files planner reads: another content is another instance."""
    return _files_probe()(str(path), _INSTANCE_FILES)


def _meta(path: Path, options: SolveOptions) -> dict:
    return {"instance": str(path), "instance_sha256": _fingerprint(path),
            "solve_options": {"mip_gap": options.mip_gap, "time_limit": options.time_limit,
                              "node_limit": options.node_limit, "decomposition": options.decomposition}}


@contextlib.contextmanager
def claim_sweep(out: Path, force: bool = False) -> Iterator[None]:
    """`out` claimed for one sweep until the block ends (`planner.results.claim`), once planner
    may write a sweep there (`check_target`); `OutputError` naming the process of a sweep still
    running there. `prepare_sweep` and `run_sweep` go inside."""
    check_target(Path(out), Kind.SWEEP, force)
    with claimed(Path(out)):
        yield


def not_a_result(folder: Path) -> ResultsError:
    """Why `folder` is neither a results folder nor a sweep with its table, for its readers."""
    if (Path(folder) / SWEEP_META).is_file():
        running = held_elsewhere(Path(folder))
        return ResultsError(f"{folder} is a sweep whose table, {SWEEP_FILE}, is not written yet: a sweep writes it "
                            "when it ends or is stopped" + (f"; one runs there now ({running})" if running else ""))
    return ResultsError(f"{folder} is not a results folder (no summary.json) nor a sweep (no {SWEEP_FILE})")


def still_running(folder: Path) -> str:
    """A note for the readers of a sweep folder in which a sweep still runs ("" when none does)."""
    running = held_elsewhere(Path(folder)) if (Path(folder) / SWEEP_FILE).is_file() else ""
    return (f"a sweep still runs in {folder} ({running}): what follows holds its runs as {SWEEP_FILE} had them "
            "when last written") if running else ""


def prepare_sweep(instance: str | Path, runs: list[Run], out: Path, options: SolveOptions, force: bool = False,
                  retry_failed: bool = False) -> int:
    """Check the runs and the sweep folder, make it ready; returns how many runs are already done.

    `out` must be new, empty, or a sweep of planner's: of the same instance (path and content)
    with the same solve options, it is resumed; of another, it is started over only with
    `force`. Anything planner did not write in it is refused (`planner.results.ownership`).
    """
    out, path = Path(out), Path(instance).resolve()
    check_runs(load_instance(path), runs)
    meta = _meta(path, options)
    found = check_target(out, Kind.SWEEP, force)
    if found.kind == str(Kind.SWEEP):
        if _sweep_of(out) != meta:
            if not force:
                raise OutputError(f"{out} holds a sweep of another instance, another version of it, or other solve "
                                  "options; pass --force to start over there (its runs are deleted), or choose "
                                  "another --out")
            empty_owned(out)
    elif found.kind is not None:
        empty_owned(out)  # check_target allowed it: planner's, of another kind, with --force
    runs_folder = out / RUNS
    try:
        runs_folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a folder the user may not write in
        raise OutputError(f"cannot write {runs_folder}: {exc.strerror or exc}") from None
    if read_manifest(runs_folder) is None:
        write_manifest(runs_folder, Kind.RUNS, [])
    write_json(out / SWEEP_META, meta)
    record_files(out, [SWEEP_META], Kind.SWEEP)
    if retry_failed:
        for run in runs:
            if (runs_folder / run.id / FAILED_FILE).is_file():
                remove_owned(runs_folder / run.id)
    now = _sweep_of(out)
    return sum(is_done(out, run, now) for run in runs)


def run_sweep(instance: str | Path, runs: list[Run], out: Path, workers: int | None = None,
              scheduler: str | None = None, options: SolveOptions | None = None,
              on_done: Callable[[str, str], None] | None = None,
              on_note: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Run what is not done yet, locally or on a Dask cluster; returns the sweep table.

    `prepare_sweep` must have made `out` ready. `on_done(run_id, status)` is called as each
    run finishes (progress); `on_note(text)` is told what the user should know meanwhile (a
    cluster without workers). On Ctrl-C the finished runs are kept, sweep.csv is written, the
    worker processes are stopped and KeyboardInterrupt is raised again; likewise when a worker
    process ends without an answer (`WorkerLost`: killed, out of memory).
    """
    out = Path(out)
    path = str(Path(instance).resolve())
    sweep_of = _sweep_of(out)
    todo = [run for run in runs if not is_done(out, run, sweep_of)]
    # one HiGHS thread and one process per run: the runs are what is spread (cluster.py, "Sharing")
    options = replace(options or SolveOptions(), threads=1, progress=None, log=False, workers=1, scheduler=None)
    where = out.absolute()  # a Dask worker's current folder is not this command's
    tasks = [(path, run, str(where), options, sweep_of) for run in todo]
    by_id = {run.id: run for run in runs}
    try:
        answers = _dask(tasks, scheduler, where, path, on_note) if scheduler else _local(tasks, workers)
        for run_id_done in answers:
            _check_still_ours(out, sweep_of)
            status = _status(out, by_id[run_id_done], sweep_of)
            if status == "not_run":  # solved, but its folder is not where this command looks
                raise OutputError(f"run {run_id_done} finished on a worker, but its folder is not in {out}: the "
                                  "workers of a Dask cluster must see the sweep folder at the same path (a file "
                                  "system they share with this machine)")
            if on_done is not None:
                on_done(run_id_done, status)
    except (WorkerLost, ClusterError) as exc:  # (a lost scheduler, too)
        raise type(exc)(f"{str(exc).rstrip('.')}. The finished runs are kept: run the same command again to "
                        "resume") from None
    finally:
        if _sweep_of(out) == sweep_of:
            table = write_table(out, runs)
    _check_still_ours(out, sweep_of)
    return table


def _check_still_ours(out: Path, sweep_of: dict | None) -> None:
    """`OutputError` once `out` is no longer the sweep this one began (another command started
    over there, or removed it): its runs are no longer written there, and no table is, which
    would hold the other's runs under this one's name."""
    now = _sweep_of(out)
    if now != sweep_of:
        what = f"a sweep of {Path(now['instance']).name}" if isinstance(now, dict) and "instance" in now else "gone"
        raise OutputError(f"{out} was started over by another planner command while this sweep ran (it is now "
                          f"{what}); this sweep's runs and table were not written there: run it again with "
                          "another --out")


def _local(tasks: list, workers: int | None) -> Iterable[str]:
    for _, run_id in in_processes(_execute, tasks, workers or usable_cores()):
        yield run_id


def _execute(_: object, task: Task) -> str:
    return execute(task)


def _dask(tasks: list, address: str, out: Path, instance: str,
          on_note: Callable[[str], None] | None = None) -> Iterable[str]:
    """Each run's id as it finishes on the cluster. Waiting on a cluster without workers (all
    gone, or not yet started) is said once through `on_note`, after NO_WORKERS_NOTE_AFTER
    seconds: the runs wait for workers to join, as Dask has them do."""
    from distributed import wait as first_of

    with connect(address) as client:
        check_cluster(client, address)
        _check_workers_see(client, address, out, instance)
        runs = {client.submit(_execute_there, task, CODE, pure=False): task[1] for task in tasks}
        pending, noted = set(runs), False
        while pending:
            try:
                finished, pending = first_of(pending, timeout=NO_WORKERS_NOTE_AFTER, return_when="FIRST_COMPLETED")
            except TimeoutError:
                if not noted and on_note is not None and not is_lost(client) \
                        and not client.scheduler_info()["workers"]:
                    noted = True
                    on_note(f"the Dask scheduler at {address} has no workers: the runs wait for some to join "
                            "(Ctrl-C stops; finished runs are kept)")
                continue
            for future in sorted(finished, key=lambda f: runs[f].id):
                yield _dask_answer(future, runs, address, client)


def _check_workers_see(client: Any, address: str, out: Path, instance: str) -> None:
    """`OutputError` unless every worker of the cluster sees the sweep folder `out` (absolute)
    as this command does, and `InputChanged` unless they see the instance so: asked before any
    work is sent. A worker that does not see the folder writes nothing there, and its runs came
    back as never run; one that does not see the instance (bundled instances live inside each
    machine's own planner) solves nothing."""
    digest = _files_probe()
    for folder, names, error in ((str(out), [SWEEP_META], OutputError), (instance, _INSTANCE_FILES, InputChanged)):
        mine = digest(folder, names)
        answers = ask_workers(client, address, _files_probe(), folder, names)
        blind = sorted(worker for worker, answer in answers.items() if answer != mine)
        if blind:
            what = "sweep folder" if error is OutputError else "instance"
            raise error(f"{len(blind)} of the {len(answers)} Dask workers do not see the {what} {folder} as this "
                        f"machine does (the first: {blind[0]}): the workers must see it at the same path, on a "
                        "file system they share with this machine")


def _execute_there(task: Task, sender: str) -> str | None:
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


def _dask_answer(future: Any, runs: dict, address: str, client: Any) -> str:
    """A finished run's id, or the error that says why it has none."""
    from concurrent.futures import CancelledError

    from distributed.scheduler import KilledWorker

    try:
        return future.result()
    except KilledWorker as exc:
        raise WorkerLost(f"the Dask workers that ran run {runs[future].id} died while they ran it "
                         f"({exc.last_worker.address if exc.last_worker else 'the last one'} was the last; "
                         "out of memory?): see the workers' logs") from None
    except (CancelledError, OSError) as exc:
        if not is_lost(client):  # not the scheduler's going: a fault of the run's own
            raise
        raise lost(address, "the sweep", exc or type(exc).__name__) from None
