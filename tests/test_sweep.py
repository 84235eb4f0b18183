"""planner sweep: keys, grids, equality with single solves, resumability, failures, Dask."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import FOUR_SUPPLIERS, four_suppliers

from planner import cli
from planner.errors import OverrideError
from planner.instance.loader import load_instance
from planner.instance.overrides import apply_values, whole_number_key
from planner.solve.pipeline import solve_instance
from planner.studies.runs import grid, parse_values, parse_vary
from planner.studies.sweep import RUNS, run_sweep

AVERSIONS = [0.0, 0.25, 0.5, 0.75, 1.0]


def test_values_and_grids():
    assert parse_values("0:1:5") == AVERSIONS
    assert parse_values("0.1,0.5") == [0.1, 0.5]
    with pytest.raises(OverrideError):
        parse_values("0:1:x")
    runs = grid([parse_vary("risk.aversion=0,1"), parse_vary("limits.bloc:china:*.max_share=0.5,1")])
    assert len(runs) == 4 and len({r.id for r in runs}) == 4
    swapped = grid([parse_vary("limits.bloc:china:*.max_share=0.5,1"), parse_vary("risk.aversion=0,1")])
    assert {r.id for r in swapped} == {r.id for r in runs}  # ids depend on the values, not the order
    # a row named with "=" (an agreement "Accord = 1"): the values are after the last "=", and
    # the key was cut at the first, so that the values read ' 1.fixed_cost=0,4' (found by a hunt)
    assert parse_vary("agreements.Accord = 1.fixed_cost=0,4") == ("agreements.Accord = 1.fixed_cost", [0.0, 4.0])


def test_a_slip_in_the_values_of_vary_is_named_not_dropped():
    """'0,,1' ran 2 runs without a word (the value between the commas dropped), 'risk.aversion='
    said "the sweep has no runs: give --vary or --design" to a user who gave --vary, and a count
    of 0 or 2.5 said only what the form is. Each slip is named; a trailing comma, as lists typed
    by hand have, still reads as the list."""
    assert parse_values("0,1,") == [0.0, 1.0]
    for text, said in (("0,,1", "'0,,1': a value is missing between two commas"),
                       ("", "no values after '='"),
                       ("0:1:0", "the count of start:stop:count is a whole number of at least 1, not '0'"),
                       ("0:1:2.5", "not '2.5'"), ("0:1:inf", "not 'inf'")):
        with pytest.raises(OverrideError, match=re.escape(said)):
            parse_values(text)


def test_keys_address_settings_cells_and_probabilities():
    inst = load_instance(FOUR_SUPPLIERS)
    changed = apply_values(inst, {"risk.aversion": 1, "options.CN1.capacity": 80,
                                  "scenarios.none-cut.probability": 0.6})
    assert changed.risk_aversion == 1 and inst.risk_aversion == 0.5  # the original is untouched
    assert changed.options.set_index("option").at["CN1", "capacity"] == 80
    probabilities = changed.scenarios.set_index("scenario")["probability"]
    assert probabilities["none-cut"] == 0.6 and probabilities.sum() == pytest.approx(1.0)
    assert probabilities["cut-china"] == pytest.approx(0.126 * 0.4 / 0.496)
    for key, message in [("options.CN9.capacity", "no row 'CN9'"), ("options.CN1.capacty", "did you mean 'capacity'"),
                         ("risk.aversio", "did you mean 'risk.aversion'"), ("options.CN1.origin", "no numeric column")]:
        with pytest.raises(OverrideError, match=message):
            apply_values(inst, {key: 1})
    with pytest.raises(OverrideError, match="out of range"):
        apply_values(inst, {"risk.aversion": 2})
    # "what does excluding China cost?" on an instance without limits.csv said "(rows: )": it now says how
    with pytest.raises(OverrideError, match=r"four-suppliers has no rows in limits.csv; a sweep varies what the "
                       r"instance holds: add the row to limits.csv first \(ROW is its scope, name, commodity"):
        apply_values(inst, {"limits.bloc:china:*.max_share": 0})


def test_runs_that_share_a_point_of_the_frontier_share_its_label():
    """At risk aversion 0.5 and 1 four-suppliers has one plan: the frontier drew "0.5" and left the
    run at 1 unlabelled (a label within 3% of another was skipped). It reads "0.5, 1"."""
    from planner.studies.charts import sweep_figures

    table = pd.DataFrame({"risk.aversion": [0.0, 0.5, 1.0], "status": ["optimal"] * 3,
                          "objective": [16500.0, 23736.84, 30131.58], "expected_cost": [16500.0, 17342.11, 17342.11],
                          "cvar": [40500.0, 30131.58, 30131.58]})
    figure = sweep_figures(table, ["risk.aversion"], "USD")["frontier.png"]
    assert sorted(text.get_text() for text in figure.axes[0].texts) == ["0", "0.5, 1"]


def test_aversion_sweep_matches_single_solves_and_traces_a_frontier(tmp_path):
    table = run_sweep(FOUR_SUPPLIERS, grid([("risk.aversion", AVERSIONS)]), tmp_path / "sw", workers=2)
    assert list(table.columns[:3]) == ["risk.aversion", "id", "status"]
    assert len(table) == 5 and (table["status"] == "optimal").all()
    for aversion, row in zip(AVERSIONS, table.itertuples(index=False)):
        alone = solve_instance(four_suppliers(tmp_path / f"alone-{aversion}", aversion=aversion))
        assert row.objective == pytest.approx(alone.figures.objective, rel=1e-9)
        assert row.expected_cost == pytest.approx(alone.figures.expected_cost, rel=1e-9)
    tolerance = 1e-9 * table["objective"].abs().max()  # rounding, not a change of plan
    assert (table["expected_cost"].diff().dropna() >= -tolerance).all()  # does not fall
    assert (table["cvar"].diff().dropna() <= tolerance).all()  # does not rise
    assert table.loc[0, "objective"] == pytest.approx(16500) and table.loc[4, "objective"] == pytest.approx(30131.58)


def test_interrupted_sweep_resumes_without_redoing_finished_runs(tmp_path):
    runs = grid([("risk.aversion", AVERSIONS)])
    out = tmp_path / "sw"
    run_sweep(FOUR_SUPPLIERS, runs[:2], out, workers=1)  # "killed" after two runs
    stamps = {r.id: (out / RUNS / r.id / "summary.json").stat().st_mtime_ns for r in runs[:2]}
    finished = []
    table = run_sweep(FOUR_SUPPLIERS, runs, out, workers=2, on_done=lambda run_id, _: finished.append(run_id))
    assert sorted(finished) == sorted(r.id for r in runs[2:])
    assert {r.id: (out / RUNS / r.id / "summary.json").stat().st_mtime_ns for r in runs[:2]} == stamps
    assert len(table) == 5 and (table["status"] == "optimal").all()


def test_a_failed_run_is_recorded_and_the_rest_go_on(tmp_path):
    runs = grid([("commodities.rare_earth_oxide.service_level", [0.0, 0.99])])
    table = run_sweep(FOUR_SUPPLIERS, runs, tmp_path / "sw", workers=1).set_index(
        "commodities.rare_earth_oxide.service_level")
    assert table.at[0.0, "status"] == "optimal"
    assert table.at[0.99, "status"] == "infeasible" and "service level 0.99 cannot be met" in table.at[0.99, "reason"]


def test_cli_sweep_writes_table_charts_and_refuses_unknown_keys(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    bad = runner.invoke(cli.main, ["sweep", "four-suppliers", "--vary", "options.XX.capacity=1,2", "--out", "sw"])
    assert bad.exit_code == cli.EXIT_INVALID_INPUT and "no row 'XX'" in bad.output
    assert not (tmp_path / "sw").exists()
    (tmp_path / "design.csv").write_text("options.CN1.capacity,limits.bloc:china:*.max_share\n100,1\n50,0.5\n")
    (tmp_path / "inst").mkdir()
    for f in FOUR_SUPPLIERS.iterdir():
        (tmp_path / "inst" / f.name).write_text(f.read_text())
    (tmp_path / "inst" / "limits.csv").write_text("scope,name,commodity,max_share\nbloc,china,*,1\n")
    ok = runner.invoke(cli.main, ["sweep", "inst", "--design", "design.csv", "--out", "sw", "--workers", "1"])
    assert ok.exit_code == 0, ok.output
    table = pd.read_csv(tmp_path / "sw" / "sweep.csv")
    assert len(table) == 2 and (tmp_path / "sw" / "options.CN1.capacity.png").exists()
    frontier = runner.invoke(cli.main, ["sweep", "four-suppliers", "--vary", "risk.aversion=0:1:3", "--out", "f"])
    assert frontier.exit_code == 0 and (tmp_path / "f" / "frontier.png").exists()


def test_verify_and_evaluate_take_a_sweep_run_with_its_values(tmp_path, monkeypatch):
    """`planner verify INSTANCE SWEEP/runs/ID` checked the run against the instance without the
    run's values: a run at risk aversion 1 of an instance at 0.5 had its bound 'above the
    objective' (3 violations), and `planner evaluate` evaluated its plan at 0.5. The run's
    summary.json records its values; both apply them and say so: the run holds, its evaluation
    on its own scenarios is its objective and holds too. Without them it would not: they are
    what is checked."""
    import json

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    made = runner.invoke(cli.main, ["sweep", "four-suppliers", "--vary", "risk.aversion=0,1", "--out", "sw",
                                    "--workers", "1"])
    assert made.exit_code == 0, made.output
    runs = sorted(path for path in (tmp_path / "sw" / RUNS).iterdir() if path.is_dir())
    assert len(runs) == 2
    for run in runs:
        checked = runner.invoke(cli.main, ["verify", "four-suppliers", str(run)])
        assert checked.exit_code == 0, checked.output
        assert "note: checked with the values of its sweep run: risk.aversion=" in checked.output
    run = next(run for run in runs if json.loads((run / "summary.json").read_text())["risk_aversion"] == 1)
    summary = run / "summary.json"
    document = json.loads(summary.read_text())
    # evaluate took the run's plan to the instance's aversion, 0.5: its own scenarios gave another objective
    evaluated = runner.invoke(cli.main, ["evaluate", "four-suppliers", str(run), "--out", "ev"])
    assert evaluated.exit_code == 0 and "evaluated with its values: risk.aversion=1" in evaluated.output
    assert json.loads((tmp_path / "ev" / "summary.json").read_text())["objective"] == \
        pytest.approx(document["objective"], rel=1e-9)
    assert runner.invoke(cli.main, ["verify", "four-suppliers", "ev"]).exit_code == 0
    document["sweep_values"] = {"risk.aversion": 0.5}  # the instance's own: not the run's
    summary.write_text(json.dumps(document))
    assert runner.invoke(cli.main, ["verify", "four-suppliers", str(run)]).exit_code == cli.EXIT_VERIFY_FAILED
    document["sweep_values"] = {"risk.aversion": "high"}
    summary.write_text(json.dumps(document))
    damaged = runner.invoke(cli.main, ["verify", "four-suppliers", str(run)])
    assert damaged.exit_code == cli.EXIT_INVALID_INPUT and "sweep_values must map keys to numbers" in damaged.output


def test_a_sweep_run_without_a_plan_is_named_so_by_its_readers(tmp_path, monkeypatch):
    """verify, evaluate, report and compare of a sweep run that ended infeasible said
    "summary.json: is missing" or "not a results folder": its folder holds failed.json instead.
    Each now says it is a run that ended without a plan, how, and where it says why (exit 3).
    verify and evaluate of the sweep's own folder said "summary.json: is missing" too: they
    now ask for one of its runs."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    made = runner.invoke(cli.main, ["sweep", "four-suppliers", "--vary",
                                    "commodities.rare_earth_oxide.min_suppliers=1,5", "--out", "sw", "--workers", "1"])
    assert made.exit_code == 0, made.output
    table = pd.read_csv(tmp_path / "sw" / "sweep.csv")
    failed = table.loc[table["status"] == "infeasible", "id"].item()
    solved = table.loc[table["status"] == "optimal", "id"].item()
    run, other = f"sw/{RUNS}/{failed}", f"sw/{RUNS}/{solved}"
    for args in (["verify", "four-suppliers", run], ["evaluate", "four-suppliers", run], ["report", run],
                 ["compare", other, run, "--out", "cmp"]):
        result = runner.invoke(cli.main, args)
        assert result.exit_code == cli.EXIT_INVALID_INPUT, (args, result.output)
        assert f"{run}: a sweep run that ended without a plan (infeasible; failed.json says why)" in result.output
    for args in (["verify", "four-suppliers", "sw"], ["evaluate", "four-suppliers", "sw"]):  # the sweep, not a run
        result = runner.invoke(cli.main, args)
        assert result.exit_code == cli.EXIT_INVALID_INPUT, (args, result.output)
        assert f"sw: a sweep's folder, not one result: give one of its runs, in sw/{RUNS}" in result.output
    alone = runner.invoke(cli.main, ["compare", "sw", "--out", "cmp"])  # one run with a plan: nothing to line up
    assert alone.exit_code == cli.EXIT_INVALID_INPUT
    assert "compare needs two or more results with a plan; 1 found in sw (a sweep counts as its runs" in alone.output


def test_dask_cluster_gives_the_same_table(tmp_path):
    distributed = pytest.importorskip("distributed")
    runs = grid([("risk.aversion", AVERSIONS)])
    local = run_sweep(FOUR_SUPPLIERS, runs, tmp_path / "local", workers=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
        remote = run_sweep(FOUR_SUPPLIERS, runs, tmp_path / "dask", scheduler=c.scheduler_address)
    figures = ["risk.aversion", "id", "status", "objective", "expected_cost", "cvar", "fixed_cost", "options_selected"]
    pd.testing.assert_frame_equal(local[figures], remote[figures])


def test_report_of_a_sweep_folder(tmp_path):
    runs = grid([("risk.aversion", [0.0, 0.5, 1.0])])
    run_sweep(FOUR_SUPPLIERS, runs, tmp_path / "sw", workers=1)
    result = CliRunner().invoke(cli.main, ["report", str(tmp_path / "sw")])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "sw" / "report.html").read_text()
    assert 'id="chart-frontier"' in html and html.count("<svg") == 1
    assert html.count("<tr") == 1 + 3  # header and one row per run
    # the instance swept is named (the report named only the folder)
    assert "<h1>Sweep of four-suppliers: sw</h1>" in html and "3 runs of four-suppliers over risk.aversion" in html


def test_commands_print_no_solver_banner(tmp_path):
    """highspy 1.16 prints a banner from C when a solver is created; users must not see it."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "planner.cli", "solve", "four-suppliers", "--out",
                           str(tmp_path / "r")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Running HiGHS" not in done.stdout + done.stderr
    assert done.stdout.startswith("four-suppliers: optimal")


def _comparable(table):
    return table.drop(columns=["seconds"]).set_index("id").sort_index()


def test_a_resumed_sweep_is_the_uninterrupted_sweep_cell_by_cell(tmp_path):
    """A worker keeps its model between runs; what it solved before must not change a run's
    result. Runs solved after others (a resumed sweep, in another order) give the same table
    as one uninterrupted sweep: same plans, same figures. (A generated instance with deals shared
    by materials: the decomposition runs 1 to 10 rounds, and the tie-break stage at lambda = 1.)"""
    from planner.instance.generate import Shape, generate_instance

    instance = generate_instance(tmp_path / "g", 4, 10, 6, 20, seed=3, shape=Shape(agreements=2))
    runs = grid([("risk.aversion", [0.0, 0.5, 1.0]), ("limits.bloc:china:*.max_share", [0.5, 1.0])])
    whole = run_sweep(instance, runs, tmp_path / "whole", workers=1)
    run_sweep(instance, runs[3:5], tmp_path / "resumed", workers=1)  # interrupted after two runs
    resumed = run_sweep(instance, runs[::-1], tmp_path / "resumed", workers=1)  # the rest, in another order
    a, b = _comparable(whole), _comparable(resumed)[_comparable(whole).columns]
    for column in a.columns:
        if pd.api.types.is_float_dtype(a[column]):
            assert a[column].to_numpy() == pytest.approx(b[column].to_numpy(), rel=1e-9, abs=1e-12, nan_ok=True), column
        else:
            assert (a[column] == b[column]).all(), column


def test_a_sweep_value_is_checked_as_the_same_value_in_a_file_would_be():
    """china-ban (0.20) excludes china-licensing (0.40), china-ban-2029 (0.15) and
    china-escalation (0.25): 0.9 makes the group sum to 1.7, which events.csv could not hold;
    and a value outside the magnitudes planner solves."""
    from helpers import REPO

    us = load_instance(REPO / "instances" / "us-critical-minerals")
    with pytest.raises(OverrideError, match="group 'china' exclude each other but their probabilities sum to 1.7"):
        apply_values(us, {"events.china-ban.probability": 0.9})
    changed = apply_values(us, {"events.china-ban.probability": 0.1}).tables["events"]
    assert set(changed.loc[changed["event"] == "china-ban", "probability"]) == {0.1}
    with pytest.raises(OverrideError, match="planner solves spans up to"):
        apply_values(load_instance(FOUR_SUPPLIERS), {"commodities.rare_earth_oxide.shortage_penalty": 1e13})


def test_a_sweeps_values_are_checked_without_generating_its_scenarios(monkeypatch):
    """Before a sweep starts, every run's values are checked; for a run that changes the events,
    that generated its scenarios again, as long as the run's own start, so a sweep over
    events.max_scenarios sat silent for minutes before its first run. The check needs the
    values only: a generation raises nothing the base instance's did not. Values out of range
    are still refused."""
    from helpers import REPO

    import planner.instance.events
    from planner.studies.runs import check_runs, grid

    us = load_instance(REPO / "instances" / "us-critical-minerals")
    generated = []
    real = planner.instance.events.generate_scenarios
    monkeypatch.setattr(planner.instance.events, "generate_scenarios",
                        lambda *args, **kwargs: generated.append(1) or real(*args, **kwargs))
    check_runs(us, grid([("events.max_scenarios", [30.0, 60.0]), ("events.china-ban.probability", [0.1, 0.2])]))
    assert generated == []
    with pytest.raises(OverrideError, match="out of range"):
        check_runs(us, grid([("events.max_scenarios", [30.0, 0.0])]))
    assert len(apply_values(us, {"events.max_scenarios": 30}).scenarios) == 30 and generated == [1]


def test_the_scenario_count_and_draw_of_an_events_instance_are_sweep_keys(tmp_path):
    """events.max_scenarios and events.seed regenerate the scenarios, as the same settings in
    instance.toml would (the bundled instance's 120 combinations reduced, or drawn); on an instance
    with scenarios.csv they address nothing, and a count must be a whole number in range."""
    from helpers import REPO

    us = load_instance(REPO / "instances" / "us-critical-minerals")
    assert len(us.scenarios) == 120
    fewer = apply_values(us, {"events.max_scenarios": 30})
    assert len(fewer.scenarios) == 30 and len(us.scenarios) == 120
    folder = tmp_path / "us"
    import shutil

    shutil.copytree(REPO / "instances" / "us-critical-minerals", folder)
    (folder / "instance.toml").write_text((folder / "instance.toml").read_text()
                                          + '\n[events]\nmax_scenarios = 30\n')
    assert load_instance(folder).scenarios.drop(columns="_row").equals(fewer.scenarios.drop(columns="_row"))
    (folder / "instance.toml").write_text((folder / "instance.toml").read_text() + 'method = "sample"\n')
    sampled = load_instance(folder)
    drawn = [apply_values(sampled, {"events.seed": seed}).scenarios.drop(columns="_row") for seed in (1, 1, 2)]
    assert drawn[0].equals(drawn[1]) and not drawn[0].equals(drawn[2])
    with pytest.raises(OverrideError, match="not generated from events.csv"):
        apply_values(load_instance(FOUR_SUPPLIERS), {"events.max_scenarios": 4})
    with pytest.raises(OverrideError, match="not a whole number"):
        apply_values(us, {"events.max_scenarios": 2.5})
    with pytest.raises(OverrideError, match="out of range"):
        apply_values(us, {"events.max_scenarios": 0})


def test_whole_number_keys_are_written_as_integers(tmp_path):
    """sweep.csv writes a whole-number key as 2, not 2.0 (what a spreadsheet and a reader of the
    file expect), a number key as it is; the run ids stay those of the values."""
    assert whole_number_key("commodities.rare_earth_oxide.min_suppliers")
    assert whole_number_key("events.max_scenarios") and whole_number_key("decisions.multi_stage")
    assert not whole_number_key("risk.aversion") and not whole_number_key("options.CN1.capacity")
    runs = grid([("commodities.rare_earth_oxide.min_suppliers", [1, 2]), ("risk.aversion", [0.5])])
    run_sweep(FOUR_SUPPLIERS, runs, tmp_path / "sw", workers=1)
    lines = (tmp_path / "sw" / "sweep.csv").read_text().splitlines()
    assert lines[0].startswith("commodities.rare_earth_oxide.min_suppliers,risk.aversion,id,")
    assert [line.split(",")[:2] for line in lines[1:]] == [["1", "0.5"], ["2", "0.5"]]
    assert [line.split(",")[2] for line in lines[1:]] == [run.id for run in runs]


def test_a_sweep_far_larger_than_meant_is_refused_before_anything_runs(tmp_path):
    """0:1:1000000 where 0:1:10 was meant (found by a hunt of random --vary values: planner set
    out to check a million runs' values, then to solve them): refused, with its count, before
    a value is generated or a file written; --max-runs allows more."""
    from planner.cli.studies import sweep
    from planner.studies.runs import MAX_RUNS

    assert next(p for p in sweep.params if p.name == "max_runs").default == MAX_RUNS
    runner = CliRunner()
    base = ["sweep", str(FOUR_SUPPLIERS), "--out", str(tmp_path / "sw")]
    result = runner.invoke(cli.main, [*base, "--vary", "risk.aversion=0:1:1000000000000"])
    assert result.exit_code == cli.EXIT_INVALID_INPUT and "makes 1,000,000,000,000 values" in result.output
    result = runner.invoke(cli.main, [*base, "--vary", "risk.aversion=0:1:200", "--vary", "risk.cvar_alpha=0:0.9:100"])
    assert result.exit_code == cli.EXIT_INVALID_INPUT and "the grid of --vary makes 20,000 runs" in result.output
    (tmp_path / "design.csv").write_text("risk.aversion\n0\n0.5\n1\n")
    result = runner.invoke(cli.main, ["sweep", str(FOUR_SUPPLIERS), "--design", str(tmp_path / "design.csv"),
                                      "--out", str(tmp_path / "sw"), "--max-runs", "2"])
    assert result.exit_code == cli.EXIT_INVALID_INPUT and "design.csv makes 3 runs, more than the 2" in result.output
    assert not (tmp_path / "sw").exists()
    result = runner.invoke(cli.main, [*base, "--vary", "risk.aversion=0,1", "--max-runs", "2", "--workers", "1"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("text", "expected"), [
    ("risk.aversion,risk.aversion\n0.1,0.2\n", "design.csv:1: 'risk.aversion': column name appears twice"),
    ("risk.aversion\nTrue\n", "design.csv:2:risk.aversion: 'True': expected a number"),  # it ran at 1
    ("risk.aversion\n1_000\n", "design.csv:2:risk.aversion: '1_000': expected a number"),
    (",\n,\n", "design.csv:1: the header row is empty"),  # it ran the instance as it is, "no chart: "
    ('"risk.aversion\n0.2\n', "but holds no runs"),  # a quote left open: one header cell
    ("risk.aversion\n", "design.csv: names its keys ('risk.aversion') but holds no runs"),
])
def test_a_design_is_read_as_instance_files_are(tmp_path, text, expected):
    """A design read as a spreadsheet writes it and checked as instance files are (file:row:column):
    pandas read 'True' as 1, renamed a repeated key to 'risk.aversion.1', and took a header of
    blank names for a design of one run with nothing varied."""
    (tmp_path / "design.csv").write_text(text)
    result = CliRunner().invoke(cli.main, ["sweep", str(FOUR_SUPPLIERS), "--design", str(tmp_path / "design.csv"),
                                           "--out", str(tmp_path / "sw"), "--workers", "1"])
    assert result.exit_code == cli.EXIT_INVALID_INPUT, result.output
    assert expected in result.output
    assert not (tmp_path / "sw").exists()


def test_a_design_from_european_excel_is_read(tmp_path):
    """Semicolons, decimal commas, a byte-order mark and CRLF, as European Excel saves a CSV, and a
    blank cell that keeps the instance's value; row names keep their case (CN1, not cn1)."""
    (tmp_path / "design.csv").write_bytes("\ufeffrisk.aversion;options.CN1.capacity\r\n0,25;80\r\n0,5;\r\n"
                                          .encode())
    from planner.studies.runs import design

    runs = design(tmp_path / "design.csv")
    assert [run.values for run in runs] == [{"risk.aversion": 0.25, "options.CN1.capacity": 80.0},
                                            {"risk.aversion": 0.5}]


def test_a_run_that_cannot_be_written_stops_the_sweep_and_leaves_no_record(tmp_path, monkeypatch):
    """A full disk while a run's result is written is no outcome of the run: the sweep stops
    (OutputError, exit 7) with nothing recorded for it, where it wrote a failed.json into the
    full disk, empty, and the run folder without a manifest then made a rerun refuse the sweep.
    A failure record is swapped in whole: one that cannot be written leaves no folder."""
    import errno

    import planner.studies.sweep_run as sweep_run
    from planner.errors import OutputError
    from planner.options import SolveOptions

    run = grid([("risk.aversion", [0.5])])[0]
    task = (str(FOUR_SUPPLIERS), run, str(tmp_path / "sw"), SolveOptions(), None)

    def full_disk(*args, **kwargs):
        raise OutputError("cannot write sw/runs/x: No space left on device")

    monkeypatch.setattr(sweep_run, "write_results", full_disk)
    with pytest.raises(OutputError, match="No space left"):
        sweep_run.execute(task)
    assert not (tmp_path / "sw" / RUNS / run.id).exists()

    def full_disk_json(path, content):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sweep_run, "write_json", full_disk_json)
    (tmp_path / "sw" / RUNS).mkdir(parents=True)
    with pytest.raises(OutputError, match="No space left"):
        sweep_run.write_failure(tmp_path / "sw" / RUNS / run.id, run, "infeasible", "a reason")
    assert list((tmp_path / "sw" / RUNS).iterdir()) == []


def test_a_worker_killed_while_it_runs_stops_the_sweep_with_a_message_and_it_resumes(tmp_path, monkeypatch):
    """A worker process killed while it runs (the out-of-memory killer, or someone): the pool
    broke and the sweep ended in an internal error. Now it stops with the solver's exit code (6),
    saying how the worker ended and that the finished runs are kept; run again, it resumes."""
    import os
    import signal

    import planner.studies.sweep as sweep_module

    execute = sweep_module.execute

    def killed_on_aversion_one(task):  # noqa: ANN001, ANN202 (in the forked worker)
        if task[1].values["risk.aversion"] == 1.0:
            os.kill(os.getpid(), signal.SIGKILL)
        return execute(task)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sweep_module, "execute", killed_on_aversion_one)
    args = ["sweep", "four-suppliers", "--vary", "risk.aversion=0,0.5,1", "--workers", "2", "--out", "sw"]
    stopped = CliRunner().invoke(cli.main, args)
    assert stopped.exit_code == cli.EXIT_SOLVER, stopped.output
    assert "a worker process ended without an answer (killed by SIGKILL" in stopped.output
    assert "The finished runs are kept: run the same command again to resume." in stopped.output
    monkeypatch.setattr(sweep_module, "execute", execute)
    resumed = CliRunner().invoke(cli.main, args)
    assert resumed.exit_code == 0, resumed.output
    assert (pd.read_csv(tmp_path / "sw" / "sweep.csv")["status"] == "optimal").all()


def test_a_sweep_on_a_cluster_without_workers_says_so_and_runs_once_they_join(tmp_path, monkeypatch):
    """A cluster whose workers are all gone (or not started yet): the runs wait for workers, as
    Dask has them do, and the sweep said nothing, for as long as it waited. Now it says so once;
    here a worker joins when it does, and the sweep ends as usual."""
    distributed = pytest.importorskip("distributed")
    import planner.studies.sweep as sweep_module

    monkeypatch.setattr(sweep_module, "NO_WORKERS_NOTE_AFTER", 0.2)
    runs = grid([("risk.aversion", [0.0, 1.0])])
    notes: list[str] = []
    with distributed.LocalCluster(n_workers=0, threads_per_worker=1, processes=True, dashboard_address=":0") as c:

        def joined(text: str) -> None:
            notes.append(text)
            c.scale(1)

        table = run_sweep(FOUR_SUPPLIERS, runs, tmp_path / "sw", scheduler=c.scheduler_address, on_note=joined)
    assert len(notes) == 1 and "has no workers: the runs wait for some to join" in notes[0]
    assert list(table["status"]) == ["optimal", "optimal"]


def test_a_run_given_twice_is_solved_and_listed_once(tmp_path, monkeypatch):
    """`--vary risk.aversion=0.5,0.5,1`, or a design with a row twice (a spreadsheet's slip): the
    run was solved twice (side by side with workers, into one folder) and listed twice in
    sweep.csv under one id. It is solved and listed once, first where it first came, and a note
    says how many repeated."""
    from planner.studies.runs import distinct

    runs = grid([("risk.aversion", [1.0, 0.5, 1.0, 0.0, 0.5])])
    assert [r.values["risk.aversion"] for r in distinct(runs)] == [1.0, 0.5, 0.0]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "design.csv").write_text("risk.aversion,risk.cvar_alpha\n0.5,0.9\n1,0.95\n0.5,0.9\n")
    for how, label in ((["--vary", "risk.aversion=0.5,0.5,1"], "--vary"), (["--design", "design.csv"], "design.csv")):
        result = CliRunner().invoke(cli.main, ["sweep", str(FOUR_SUPPLIERS), *how, "--out", "sw", "--workers", "2",
                                               "--force"])
        assert result.exit_code == 0, result.output
        assert f"note: 1 run of {label} repeats another's values: each is solved and listed once (2 runs)" \
            in result.stderr
        table = pd.read_csv(tmp_path / "sw" / "sweep.csv")
        assert len(table) == 2 and table["id"].is_unique and list(table["risk.aversion"]) == [0.5, 1.0]


def test_a_run_whose_id_reads_as_a_number_is_found_by_the_readers_of_its_sweep(tmp_path, monkeypatch):
    """A run's id is 10 hex digits; one in sixty reads as a number. In a sweep whose every id did
    (here one run, risk.aversion 0.00011: id 3470957e12), compare looked for runs/3.470957e+18
    ("summary.json: is missing", exit 3). A sweep table's id, status and reason are text."""
    from planner.studies.runs import run_id

    assert run_id({"risk.aversion": 0.00011}) == "3470957e12"
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli.main, ["sweep", str(FOUR_SUPPLIERS), "--vary", "risk.aversion=0.00011", "--out", "sw",
                                    "--workers", "1"]).exit_code == 0
    compared = runner.invoke(cli.main, ["compare", "sw", "sw", "--out", "cmp"])
    assert compared.exit_code == 0, compared.output
    assert runner.invoke(cli.main, ["report", "sw", "--out", "r.html"]).exit_code == 0
    assert "3470957e12" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_a_sweep_moved_with_its_instance_resumes_there(tmp_path, monkeypatch):
    """A project folder renamed (or copied to a colleague) with its instance and its sweep: the
    same command there was refused ("a sweep of another instance"), since sweep.json held the
    instance's old path, and --force would have solved every run again. A sweep is now of its
    instance's files (their SHA-256) and solve options, wherever they are: it resumes, its runs
    done, and sweep.json names the new path. Another content is still another instance."""
    import json
    import shutil
    from pathlib import Path

    before = tmp_path / "before"
    shutil.copytree(FOUR_SUPPLIERS, before / "inst")
    sweep = ["sweep", "inst", "--vary", "risk.aversion=0,1", "--out", "sw", "--workers", "1"]
    runner = CliRunner()
    monkeypatch.chdir(before)
    assert runner.invoke(cli.main, sweep).exit_code == 0
    after = Path(shutil.move(before, tmp_path / "after"))
    monkeypatch.chdir(after)
    stamps = sorted(p.stat().st_mtime_ns for p in Path("sw", RUNS).glob("*/summary.json"))
    resumed = runner.invoke(cli.main, sweep)
    assert resumed.exit_code == 0, resumed.output
    assert "2 already done" in resumed.stderr
    assert sorted(p.stat().st_mtime_ns for p in Path("sw", RUNS).glob("*/summary.json")) == stamps
    assert json.loads(Path("sw", "sweep.json").read_text())["instance"] == str((after / "inst").resolve())
    assert (pd.read_csv("sw/sweep.csv")["status"] == "optimal").all()
    demand = Path("inst", "demand.csv")
    demand.write_text(demand.read_text().replace(",100", ",150"))
    edited = runner.invoke(cli.main, sweep)
    assert edited.exit_code == cli.EXIT_OUTPUT
    assert f"sw holds a sweep of another version of {(after / 'inst').resolve()}" in edited.output
    other = runner.invoke(cli.main, [*sweep, "--mip-gap", "0.01", "--node-limit", "1000"])
    assert "a sweep of another version" in other.output and "with other solve options (mip_gap 0.0001 there, " \
        "0.01 now, node_limit none there, 1000 now)" in other.output  # (what differs is said, not "or ... or")
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(FOUR_SUPPLIERS, elsewhere)
    (elsewhere / "demand.csv").write_text((elsewhere / "demand.csv").read_text().replace(",100", ",130"))
    moved = runner.invoke(cli.main, ["sweep", str(elsewhere), *sweep[2:], "--mip-gap", "1e-4"])
    assert f"a sweep of other instance files ({(after / 'inst').resolve()} then, whose content differs from " \
           f"{elsewhere.resolve()} now)" in moved.output


def test_a_run_finishing_after_its_sweep_was_started_over_writes_nothing(tmp_path):
    """A run still solving on a Dask worker after its sweep was stopped (Dask lets a running task
    finish) wrote its result into the folder even after a sweep of another instance had started
    over there (--force), which then took the stale run as done and reported its numbers. Now a
    run writes only while the folder is still a sweep of what it was solved for."""
    import shutil

    import planner.studies.sweep_run as sweep_run
    from planner.options import SolveOptions
    from planner.studies.sweep import is_done, prepare_sweep

    run, out = grid([("risk.aversion", [0.5])])[0], tmp_path / "sw"
    prepare_sweep(FOUR_SUPPLIERS, [run], out, SolveOptions())
    stale = (str(FOUR_SUPPLIERS), run, str(out), SolveOptions(), sweep_run.sweep_of_folder(out))
    other = shutil.copytree(FOUR_SUPPLIERS, tmp_path / "other")
    demand = other / "demand.csv"
    demand.write_text(demand.read_text().replace(",100", ",150"))  # (a copy alone is the same instance)
    prepare_sweep(other, [run], out, SolveOptions(), force=True)  # started over for another instance
    assert sweep_run.execute(stale) == run.id and not is_done(out, run)
    sweep_run.execute((str(other), run, str(out), SolveOptions(), sweep_run.sweep_of_folder(out)))
    assert is_done(out, run)


_HOLDER = """
import sys
from pathlib import Path
from planner.results.claim import claimed
with claimed(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.read()  # until the test closes it
"""


def _holding(folder):  # noqa: ANN001, ANN202
    """Another process claiming `folder` as a sweep does, until its stdin is closed."""
    import subprocess
    import sys

    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(folder)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    return holder


def test_a_folder_a_sweep_still_runs_in_is_refused_to_a_second_sweep_and_to_a_replacement(tmp_path, monkeypatch):
    """A second sweep in a folder where one still ran (a batch job started again, the command in a
    second terminal) solved every run twice; one started over there with --force for another
    instance deleted the first's runs under it. Now the folder is claimed: a second sweep, and a
    solve replacing it with --force, are refused at once, naming the process; nothing changed."""
    monkeypatch.chdir(tmp_path)
    vary = ["--vary", "risk.aversion=0,1", "--out", "sw"]
    assert CliRunner().invoke(cli.main, ["sweep", "four-suppliers", *vary, "-q"]).exit_code == 0
    before = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "sw").rglob("*"))
    holder = _holding(tmp_path / "sw")
    try:
        for args in (["sweep", "four-suppliers", *vary], ["sweep", "four-suppliers", *vary, "--force"],
                     ["sweep", "four-suppliers", "--vary", "risk.alpha=0.9", "--out", "sw", "--force"],
                     ["solve", "four-suppliers", "--out", "sw", "--force"]):
            result = CliRunner().invoke(cli.main, args)
            assert result.exit_code == cli.EXIT_OUTPUT, (args, result.output)
            assert f"sw is in use by another planner command still running there (process {holder.pid} on" \
                   in result.output, result.output
        assert sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "sw").rglob("*")) == before
    finally:
        holder.stdin.close()
        holder.wait()
    again = CliRunner().invoke(cli.main, ["sweep", "four-suppliers", *vary])
    assert again.exit_code == 0 and "2 already done" in again.output, again.output


def test_nothing_is_written_inside_a_folder_a_sweep_still_runs_in(tmp_path, monkeypatch):
    """The claim covered the sweep folder, not what is inside it: `solve --out sw/runs/ID --force`
    replaced one of a running sweep's runs (which the sweep then took for its own), and other
    commands wrote folders into it. Now each is refused at once, naming the process; the
    sweep's own workers (other processes) still write its runs, as every sweep of two workers
    shows."""
    monkeypatch.chdir(tmp_path)
    vary = ["--vary", "risk.aversion=0,1", "--out", "sw"]
    assert CliRunner().invoke(cli.main, ["sweep", "four-suppliers", *vary, "-q", "--workers", "2"]).exit_code == 0
    run = next((tmp_path / "sw" / "runs").iterdir()).name
    before = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "sw").rglob("*"))
    holder = _holding(tmp_path / "sw")
    try:
        for args in (["solve", "four-suppliers", "--out", f"sw/runs/{run}", "--force"],
                     ["solve", "four-suppliers", "--out", "sw/mine"],
                     ["sweep", "four-suppliers", "--vary", "risk.aversion=0", "--out", "sw/runs/inner"]):
            result = CliRunner().invoke(cli.main, args)
            assert result.exit_code == cli.EXIT_OUTPUT, (args, result.output)
            assert f"is inside {tmp_path / 'sw'}, which another planner command still running there holds " \
                   f"(process {holder.pid} on" in result.output, result.output
        assert sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "sw").rglob("*")) == before
    finally:
        holder.stdin.close()
        holder.wait()
    assert CliRunner().invoke(cli.main, ["solve", "four-suppliers", "--out", "sw/mine", "-q"]).exit_code == 0


def test_a_claim_ends_with_its_process_however_it_ends(tmp_path, monkeypatch):
    """The claim is the system's lock: a sweep killed by SIGKILL (the out-of-memory killer)
    leaves no claim behind for the next one to trip on. A command refused after its claim leaves
    nothing: not the folders it made, nor its lock file in a folder of the user's."""
    monkeypatch.chdir(tmp_path)
    holder = _holding(tmp_path / "sw")
    holder.kill()
    holder.wait()
    assert (tmp_path / "sw" / ".planner-lock").is_file()  # the file stays; its lock went with the process
    result = CliRunner().invoke(cli.main, ["sweep", "four-suppliers", "--vary", "risk.aversion=0,1", "--out", "sw"])
    assert result.exit_code == 0, result.output
    (tmp_path / "empty").mkdir()
    for out in ("new/deep/sw", "empty"):  # refused once claimed: nothing made, nothing left in the user's folder
        refused = CliRunner().invoke(cli.main, ["sweep", "four-suppliers", "--vary", "no.such=1", "--out", out])
        assert refused.exit_code == cli.EXIT_INVALID_INPUT, refused.output
    assert not (tmp_path / "new").exists() and list((tmp_path / "empty").iterdir()) == []


def test_a_sweep_whose_folder_was_started_over_under_it_writes_no_table(tmp_path, monkeypatch):
    """The first sweep, its folder started over by another command meanwhile (a claim cannot
    stop a command of an older planner, nor one on a file system without locks), wrote its
    sweep.csv from the other's runs and ended with exit 0, as though its own sweep were done.
    Now it stops (exit 7), saying so, and writes no table."""
    import shutil

    import planner.studies.sweep as sweep_module
    from planner.options import SolveOptions
    from planner.studies.sweep import prepare_sweep

    monkeypatch.chdir(tmp_path)
    other = shutil.copytree(FOUR_SUPPLIERS, tmp_path / "other")
    execute = sweep_module.execute

    def started_over_meanwhile(task):  # noqa: ANN001, ANN202
        done = execute(task)
        prepare_sweep(other, [task[1]], tmp_path / "sw", SolveOptions(), force=True)
        return done

    monkeypatch.setattr(sweep_module, "execute", started_over_meanwhile)
    result = CliRunner().invoke(cli.main, ["sweep", "four-suppliers", "--vary", "risk.aversion=0,1", "--out", "sw",
                                           "--workers", "1"])
    assert result.exit_code == cli.EXIT_OUTPUT, result.output
    assert "sw was started over by another planner command while this sweep ran (it is now a sweep of other)" \
           in result.output
    assert not (tmp_path / "sw" / "sweep.csv").exists()


def test_a_worker_kept_from_an_earlier_sweep_solves_the_instance_as_it_is_now(tmp_path, monkeypatch):
    """A Dask worker outlives its sweep and kept the base instance by its path: a sweep of the
    same instance after the user edited it reported the old instance's numbers (four suppliers,
    demand 100 -> 150: 16,500 where the edited instance costs 25,200), under the new files'
    fingerprint. Here this process is that worker: it ran the first sweep's run."""
    import shutil

    import planner.studies.sweep_run as sweep_run
    from planner.options import SolveOptions
    from planner.results.folder import read_summary
    from planner.studies.sweep import prepare_sweep

    monkeypatch.setattr(sweep_run, "BASE", {})
    instance = shutil.copytree(FOUR_SUPPLIERS, tmp_path / "inst")
    run = grid([("risk.aversion", [0.0])])[0]

    def sweep_once(out):  # noqa: ANN001, ANN202
        prepare_sweep(instance, [run], out, SolveOptions())
        sweep_run.execute((str(instance), run, str(out), SolveOptions(), sweep_run.sweep_of_folder(out)))
        return read_summary(out / RUNS / run.id)["objective"]

    first = sweep_once(tmp_path / "first")
    demand = instance / "demand.csv"
    demand.write_text(demand.read_text().replace(",100", ",150"))
    edited = solve_instance(apply_values(load_instance(instance), run.values), SolveOptions()).figures.objective
    assert edited != pytest.approx(first)
    assert sweep_once(tmp_path / "second") == pytest.approx(edited)


def test_an_instance_edited_while_its_sweep_runs_stops_the_sweep(tmp_path, monkeypatch):
    """A worker that loads the instance after the user edited it (one joining a Dask cluster
    late) would solve another instance than the sweep's other runs: the sweep stops, saying so
    (exit 3), instead of a table of two instances."""
    import shutil

    import planner.studies.sweep as sweep_module
    import planner.studies.sweep_run as sweep_run

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sweep_run, "BASE", {})
    instance = shutil.copytree(FOUR_SUPPLIERS, tmp_path / "inst")
    execute = sweep_module.execute

    def edited_before_the_second_run(task):  # noqa: ANN001, ANN202
        if task[1].values["risk.aversion"] == 1.0:
            sweep_run.BASE.clear()  # a worker that had not loaded it yet
            demand = instance / "demand.csv"
            demand.write_text(demand.read_text().replace(",100", ",150"))
        return execute(task)

    monkeypatch.setattr(sweep_module, "execute", edited_before_the_second_run)  # (one worker: in order)
    result = CliRunner().invoke(cli.main, ["sweep", str(instance), "--vary", "risk.aversion=0,1", "--out", "sw",
                                           "--workers", "1"])
    assert result.exit_code == cli.EXIT_INVALID_INPUT, result.output
    assert "its files changed since this sweep began" in result.output, result.output


def test_readers_of_a_sweep_folder_say_a_sweep_still_runs_there(tmp_path, monkeypatch):
    """`report` and `compare` of a sweep folder while its sweep ran: before its first table they
    said it was no sweep ('no sweep.csv'); after, they showed the table as last written without
    a word. Now they say a sweep runs there, and which process."""
    monkeypatch.chdir(tmp_path)
    vary = ["--vary", "risk.aversion=0,1", "--out", "sw", "-q"]
    assert CliRunner().invoke(cli.main, ["sweep", "four-suppliers", *vary]).exit_code == 0
    holder = _holding(tmp_path / "sw")
    try:
        running = f"a sweep still runs in sw (process {holder.pid} on"
        for args in (["report", "sw"], ["compare", "sw", "--out", "cmp"]):
            result = CliRunner().invoke(cli.main, args)
            assert result.exit_code == 0 and result.output.count(running) == 1, result.output
        (tmp_path / "sw" / "sweep.csv").unlink()  # as before a first sweep's table is written
        result = CliRunner().invoke(cli.main, ["report", "sw"])
        assert result.exit_code == cli.EXIT_INVALID_INPUT, result.output
        assert "sw is a sweep whose table, sweep.csv, is not written yet: a sweep writes it when it ends or is " \
               f"stopped; one runs there now (process {holder.pid} on" in result.output
    finally:
        holder.stdin.close()
        holder.wait()


def test_a_dask_sweep_writes_where_the_command_looks_or_says_why_not(tmp_path, monkeypatch):
    """A relative --out went to the workers as it was given, and they took it from their own
    current folder (that of `dask worker`, not the command's): every run came back 'not_run', a
    blank reason, exit 0. The folder now goes as an absolute path; and workers that do not see it
    (no file system shared with the command's machine) are named before any work (exit 7)."""
    distributed = pytest.importorskip("distributed")
    import os

    import planner.studies.sweep as sweep_module
    import planner.studies.sweep_run as sweep_run

    elsewhere, here = tmp_path / "workers-start-here", tmp_path / "command-runs-here"
    elsewhere.mkdir()
    here.mkdir()
    monkeypatch.chdir(elsewhere)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
        monkeypatch.chdir(here)
        args = ["sweep", "four-suppliers", "--vary", "risk.aversion=0,1", "--scheduler", c.scheduler_address, "-q"]
        result = CliRunner().invoke(cli.main, [*args, "--out", "sw"])
        assert result.exit_code == 0, result.output
        assert set(pd.read_csv(here / "sw" / "sweep.csv")["status"]) == {"optimal"}
        assert list(elsewhere.iterdir()) == []

        real, command = sweep_run.files_probe(), os.getpid()

        def blind() -> object:  # noqa: ANN202 (sent by value: a worker on another file system)
            def files_digest(folder: str, names: list[str]) -> str:
                return real(folder, names) if os.getpid() == command else "what a worker elsewhere sees"

            return files_digest

        monkeypatch.setattr(sweep_module, "files_probe", blind)
        result = CliRunner().invoke(cli.main, [*args, "--out", "other"])
        assert result.exit_code == cli.EXIT_OUTPUT, result.output
        assert f"1 of the 1 Dask workers do not see the sweep folder {here / 'other'} as this machine does" \
               in result.output


def test_a_file_system_without_locks_runs_sweeps_and_reports(tmp_path, monkeypatch):
    """Where the system cannot lock (an NFS without its lock service: ENOLCK), a sweep and a
    report ended in an internal error (the lock that keeps two writers of one manifest apart
    raised); now they run unlocked, and the sweep unclaimed, rather than refusing."""
    import errno
    import fcntl

    def no_locks(handle, operation):  # noqa: ANN001, ANN202
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(fcntl, "flock", no_locks)
    result = CliRunner().invoke(cli.main, ["sweep", "four-suppliers", "--vary", "risk.aversion=0,1", "--out", "sw",
                                           "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert set(pd.read_csv(tmp_path / "sw" / "sweep.csv")["status"]) == {"optimal"}
    assert CliRunner().invoke(cli.main, ["report", "sw"]).exit_code == 0
    assert CliRunner().invoke(cli.main, ["solve", "four-suppliers", "--out", "r", "--report", "-q"]).exit_code == 0


def test_a_run_that_landed_after_its_sweep_was_started_over_is_not_taken_as_done(tmp_path, monkeypatch):
    """A run solving on a Dask worker passes its check that the folder is still its sweep, and
    the folder is started over (--force, another instance) before its result is in place: it
    lands in the new sweep, which took it as done and reported the other instance's numbers.
    Each run now records the sweep it was sent for, and only the sweep's own runs are done."""
    import shutil

    from planner.options import SolveOptions
    from planner.studies.sweep import is_done, prepare_sweep

    monkeypatch.chdir(tmp_path)
    other = shutil.copytree(FOUR_SUPPLIERS, tmp_path / "other")
    demand = other / "demand.csv"
    demand.write_text(demand.read_text().replace(",100", ",150"))
    runs = grid([("risk.aversion", [0.0, 1.0])])
    prepare_sweep(other, runs, tmp_path / "old", SolveOptions())  # the sweep the straggler was sent for
    run_sweep(other, runs, tmp_path / "old", workers=1)
    prepare_sweep(FOUR_SUPPLIERS, runs, tmp_path / "sw", SolveOptions())
    landed = tmp_path / "sw" / RUNS / runs[0].id
    shutil.copytree(tmp_path / "old" / RUNS / runs[0].id, landed)  # the straggler's result, in place
    assert not is_done(tmp_path / "sw", runs[0])
    table = run_sweep(FOUR_SUPPLIERS, runs, tmp_path / "sw", workers=1)
    alone = solve_instance(apply_values(load_instance(FOUR_SUPPLIERS), runs[0].values))
    assert table.loc[0, "objective"] == pytest.approx(alone.figures.objective)  # 16,500, not the other's 25,200


@pytest.mark.parametrize("method", ["forkserver", "spawn"])
def test_workers_start_whatever_the_pythons_default_start_method(tmp_path, method):
    """Python 3.14 starts worker processes from a fork server by default on Linux: they are the
    server's children, not the command's, and the guard that ends a worker whose command died
    took each for an orphan, so a sweep with two workers ended in "a worker process ended
    without an answer (... out-of-memory killer ...)". Here the default is set as 3.14 (or
    macOS) has it; the sweep's workers start, and its table is the one-process sweep's."""
    import multiprocessing

    before = multiprocessing.get_start_method(allow_none=True)
    args = ["sweep", str(FOUR_SUPPLIERS), "--vary", "risk.aversion=0,0.5,1", "-q"]
    multiprocessing.set_start_method(method, force=True)
    try:
        result = CliRunner().invoke(cli.main, [*args, "--workers", "2", "--out", str(tmp_path / "two")])
    finally:
        multiprocessing.set_start_method(before, force=True)
    assert result.exit_code == 0, result.output
    assert CliRunner().invoke(cli.main, [*args, "--workers", "1", "--out", str(tmp_path / "one")]).exit_code == 0
    figures = ["objective", "expected_cost", "cvar", "fixed_cost"]
    two, one = (pd.read_csv(tmp_path / name / "sweep.csv") for name in ("two", "one"))
    assert two[figures].equals(one[figures]) and (two["status"] == "optimal").all()
