"""Anytime: under a time limit, does the default solve return a plan whenever branch and bound
alone does, and one at least as good?

    python benchmarks/anytime.py [--sizes S,M,L,XL,M1000] [--loads idle,busy] [--threads 1|default]

For each size of the ladder (benchmarks/run.py's generated instances, seed 0; M1000 is M with
1,000 scenarios) and each time limit of LIMITS, runs `planner solve --time-limit T` and
`planner solve --time-limit T --no-decomposition`, each in its own process, with one HiGHS
thread (`--threads 1`, the default here) or as a user would run it (`--threads default`: HiGHS
decides), on an idle machine and with a second solve of the same instance running beside it
(load `busy`: a CPU-heavy process on the other core). Records status, objective and gap of both
(no plan: exit code 5) in results/anytime.csv and prints the comparison.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
from records import append_rows  # noqa: E402

SIZES = {"S": (3, 8, 6, 10), "M": (6, 15, 8, 30), "L": (10, 30, 10, 50), "XL": (20, 50, 15, 100),
         "M1000": (6, 15, 8, 1000)}
LIMITS = {"S": [0.1, 0.3, 1.0], "M": [0.5, 1.0, 2.0, 5.0], "L": [2.0, 5.0, 10.0, 20.0], "XL": [20.0, 40.0, 80.0],
          "M1000": [30.0, 60.0, 120.0]}
PATHS = {"planner": [], "no-decomposition": ["--no-decomposition"]}
PLANNER = [sys.executable, "-m", "planner.cli"]
COLUMNS = ["date", "machine", "size", "load", "limit_s", "path", "exit_code", "status", "objective", "mip_gap",
           "seconds", "threads"]


def _generate(size: str, work: Path) -> Path:
    c, o, p, s = SIZES[size]
    folder = work / f"gen{size}"
    if not folder.exists():
        subprocess.run([*PLANNER, "generate", str(folder), "--commodities", str(c), "--options", str(o), "--periods",
                        str(p), "--scenarios", str(s), "--seed", "0"], check=True, capture_output=True)
    return folder


def _solve(instance: Path, out: Path, limit: float, flags: list[str], threads: str) -> dict:
    started = time.perf_counter()
    threads_flag = [] if threads == "default" else ["--threads", threads]
    done = subprocess.run([*PLANNER, "solve", str(instance), "--out", str(out), "--time-limit", str(limit),
                           *threads_flag, *flags], capture_output=True, text=True)
    row = {"exit_code": done.returncode, "seconds": round(time.perf_counter() - started, 2), "status": "no_plan",
           "objective": "", "mip_gap": ""}
    if done.returncode == 0:
        summary = json.loads((out / "summary.json").read_text())
        row.update(status=summary["status"], objective=summary["objective"], mip_gap=summary["mip_gap"])
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="S,M,L,XL")
    parser.add_argument("--loads", default="idle,busy")
    parser.add_argument("--threads", default="1", help="HiGHS threads of each solve, or 'default' (HiGHS decides)")
    args = parser.parse_args()
    path = REPO / "results" / "anytime.csv"
    append_rows(path, [], COLUMNS)  # (a file with the columns of before gets the new ones, empty in its rows)
    machine = f"{platform.machine()} {os.cpu_count()} cores"
    with tempfile.TemporaryDirectory() as tmp, open(path, "a", newline="") as fh:
        writer = csv.DictWriter(fh, COLUMNS, lineterminator="\n")
        work = Path(tmp)
        for size in args.sizes.split(","):
            instance = _generate(size, work)
            for load in args.loads.split(","):
                beside = None
                if load == "busy":  # a second solve on the other core, for as long as this load lasts
                    beside = subprocess.Popen([*PLANNER, "solve", str(instance), "--out", str(work / "beside"),
                                               "--no-decomposition", "--mip-gap", "0", "--threads", "1", "--force"],
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    for limit in LIMITS[size]:
                        rows = {}
                        for name, flags in PATHS.items():
                            rows[name] = _solve(instance, work / f"out-{name}", limit, flags, args.threads)
                            writer.writerow({"date": datetime.date.today().isoformat(), "machine": machine,
                                             "size": size, "load": load, "limit_s": limit, "path": name,
                                             **rows[name], "threads": args.threads})
                            fh.flush()
                        a, b = rows["planner"], rows["no-decomposition"]
                        verdict = ("ok" if b["exit_code"] != 0 or (a["exit_code"] == 0 and a["objective"]
                                                                   <= b["objective"] * (1 + 1e-9)) else "WORSE")
                        print(f"{size:2} {load:4} {limit:6.1f} s  planner {a['status']:10} {a['objective']!s:>22}  "
                              f"no-decomposition {b['status']:10} {b['objective']!s:>22}  {verdict}", flush=True)
                finally:
                    if beside is not None:
                        beside.kill()
                        beside.wait()


if __name__ == "__main__":
    main()
