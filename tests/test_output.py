"""Output for people and for programs: the formatting layer, CSV precision, --json and --quiet,
progress that suits a log file, the README's synopses against --help, and planner compare."""

from __future__ import annotations

import json
import math
import re
import shutil

import click
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import REPO, four_suppliers
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import cli
from planner.formatting import csv_value, csv_values, exact, fixed, gap, money, probability, share, volume

E_NOTATION = re.compile(r"\d[eE][+-]?\d")


@settings(max_examples=300, deadline=None, derandomize=True)
@given(value=st.floats(min_value=-1e15, max_value=1e15, allow_nan=False), currency=st.sampled_from(["USD", "", "€"]))
def test_no_format_ever_writes_e_notation(value, currency):
    for text in (money(value, currency), volume(value, "t"), share(value / 1e15), gap(abs(value) / 1e15),
                 probability(abs(value) / 1e15), exact(value), fixed(value)):
        assert not E_NOTATION.search(text), text


@settings(max_examples=300, deadline=None, derandomize=True)
@given(value=st.floats(min_value=1e-9, max_value=1e15))
def test_money_reads_back_to_its_significant_digits(value):
    """A scaled figure is within half a unit of its last digit of the value."""
    text = money(value, "USD").removesuffix(" USD")
    scales = {"tn": 1e12, "bn": 1e9, "M": 1e6}
    number, _, scale = text.partition(" ")
    back = float(number.replace(",", "")) * scales.get(scale, 1.0)
    assert back == pytest.approx(value, rel=1e-3 if scale else 0, abs=0.005 if not scale else 0)


def test_formats_by_example():
    assert money(24_846_903_612.42, "USD") == "24.85 bn USD" and money(24_447.37, "USD") == "24,447.37 USD"
    assert money(5e8, "USD") == "500 M USD" and money(-1.3e6) == "-1.3 M"
    assert volume(1_356_188.3, "t") == "1,356,188 t" and volume(10.2105, "t") == "10.21 t"
    assert share(0.352751) == "35.3%" and gap(6e-7) == "0.00006%" and probability(0.0075) == "0.0075"
    assert exact(17342.105263157893) == "17,342.10526"
    assert csv_value(0.12600000000000003) == 0.126 and csv_value(1250.0000000000018) == 1250.0


def test_money_and_volumes_below_one_keep_their_digits():
    """An instance in billions of a currency, or in kilotonnes: an EVPI of 0.004 bn USD (4 M USD)
    read "0.00 bn USD", a capacity of 0.000123 kt "0 kt", as though they were nothing. Below 1
    they keep 4 significant digits (at least the cents), in the terminal, the messages and the
    report's columns alike; zero is still 0.00."""
    from planner.results.columns import ColumnFormat

    assert money(0.004, "bn USD") == "0.004 bn USD" and money(0.0237365, "bn USD") == "0.02374 bn USD"
    assert money(0.5, "USD") == "0.50 USD" and money(-1.5e-7) == "-0.00000015" and money(0.0) == "0.00"
    assert money(0.99987) == "0.9999" and money(0.999994) == "1.00" and money(12.3456) == "12.35"
    assert money(-1e-12, "M USD") == "0.00 M USD" and money(-0.0) == "0.00"  # float noise is no negative
    assert volume(0.000123, "kt") == "0.000123 kt" and volume(10.2105, "t") == "10.21 t"
    column = ColumnFormat("cost", [0.0237365, 0.5, 0.0], "bn USD")
    assert [column.text(v) for v in (0.0237365, 0.5, 0.0)] == ["0.02374", "0.50", "0.00"]


def test_a_sweep_value_reads_as_it_was_typed(tmp_path):
    """A sweep run's label, in compare, the charts and the notes, read
    "budget.fixed_cost_max=2.5e+06" for a value typed 2500000: labels are the varied values as a
    user types them (`plain`), without exponent or separators, so a label can be typed back."""
    from planner.formatting import key_values, plain

    assert key_values({"budget.fixed_cost_max": 2.5e6, "risk.aversion": 0.5, "events.max_scenarios": 200}) == \
        "budget.fixed_cost_max=2500000, risk.aversion=0.5, events.max_scenarios=200"
    assert [plain(v) for v in (1e-7, 0.1, 1e20, -0.0, 1e-300)] == \
        ["0.0000001", "0.1", "100000000000000000000", "0", "1e-300"]
    runner = CliRunner()
    swept = runner.invoke(cli.main, ["sweep", "four-suppliers", "--vary", "budget.fixed_cost_max=1000,2500000",
                                     "--out", str(tmp_path / "sw"), "-q"])
    assert swept.exit_code == 0, swept.output
    compared = runner.invoke(cli.main, ["compare", str(tmp_path / "sw"), "--out", str(tmp_path / "cmp")])
    assert "budget.fixed_cost_max=2500000  " in compared.stdout and "e+06" not in compared.stdout


def test_a_column_is_rounded_as_each_of_its_values():
    """`csv_values` (a whole column, as the CSV writer rounds it) gives `csv_value` of each value,
    the edge cases included: NaN and the infinities as they are, signed zeros kept."""
    rng = np.random.default_rng(7)
    values = [0.0, -0.0, math.nan, math.inf, -math.inf, 5e-324, 1.7976931348623157e308, 0.12600000000000003,
              -1250.0000000000018, *(rng.uniform(-1, 1, 2000) * 10.0 ** rng.integers(-30, 30, 2000)).tolist()]
    for value, column in zip(values, csv_values(values)):
        one = csv_value(value)
        assert (math.isnan(one) and math.isnan(column)) or repr(one) == repr(column)


def test_csv_files_carry_no_float_noise(tmp_path):
    result = CliRunner().invoke(cli.main, ["solve", "four-suppliers", "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    for path in (tmp_path / "r").glob("*.csv"):
        for cell in re.split(r"[,\n]", path.read_text()):
            digits = re.sub(r"[^0-9]", "", cell.split("e")[0]).lstrip("0")
            assert len(digits) <= 12 or not re.fullmatch(r"-?[0-9.]+", cell), (path.name, cell)


def test_json_documents_on_stdout(tmp_path):
    runner = CliRunner()
    solved = runner.invoke(cli.main, ["solve", "four-suppliers", "--out", str(tmp_path / "r"), "--json"])
    assert solved.exit_code == 0, solved.stderr
    document = json.loads(solved.stdout)
    assert document["ok"] and document["command"] == "solve" and document["results"] == str(tmp_path / "r")
    assert document["summary"] == json.loads((tmp_path / "r" / "summary.json").read_text())
    valid = json.loads(runner.invoke(cli.main, ["validate", "four-suppliers", "--json"]).stdout)
    assert valid["ok"] and valid["options"] == 4 and valid["scenarios"] == 8
    checked = runner.invoke(cli.main, ["verify", "four-suppliers", str(tmp_path / "r"), "--json"])
    assert checked.exit_code == 0 and json.loads(checked.stdout) == {
        "command": "verify", "ok": True, "instance": "four-suppliers", "results": str(tmp_path / "r"),
        "instance_changed": [], "violations": []}
    evaluated = runner.invoke(cli.main, ["evaluate", "four-suppliers", str(tmp_path / "r"), "--json"])
    assert evaluated.exit_code == 0 and json.loads(evaluated.stdout)["summary"]["objective"] == pytest.approx(
        document["summary"]["objective"], rel=1e-9)
    # a broken result: exit 8, the violations as data
    costs = tmp_path / "r" / "scenario_costs.csv"
    costs.write_text(costs.read_text().replace("none-cut,", "none-cut,0.5,", 1).replace(",0.5,0.", ",", 1))
    broken = runner.invoke(cli.main, ["verify", "four-suppliers", str(tmp_path / "r"), "--json"])
    assert broken.exit_code == cli.EXIT_VERIFY_FAILED
    assert json.loads(broken.stdout)["violations"] and not json.loads(broken.stdout)["ok"]


def test_json_errors_are_documents_too(tmp_path):
    bad = four_suppliers(tmp_path / "bad")
    (bad / "demand.csv").write_text((bad / "demand.csv").read_text().replace("100", "lots", 1))
    runner = CliRunner()
    result = runner.invoke(cli.main, ["validate", str(bad), "--json"])
    assert result.exit_code == cli.EXIT_INVALID_INPUT
    error = json.loads(result.stdout)["error"]
    assert error["kind"] == "invalid_input" and error["exit_code"] == cli.EXIT_INVALID_INPUT
    assert error["problems"][0]["column"] == "demand" and error["problems"][0]["value"] == "lots"
    assert "lots" in result.stderr  # people still read it on stderr
    infeasible = four_suppliers(tmp_path / "inf")
    (infeasible / "commodities.csv").write_text("commodity,shortage_penalty,holding_cost,initial_stock,"
                                                "storage_capacity,service_level\nrare_earth_oxide,400,0,0,0,0.99\n")
    solved = runner.invoke(cli.main, ["solve", str(infeasible), "--out", str(tmp_path / "r"), "--json"])
    assert solved.exit_code == cli.EXIT_INFEASIBLE
    assert json.loads(solved.stdout)["error"]["kind"] == "infeasible" and json.loads(solved.stdout)["error"]["reasons"]


@pytest.mark.parametrize("args", [
    ["solve", "--json", "--mip-gap", "abc"],
    ["verify", "--json"],  # an argument missing
    ["compare", "--json", "--bogus", "x", "y"],
    ["evaluate", "four-suppliers", "x", "--json", "--samples", "1"],
    ["validate", "--json", "a", "b"],
])
def test_a_bad_command_line_with_json_is_a_json_document_too(args):
    """A script reading --json's stdout finds a document whatever went wrong, a usage error too
    (it found nothing: click wrote the usage to stderr only), and people still read the usage."""
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == cli.EXIT_USAGE
    document = json.loads(result.stdout)
    assert document["command"] == args[0] and document["ok"] is False
    assert document["error"]["kind"] == "usage" and document["error"]["exit_code"] == cli.EXIT_USAGE
    assert document["error"]["message"] and "Usage:" in result.stderr


def test_a_bad_command_line_without_json_writes_nothing_on_stdout():
    result = CliRunner().invoke(cli.main, ["solve", "--mip-gap", "abc"])
    assert result.exit_code == cli.EXIT_USAGE and result.stdout == ""


def test_quiet_leaves_only_the_result_and_progress_never_writes_carriage_returns(tmp_path):
    runner = CliRunner()
    loud = runner.invoke(cli.main, ["solve", "us-critical-minerals", "--out", str(tmp_path / "a")])
    assert loud.exit_code == 0 and "note: scenarios generated" in loud.stderr
    assert "\r" not in loud.stderr  # stderr is not a terminal here: plain lines
    quiet = runner.invoke(cli.main, ["solve", "us-critical-minerals", "--out", str(tmp_path / "b"), "--quiet"])
    assert quiet.exit_code == 0 and quiet.stderr == "" and "Results in" in quiet.stdout
    metrics = runner.invoke(cli.main, ["solve", "four-suppliers", "--out", str(tmp_path / "c"), "--metrics",
                                       "--samples", "10"])
    assert "metrics: 11/11 solves done" in metrics.stderr and "\r" not in metrics.stderr  # 8 scenarios + 3
    swept = runner.invoke(cli.main, ["sweep", "four-suppliers", "--vary", "risk.aversion=0,1", "--out",
                                     str(tmp_path / "sw"), "--workers", "1"])
    assert swept.exit_code == 0 and "sweep: 2/2 runs done" in swept.stderr and "\r" not in swept.stderr
    # an evaluation said nothing until it was done (minutes at thousands of scenarios): what it does,
    # then its elapsed time (as `Progress(task=...)` shows it), and nothing with --quiet
    evaluate = ["evaluate", "four-suppliers", str(tmp_path / "c"), "--out", str(tmp_path / "ev")]
    evaluated = runner.invoke(cli.main, evaluate)
    assert evaluated.stderr.startswith(f"evaluating the plan of {tmp_path / 'c'} under 8 scenarios ...\n")
    quietly = runner.invoke(cli.main, [*evaluate, "-q"])
    assert quietly.exit_code == 0 and quietly.stderr == ""


def test_commands_that_take_long_on_large_results_show_their_elapsed_time(tmp_path, monkeypatch):
    """verify, report, compare and the writing of a solve's files said nothing while they worked:
    on a result of 5,000 scenarios 10 s, 12 s and longer, a minute at a million rows (compare 11 s). Each now
    runs under a status line of its task (`Progress(task=...)`), shown from its first second."""
    import planner.cli.plan as plan
    from planner.cli.progress import Progress

    tasks: list[str] = []

    class Recorded(Progress):
        def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
            super().__init__(*args, **kwargs)
            tasks.append(kwargs.get("task", "solving"))

    import planner.cli.studies as studies

    monkeypatch.setattr(plan, "Progress", Recorded)
    monkeypatch.setattr(studies, "Progress", Recorded)
    runner = CliRunner()
    out = str(tmp_path / "r")
    assert runner.invoke(cli.main, ["solve", "four-suppliers", "--out", out, "--xlsx"]).exit_code == 0
    assert runner.invoke(cli.main, ["verify", "four-suppliers", out]).exit_code == 0
    assert runner.invoke(cli.main, ["report", out, "--xlsx", str(tmp_path / "w.xlsx")]).exit_code == 0
    assert runner.invoke(cli.main, ["compare", out, out, "--out", str(tmp_path / "cmp")]).exit_code == 0
    assert tasks == ["solving", "writing the results", "verifying", "writing the report", "writing the workbook",
                     "comparing"]


@pytest.mark.parametrize("log", [False, True])
def test_with_the_solvers_log_the_status_line_keeps_out_of_it(monkeypatch, tmp_path, log):
    """`solve --log` shows HiGHS's own lines on stderr; the status line's heartbeat wrote between
    them ("\r  1.0 s  best plan -" every second on a terminal, amid the log). With --log the
    solve's status line has no heartbeat; without it, it has one (terminal or log file)."""
    import planner.cli.plan as plan
    from planner.cli.progress import Progress

    made: list[Progress] = []

    class Recorded(Progress):
        def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(plan, "Progress", Recorded)
    args = ["solve", "four-suppliers", "--out", str(tmp_path / "r")] + (["--log"] if log else [])
    assert CliRunner().invoke(cli.main, args).exit_code == 0
    solving = next(p for p in made if not p.task)
    assert (solving.heartbeat is None) == log


def test_the_status_line_of_an_evaluation_is_its_elapsed_time():
    """An evaluation's solves (the recourse, the least disposal) have figures that are not the
    plan's objective: its line shows the elapsed time and what it does."""
    from planner.cli.progress import Progress

    progress = Progress(every=0.0, task="evaluating")
    progress.started = float("inf")  # the seconds shown are the state's alone, however slow this machine
    progress.state = (12.34, 5.0, 4.0)
    assert progress._text() == "     12.3 s  evaluating" and progress._text(10) == "     12.3 "


@pytest.mark.parametrize("task", ["", "verifying"])
def test_a_tasks_line_is_cleared_when_it_is_done_and_the_solves_stays(monkeypatch, task):
    """On a terminal the solve's last status line stays (its best plan, bound and gap); a task's
    line ("  4.1 s  writing the workbook") stayed above what followed, saying nothing more: it is
    cleared when the task ends."""
    import click

    from planner.cli import common
    from planner.cli.progress import Progress

    shown: list[tuple[str, bool]] = []
    monkeypatch.setattr(click, "echo", lambda text="", err=False, nl=True: shown.append((text, nl)))
    monkeypatch.setitem(common.QUIET, "on", False)
    monkeypatch.setenv("COLUMNS", "40")
    progress = Progress(every=0.0, task=task)
    progress.interactive = True  # (as on a terminal; no heartbeat thread: each call shows)
    progress._show()
    progress.close()
    assert shown[-1] == (("\r" + " " * 39 + "\r", False) if task else ("", True))


def _synopses() -> dict[str, set[str]]:
    """The options each command's synopsis in the README's "Using it" block names."""
    readme = (REPO / "README.md").read_text()
    block = readme[readme.index("## Using it"):].split("```")[1]
    commands: dict[str, set[str]] = {}
    current = None
    for line in block.splitlines():
        if line.startswith("planner "):
            current = line.split()[1]
            commands[current] = set()
        if current:
            commands[current] |= set(re.findall(r"--[a-z][a-z-]*", line))
    return commands


def test_readme_synopses_match_the_help():
    synopses = _synopses()
    assert set(synopses) == set(cli.main.commands)
    for name, command in cli.main.commands.items():
        options = {opt for p in command.params if isinstance(p, click.Option) for opt in p.opts
                   if opt.startswith("--")} - {"--help"}
        assert synopses[name] == options, (name, synopses[name] ^ options)


def test_every_option_has_help_text():
    for name, command in cli.main.commands.items():
        assert command.help, name
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help and len(param.help) > 10, (name, param.opts)


def test_instances_lists_descriptions():
    result = CliRunner().invoke(cli.main, ["instances"])
    assert "us-critical-minerals  (default): " in result.output and "four-suppliers: " in result.output
    # where the files are: the description says "See NOTES.md", and a user copies an instance to edit it
    from planner.instance.bundled import bundled_dir

    folder = bundled_dir() / "us-critical-minerals"
    assert f"    files in {folder}\n" in result.output and (folder / "NOTES.md").is_file()


def test_compare_names_the_contracts_the_china_cap_changes_and_its_cost(tmp_path):
    runner = CliRunner()
    swept = runner.invoke(cli.main, ["sweep", "us-critical-minerals", "--vary", "limits.bloc:china:*.max_share=0.5,1",
                                     "--out", str(tmp_path / "sw"), "--workers", "1", "--quiet"])
    assert swept.exit_code == 0, swept.stderr
    table = pd.read_csv(tmp_path / "sw" / "sweep.csv").set_index("limits.bloc:china:*.max_share")
    runs = [tmp_path / "sw" / "runs" / table.at[value, "id"] for value in (0.5, 1.0)]
    result = runner.invoke(cli.main, ["compare", *map(str, runs), "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.stderr
    selected = [set(pd.read_csv(r / "contracts.csv").query("selected == 1")["option"]) for r in runs]
    added, dropped = sorted(selected[1] - selected[0]), sorted(selected[0] - selected[1])
    assert added or dropped
    line = next(x for x in result.stdout.splitlines() if x.strip().startswith("contracts,"))
    assert line.endswith(f"added {', '.join(added) or 'none'}; dropped {', '.join(dropped) or 'none'}")
    cost = table.at[1.0, "objective"] - table.at[0.5, "objective"]
    assert cost < 0 and f"({money(cost)})" in result.stdout  # what lifting the cap saves: the cap's cost
    figures = pd.read_csv(tmp_path / "cmp" / "figures.csv")
    assert list(figures.columns[:8]) == ["result", "folder", "status", "objective", "expected_cost", "cvar",
                                         "fixed_cost", "worst_case_expected_cost"]
    assert figures["objective_change"].iloc[1] == pytest.approx(cost, rel=1e-9)
    contracts = pd.read_csv(tmp_path / "cmp" / "contracts.csv", keep_default_na=False)
    assert sorted(contracts.query("change == 'added'")["option"]) == added
    volumes = pd.read_csv(tmp_path / "cmp" / "volumes.csv")
    for run, label in zip(runs, figures["result"]):
        total = pd.read_csv(run / "volumes.csv")["volume"].sum()
        assert volumes[volumes["result"] == label]["volume"].sum() == pytest.approx(total, rel=1e-9)
    assert (tmp_path / "cmp" / "report.html").read_text().count("<table") >= 4
    whole = runner.invoke(cli.main, ["compare", str(tmp_path / "sw"), "--out", str(tmp_path / "cmp2"), "--json"])
    document = json.loads(whole.stdout)
    assert whole.exit_code == 0 and document["results"] == list(figures["result"])
    assert document["other_files"] == {} and "made from other files" not in result.stdout  # one instance's runs


def test_counts_are_singular_for_one(tmp_path):
    """'1 options x 1 periods x 1 scenarios' (generate) and 'under 1 scenario(s)' (evaluate) read as
    slips; counts now take the noun's number."""
    from planner.formatting import count

    assert [count(1, "scenario"), count(2, "scenario"), count(1200, "option")] == \
        ["1 scenario", "2 scenarios", "1,200 options"]
    made = CliRunner().invoke(cli.main, ["generate", str(tmp_path / "g"), "--commodities", "1", "--options", "1",
                                         "--periods", "2", "--events", "1"])
    assert made.exit_code == 0, made.output
    assert made.output.strip().endswith(": 1 material x 1 option (each) x 2 periods x at most 30 scenarios from "
                                        "1 independent event (2 combinations)")
    solved = CliRunner().invoke(cli.main, ["solve", str(tmp_path / "g"), "--out", str(tmp_path / "r")])
    assert solved.exit_code == 0, solved.output
    assert "note: scenarios generated from events.csv: 2 scenarios from 1 event in 1 independent group " \
           "(2 combinations)" in solved.stderr
    assert "(1 option, 2 scenarios, 2 periods)" in solved.stderr
    sampled = CliRunner().invoke(cli.main, ["scenarios", "us-critical-minerals", "--method", "sample",
                                            "--max-scenarios", "1", "--out", str(tmp_path / "s1")])
    assert sampled.exit_code == 0 and "method sample, seed 0 (1 draw, the same ones merged)" in sampled.output

    one = tmp_path / "one"  # validate, solve, sweep and the diversification's message of one of each
    one.mkdir()
    (one / "instance.toml").write_text('name = "one"\nperiods = ["2027"]\n')
    (one / "commodities.csv").write_text("commodity,shortage_penalty,min_suppliers\ngallium,1000,2\n")
    (one / "demand.csv").write_text("commodity,period,demand\ngallium,2027,10\n")
    (one / "countries.csv").write_text("country,bloc,risk\nJPN,allies,0.1\n")
    (one / "options.csv").write_text("option,commodity,origin,capacity,unit_cost,fixed_cost\n"
                                     "JP1,gallium,JPN,20,100,50\n")
    runner = CliRunner()
    validated = runner.invoke(cli.main, ["validate", str(one)])
    assert "valid (1 material, 1 option, 1 scenario, 1 period)" in validated.output
    refused = runner.invoke(cli.main, ["solve", str(one), "--out", str(tmp_path / "r1")])
    assert refused.exit_code == cli.EXIT_INFEASIBLE and "min_suppliers is 2 but only 1 option can supply it" in \
        refused.output
    (one / "commodities.csv").write_text("commodity,shortage_penalty\ngallium,1000\n")
    swept = runner.invoke(cli.main, ["sweep", str(one), "--vary", "risk.aversion=0.5", "--out", str(tmp_path / "sw"),
                                     "--workers", "1"])
    assert swept.exit_code == 0, swept.output
    assert "sweep of one: 1 run over risk.aversion" in swept.stderr and ": 1 run, 0 without a plan" in swept.stdout


def test_a_change_the_tables_cannot_show_is_no_change(tmp_path, monkeypatch):
    """Two plans that bring 0.3 t from China, one from CN1 alone and one as 0.1 t from CN1 and
    0.2 t from CN2: compare's volumes.csv said a change of 5.55111512313e-17 t (0.1 + 0.2 is
    not 0.3 in floating point; a hunt found such changes between results of one plan). A change
    between two values that are one number in the CSV files is 0; a real one stays."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli.main, ["solve", "four-suppliers", "--out", "one", "-q"]).exit_code == 0
    for name, cn1, cn2, ru1 in (("one", 0.3, 0.0, 0.0), ("two", 0.1, 0.2, 0.0), ("three", 0.1, 0.2, 1.5)):
        if name != "one":
            shutil.copytree("one", name)
        volumes = pd.read_csv(f"{name}/volumes.csv").set_index("option")
        volumes.loc[["CN1", "CN2", "RU1"], "volume"] = [cn1, cn2, ru1]
        volumes.reset_index().to_csv(f"{name}/volumes.csv", index=False)
    compared = runner.invoke(cli.main, ["compare", "one", "two", "three", "--out", "cmp", "-q"])
    assert compared.exit_code == 0, compared.output
    table = pd.read_csv(tmp_path / "cmp" / "volumes.csv").set_index(["origin_bloc", "result"])
    assert table.at[("china", "two"), "volume_change"] == 0 and table.at[("china", "three"), "volume_change"] == 0
    assert table.at[("russia", "three"), "volume_change"] == 1.5


def test_compare_says_which_files_of_the_instance_differ_between_results(tmp_path):
    """Two results of one instance by name, solved before and after its options.csv was edited (an
    option removed: what excluding a supplier costs): compare lined them up as if their plans alone
    differed. It now names the files that differ from the baseline's (summary.json's
    `instance_files`), on the terminal, in the report and in --json; an evaluation under other
    scenarios is not said to differ by the scenario files it did not use."""
    runner = CliRunner()
    folder = four_suppliers(tmp_path / "inst")
    assert runner.invoke(cli.main, ["solve", str(folder), "--out", str(tmp_path / "a"), "-q"]).exit_code == 0
    options = (folder / "options.csv").read_text().splitlines()
    (folder / "options.csv").write_text("\n".join(line for line in options if not line.startswith("RU1")) + "\n")
    assert runner.invoke(cli.main, ["solve", str(folder), "--out", str(tmp_path / "b"), "-q"]).exit_code == 0
    result = runner.invoke(cli.main, ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out",
                                      str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    said = "b was made from other files of four-suppliers than a (options.csv differs): its differences are not " \
           "its plan's alone"
    assert f"  {said}" in result.stdout.splitlines()
    assert said.replace("'", "&#x27;") in (tmp_path / "c" / "report.html").read_text(encoding="utf-8")
    document = json.loads(runner.invoke(cli.main, ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out",
                                                   str(tmp_path / "c"), "--json"]).stdout)
    assert document["other_files"] == {"b": ["options.csv"]}

    stress = tmp_path / "stress"
    stress.mkdir()
    (stress / "scenarios.csv").write_text("scenario,probability\nchina-cut,1\n")
    (stress / "disruptions.csv").write_text("scenario,scope,name,commodity,start_period,end_period,severity\n"
                                            "china-cut,bloc,china,*,2026,,1\n")
    evaluated = runner.invoke(cli.main, ["evaluate", str(folder), str(tmp_path / "b"), "--scenarios",
                                         str(stress / "scenarios.csv"), "--out", str(tmp_path / "e")])
    assert evaluated.exit_code == 0, evaluated.output
    plain = runner.invoke(cli.main, ["compare", str(tmp_path / "b"), str(tmp_path / "e"), "--out",
                                     str(tmp_path / "c2")])
    assert plain.exit_code == 0 and "made from other files" not in plain.output


def test_compare_refuses_results_of_different_instances(tmp_path):
    runner = CliRunner()
    assert runner.invoke(cli.main, ["solve", "four-suppliers", "--out", str(tmp_path / "a")]).exit_code == 0
    other = four_suppliers(tmp_path / "other-instance")
    toml = (other / "instance.toml").read_text().replace('name = "four-suppliers"', 'name = "other"')
    (other / "instance.toml").write_text(toml)
    assert runner.invoke(cli.main, ["solve", str(other), "--out", str(tmp_path / "b")]).exit_code == 0
    result = runner.invoke(cli.main, ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out",
                                      str(tmp_path / "c")])
    assert result.exit_code == cli.EXIT_INVALID_INPUT and "one instance" in result.output
    alone = runner.invoke(cli.main, ["compare", str(tmp_path / "a"), "--out", str(tmp_path / "c")])
    assert alone.exit_code == cli.EXIT_INVALID_INPUT and "two or more" in alone.output
