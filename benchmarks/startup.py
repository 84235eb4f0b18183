"""How long a user waits: `planner --help`, and `planner solve` of the bundled instance end to
end (process start to exit), each the median of several runs in fresh processes.

    python benchmarks/startup.py [--runs 7]

Appends the figures to results/startup.csv with the machine and date, and prints them.
Targets (issue 15): --help under 0.5 s, the bundled solve under 2.5 s, on an idle 2-core machine.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PLANNER = [sys.executable, "-m", "planner.cli"]


def _time(args: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run([*PLANNER, *args], cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, command in (("planner --help", ["--help"]), ("planner validate", ["validate"]),
                              ("planner solve (bundled)", ["solve", "--out", "out", "--force"])):
            times = [_time(command, work) for _ in range(args.runs)]
            rows.append((name, statistics.median(times), min(times), max(times)))
            print(f"{name:26} median {statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f})")
    path = REPO / "results" / "startup.csv"
    new = not path.exists()
    with open(path, "a", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        if new:
            writer.writerow(["date", "machine", "python", "command", "runs", "median_s", "min_s", "max_s"])
        for name, median, low, high in rows:
            writer.writerow([datetime.date.today().isoformat(), f"{platform.machine()} {os.cpu_count()} cores",
                             platform.python_version(), name, args.runs, round(median, 3), round(low, 3),
                             round(high, 3)])


if __name__ == "__main__":
    main()
