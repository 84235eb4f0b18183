"""Differential soak: random generated instances, each solved three ways through the CLI and by an
independent build of the model, then verified.

    python benchmarks/differential.py [--first 0] [--count 200] [--gap 1e-4] [--limits]
        [--independent-limit 120] [--larger] [--all-features] [--out results/differential.csv]

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

Each instance is also solved by the independent build of `benchmarks/plain_highspy.py` (the
model written row by row from the instance files, without planner's model code, handed to
highspy; an instance with events is expanded first by `planner scenarios`, a multi-stage one
says so in its instance.toml), in a process of its own with one thread and a time limit
(`--independent-limit`, 120 s): it must end as planner does (both infeasible, or both with a
plan), an optimum within twice the gap of planner's, and where the limit stopped it, its plan
no cheaper than planner's optimum and its bound no higher (`independent_disagreements`). This
catches a fault the three runs share: a row planner's model has and the model's definition does
not, or one it lacks.

With `--limits`, each instance is also solved twice with `--node-limit 1` and once with
`--time-limit 0.2` (`limit_disagreements`): the two node-limited runs must write the same files
(a node limit does not depend on the machine's speed), every limited result must verify, and no
limited plan may cost less than the optimum, nor its bound lie above it.

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
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from records import REPO, append_rows, scenarios_written

COLUMNS = ["date", "machine", "code", "limits", "seed", "shape", "multi_stage", "outcome", "method", "rounds",
           "objective", "objective_whole_model", "phase_path_s", "whole_model_s", "two_workers_s",
           "independent", "objective_independent", "independent_s", "agree", "problems"]
PATHS = {"phase": [], "whole-model": ["--no-decomposition"], "two-workers": ["--workers", "2"]}
LIMITED = {"node-limit": ["--node-limit", "1"], "node-limit-again": ["--node-limit", "1"],
           "time-limit": ["--time-limit", "0.2"]}


def shape(seed: int, larger: bool = False, all_features: bool = False) -> tuple[list[str], bool]:
    """`planner generate` options of the instance of this seed, and whether it is solved multi-stage;
    `larger`: up to the ladder's M (3-6 materials, 8-15 options, 4-8 periods, 20-50 scenarios or 4-8
    events), drawn from the seed the same way; `all_features`: also `--lead-times`,
    `--price-shocks` and `--supplied-limits`, each half the time (drawn apart, so that the other
    options are the seed's without it)."""
    rng = random.Random(seed)
    args = ["--commodities", str(rng.randint(3, 6) if larger else rng.randint(1, 5)),
            "--options", str(rng.randint(8, 15) if larger else rng.randint(2, 12)),
            "--periods", str(rng.randint(4, 8) if larger else rng.randint(1, 6)), "--seed", str(seed),
            "--aversion", str(rng.choice([0, 0.3, 0.3, 1]))]
    if rng.random() < 0.3:
        args += ["--events", str(rng.randint(4, 8) if larger else rng.randint(1, 6))]
    else:
        args += ["--scenarios", str(rng.choice([20, 30, 30, 50, 50]) if larger else rng.choice([1, 2, 5, 12, 30]))]
    if rng.random() < 0.5:
        args += ["--budget-share", str(rng.choice([0.02, 0.05, 0.1, 0.2]))]
    if rng.random() < 0.4:
        args += ["--shared-agreements", str(rng.randint(1, 3))]
    if rng.random() < 0.25:
        args += ["--ambiguity", str(rng.choice([0.1, 0.3]))]
    if all_features:
        features = random.Random(f"features-{seed}")
        args += [switch for switch in ("--lead-times", "--price-shocks", "--supplied-limits")
                 if features.random() < 0.5]
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


def limit_disagreements(optimum: dict, limited: dict[str, dict], same_files: bool, verify_codes: dict[str, int],
                        gap: float) -> list[str]:
    """What is wrong with the limited runs of one instance (`limited` by path name, each the JSON of
    `planner solve --json`), given the unlimited phase's answer, whether the two node-limited runs
    wrote the same files, and the exit codes of `planner verify` on the limited results written."""
    found = []
    twice = [outcome(limited[path]) for path in ("node-limit", "node-limit-again")]
    if twice[0] != twice[1] or (limited["node-limit"].get("ok") and not same_files):
        found.append(f"two runs with the same node limit gave other results ({twice[0]}, {twice[1]})")
    found += [f"planner verify failed on the {path} result (exit {code})"
              for path, code in verify_codes.items() if code]
    if outcome(optimum) == "optimal":
        best = optimum["summary"]["objective"]
        slack = 2 * gap * max(abs(best), 1.0)
        for path, answer in limited.items():
            if not answer.get("ok"):
                continue
            plan, bound = answer["summary"]["objective"], answer["summary"]["best_bound"]
            if plan < best - slack:
                found.append(f"the {path} plan costs {plan!r}, less than the optimum {best!r}")
            if bound is not None and bound > best + slack:
                found.append(f"the {path} bound {bound!r} lies above the optimum {best!r}")
    return found


# How HiGHS names the ends of the independent build that hold no plan because there is none
_NO_PLAN = ("Infeasible", "Primal infeasible or unbounded")


def independent_disagreements(optimum: dict, plain: dict, gap: float) -> list[str]:
    """What is wrong between planner's unlimited answer (`optimum`, the JSON of `planner solve
    --json`) and the independent build's (`plain`, the JSON `plain_highspy.py` prints, or
    {"status": "crash ..."} when it printed none): both must find the instance infeasible, or
    neither; an optimum of both lies within twice the gap; a plan or bound of a build stopped by
    its time limit must not beat planner's optimum."""
    status, end = plain.get("status", "no answer"), outcome(optimum)
    said = f"the independent build ended '{status}'"
    if end == "error: infeasible":
        if status in _NO_PLAN:
            return []
        return [f"planner found no plan, but {said}"
                + (f" with a plan of {plain['objective']!r}" if plain.get("objective") is not None else "")]
    if end != "optimal":  # (planner's own runs are compared by `disagreements`)
        return []
    best = optimum["summary"]["objective"]
    if status in _NO_PLAN or status.startswith("crash"):
        return [f"planner found the optimum {best!r}, but {said}"]
    slack = 2 * gap * max(abs(best), 1.0)
    found = []
    plan, bound = plain.get("objective"), plain.get("bound")
    if status == "Optimal" and plan is not None and abs(plan - best) > slack:
        found.append(f"the independent build's optimum {plan!r} and planner's {best!r} differ by more than twice "
                     "the gap")
    elif plan is not None and plan < best - slack:
        found.append(f"{said} with a plan of {plan!r}, cheaper than planner's optimum {best!r}")
    if bound is not None and bound > best + slack:
        found.append(f"{said} with a bound {bound!r} above planner's optimum {best!r}")
    return found


def independent(instance: Path, work: Path, gap: float, time_limit: float, multi: bool = False) -> dict:
    """The independent build's answer on `instance`, multi-stage if `multi` (on a copy in `work`
    that says so in its instance.toml, as `planner solve --multi-stage` does, its events expanded
    first): the JSON `plain_highspy.py` prints, or {"status": "crash ..."}."""
    copy = work / f"{instance.name}-independent"
    if (instance / "events.csv").exists():
        try:
            instance = scenarios_written(instance, copy)
        except subprocess.CalledProcessError as exc:
            return {"status": f"crash (planner scenarios: exit {exc.returncode})"}
    elif multi:
        instance = Path(shutil.copytree(instance, copy))
    if multi:
        settings = instance / "instance.toml"
        if "decisions" in tomllib.loads(settings.read_text(encoding="utf-8")):
            raise SystemExit(f"{settings}: has a [decisions] table already; the soak's --multi-stage cannot be "
                             "added to it")
        with open(settings, "a", encoding="utf-8") as fh:
            fh.write('\n[decisions]\nstages = "multi"\n')
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "plain_highspy.py"), str(instance), "--gap",
                           repr(gap), "--threads", "1", "--time-limit", repr(time_limit)],
                          capture_output=True, text=True, cwd=REPO)
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return {"status": f"crash (exit {done.returncode})"}


def _planner(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "planner.cli", *args], capture_output=True, text=True, cwd=REPO)


def _same_files(written: dict[str, Path], one: str, other: str) -> bool:
    return one in written and other in written and all(
        filecmp.cmp(f, written[other] / f.name, shallow=False) for f in written[one].glob("*.csv"))


def one(seed: int, gap: float, work: Path, limits: bool = False, independent_limit: float = 120.0,
        larger: bool = False, all_features: bool = False) -> dict:
    args, multi = shape(seed, larger, all_features)
    instance = work / f"instance-{seed}"
    made = _planner("generate", *args, str(instance))
    if made.returncode:
        raise SystemExit(f"seed {seed}: planner generate failed:\n{made.stderr}")
    answers, seconds, results = {}, {}, {}
    for path, extra in {**PATHS, **(LIMITED if limits else {})}.items():
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
    verify_codes = {path: _planner("verify", str(instance), str(folder), "-q").returncode
                    for path, folder in written.items() if path not in ("two-workers", "node-limit-again")}
    problems = disagreements({path: answers[path] for path in PATHS}, _same_files(written, "phase", "two-workers"),
                             {path: code for path, code in verify_codes.items() if path in PATHS}, gap)
    if limits:
        problems += limit_disagreements(answers["phase"], {path: answers[path] for path in LIMITED},
                                        _same_files(written, "node-limit", "node-limit-again"),
                                        {path: code for path, code in verify_codes.items() if path in LIMITED}, gap)
    started = time.perf_counter()
    plain = independent(instance, work, gap, independent_limit, multi)
    seconds["independent"] = time.perf_counter() - started
    problems += independent_disagreements(answers["phase"], plain, gap)
    summary = answers["phase"].get("summary", {})
    return {"seed": seed, "shape": " ".join(args), "multi_stage": multi, "outcome": outcome(answers["phase"]),
            "method": summary.get("method", ""), "rounds": summary.get("decomposition_rounds", ""),
            "objective": summary.get("objective", ""),
            "objective_whole_model": answers["whole-model"].get("summary", {}).get("objective", ""),
            "phase_path_s": round(seconds["phase"], 2), "whole_model_s": round(seconds["whole-model"], 2),
            "two_workers_s": round(seconds["two-workers"], 2), "independent": plain.get("status", "").lower(),
            "objective_independent": plain.get("objective", ""),
            "independent_s": round(seconds["independent"], 2),
            "agree": not problems, "problems": "; ".join(problems)}


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
    parser.add_argument("--limits", action="store_true",
                        help="also solve each instance twice with --node-limit 1 and once with --time-limit 0.2")
    parser.add_argument("--larger", action="store_true",
                        help="instances up to the ladder's M (3-6 materials, 8-15 options, 4-8 periods, 20-50 "
                             "scenarios or 4-8 events) instead of small ones")
    parser.add_argument("--all-features", action="store_true",
                        help="also draw lead times, price shocks and supplied-basis limits (planner generate's "
                             "--lead-times, --price-shocks, --supplied-limits), each half the time")
    parser.add_argument("--independent-limit", type=float, default=120.0,
                        help="seconds the independent build (plain_highspy.py) may take on one instance")
    parser.add_argument("--out", type=Path, default=REPO / "results" / "differential.csv")
    a = parser.parse_args()
    stamp = {"date": datetime.date.today().isoformat(), "machine": platform.node() or "unknown", "code": _commit()}
    rows = []
    with tempfile.TemporaryDirectory(prefix="planner-differential-") as work:
        for seed in range(a.first, a.first + a.count):
            row = {**stamp, "limits": a.limits, **one(seed, a.gap, Path(work), a.limits, a.independent_limit, a.larger,
                                                                a.all_features)}
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
