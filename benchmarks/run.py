"""The benchmark ladder: generated instances of growing size, solved by planner's path into
HiGHS and, in the same run, by Pyomo's stock `appsi_highs` interface on the same model.

    python benchmarks/run.py                      # S and M, planner and appsi
    python benchmarks/run.py --sizes S,M,L,XL --time-limit 600   # a limit: planner runs its race (README)
    python benchmarks/run.py --paths planner,planner-direct,appsi   # also without decomposition
    python benchmarks/run.py --sizes M,L --ambiguity 0.2   # the worst case over probabilities
    python benchmarks/run.py --sizes S,M,L --multi-stage   # multi-stage plans of the same instances

Paths: `planner` (planner's solve: decomposition phase, then branch and bound if needed),
`planner-direct` (planner's path into HiGHS, branch and bound only: --no-decomposition),
`appsi` (the same Pyomo model through Pyomo's appsi_highs, HiGHS's default options).

Each size and path runs in its own process (peak memory is that process's maximum resident
set). Figures are appended to results/benchmarks.csv with the machine, date and versions;
a Markdown table is printed for the README.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

from records import REPO, append_rows, measure

SIZES = {  # commodities, options per commodity, periods, scenarios
    "S": (3, 8, 6, 10),
    "M": (6, 15, 8, 30),
    "L": (10, 30, 10, 50),
    "XL": (20, 50, 15, 100),
}
COLUMNS = ["date", "machine", "highspy", "pyomo", "size", "commodities", "options", "periods", "scenarios", "path",
           "variables", "binaries", "constraints", "nonzeros", "load_s", "build_s", "transfer_s", "solve_s",
           "write_s", "total_s", "peak_mib", "status", "mip_gap", "objective", "method", "ambiguity", "stages",
           "workers", "phase_s", "rounds", "children_peak_mib",
           # a family's summary over its seeds (benchmarks/families.py): one row per family and path
           "family", "seeds", "median_total_s", "worst_total_s", "proven_by_phase", "same_optimum", "median_vs_plain",
           "median_vs_plain_first_stage"]


def one(size: str, path: str, folder: str, gap: float, time_limit: float | None, workers: int = 1) -> dict:
    """One measurement, in this process."""
    from planner.instance.data import build_model_data
    from planner.instance.loader import load_instance
    from planner.results.write import write_results
    from planner.solve.pipeline import solve_instance
    from planner.solve.session import SolveOptions

    row: dict = {"size": size, "path": path}
    started = time.perf_counter()
    inst = load_instance(folder)
    row["load_s"] = time.perf_counter() - started
    if path in ("planner", "planner-direct"):
        options = SolveOptions(mip_gap=gap, time_limit=time_limit, threads=1, decomposition=path == "planner",
                               workers=workers)
        out = solve_instance(inst, options)
        row.update(build_s=out.build_seconds, transfer_s=out.report.transfer_seconds,
                   solve_s=out.report.solve_seconds, status=out.report.status, mip_gap=out.mip_gap,
                   objective=out.figures.objective, method=out.report.method,
                   phase_s=out.report.decomposition_seconds, rounds=out.report.decomposition_rounds,
                   **out.report.sizes)
        row["binaries"] = row.pop("binary_variables")
        t = time.perf_counter()
        write_results(out, Path(tempfile.mkdtemp()) / "r")
        row["write_s"] = time.perf_counter() - t
    else:
        from pyomo.contrib.appsi.solvers import Highs as AppsiHighs

        from planner.model.build import create_model
        from planner.solve.scaling import choose_scales, scale_data

        t = time.perf_counter()
        data = build_model_data(inst)
        scales = choose_scales(data)
        model = create_model(scale_data(data, scales))
        row["build_s"] = time.perf_counter() - t
        solver = AppsiHighs()
        solver.config.mip_gap, solver.config.time_limit = gap, time_limit
        solver.config.load_solution, solver.config.stream_solver = False, False
        solver.highs_options = {"threads": 1}
        t = time.perf_counter()
        result = solver.solve(model.model)
        row["solve_s"] = time.perf_counter() - t  # appsi: transfer and solve together
        row["transfer_s"] = None
        row["status"] = str(result.termination_condition).split(".")[-1]
        best = result.best_feasible_objective
        bound = result.best_objective_bound
        row["objective"] = best * scales.money if best is not None else None
        row["mip_gap"] = abs(best - bound) / max(abs(best), 1e-10) if best is not None and bound is not None else None
    row["total_s"] = time.perf_counter() - started
    row["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    row["children_peak_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # --workers' processes
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="S,M")
    parser.add_argument("--paths", default="planner,appsi")
    parser.add_argument("--gap", type=float, default=1e-4)
    parser.add_argument("--time-limit", type=float, default=None,
                        help="Seconds per solve [default: none: the time to the gap is measured]")
    parser.add_argument("--ambiguity", type=float, default=0.0,
                        help="risk.ambiguity of the generated instances [default: 0]")
    parser.add_argument("--multi-stage", action="store_true", help="solve the instances as multi-stage plans")
    parser.add_argument("--workers", type=int, default=1, help="processes for the phase's blocks (planner path)")
    parser.add_argument("--out", type=Path, default=REPO / "results" / "benchmarks.csv")
    parser.add_argument("--one", nargs=3, metavar=("SIZE", "PATH", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(*args.one, args.gap, args.time_limit, args.workers)))
        return

    import highspy
    import pyomo

    from planner.instance.generate import generate_instance

    stamp = {"date": datetime.date.today().isoformat(),
             "machine": f"{platform.machine()} {os.cpu_count()} cores",
             "highspy": f"{highspy.HIGHS_VERSION_MAJOR}.{highspy.HIGHS_VERSION_MINOR}.{highspy.HIGHS_VERSION_PATCH}",
             "pyomo": pyomo.__version__}
    rows = []
    for size in args.sizes.split(","):
        m, k, t, s = SIZES[size]
        folder = Path(tempfile.mkdtemp()) / size
        generate_instance(folder, m, k, t, s, seed=0)
        toml = folder / "instance.toml"
        if args.ambiguity:
            toml.write_text(toml.read_text().replace("cvar_alpha = 0.9\n",
                                                     f"cvar_alpha = 0.9\nambiguity = {args.ambiguity}\n"))
        if args.multi_stage:
            toml.write_text(toml.read_text() + '\n[decisions]\nstages = "multi"\n')
        for path in args.paths.split(","):
            found = measure([sys.executable, __file__, "--one", size, path, str(folder), "--gap", str(args.gap),
                             "--workers", str(args.workers),
                             *(["--time-limit", str(args.time_limit)] if args.time_limit else [])], f"{size} {path}")
            if found is None:
                continue
            row = {**stamp, "commodities": m, "options": k, "periods": t, "scenarios": s, "ambiguity": args.ambiguity,
                   "stages": "multi" if args.multi_stage else "two", "workers": args.workers, **found}
            rows.append(row)
            print(f"{size} {path}: {row['status']} in {row['total_s']:.1f} s, gap {row['mip_gap']}, "
                  f"peak {row['peak_mib']:.0f} MiB", file=sys.stderr)
    append_rows(args.out, rows, COLUMNS)
    print("| size | path | columns | build s | transfer s | solve s | total s | peak MiB | status | gap |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        fmt = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
        gap = "-" if r["mip_gap"] is None else f"{r['mip_gap']:.1e}"
        print(f"| {r['size']} | {r['path']} | {r.get('variables', '-')} | {fmt(r['build_s'])} | "
              f"{fmt(r['transfer_s'])} | {fmt(r['solve_s'])} | {fmt(r['total_s'])} | {r['peak_mib']:.0f} | "
              f"{r['status']} | {gap} |")


if __name__ == "__main__":
    main()
