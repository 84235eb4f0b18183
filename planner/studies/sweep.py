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
of one process) or to an existing Dask cluster; what a worker does with one is
`planner.studies.sweep_run`. Each worker loads and validates the base instance once and
keeps it: a run changes numbers in memory and never re-reads the files. Each worker also
keeps the last model it built, compiled into HiGHS: a run that changes only parameters
(aversion, alpha, probabilities, budget, service levels, share limits) sets them and solves
again without building anything (`planner.solve.resolve`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from planner.errors import (
    ClusterError,
    InputChanged,
    MemoryShortage,
    OutputError,
    ResultsError,
    WorkerLost,
)
from planner.formatting import plain
from planner.instance.digest import INSTANCE_FILES
from planner.instance.overrides import apply_values, whole_number_key
from planner.options import SolveOptions
from planner.processes import in_processes, usable_cores
from planner.results.claim import held_elsewhere
from planner.results.folder import (
    FAILED_FILE,
    SUMMARY_FILE,
    checked_summary,
    read_json_file,
    read_summary,
    read_table,
    without_plan,
)
from planner.results.manifest import Kind, read_manifest, record_files, staged_file, write_manifest
from planner.results.ownership import check_target, claimed_target, empty_owned, remove_owned
from planner.results.write import write_csv, write_json
from planner.scheduler import (
    CODE,
    SILENCE,
    SilentWorkers,
    ask_workers,
    check_cluster,
    connect,
    is_lost,
    lost,
    tasks_held,
)
from planner.studies.runs import Run, check_runs, shape_of, shapes
from planner.studies.sweep_run import (
    RUNS,
    SWEEP_META,
    SWEPT_FOR,
    Task,
    base_instance,
    execute,
    execute_there,
    files_probe,
    instance_fingerprint,
    same_sweep,
    sweep_of_folder,
)

SWEEP_FILE = "sweep.csv"
NO_WORKERS_NOTE_AFTER = 10.0  # seconds of waiting on a cluster without workers before it is said
SILENCE_CHECK_EVERY = 5.0  # seconds between asks for workers that hold runs and have fallen silent
FIGURES = ["status", "objective", "expected_cost", "cvar", "fixed_cost", "mip_gap", "seconds", "options_selected"]


# ----------------------------------------------------------------------------- what a run left

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
            return (name, document) if recorded is _UNRECORDED or same_sweep(recorded, sweep_of) else None
    return None


def is_done(out: Path, run: Run, sweep_of: dict | None = None) -> bool:
    """A run is done when its folder holds its result or its failure record, written for this
    sweep (`sweep_of`: what sweep.json says, read when not given)."""
    try:
        return _record(out, run, sweep_of if sweep_of is not None else sweep_of_folder(out)) is not None
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


def first_run_summary(out: Path) -> dict:
    """The summary.json of a sweep's first run with one (its currency, its instance's name), or {}."""
    for summary in sorted((Path(out) / RUNS).glob(f"*/{SUMMARY_FILE}")):
        return read_summary(summary.parent)
    return {}


def write_table(out: Path, runs: list[Run]) -> pd.DataFrame:
    """sweep.csv from the run folders: varied values, id, figures, reason, bloc shares."""
    sweep_of = sweep_of_folder(out)
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


def _meta(path: Path, options: SolveOptions) -> dict:
    return {"instance": str(path), "instance_sha256": instance_fingerprint(path),
            "solve_options": {"mip_gap": options.mip_gap, "time_limit": options.time_limit,
                              "node_limit": options.node_limit, "decomposition": options.decomposition}}


@contextlib.contextmanager
def claim_sweep(out: Path, force: bool = False) -> Iterator[None]:
    """`out` claimed for one sweep until the block ends (`planner.results.claim`), once planner
    may write a sweep there (`check_target`); `OutputError` naming the process of a sweep still
    running there. `prepare_sweep` and `run_sweep` go inside."""
    with claimed_target(Path(out), Kind.SWEEP, force, keep=True):
        yield


def not_a_result(folder: Path) -> ResultsError:
    """Why `folder` is neither a results folder nor a sweep with its table, for its readers."""
    if (Path(folder) / SWEEP_META).is_file():
        running = held_elsewhere(Path(folder))
        return ResultsError(f"{folder} is a sweep whose table, {SWEEP_FILE}, is not written yet: a sweep writes it "
                            "when it ends or is stopped" + (f"; one runs there now ({running})" if running else ""))
    return ResultsError(without_plan(Path(folder))
                        or f"{folder} is not a results folder (no summary.json) nor a sweep (no {SWEEP_FILE})")


def still_running(folder: Path) -> str:
    """A note for the readers of a sweep folder in which a sweep still runs ("" when none does)."""
    running = held_elsewhere(Path(folder)) if (Path(folder) / SWEEP_FILE).is_file() else ""
    return (f"a sweep still runs in {folder} ({running}): what follows holds its runs as {SWEEP_FILE} had them "
            "when last written") if running else ""


def _other_sweep(before: dict | None, now: dict) -> str:
    """How the sweep a folder holds (`before`, its sweep.json) differs from the one asked for."""
    if not isinstance(before, dict):
        return "of another instance, another version of it, or other solve options"
    said = []
    if before.get("instance_sha256") != now["instance_sha256"]:
        if before.get("instance") == now["instance"]:
            said.append(f"of another version of {now['instance']} (its files changed since that sweep began)")
        else:
            said.append(f"of other instance files ({before.get('instance')} then, whose content differs from "
                        f"{now['instance']} now)")
    options, asked = before.get("solve_options"), now["solve_options"]
    if options != asked:
        options = options if isinstance(options, dict) else {}
        said.append("with other solve options (" + ", ".join(
            f"{key} {_plain_option(options.get(key))} there, {_plain_option(value)} now"
            for key, value in asked.items() if options.get(key) != value) + ")")
    return " and ".join(said) or "of another kind"


def _plain_option(value: object) -> str:
    """A solve option as the command line takes it: `none` for no limit, numbers as typed."""
    if value is None:
        return "none"
    return plain(value) if isinstance(value, float) else str(value)


def prepare_sweep(instance: str | Path, runs: list[Run], out: Path, options: SolveOptions, force: bool = False,
                  retry_failed: bool = False) -> int:
    """Check the runs and the sweep folder, make it ready; returns how many runs are already done.

    `out` must be new, empty, or a sweep of planner's: of the same instance files (wherever they
    are now) with the same solve options, it is resumed; of another, it is started over only
    with `force`. Anything planner did not write in it is refused (`planner.results.ownership`).
    """
    out, path = Path(out), Path(instance).resolve()
    meta = _meta(path, options)
    check_runs(base_instance(str(path), meta["instance_sha256"]), runs)  # (kept: `_workers_that_fit` reads it)
    found = check_target(out, Kind.SWEEP, force)
    if found.kind == str(Kind.SWEEP):
        before = sweep_of_folder(out)
        if not same_sweep(before, meta):
            if not force:
                raise OutputError(f"{out} holds a sweep {_other_sweep(before, meta)}; pass --force to start over there "
                                  "(its runs are deleted), or choose another --out")
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
    now = sweep_of_folder(out)
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
    sweep_of = sweep_of_folder(out)
    todo = [run for run in runs if not is_done(out, run, sweep_of)]
    # one HiGHS thread and one process per run: the runs are what is spread (cluster.py, "Sharing")
    options = replace(options or SolveOptions(), threads=1, progress=None, log=False, workers=1, scheduler=None)
    where = out.absolute()  # a Dask worker's current folder is not this command's
    tasks = [(path, run, str(where), options, sweep_of) for run in todo]
    by_id = {run.id: run for run in runs}
    try:
        if scheduler:
            answers = _dask(tasks, scheduler, where, path, on_note)
        else:
            if workers is None and tasks:
                workers = _workers_that_fit(path, sweep_of, todo, on_note)
            answers = _local(tasks, workers)
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
        if sweep_of_folder(out) == sweep_of:
            table = write_table(out, runs)
    _check_still_ours(out, sweep_of)
    return table


def _check_still_ours(out: Path, sweep_of: dict | None) -> None:
    """`OutputError` once `out` is no longer the sweep this one began (another command started
    over there, or removed it): its runs are no longer written there, and no table is, which
    would hold the other's runs under this one's name."""
    now = sweep_of_folder(out)
    if now != sweep_of:
        what = f"a sweep of {Path(now['instance']).name}" if isinstance(now, dict) and "instance" in now else "gone"
        raise OutputError(f"{out} was started over by another planner command while this sweep ran (it is now "
                          f"{what}); this sweep's runs and table were not written there: run it again with "
                          "another --out")


def _workers_that_fit(path: str, sweep_of: dict | None, runs: list[Run],
                      on_note: Callable[[str], None] | None) -> int:
    """One worker process per core, or fewer where the machine's free memory holds fewer of the
    largest of the runs' solves (`planner.memory.workers_that_fit`; said through `on_note`): the
    base instance's, and those of the other shapes of model the runs make (`runs.shapes`: more
    scenarios kept, a multi-stage plan), which a sweep sized by the base instance alone started
    side by side until the out-of-memory killer ended it."""
    from planner.instance.data import build_model_data
    from planner.memory import amount, workers_that_fit

    cores = usable_cores()
    instance = base_instance(path, sweep_of.get("instance_sha256") if sweep_of else None)
    sized = [(workers_that_fit(build_model_data(instance), cores), {})]
    for run in shapes(runs):
        try:
            data = build_model_data(apply_values(instance, run.values))
        except MemoryShortage:  # its data alone exceeds the memory free: the run is refused, and failed, on its own
            continue
        sized.append((workers_that_fit(data, cores), shape_of(run.values)))
    (workers, need), shape = min(sized, key=lambda fit: (fit[0][0], -fit[0][1]))
    if workers < cores and on_note is not None:
        which = (" with " + ", ".join(f"{key}={value:g}" for key, value in shape.items())) if shape else ""
        on_note(f"{workers} worker process{'es' if workers > 1 else ''}, not one per core ({cores}): each run{which} "
                f"takes about {amount(need)} and the memory free holds {workers} (--workers to choose)")
    return workers


def _local(tasks: list, workers: int | None) -> Iterable[str]:
    for _, run_id in in_processes(_execute, tasks, workers or usable_cores()):
        yield run_id


def _execute(_: object, task: Task) -> str:
    return execute(task)


def _dask(tasks: list, address: str, out: Path, instance: str,
          on_note: Callable[[str], None] | None = None) -> Iterable[str]:
    """Each run's id as it finishes on the cluster. Waiting on a cluster without workers (all
    gone, or not yet started) is said once through `on_note`, after NO_WORKERS_NOTE_AFTER
    seconds: the runs wait for workers to join, as Dask has them do. So is a worker that holds
    runs and has fallen silent (`SilentWorkers`): they wait for it."""
    from distributed import wait as first_of

    with connect(address) as client:
        check_cluster(client, address)
        _check_workers_see(client, address, out, instance)
        runs = {client.submit(execute_there, task, CODE, pure=False): task[1] for task in tasks}
        pending, noted, silent, checked = set(runs), False, SilentWorkers(), time.monotonic()
        while pending:
            try:
                finished, pending = first_of(pending, timeout=NO_WORKERS_NOTE_AFTER, return_when="FIRST_COMPLETED")
            except TimeoutError:
                finished = set()
                if not noted and on_note is not None and not is_lost(client) \
                        and not client.scheduler_info()["workers"]:
                    noted = True
                    on_note(f"the Dask scheduler at {address} has no workers: the runs wait for some to join "
                            "(Ctrl-C stops; finished runs are kept)")
            if on_note is not None and time.monotonic() - checked >= SILENCE_CHECK_EVERY and not is_lost(client):
                checked = time.monotonic()
                held = tasks_held(client, {future.key for future in pending})
                for worker, count, quiet in silent.newly_silent(client.scheduler_info()["workers"], held):
                    on_note(f"the Dask worker {worker} " + SILENCE.format(seconds=quiet, what=f"{count} of the runs",
                                                                        they="they wait")
                            + " and sends them to another worker; or end that worker yourself")
            for future in sorted(finished, key=lambda f: runs[f].id):
                yield _dask_answer(future, runs, address, client)


def _check_workers_see(client: Any, address: str, out: Path, instance: str) -> None:
    """`OutputError` unless every worker of the cluster sees the sweep folder `out` (absolute)
    as this command does, and `InputChanged` unless they see the instance so: asked before any
    work is sent. A worker that does not see the folder writes nothing there, and its runs came
    back as never run; one that does not see the instance (bundled instances live inside each
    machine's own planner) solves nothing."""
    digest = files_probe()
    for folder, names, error in ((str(out), [SWEEP_META], OutputError), (instance, INSTANCE_FILES, InputChanged)):
        mine = digest(folder, names)
        answers = ask_workers(client, address, files_probe(), folder, names)
        blind = sorted(worker for worker, answer in answers.items() if answer != mine)
        if blind:
            what = "sweep folder" if error is OutputError else "instance"
            raise error(f"{len(blind)} of the {len(answers)} Dask workers do not see the {what} {folder} as this "
                        f"machine does (the first: {blind[0]}): the workers must see it at the same path, on a "
                        "file system they share with this machine")


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
