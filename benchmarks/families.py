"""The ladder over instance families: where the decomposition phase closes the gap, and where
branch and bound has to finish.

    python benchmarks/families.py [--size M] [--seeds 0,1,2] [--families base,budget,lambda1,shared,events]

Each family is `planner generate` with its switches (`planner.instance.generate.Shape`), at one
size, for several seeds; each instance is solved by `planner` (the phase, then branch and bound
if needed) and by `planner-direct` (branch and bound alone), each in its own process, to the
same gap. Rows go to results/families.csv (one per instance and path, with the method and the
phase's rounds); the median and the worst time of each family and path are printed as a
Markdown table for the README.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
from run import SIZES  # noqa: E402

FAMILIES = {  # name: Shape arguments
    "base": {},
    "budget": {"budget": 0.3},
    "lambda1": {"aversion": 1.0},
    "shared": {"agreements": 4},
    "events": {"events": 14},
}
COLUMNS = ["date", "machine", "size", "family", "seed", "path", "variables", "status", "mip_gap", "objective",
           "method", "rounds", "solve_s", "total_s", "peak_mib"]


def one(folder: str, path: str, gap: float) -> dict:
    import resource
    import time

    from planner.solve.pipeline import solve_instance
    from planner.solve.session import SolveOptions

    started = time.perf_counter()
    out = solve_instance(folder, SolveOptions(mip_gap=gap, threads=1, decomposition=path == "planner"))
    return {"variables": out.report.sizes["variables"], "status": str(out.report.status), "mip_gap": out.mip_gap,
            "objective": out.figures.objective, "method": str(out.report.method),
            "rounds": out.report.decomposition_rounds, "solve_s": out.report.solve_seconds,
            "total_s": time.perf_counter() - started,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="M", choices=sorted(SIZES))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--paths", default="planner,planner-direct")
    parser.add_argument("--gap", type=float, default=1e-4)
    parser.add_argument("--out", type=Path, default=REPO / "results" / "families.csv")
    parser.add_argument("--one", nargs=2, metavar=("FOLDER", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], args.one[1], args.gap)))
        return

    from planner.instance.generate import Shape, generate_instance

    stamp = {"date": datetime.date.today().isoformat(), "machine": f"{platform.machine()} {os.cpu_count()} cores",
             "size": args.size}
    m, k, t, s = SIZES[args.size]
    rows = []
    for family in args.families.split(","):
        for seed in map(int, args.seeds.split(",")):
            folder = Path(tempfile.mkdtemp()) / f"{family}-{seed}"
            generate_instance(folder, m, k, t, s, seed=seed, shape=Shape(**FAMILIES[family]))
            for path in args.paths.split(","):
                done = subprocess.run([sys.executable, __file__, "--one", str(folder), path, "--gap", str(args.gap)],
                                      capture_output=True, text=True, cwd=REPO)
                if done.returncode != 0:
                    print(f"{family} {seed} {path}: failed\n{done.stderr[-1500:]}", file=sys.stderr)
                    continue
                row = {**stamp, "family": family, "seed": seed, "path": path,
                       **json.loads(done.stdout.strip().splitlines()[-1])}
                rows.append(row)
                print(f"{family} seed {seed} {path}: {row['status']} in {row['total_s']:.1f} s ({row['method']}, "
                      f"{row['rounds']} rounds), objective {row['objective']:.6g}", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    new_file = not args.out.exists()
    with open(args.out, "a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        if new_file:
            writer.writeheader()
        writer.writerows(rows)
    print("| family | path | median total s | worst total s | proven by the phase | same optimum |")
    print("|---|---|---|---|---|---|")
    for family in args.families.split(","):
        for path in args.paths.split(","):
            part = [r for r in rows if r["family"] == family and r["path"] == path]
            if not part:
                continue
            times = [r["total_s"] for r in part]
            proven = sum(r["method"] == "decomposition" for r in part)
            others = {(r["seed"]): r["objective"] for r in rows if r["family"] == family and r["path"] != path}
            same = all(abs(r["objective"] - others.get(r["seed"], r["objective"])) <= 2 * args.gap * abs(r["objective"])
                       for r in part)
            print(f"| {family} | {path} | {statistics.median(times):.1f} | {max(times):.1f} | "
                  f"{proven} of {len(part)} | {'yes' if same else 'no'} |")


if __name__ == "__main__":
    main()
