"""Fast re-solves measured: the README's worked study run three ways in one worker.

    python benchmarks/resolve.py [INSTANCE]

The 12 runs of the README's study on the bundled instance that have a plan (China share
1, 0.75, 0.5; the Russia deal failing with probability 0..0.6; risk aversion 0..1), one after
another in one process, as one
sweep worker runs them: rebuilding the model for every run, keeping the built model and
changing its Params (`planner.solve.resolve`), and keeping it plus seeding HiGHS with the
previous plan. Each run is solved and its results folder written, as `planner sweep` does.
Objectives must agree across the three; times go to results/resolve.csv.
"""

from __future__ import annotations

import datetime
import statistics
import sys
import tempfile
import time
from pathlib import Path

from records import REPO, append_rows

STUDY = ([{"limits.bloc:china:*.max_share": v} for v in (1, 0.75, 0.5)]
         + [{"events.russia-no-deal.probability": v} for v in (0, 0.2, 0.4, 0.6)]
         + [{"risk.aversion": v} for v in (0, 0.25, 0.5, 0.75, 1)])


def main() -> None:
    import highspy

    from planner.instance.bundled import resolve_instance
    from planner.instance.loader import load_instance
    from planner.instance.overrides import apply_values
    from planner.results.write import write_results
    from planner.solve.pipeline import solve_instance
    from planner.solve.resolve import ModelCache
    from planner.solve.session import SolveOptions

    path = resolve_instance(sys.argv[1] if len(sys.argv) > 1 else None)
    base = load_instance(path)
    options = SolveOptions(threads=1)
    solve_instance(base, options)  # first solve in the process: imports and Pyomo's warm-up
    modes = {"rebuild": None, "kept": ModelCache(), "kept+warm start": ModelCache(warm_start=True)}
    seconds: dict[str, list[float]] = {mode: [] for mode in modes}
    objectives: dict[str, list[float]] = {mode: [] for mode in modes}
    out = Path(tempfile.mkdtemp())
    for i, values in enumerate(STUDY):
        inst = apply_values(base, values)
        for mode, cache in modes.items():
            started = time.perf_counter()
            outcome = solve_instance(inst, options, cache=cache)
            write_results(outcome, out / f"{mode}-{i}", force=True)
            seconds[mode].append(time.perf_counter() - started)
            objectives[mode].append(outcome.figures.objective)
    for mode in modes:
        worst = max(abs(a - b) / abs(b) for a, b in zip(objectives[mode], objectives["rebuild"]))
        assert worst <= 1e-4, (mode, worst)  # within the MIP gap of the rebuilt solve
    rows = []
    for mode, cache in modes.items():
        rows.append({
            "date": datetime.date.today().isoformat(), "instance": base.name, "highspy":
            f"{highspy.HIGHS_VERSION_MAJOR}.{highspy.HIGHS_VERSION_MINOR}.{highspy.HIGHS_VERSION_PATCH}",
            "mode": mode, "runs": len(STUDY), "builds": cache.builds if cache else len(STUDY),
            "total_s": round(sum(seconds[mode]), 3), "median_run_s": round(statistics.median(seconds[mode]), 3),
        })
    append_rows(REPO / "results" / "resolve.csv", rows, list(rows[0]))
    print("| mode | builds | total | median run | vs rebuild |\n|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['mode']} | {row['builds']} of {row['runs']} | {row['total_s']:.2f} s | "
              f"{row['median_run_s']:.3f} s | {row['total_s'] / rows[0]['total_s']:.2f} |")


if __name__ == "__main__":
    main()
