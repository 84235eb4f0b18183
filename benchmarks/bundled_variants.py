"""The bundled instance changed at random, solved two ways and by the independent build: the
decomposition phase, branch and bound on the whole model and `plain_highspy.py` must reach the
same optimum.

    python benchmarks/bundled_variants.py [--first 0] [--count 80] [--independent-limit 300]
        [--out results/bundled_variants.csv]

The differential soak (`differential.py`) draws generated instances; this one draws from the
instance users start from, `us-critical-minerals` (7 materials, 120 scenarios from 11 events,
ambiguity), with the keys a sensitivity study changes (README, "Sensitivity studies"): each
variant's seed sets risk aversion (0-1), the CVaR level (0.5-0.95), ambiguity (0-0.3), the
capacity of four options drawn at random (0 to 5,000 t) and, half the time, a fixed-cost budget
(USD 0.1-2 bn). Each is solved in this process by `solve_instance` with the phase and without
it (one HiGHS thread, gap 1e-4). They agree when both end the same way (a plan each, or both
infeasible) and each plan costs no less than the other run's bound, less the gap: both are
then within the gap of one optimum. Each variant is also written out as files (the bundled
instance's scenarios expanded once by `planner scenarios`, the variant's values written into
instance.toml and options.csv) and solved by the independent build of the differential soak
(`differential.independent`, `differential.independent_disagreements`: the same end, an optimum
within twice the gap of the phase's). One row per variant goes to the CSV; any disagreement
makes the exit code 1.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from differential import independent, independent_disagreements  # noqa: E402
from helpers import toml_text  # noqa: E402
from records import REPO, append_rows, scenarios_written  # noqa: E402

from planner.errors import InfeasibleError, SolveError  # noqa: E402
from planner.instance.bundled import resolve_instance  # noqa: E402
from planner.instance.instance import Instance  # noqa: E402
from planner.instance.loader import load_instance  # noqa: E402
from planner.instance.overrides import apply_values  # noqa: E402
from planner.options import SolveOptions  # noqa: E402
from planner.solve.pipeline import solve_instance  # noqa: E402

COLUMNS = ["date", "machine", "code", "seed", "values", "outcome", "objective", "bound", "objective_whole_model",
           "bound_whole_model", "phase_s", "whole_model_s", "independent", "objective_independent", "independent_s",
           "agree", "problems"]
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


def written(expanded: Path, values: dict[str, float], folder: Path) -> Path:
    """A copy of the bundled instance with its scenarios expanded (`expanded`, without events.csv)
    and the variant's `values` written into its files: settings into instance.toml, options'
    cells into options.csv (capacity.csv's rows still override an option's capacity in their
    periods, as they do in memory)."""
    shutil.copytree(expanded, folder)
    settings = tomllib.loads((folder / "instance.toml").read_text(encoding="utf-8"))
    options = pd.read_csv(folder / "options.csv", dtype=str, keep_default_na=False)
    for key, value in values.items():
        if key.startswith("options."):
            row, column = key.removeprefix("options.").rsplit(".", 1)
            options.loc[options["option"] == row, column] = repr(float(value))
        else:
            table, name = key.split(".")
            settings.setdefault(table, {})[name] = value
    (folder / "instance.toml").write_text(toml_text(settings), encoding="utf-8")
    options.to_csv(folder / "options.csv", index=False)
    return folder


def as_answer(phase: tuple) -> dict:
    """A phase solve's (outcome, objective, ...) as `planner solve --json` would have said it."""
    if phase[1] is None:
        return {"ok": False, "error": {"kind": phase[0].removeprefix("error: ")}}
    return {"ok": True, "summary": {"status": phase[0], "objective": phase[1]}}


def agree(phase: tuple, whole: tuple) -> bool:
    """Both end the same way and, with plans, each plan costs no less than the other's bound less the gap."""
    if phase[0] != whole[0] or phase[1] is None:
        return phase[0] == whole[0]
    (_, plan_a, bound_a, _), (_, plan_b, bound_b, _) = phase, whole
    return plan_a >= bound_b - GAP * abs(bound_b) - 1e-6 and plan_b >= bound_a - GAP * abs(bound_a) - 1e-6


def one(base: Instance, seed: int, expanded: Path, work: Path, independent_limit: float) -> dict:
    """The row of the variant of this seed: solved with the phase, without it and by the independent build."""
    values = variant(base, seed)
    inst = apply_values(base, values)
    phase, whole = solve(inst, True), solve(inst, False)
    started = time.perf_counter()
    plain = independent(written(expanded, values, work / f"variant-{seed}"), work, GAP, independent_limit)
    plain_s = time.perf_counter() - started
    problems = ([] if agree(phase, whole) else ["the phase and the whole model disagree"]) + \
        independent_disagreements(as_answer(phase), plain, GAP)
    return {"seed": seed, "values": " ".join(f"{k}={v:g}" for k, v in values.items()), "outcome": phase[0],
            "objective": phase[1], "bound": phase[2], "objective_whole_model": whole[1], "bound_whole_model": whole[2],
            "phase_s": round(phase[3], 2), "whole_model_s": round(whole[3], 2),
            "independent": plain.get("status", "").lower(), "objective_independent": plain.get("objective"),
            "independent_s": round(plain_s, 2), "agree": not problems, "problems": "; ".join(problems)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--count", type=int, default=80)
    parser.add_argument("--independent-limit", type=float, default=300.0,
                        help="seconds the independent build may take on one variant")
    parser.add_argument("--out", type=Path, default=REPO / "results" / "bundled_variants.csv")
    args = parser.parse_args()
    base = load_instance(resolve_instance("us-critical-minerals"))
    code = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO).stdout
    stamp = {"date": datetime.date.today().isoformat(), "machine": platform.node(), "code": code.strip()}
    rows = []
    with tempfile.TemporaryDirectory(prefix="planner-variants-") as folder:
        work = Path(folder)
        # the scenarios of events.csv written out once: no variant changes them
        expanded = scenarios_written(base.path, work / "expanded")
        (expanded / "events.csv").unlink()
        for seed in range(args.first, args.first + args.count):
            row = {**stamp, **one(base, seed, expanded, work, args.independent_limit)}
            rows.append(row)
            print(f"seed {seed}: {row['outcome']}, {'agree' if row['agree'] else 'DISAGREE: ' + row['problems']} "
                  f"({row['phase_s']} s, {row['whole_model_s']} s, {row['independent_s']} s)", flush=True)
    append_rows(args.out, rows, COLUMNS)
    disagreeing = [row["seed"] for row in rows if not row["agree"]]
    print(f"{len(rows)} variants, {sum(r['outcome'] == 'optimal' for r in rows)} optimal: "
          f"{len(rows) - len(disagreeing)} agree, {len(disagreeing)} disagree {disagreeing}; "
          f"rows appended to {args.out}")
    return 1 if disagreeing else 0


if __name__ == "__main__":
    sys.exit(main())
