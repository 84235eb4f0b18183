"""Ctrl-C during a solve: is it honoured within a second, and is nothing written?

    python benchmarks/interrupts.py [--tries 10] [--size M] [--scenarios N] [--workers N] [--seed 0]

Generates the ladder's instance of the given size (with N scenarios instead of the size's),
then `tries` times starts `planner solve INSTANCE --out OUT [--workers N]` in its own process,
sends SIGINT at a random moment of
the solve (uniform between 0.2 s and the uninterrupted solve's duration) and measures how
long the process takes to exit after the signal, its exit code, and whether anything was
written. Also checks that no worker of `planner sweep` outlives a `kill -9` of its parent.
Appends one row per try to results/interrupts.csv and prints a summary.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SIZES = {"S": (3, 8, 6, 10), "M": (6, 15, 8, 30), "L": (10, 30, 10, 50)}
PLANNER = [sys.executable, "-m", "planner.cli"]
HEADER = ["date", "machine", "size", "solve_s", "after_s", "exit_code", "latency_s", "written", "sweep_workers",
          "sweep_workers_left", "scenarios", "workers"]  # results/interrupts.csv


def _generate(size: str, seed: int, work: Path, scenarios: int) -> Path:
    c, o, p, _ = SIZES[size]
    folder = work / f"gen{size}"
    subprocess.run([*PLANNER, "generate", str(folder), "--commodities", str(c), "--options", str(o), "--periods",
                    str(p), "--scenarios", str(scenarios), "--seed", str(seed)], check=True, capture_output=True)
    return folder


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def interrupt_once(instance: Path, work: Path, after: float, workers: int = 1) -> dict:
    out = work / f"out-{time.monotonic_ns()}"
    process = subprocess.Popen([*PLANNER, "solve", str(instance), "--out", str(out), "--workers", str(workers)],
                               cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(after)
    sent = time.perf_counter()
    process.send_signal(signal.SIGINT)
    _, err = process.communicate()
    latency = time.perf_counter() - sent
    return {"after_s": round(after, 3), "exit_code": process.returncode, "latency_s": round(latency, 3),
            "written": out.exists(), "message": err.strip().splitlines()[-1] if err.strip() else ""}


def sweep_kill9(instance: Path, work: Path) -> dict:
    """kill -9 of a sweep's parent while its workers solve: do they die too?"""
    out = work / "sweep"
    process = subprocess.Popen([*PLANNER, "sweep", str(instance), "--vary", "risk.aversion=0:1:8", "--out", str(out),
                                "--workers", "2"], cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    for _ in range(600):
        workers = _children(process.pid)
        if len(workers) >= 2:
            break
        time.sleep(0.05)
    time.sleep(1.0)
    process.kill()
    process.wait()
    killed = time.perf_counter()
    while any(_alive(w) for w in workers) and time.perf_counter() - killed < 30:
        time.sleep(0.05)
    return {"workers": len(workers), "left_alive": sum(_alive(w) for w in workers),
            "seconds_to_die": round(time.perf_counter() - killed, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tries", type=int, default=10)
    parser.add_argument("--size", default="M", choices=list(SIZES))
    parser.add_argument("--scenarios", type=int, default=None, help="instead of the size's")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    scenarios = args.scenarios or SIZES[args.size][3]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        instance = _generate(args.size, 0, work, scenarios)
        started = time.perf_counter()
        subprocess.run([*PLANNER, "solve", str(instance), "--out", str(work / "full"), "--workers", str(args.workers)],
                       cwd=work, check=True, capture_output=True)
        duration = time.perf_counter() - started
        rows = []
        for k in range(args.tries):
            row = interrupt_once(instance, work, rng.uniform(0.2, duration), args.workers)
            rows.append(row)
            print(f"try {k + 1}: SIGINT after {row['after_s']:.2f} s of {duration:.1f} s -> exit {row['exit_code']} in "
                  f"{row['latency_s']:.2f} s, written: {row['written']}")
        kill = sweep_kill9(instance, work)
        print(f"sweep, kill -9 of the parent: {kill['workers']} workers, {kill['left_alive']} left alive "
              f"({kill['seconds_to_die']:.2f} s)")
    honoured = sum(r["exit_code"] == 130 and not r["written"] and r["latency_s"] <= 1.0 for r in rows)
    print(f"honoured within 1 s, nothing written: {honoured} of {len(rows)}; "
          f"slowest {max(r['latency_s'] for r in rows):.2f} s")
    path = REPO / "results" / "interrupts.csv"
    new = not path.exists()
    with open(path, "a", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        if new:
            writer.writerow(HEADER)
        for r in rows:
            writer.writerow([datetime.date.today().isoformat(), f"{platform.machine()} {os.cpu_count()} cores",
                             args.size, round(duration, 2), r["after_s"], r["exit_code"], r["latency_s"], r["written"],
                             kill["workers"], kill["left_alive"], scenarios, args.workers])


if __name__ == "__main__":
    main()
