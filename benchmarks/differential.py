"""Differential soak: random generated instances, each solved three ways through the CLI, then verified.

    python benchmarks/differential.py [--first 0] [--count 200] [--gap 1e-4] [--out results/differential.csv]

Each instance's shape comes from its seed (`shape`): 1-5 materials, 2-12 options each, 1-6
periods, 1-30 explicit scenarios or 1-6 independent events, lambda 0, 0.3 or 1, a fixed-cost
budget of 2-20% of all fixed costs half the time, 1-3 shared deals, ambiguity 0.1 or 0.3, one
in five multi-stage. Each is solved by `planner solve` (the decomposition phase, then branch and
bound where it hands over), by `planner solve --no-decomposition` (branch and bound on the whole
model only) and by `planner solve --workers 2`, each with one HiGHS thread, and `planner verify`
checks the first two results from the files alone. An instance agrees (`disagreements`) when

- the three runs end the same way: each with a plan, or each with the same error (an infeasible
  instance is reported as such by all three);
- both plans are optimal and their objectives lie within twice the gap;
- two workers wrote the files one worker wrote, byte for byte;
- verify passes both results.

One row per instance goes to the CSV; the disagreements are printed, and any makes the exit code 1.
The instances and results are written to a temporary folder, removed at the end.
"""

from __future__ import annotations

import argparse
import datetime
import filecmp
import json
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from records import REPO, append_rows

COLUMNS = ["date", "machine", "code", "seed", "shape", "multi_stage", "outcome", "method", "rounds", "objective",
           "objective_whole_model", "phase_path_s", "whole_model_s", "two_workers_s", "agree", "problems"]
PATHS = {"phase": [], "whole-model": ["--no-decomposition"], "two-workers": ["--workers", "2"]}


def shape(seed: int) -> tuple[list[str], bool]:
    """`planner generate` options of the instance of this seed, and whether it is solved multi-stage."""
    rng = random.Random(seed)
    args = ["--commodities", str(rng.randint(1, 5)), "--options", str(rng.randint(2, 12)),
            "--periods", str(rng.randint(1, 6)), "--seed", str(seed), "--aversion", str(rng.choice([0, 0.3, 0.3, 1]))]
    if rng.random() < 0.3:
        args += ["--events", str(rng.randint(1, 6))]
    else:
        args += ["--scenarios", str(rng.choice([1, 2, 5, 12, 30]))]
    if rng.random() < 0.5:
        args += ["--budget-share", str(rng.choice([0.02, 0.05, 0.1, 0.2]))]
    if rng.random() < 0.4:
        args += ["--shared-agreements", str(rng.randint(1, 3))]
    if rng.random() < 0.25:
        args += ["--ambiguity", str(rng.choice([0.1, 0.3]))]
    return args, rng.random() < 0.2


def outcome(answer: dict) -> str:
    """What a `planner solve --json` run ended with: its status, or `error: <kind>`."""
    if answer.get("ok"):
        return str(answer["summary"]["status"])
    return f"error: {answer.get('error', {}).get('kind', 'unknown')}"


def disagreements(answers: dict[str, dict], same_files: bool, verify_codes: dict[str, int], gap: float) -> list[str]:
    """What differs between the three runs of one instance (`answers` by path name, each the JSON
    `planner solve --json` printed), given whether two workers wrote the same files as one and the
    exit codes of `planner verify` on the results that were written."""
    ends = {path: outcome(answer) for path, answer in answers.items()}
    if len(set(ends.values())) > 1:
        return ["the runs ended differently: " + ", ".join(f"{p} {e}" for p, e in ends.items())]
    found = []
    if all(answer.get("ok") for answer in answers.values()):
        if ends["phase"] == "optimal":
            phase, whole = (answers[p]["summary"]["objective"] for p in ("phase", "whole-model"))
            if abs(phase - whole) > 2 * gap * max(abs(phase), abs(whole), 1.0):
                found.append(f"objectives {phase!r} (phase) and {whole!r} (whole model) differ by more than "
                             "twice the gap")
        if answers["two-workers"]["summary"]["objective"] != answers["phase"]["summary"]["objective"] or not same_files:
            found.append("two workers wrote other results than one")
    found += [f"planner verify failed on the {path} result (exit {code})"
              for path, code in verify_codes.items() if code]
    return found


def _planner(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "planner.cli", *args], capture_output=True, text=True, cwd=REPO)


def one(seed: int, gap: float, work: Path) -> dict:
    args, multi = shape(seed)
    instance = work / f"instance-{seed}"
    made = _planner("generate", *args, str(instance))
    if made.returncode:
        raise SystemExit(f"seed {seed}: planner generate failed:\n{made.stderr}")
    answers, seconds, results = {}, {}, {}
    for path, extra in PATHS.items():
        results[path] = work / f"results-{seed}-{path}"
        started = time.perf_counter()
        done = _planner("solve", str(instance), "--out", str(results[path]), "--json", "-q", "--threads", "1",
                        "--mip-gap", repr(gap), *extra, *(["--multi-stage"] if multi else []))
        seconds[path] = time.perf_counter() - started
        try:
            answers[path] = json.loads(done.stdout)
        except json.JSONDecodeError:  # no JSON at all: a crash, recorded as such
            answers[path] = {"ok": False, "error": {"kind": f"crash (exit {done.returncode})"}}
    written = {path: folder for path, folder in results.items() if answers[path].get("ok")}
    same_files = "two-workers" in written and "phase" in written and all(
        filecmp.cmp(f, written["two-workers"] / f.name, shallow=False) for f in written["phase"].glob("*.csv"))
    verify_codes = {path: _planner("verify", str(instance), str(written[path]), "-q").returncode
                    for path in ("phase", "whole-model") if path in written}
    problems = disagreements(answers, same_files, verify_codes, gap)
    summary = answers["phase"].get("summary", {})
    return {"seed": seed, "shape": " ".join(args), "multi_stage": multi, "outcome": outcome(answers["phase"]),
            "method": summary.get("method", ""), "rounds": summary.get("decomposition_rounds", ""),
            "objective": summary.get("objective", ""),
            "objective_whole_model": answers["whole-model"].get("summary", {}).get("objective", ""),
            "phase_path_s": round(seconds["phase"], 2), "whole_model_s": round(seconds["whole-model"], 2),
            "two_workers_s": round(seconds["two-workers"], 2), "agree": not problems, "problems": "; ".join(problems)}


def _commit() -> str:
    """The commit the measured code is at (with `+` when it has changes not committed), or `unknown`."""
    described = subprocess.run(["git", "describe", "--always", "--dirty=+"], capture_output=True, text=True,
                               cwd=REPO)
    return described.stdout.strip() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=int, default=0, help="first seed")
    parser.add_argument("--count", type=int, default=200, help="instances (seeds first, first + 1, ...)")
    parser.add_argument("--gap", type=float, default=1e-4)
    parser.add_argument("--out", type=Path, default=REPO / "results" / "differential.csv")
    a = parser.parse_args()
    stamp = {"date": datetime.date.today().isoformat(), "machine": platform.node() or "unknown", "code": _commit()}
    rows = []
    with tempfile.TemporaryDirectory(prefix="planner-differential-") as work:
        for seed in range(a.first, a.first + a.count):
            row = {**stamp, **one(seed, a.gap, Path(work))}
            rows.append(row)
            print(f"seed {seed}: {row['outcome']}, {row['method'] or '-'}"
                  + ("" if row["agree"] else f"; DISAGREE: {row['problems']}"), flush=True)
    append_rows(a.out, rows, COLUMNS)
    optimal = sum(r["outcome"] == "optimal" for r in rows)
    bad = [r for r in rows if not r["agree"]]
    print(f"{len(rows)} instances, {optimal} of them optimal, the others ended otherwise: "
          f"{len(rows) - len(bad)} agree, {len(bad)} disagree; rows appended to {a.out}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
