"""How time and memory grow with the number of scenarios.

    python benchmarks/scenarios.py [--counts 30,100,300,1000,2000] [--gap 1e-4] [--time-limit 600] [--workers 1]

The ladder's M instance (6 materials x 15 options x 8 periods, `planner generate`, seed 0)
with more and more explicit scenarios, each solved by `planner` (the decomposition phase,
then branch and bound if needed) in its own process: model size, time, the phase's rounds,
status and gap, and the process's peak memory. Rows go to results/scenarios.csv; a chart of
seconds and MiB against scenarios to docs/scenarios.png (one worker only); a Markdown table is printed.
`--workers N` solves the phase's blocks in N processes (peak memory is then the solve's own).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

from records import REPO, append_rows, measure

COLUMNS = ["date", "machine", "scenarios", "variables", "constraints", "nonzeros", "status", "mip_gap", "method",
           "rounds", "build_s", "solve_s", "phase_s", "total_s", "peak_mib", "workers"]


def one(folder: str, gap: float, time_limit: float | None, workers: int = 1) -> dict:
    import resource
    import time

    from planner.solve.pipeline import solve_instance
    from planner.solve.session import SolveOptions

    started = time.perf_counter()
    out = solve_instance(folder, SolveOptions(mip_gap=gap, time_limit=time_limit, threads=1, workers=workers))
    sizes = out.report.sizes
    return {"variables": sizes["variables"], "constraints": sizes["constraints"], "nonzeros": sizes["nonzeros"],
            "status": str(out.report.status), "mip_gap": out.mip_gap, "method": str(out.report.method),
            "rounds": out.report.decomposition_rounds, "build_s": out.build_seconds,
            "solve_s": out.report.solve_seconds, "phase_s": out.report.decomposition_seconds,
            "total_s": time.perf_counter() - started,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "workers": workers}


def chart(rows: list[dict], out: Path) -> None:
    """Seconds and peak MiB against scenarios, both axes logarithmic (linear growth is a slope of
    one); a solve that ended at its time limit is drawn hollow and labelled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    counts = [int(r["scenarios"]) for r in rows]
    seconds = [float(r["total_s"]) for r in rows]
    ax.plot(counts, seconds, "o-", label="seconds (left)")
    for n, t, r in zip(counts, seconds, rows):
        if r["status"] != "optimal":
            ax.plot([n], [t], "o", markerfacecolor="white", color="C0")
            ax.annotate(str(r["status"]).replace("_", " "), (n, t), textcoords="offset points", xytext=(-62, -4),
                        fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("scenarios")
    ax.set_ylabel("seconds, end to end")
    other = ax.twinx()
    other.plot(counts, [float(r["peak_mib"]) for r in rows], "s--", color="#c0392b", label="peak MiB (right)")
    other.set_yscale("log")
    other.set_ylabel("peak memory (MiB)")
    plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}")  # no e-notation on either axis
    for axis in (ax.xaxis, ax.yaxis, other.yaxis):
        axis.set_major_formatter(plain)
        axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    other.set_yticks([200, 500, 1000, 2000, 3000])
    ax.set_yticks([1, 2, 5, 10, 20, 50, 100, 200, 500])
    ax.set_title("The ladder's M with more scenarios (planner, gap 1e-4)")
    fig.legend(loc="upper left", bbox_to_anchor=(0.12, 0.88), fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(out, dpi=110, metadata={"Software": None})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", default="30,100,300,1000,2000")
    parser.add_argument("--gap", type=float, default=1e-4)
    parser.add_argument("--time-limit", type=float, default=None)
    parser.add_argument("--workers", type=int, default=1, help="processes for the phase's blocks")
    parser.add_argument("--out", type=Path, default=REPO / "results" / "scenarios.csv")
    parser.add_argument("--one", metavar="FOLDER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.gap, args.time_limit, args.workers)))
        return

    from planner.instance.generate import generate_instance

    stamp = {"date": datetime.date.today().isoformat(), "machine": f"{platform.machine()} {os.cpu_count()} cores"}
    rows = []
    for count in map(int, args.counts.split(",")):
        folder = Path(tempfile.mkdtemp()) / f"M-{count}"
        generate_instance(folder, 6, 15, 8, count, seed=0)
        command = [sys.executable, __file__, "--one", str(folder), "--gap", str(args.gap),
                   "--workers", str(args.workers)]
        if args.time_limit:
            command += ["--time-limit", str(args.time_limit)]
        found = measure(command, f"{count} scenarios")
        if found is None:
            continue
        row = {**stamp, "scenarios": count, **found}
        rows.append(row)
        print(f"{count} scenarios: {row['status']} in {row['total_s']:.1f} s ({row['method']}), "
              f"peak {row['peak_mib']:.0f} MiB", file=sys.stderr)
    append_rows(args.out, rows, COLUMNS)
    if rows and args.workers == 1 and len(rows) > 1:
        chart(rows, REPO / "docs" / "scenarios.png")
    print("| scenarios | columns | nonzeros | method (rounds) | status, gap | phase s | total s | peak MiB |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['scenarios']:,} | {r['variables']:,} | {r['nonzeros']:,} | {r['method']} ({r['rounds']}) | "
              f"{r['status']}, {r['mip_gap']:.1e} | {r['phase_s']:.1f} | {r['total_s']:.1f} | {r['peak_mib']:.0f} |")


if __name__ == "__main__":
    main()
