"""The bundled instance changed at random, solved two ways: the decomposition phase and branch
and bound on the whole model must reach the same optimum.

    python benchmarks/bundled_variants.py [--first 0] [--count 80] [--out results/bundled_variants.csv]

The differential soak (`differential.py`) draws generated instances; this one draws from the
instance users start from, `us-critical-minerals` (7 materials, 120 scenarios from 11 events,
ambiguity), with the keys a sensitivity study changes (README, "Sensitivity studies"): each
variant's seed sets risk aversion (0-1), the CVaR level (0.5-0.95), ambiguity (0-0.3), the
capacity of four options drawn at random (0 to 5,000 t) and, half the time, a fixed-cost budget
(USD 0.1-2 bn). Each is solved in this process by `solve_instance` with the phase and without
it (one HiGHS thread, gap 1e-4). They agree when both end the same way (a plan each, or both
infeasible) and each plan costs no less than the other run's bound, less the gap: both are
then within the gap of one optimum. One row per variant goes to the CSV; any disagreement
makes the exit code 1.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from records import REPO, append_rows  # noqa: E402

from planner.errors import InfeasibleError, SolveError  # noqa: E402
from planner.instance.bundled import resolve_instance  # noqa: E402
from planner.instance.instance import Instance  # noqa: E402
from planner.instance.loader import load_instance  # noqa: E402
from planner.instance.overrides import apply_values  # noqa: E402
from planner.options import SolveOptions  # noqa: E402
from planner.solve.pipeline import solve_instance  # noqa: E402

COLUMNS = ["date", "machine", "code", "seed", "values", "outcome", "objective", "bound", "objective_whole_model",
           "bound_whole_model", "phase_s", "whole_model_s", "agree"]
GAP = 1e-4


def variant(base: Instance, seed: int) -> dict[str, float]:
    """The sweep keys and values of the variant of this seed."""
    rng = random.Random(seed)
    values = {"risk.aversion": rng.choice([0, 0.2, 0.5, 0.8, 1.0]), "risk.cvar_alpha": rng.choice([0.5, 0.9, 0.95]),
              "risk.ambiguity": rng.choice([0, 0.1, 0.3])}
    for option in rng.sample(sorted(base.tables["options"]["option"]), 4):
        values[f"options.{option}.capacity"] = rng.choice([0, 50, 500, 5000])
    if rng.random() < 0.5:
        values["budget.fixed_cost_max"] = rng.choice([1e8, 5e8, 2e9])
    return values


def solve(inst: Instance, decomposition: bool) -> tuple[str, float | None, float | None, float]:
    """(outcome, objective, bound, seconds) of one solve."""
    started = time.perf_counter()
    try:
        out = solve_instance(inst, SolveOptions(mip_gap=GAP, threads=1, decomposition=decomposition))
    except InfeasibleError:
        return "infeasible", None, None, time.perf_counter() - started
    except SolveError as exc:
        return f"error: {exc.status}", None, None, time.perf_counter() - started
    return (str(out.report.status), out.figures.objective, float(out.report.best_bound),
            time.perf_counter() - started)


def agree(phase: tuple, whole: tuple) -> bool:
    """Both end the same way and, with plans, each plan costs no less than the other's bound less the gap."""
    if phase[0] != whole[0] or phase[1] is None:
        return phase[0] == whole[0]
    (_, plan_a, bound_a, _), (_, plan_b, bound_b, _) = phase, whole
    return plan_a >= bound_b - GAP * abs(bound_b) - 1e-6 and plan_b >= bound_a - GAP * abs(bound_a) - 1e-6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--count", type=int, default=80)
    parser.add_argument("--out", type=Path, default=REPO / "results" / "bundled_variants.csv")
    args = parser.parse_args()
    base = load_instance(resolve_instance("us-critical-minerals"))
    code = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO).stdout
    rows, disagreeing = [], []
    for seed in range(args.first, args.first + args.count):
        values = variant(base, seed)
        inst = apply_values(base, values)
        phase, whole = solve(inst, True), solve(inst, False)
        ok = agree(phase, whole)
        rows.append({"date": datetime.date.today().isoformat(), "machine": platform.node(), "code": code.strip(),
                     "seed": seed, "values": " ".join(f"{k}={v:g}" for k, v in values.items()),
                     "outcome": phase[0], "objective": phase[1], "bound": phase[2], "objective_whole_model": whole[1],
                     "bound_whole_model": whole[2], "phase_s": round(phase[3], 2), "whole_model_s": round(whole[3], 2),
                     "agree": ok})
        print(f"seed {seed}: {phase[0]}, {'agree' if ok else 'DISAGREE'} ({phase[3]:.1f} s, {whole[3]:.1f} s)",
              flush=True)
        if not ok:
            disagreeing.append(seed)
    append_rows(args.out, rows, COLUMNS)
    print(f"{len(rows)} variants, {sum(r['outcome'] == 'optimal' for r in rows)} optimal: "
          f"{len(rows) - len(disagreeing)} agree, {len(disagreeing)} disagree {disagreeing}; "
          f"rows appended to {args.out}")
    return 1 if disagreeing else 0


if __name__ == "__main__":
    sys.exit(main())
