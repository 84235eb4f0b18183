"""The ladder over instance families: where the decomposition phase closes the gap, and where
branch and bound has to finish.

    python benchmarks/families.py [--size M] [--seeds 0,1,2] [--families base,budget,...,budget-shared]

Each family is `planner generate` with its switches (`planner.instance.generate.Shape`), at one
size, for several seeds; each instance is solved back to back by `planner` (the phase, then
branch and bound if needed), `planner-direct` (planner's model, branch and bound alone) and
`plain-highspy` (benchmarks/plain_highspy.py: the model built row by row without planner's
model code, handed to highspy), each in its own process, one HiGHS thread, to the same gap.
For plain-highspy an events family is first expanded with `planner scenarios --into-instance`
on a copy (the same scenarios planner derives). Rows go to results/families.csv (one per
instance and path, with the method and the phase's rounds); the median and the worst time of
each family and path, and the median ratio to plain-highspy, go to results/benchmarks.csv (one
row per family and path, in the columns from `family` on) and are printed as Markdown.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
from records import append_rows, measure, scenarios_written  # noqa: E402
from run import COLUMNS as SUMMARY_COLUMNS  # noqa: E402
from run import SIZES  # noqa: E402

FAMILIES = {  # name: Shape arguments
    "base": {},
    "budget": {"budget": 0.1},  # binds on M (generate.Shape); 0.3 did not
    "budget5": {"budget": 0.05},  # binds on L too
    "lambda1": {"aversion": 1.0},
    "shared": {"agreements": 4},
    "events": {"events": 14},
    "ambiguity": {"ambiguity": 0.2},  # the worst case over probabilities trusted to 20%
    "budget-shared": {"budget": 0.1, "agreements": 4},  # a budget that binds and deals shared by every material
}
SCENARIOS = {"events": 200}  # a family's scenarios where not the size's (events: 16,384 combinations reduced to 200)
COLUMNS = ["date", "machine", "size", "family", "seed", "path", "variables", "status", "mip_gap", "objective",
           "method", "rounds", "solve_s", "tiebreak_s", "total_s", "peak_mib"]


def one(folder: str, path: str, gap: float, time_limit: float | None = None) -> dict:
    import resource
    import time

    if path == "plain-highspy":
        return plain(Path(folder), gap, time_limit)

    from planner.solve.pipeline import solve_instance
    from planner.solve.session import SolveOptions

    started = time.perf_counter()
    out = solve_instance(folder, SolveOptions(mip_gap=gap, threads=1, decomposition=path == "planner",
                                              time_limit=time_limit))
    return {"variables": out.report.sizes["variables"], "status": str(out.report.status), "mip_gap": out.mip_gap,
            "objective": out.figures.objective, "method": str(out.report.method),
            "rounds": out.report.decomposition_rounds, "solve_s": out.report.solve_seconds,
            "tiebreak_s": out.report.tiebreak_seconds,
            "total_s": time.perf_counter() - started,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def plain(folder: Path, gap: float, time_limit: float | None = None) -> dict:
    import resource
    import time

    from plain_highspy import solve

    with tempfile.TemporaryDirectory(prefix="planner-families-") as work:
        if (folder / "events.csv").exists():  # input preparation, not timed
            folder = scenarios_written(folder, Path(work) / folder.name)
        started = time.perf_counter()
        found = solve(folder, gap, threads=1, time_limit=time_limit)
        total = time.perf_counter() - started
    return {"variables": found["columns"], "status": found["status"].lower(), "mip_gap": found["mip_gap"],
            "objective": found["objective"], "method": "plain highspy", "rounds": 0, "solve_s": found["solve_s"],
            "tiebreak_s": 0.0,
            "total_s": total, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="M", choices=sorted(SIZES))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--paths", default="planner,planner-direct,plain-highspy")
    parser.add_argument("--gap", type=float, default=1e-4)
    parser.add_argument("--time-limit", type=float, default=None, help="seconds per solve (every path)")
    parser.add_argument("--out", type=Path, default=REPO / "results" / "families.csv")
    parser.add_argument("--summary-out", type=Path, default=REPO / "results" / "benchmarks.csv",
                        help="where each family's median and worst case go (one row per family and path)")
    parser.add_argument("--one", nargs=2, metavar=("FOLDER", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], args.one[1], args.gap, args.time_limit)))
        return

    from planner.instance.generate import Shape, generate_instance

    stamp = {"date": datetime.date.today().isoformat(), "machine": f"{platform.machine()} {os.cpu_count()} cores",
             "size": args.size}
    m, k, t, s = SIZES[args.size]
    rows = []
    for family in args.families.split(","):
        for seed in map(int, args.seeds.split(",")):
            folder = Path(tempfile.mkdtemp()) / f"{family}-{seed}"
            generate_instance(folder, m, k, t, SCENARIOS.get(family, s), seed=seed, shape=Shape(**FAMILIES[family]))
            for path in args.paths.split(","):
                command = [sys.executable, __file__, "--one", str(folder), path, "--gap", str(args.gap)]
                if args.time_limit:
                    command += ["--time-limit", str(args.time_limit)]
                found = measure(command, f"{family} {seed} {path}")
                if found is None:
                    continue
                row = {**stamp, "family": family, "seed": seed, "path": path, **found}
                rows.append(row)
                print(f"{family} seed {seed} {path}: {row['status']} in {row['total_s']:.1f} s ({row['method']}, "
                      f"{row['rounds']} rounds), objective {row['objective']:.6g}", file=sys.stderr)
    append_rows(args.out, rows, COLUMNS)
    families = summaries(rows, args.families.split(","), args.paths.split(","), args.gap)
    versions = {"highspy": importlib.metadata.version("highspy"), "pyomo": importlib.metadata.version("pyomo")}
    append_rows(args.summary_out, [{**stamp, **versions, "commodities": m, "options": k, "periods": t, "scenarios": s,
                                    **family} for family in families], SUMMARY_COLUMNS)
    print(markdown(families))


def summaries(rows: list[dict], families: list[str], paths: list[str], gap: float) -> list[dict]:
    """Per family and path: median and worst time, how many the phase proved, whether the optimum
    is every path's, and the median time relative to plain-highspy on the same instance (with and
    without the tie-break stage, which plain-highspy does not run)."""
    found = []
    for family in families:
        for path in paths:
            part = [r for r in rows if r["family"] == family and r["path"] == path]
            if not part:
                continue
            times = [r["total_s"] for r in part]
            others = [(r, o) for r in part for o in rows
                      if o["family"] == family and o["seed"] == r["seed"] and o["path"] != path]
            same = all(o["objective"] is not None and abs(r["objective"] - o["objective"])
                       <= 2 * gap * abs(r["objective"]) for r, o in others)
            plain = {o["seed"]: o["total_s"] for o in rows if o["family"] == family and o["path"] == "plain-highspy"}
            compared = [r for r in part if r["seed"] in plain and path != "plain-highspy"]
            found.append({
                "family": family, "path": path, "seeds": ",".join(str(r["seed"]) for r in part),
                "median_total_s": statistics.median(times), "worst_total_s": max(times),
                "proven_by_phase": f"{sum(r['method'] == 'decomposition' for r in part)} of {len(part)}",
                "same_optimum": "yes" if same else "no",
                "median_vs_plain": statistics.median(r["total_s"] / plain[r["seed"]] for r in compared)
                if compared else None,
                "median_vs_plain_first_stage": statistics.median((r["total_s"] - r["tiebreak_s"]) / plain[r["seed"]]
                                                                 for r in compared) if compared else None})
    return found


def markdown(families: list[dict]) -> str:
    """The summaries as a Markdown table."""
    lines = ["| family | path | median total s | worst total s | proven by the phase | same optimum | "
             "median time / plain highspy | the same without the tie-break |", "|---|---|---|---|---|---|---|---|"]
    ratio = lambda value: f"{value:.2f}x" if value is not None else ""  # noqa: E731
    for f in families:
        lines.append(f"| {f['family']} | {f['path']} | {f['median_total_s']:.1f} | {f['worst_total_s']:.1f} | "
                     f"{f['proven_by_phase']} | {f['same_optimum']} | {ratio(f['median_vs_plain'])} | "
                     f"{ratio(f['median_vs_plain_first_stage'])} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
