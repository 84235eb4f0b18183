"""The benchmark scripts' bookkeeping (benchmarks/): what they record must be what was measured.

No solve runs here: the rows are made up, so the figures derived from them are known.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pandas as pd
import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from differential import disagreements, independent_disagreements, limit_disagreements, shape  # noqa: E402
from families import markdown, summaries  # noqa: E402
from records import append_rows  # noqa: E402


def _row(family: str, seed: int, path: str, total: float, objective: float, method: str = "x",
         tiebreak: float = 0.0) -> dict:
    return {"family": family, "seed": seed, "path": path, "total_s": total, "objective": objective,
            "method": method, "tiebreak_s": tiebreak}


def test_a_familys_summary_is_its_median_worst_and_ratios_to_the_plain_build():
    """Median and worst of each path, how many the phase proved, the median of the per-seed ratios to
    plain highspy (with and without the tie-break stage), and 'same optimum' only within 2 gaps."""
    rows = [_row("lambda1", 0, "planner", 2.0, 100.0, "decomposition", tiebreak=1.0),
            _row("lambda1", 1, "planner", 6.0, 200.0, tiebreak=2.0),
            _row("lambda1", 2, "planner", 3.0, 300.0, "decomposition", tiebreak=0.0),
            _row("lambda1", 0, "plain-highspy", 10.0, 100.0),
            _row("lambda1", 1, "plain-highspy", 20.0, 200.0 * (1 + 1e-4)),
            _row("lambda1", 2, "plain-highspy", 60.0, 300.0),
            _row("budget", 0, "planner", 1.0, 50.0),
            _row("budget", 0, "plain-highspy", 4.0, 50.1)]
    found = {(f["family"], f["path"]): f for f in summaries(rows, ["lambda1", "budget"],
                                                            ["planner", "plain-highspy"], 1e-4)}
    planner = found[("lambda1", "planner")]
    assert (planner["median_total_s"], planner["worst_total_s"]) == (3.0, 6.0)
    assert planner["proven_by_phase"] == "2 of 3" and planner["seeds"] == "0,1,2"
    assert planner["median_vs_plain"] == pytest.approx(0.2)  # 0.2, 0.3, 0.05
    assert planner["median_vs_plain_first_stage"] == pytest.approx(0.1)  # 0.1, 0.2, 0.05
    assert planner["same_optimum"] == "yes"  # 1e-4 apart: within twice the gap
    assert found[("lambda1", "plain-highspy")]["median_vs_plain"] is None
    assert found[("budget", "planner")]["same_optimum"] == "no"  # 0.2% apart
    table = markdown(list(found.values()))
    assert "| lambda1 | planner | 3.0 | 6.0 | 2 of 3 | yes | 0.20x | 0.10x |" in table


def test_appending_with_new_columns_keeps_the_old_rows(tmp_path):
    """A figures file written with fewer columns is rewritten with the new ones, old rows kept
    (their new columns empty), and new rows appended after them."""
    out = tmp_path / "figures.csv"
    append_rows(out, [{"a": 1, "b": 2}], ["a", "b"])
    append_rows(out, [{"a": 3, "b": 4, "c": 5}], ["a", "b", "c"])
    append_rows(out, [{"a": 6, "c": 7}], ["a", "b", "c"])
    with open(out, newline="") as fh:
        assert list(csv.DictReader(fh)) == [{"a": "1", "b": "2", "c": ""}, {"a": "3", "b": "4", "c": "5"},
                                            {"a": "6", "b": "", "c": "7"}]


def _answer(objective: float | None = None, kind: str = "infeasible", status: str = "optimal",
            bound: float | None = None) -> dict:
    if objective is None:
        return {"ok": False, "error": {"kind": kind}}
    return {"ok": True, "summary": {"status": status, "objective": objective,
                                    "best_bound": objective if bound is None else bound}}


def test_the_differential_soak_flags_each_kind_of_disagreement():
    """Three runs agree when they end alike, their optima lie within twice the gap, two workers wrote
    the same files and verify passes; each departure is named, and only that one."""
    ok_verify = {"phase": 0, "whole-model": 0}
    same = {"phase": _answer(100.0), "whole-model": _answer(100.0 * (1 + 1.9e-4)), "two-workers": _answer(100.0)}
    assert disagreements(same, True, ok_verify, 1e-4) == []
    apart = {**same, "whole-model": _answer(100.0 * (1 + 2.1e-4))}
    assert [p.split(" (")[0] for p in disagreements(apart, True, ok_verify, 1e-4)] == ["objectives 100.0"]
    assert disagreements(same, False, ok_verify, 1e-4) == ["two workers wrote other results than one"]
    other_plan = {**same, "two-workers": _answer(100.0 + 1e-9)}
    assert disagreements(other_plan, True, ok_verify, 1e-4) == ["two workers wrote other results than one"]
    assert disagreements(same, True, {"phase": 0, "whole-model": 8}, 1e-4) == [
        "planner verify failed on the whole-model result (exit 8)"]
    infeasible = {path: _answer() for path in same}
    assert disagreements(infeasible, True, {}, 1e-4) == []
    one_infeasible = {**same, "whole-model": _answer()}
    assert disagreements(one_infeasible, True, ok_verify, 1e-4) == [
        "the runs ended differently: phase optimal, whole-model error: infeasible, two-workers optimal"]
    other_error = {**infeasible, "two-workers": _answer(kind="crash (exit -9)")}
    assert len(disagreements(other_error, True, {}, 1e-4)) == 1


def test_the_differential_soaks_shapes_come_from_their_seeds_and_span_the_families():
    """The same seed draws the same instance; 200 seeds draw every family the soak is for."""
    assert [shape(seed) for seed in range(20)] == [shape(seed) for seed in range(20)]
    drawn = [shape(seed) for seed in range(200)]
    for option in ("--events", "--scenarios", "--budget-share", "--shared-agreements", "--ambiguity"):
        assert 10 <= sum(option in args for args, _ in drawn) <= 190, option
    assert 10 <= sum(multi for _, multi in drawn) <= 80
    assert {args[args.index("--aversion") + 1] for args, _ in drawn} == {"0", "0.3", "1"}
    larger = [shape(seed, larger=True)[0] for seed in range(200)]
    assert larger == [shape(seed, larger=True)[0] for seed in range(200)]

    def spread(option: str, drawn: list[list[str]]) -> set[int]:
        return {int(args[args.index(option) + 1]) for args in drawn if option in args}

    for option, low, high in (("--commodities", 3, 6), ("--options", 8, 15), ("--periods", 4, 8),
                              ("--scenarios", 20, 50), ("--events", 4, 8)):
        assert min(spread(option, larger)) == low and max(spread(option, larger)) == high, option
    assert max(spread("--scenarios", [args for args, _ in drawn])) == 30  # the small ones stay small
    featured = [shape(seed, all_features=True) for seed in range(200)]
    for (args, multi), (plain, plain_multi) in zip(featured, drawn):  # the rest as the seed gives it without
        assert multi == plain_multi and args[:len(plain)] == plain
        assert set(args[len(plain):]) <= {"--lead-times", "--price-shocks", "--supplied-limits"}
    for switch in ("--lead-times", "--price-shocks", "--supplied-limits"):
        assert 60 <= sum(switch in args for args, _ in featured) <= 140, switch


def test_the_differential_soak_checks_limited_runs_against_the_optimum():
    """Two runs with the same node limit write the same files; a limited plan never costs less than
    the optimum and its bound never lies above it (each within twice the gap); verify passes."""
    optimum = _answer(100.0)
    sound = {"node-limit": _answer(101.0, status="node_limit", bound=99.0),
             "node-limit-again": _answer(101.0, status="node_limit", bound=99.0),
             "time-limit": _answer(100.0 * (1 - 1.9e-4), status="time_limit", bound=100.0 * (1 + 1.9e-4))}
    verified = {"node-limit": 0, "time-limit": 0}
    assert limit_disagreements(optimum, sound, True, verified, 1e-4) == []
    assert limit_disagreements(optimum, sound, False, verified, 1e-4) == [
        "two runs with the same node limit gave other results (node_limit, node_limit)"]
    other_end = {**sound, "node-limit-again": _answer(100.0)}
    assert len(limit_disagreements(optimum, other_end, True, verified, 1e-4)) == 1
    cheaper = {**sound, "time-limit": _answer(99.9, status="time_limit", bound=99.0)}
    assert [p.split(" costs")[0] for p in limit_disagreements(optimum, cheaper, True, verified, 1e-4)] == [
        "the time-limit plan"]
    above = {**sound, "time-limit": _answer(101.0, status="time_limit", bound=100.1)}
    assert [p.split(" bound")[0] for p in limit_disagreements(optimum, above, True, verified, 1e-4)] == [
        "the time-limit"]
    assert limit_disagreements(optimum, sound, True, {"node-limit": 0, "time-limit": 8}, 1e-4) == [
        "planner verify failed on the time-limit result (exit 8)"]
    none = {path: _answer() for path in sound}
    assert limit_disagreements(_answer(), none, False, {}, 1e-4) == []


def test_the_differential_soak_holds_planner_against_the_independent_build():
    """The independent build (plain_highspy.py) agrees when it ends as planner does, its optimum within
    twice the gap of planner's; stopped by its limit, its plan must not be cheaper than planner's
    optimum nor its bound above it. Each departure is named, and only that one."""
    optimum = _answer(100.0)
    assert independent_disagreements(optimum, {"status": "Optimal", "objective": 100.0 * (1 + 1.9e-4),
                                               "bound": 99.99}, 1e-4) == []
    apart = independent_disagreements(optimum, {"status": "Optimal", "objective": 100.0 * (1 + 2.1e-4),
                                                 "bound": 100.02}, 1e-4)
    assert [p.split(" and")[0] for p in apart] == ["the independent build's optimum 100.021"]
    stopped = {"status": "Time limit reached", "objective": 104.0, "bound": 97.0}
    assert independent_disagreements(optimum, stopped, 1e-4) == []
    assert independent_disagreements(optimum, {"status": "Time limit reached", "objective": None,
                                               "bound": 97.0}, 1e-4) == []
    cheaper = independent_disagreements(optimum, {**stopped, "objective": 99.9}, 1e-4)
    assert [p.split(" with")[1] for p in cheaper] == [" a plan of 99.9, cheaper than planner's optimum 100.0"]
    above = independent_disagreements(optimum, {**stopped, "bound": 100.1}, 1e-4)
    assert [p.split(" with")[1] for p in above] == [" a bound 100.1 above planner's optimum 100.0"]
    for status in ("Infeasible", "Primal infeasible or unbounded", "crash (exit 1)"):
        assert independent_disagreements(optimum, {"status": status}, 1e-4) == [
            f"planner found the optimum 100.0, but the independent build ended '{status}'"]
        assert independent_disagreements(_answer(), {"status": status}, 1e-4) == (
            [] if "infeasible" in status.lower() else
            [f"planner found no plan, but the independent build ended '{status}'"])
    assert independent_disagreements(_answer(), {"status": "Optimal", "objective": 0.0, "bound": 0.0}, 1e-4) == [
        "planner found no plan, but the independent build ended 'Optimal' with a plan of 0.0"]
    # planner's other ends are held against its own runs (`disagreements`), not against the build
    crashed = _answer(kind="crash (exit -9)")
    assert independent_disagreements(crashed, {"status": "Optimal", "objective": 1.0}, 1e-4) == []


def test_a_bundled_variant_written_as_files_is_the_variant_in_memory(tmp_path):
    """The files the independent build reads for a variant hold what `apply_values` makes of it in
    memory: settings in instance.toml, option cells in options.csv; the rest as it was."""
    from bundled_variants import as_answer, written

    from planner.instance.bundled import resolve_instance
    from planner.instance.loader import load_instance
    from planner.instance.overrides import apply_values

    base = load_instance(resolve_instance("four-suppliers"))
    values = {"risk.aversion": 0.8, "risk.cvar_alpha": 0.95, "risk.ambiguity": 0.1, "options.RU1.capacity": 5000,
              "options.CN2.capacity": 0, "budget.fixed_cost_max": 1e8}
    in_memory = apply_values(base, values)
    on_file = load_instance(written(base.path, values, tmp_path / "variant"))
    for setting in ("risk_aversion", "cvar_alpha", "ambiguity", "fixed_cost_max", "discount_rate", "periods"):
        assert getattr(on_file, setting) == getattr(in_memory, setting), setting
    assert (on_file.risk_aversion, on_file.fixed_cost_max) == (0.8, 1e8)  # (not the base's)
    for name, table in in_memory.tables.items():
        pd.testing.assert_frame_equal(on_file.tables[name].drop(columns="_row"), table.drop(columns="_row"),
                                      check_dtype=False, obj=name)
    assert as_answer(("optimal", 5.0, 5.0, 1.0)) == {"ok": True, "summary": {"status": "optimal", "objective": 5.0}}
    assert as_answer(("infeasible", None, None, 1.0)) == {"ok": False, "error": {"kind": "infeasible"}}
    assert as_answer(("error: time_limit", None, None, 1.0)) == {"ok": False, "error": {"kind": "time_limit"}}


def test_bundled_variants_agree_only_within_the_gap_and_on_the_same_end():
    """Two solves agree when each plan costs no less than the other's bound, less the gap, or when
    both end the same way without a plan; and a variant's values come from its seed alone."""
    from bundled_variants import agree, variant

    from planner.instance.bundled import resolve_instance
    from planner.instance.loader import load_instance

    assert agree(("optimal", 100.0, 99.995, 1.0), ("optimal", 100.004, 99.999, 1.0))
    assert not agree(("optimal", 100.0, 100.0, 1.0), ("optimal", 100.5, 100.5, 1.0))  # a better plan than a bound
    assert agree(("infeasible", None, None, 1.0), ("infeasible", None, None, 2.0))
    assert not agree(("optimal", 100.0, 100.0, 1.0), ("infeasible", None, None, 2.0))
    base = load_instance(resolve_instance("us-critical-minerals"))
    assert variant(base, 7) == variant(base, 7) and variant(base, 7) != variant(base, 8)
