"""Infeasible plans are explained: one infeasible instance per limit, its diagnosis asserted.

Each docstring says why no plan exists and which relaxation is the smallest (slacks are
measured in shares of demand, suppliers, and shares of the budget).
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from helpers import write_instance

from planner import cli
from planner.errors import InfeasibleError
from planner.solve.pipeline import solve_instance

COUNTRIES = [
    {"country": "CHN", "bloc": "china", "risk": 0.8},
    {"country": "AUS", "bloc": "allies", "risk": 0.2},
    {"country": "USA", "bloc": "domestic", "risk": 0.2},
]


def build(tmp_path, options, commodity=None, settings=None, **tables):
    com = {"commodity": "ree", "shortage_penalty": 1000, "storage_capacity": 0}
    com.update(commodity or {})
    base = {"name": "infeasible", "periods": ["2026"]}
    base.update(settings or {})
    return write_instance(tmp_path / "inst", base, commodities=[com],
                          demand=[{"commodity": "ree", "period": "2026", "demand": 100}],
                          countries=COUNTRIES, options=options, **tables)


def reasons(folder) -> list[str]:
    with pytest.raises(InfeasibleError) as info:
        solve_instance(folder)
    return info.value.reasons


def test_service_level_beyond_capacity(tmp_path):
    """A can deliver 60 of 100; 0.9 must be met: at most 0.6 is reachable."""
    folder = build(tmp_path, [{"option": "A", "commodity": "ree", "origin": "AUS", "capacity": 60, "unit_cost": 10}],
                   commodity={"service_level": 0.9})
    assert reasons(folder) == ["ree: service level 0.9 cannot be met in scenario base; at most 0.6 is reachable"]


def test_service_level_in_one_scenario(tmp_path):
    """US can deliver 50; China's 100 is cut off in 'cut': only that scenario fails, at 0.5."""
    folder = build(
        tmp_path,
        [{"option": "CN", "commodity": "ree", "origin": "CHN", "capacity": 100, "unit_cost": 10},
         {"option": "US", "commodity": "ree", "origin": "USA", "capacity": 50, "unit_cost": 30}],
        commodity={"service_level": 0.9, "storage_capacity": ""},
        scenarios=[{"scenario": "base", "probability": 0.7}, {"scenario": "cut", "probability": 0.3}],
        disruptions=[{"scenario": "cut", "scope": "bloc", "name": "china", "commodity": "*", "start_period": "2026"}],
    )
    assert reasons(folder) == ["ree: service level 0.9 cannot be met in scenario cut; at most 0.5 is reachable"]


def test_min_suppliers_blocked_by_an_expensive_agreement(tmp_path):
    """The only option needs an agreement; option 10,000 + agreement 10,000 against a budget
    of 0 is two budgets' worth (scale 10,000), dropping the supplier requirement only one."""
    folder = build(
        tmp_path,
        [{"option": "R", "commodity": "ree", "origin": "CHN", "capacity": 100, "unit_cost": 10,
          "fixed_cost": 10000, "agreement": "deal"}],
        commodity={"min_suppliers": 1},
        settings={"budget": {"fixed_cost_max": 0}},
        agreements=[{"agreement": "deal", "fixed_cost": 10000}],
    )
    assert reasons(folder) == [
        "ree: min_suppliers 1 cannot be met; at most 0 of its 1 option can be contracted within the other limits"]


@pytest.mark.parametrize("money, said", [(1.0, ("600.00", "1,000.00")), (1e-6, ("0.0006", "0.001"))])
def test_budget_too_small_for_required_suppliers(tmp_path, money, said):
    """Two suppliers required at 500 each, budget 600: raising the budget to 1,000 (0.67 of
    a 600 budget) is smaller than dropping a supplier (1). The same in millions (0.0006 M):
    the figures read "0.00 is too small; ... at least 0.00", as though no budget were asked."""
    folder = build(
        tmp_path,
        [{"option": "A", "commodity": "ree", "origin": "AUS", "capacity": 100, "unit_cost": 10 * money,
          "fixed_cost": 500 * money},
         {"option": "B", "commodity": "ree", "origin": "USA", "capacity": 100, "unit_cost": 20 * money,
          "fixed_cost": 500 * money}],
        commodity={"min_suppliers": 2, "shortage_penalty": 1000 * money},
        settings={"budget": {"fixed_cost_max": 600 * money}},
    )
    assert reasons(folder) == [
        f"budget: fixed_cost_max {said[0]} is too small; the other limits need at least {said[1]} USD of fixed costs"]


def test_average_risk_forced_by_minimum_volume(tmp_path):
    """The only supplier is Chinese (risk 0.8) with a minimum of 50 and must be contracted;
    the cap of 0.5 cannot hold."""
    folder = build(
        tmp_path,
        [{"option": "CN", "commodity": "ree", "origin": "CHN", "capacity": 100, "unit_cost": 10, "min_volume": 50}],
        commodity={"min_suppliers": 1, "max_avg_risk": 0.5},
    )
    assert reasons(folder) == [
        "ree: max_avg_risk 0.5 cannot be met in 2026; the volumes the other limits require average a risk of 0.800"]


def test_share_limit_forced_by_minimum_volume(tmp_path):
    """The contracted Chinese option must deliver at least 50 of a demand of 100; China's
    share is capped at 0.3."""
    folder = build(
        tmp_path,
        [{"option": "CN", "commodity": "ree", "origin": "CHN", "capacity": 100, "unit_cost": 10, "min_volume": 50}],
        commodity={"min_suppliers": 1},
        limits=[{"scope": "bloc", "name": "china", "commodity": "*", "max_share": 0.3}],
    )
    assert reasons(folder) == [
        "ree: share limit 0.3 on bloc china (limits.csv row 2) cannot be met in 2026; at least 0.5 of demand "
        "must be contracted from it"]


def test_a_cap_on_what_is_supplied_names_every_scenario_of_its_row(tmp_path):
    """As above, on what is supplied: China's option must deliver 50 of 100 wherever China is not
    cut, above a cap of 0.3. The row of that recourse copy holds for three scenarios; the
    diagnosis named one of them (", scenario australia-cut"), which read as if the others were fine."""
    folder = build(
        tmp_path,
        [{"option": "CN", "commodity": "ree", "origin": "CHN", "capacity": 100, "unit_cost": 10, "min_volume": 50}],
        commodity={"min_suppliers": 1},
        limits=[{"scope": "bloc", "name": "china", "commodity": "*", "max_share": 0.3, "basis": "supplied"}],
        scenarios=[{"scenario": s, "probability": p} for s, p in
                   (("calm", 0.4), ("australia-cut", 0.3), ("usa-cut", 0.2), ("china-cut", 0.1))],
        disruptions=[{"scenario": s, "scope": "bloc", "name": b, "commodity": "*", "start_period": "2026"}
                     for s, b in (("australia-cut", "allies"), ("usa-cut", "domestic"), ("china-cut", "china"))],
    )
    assert reasons(folder) == [
        "ree: share limit 0.3 on bloc china (limits.csv row 2, basis supplied) cannot be met in 2026 (scenarios "
        "australia-cut, calm, usa-cut); at least 0.5 of demand must be supplied by it (spot included)"]


def test_initial_stock_that_cannot_be_stored(tmp_path):
    """500 in stock, 100 demanded, room for 100: 300 can be neither used nor stored."""
    folder = build(tmp_path, [{"option": "A", "commodity": "ree", "origin": "AUS", "capacity": 60, "unit_cost": 10}],
                   commodity={"initial_stock": 500, "storage_capacity": 100})
    assert reasons(folder) == [
        "ree: in scenario base, 2026, 300 t can be neither used nor stored (storage_capacity 100); lower "
        "initial_stock, min_volume or min_suppliers, or raise storage_capacity"]


def test_cli_prints_the_diagnosis_with_its_exit_code(tmp_path, monkeypatch):
    folder = build(tmp_path, [{"option": "A", "commodity": "ree", "origin": "AUS", "capacity": 60, "unit_cost": 10}],
                   commodity={"service_level": 0.9})
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli.main, ["solve", str(folder)])
    assert result.exit_code == cli.EXIT_INFEASIBLE
    assert "ree: service level 0.9 cannot be met in scenario base; at most 0.6 is reachable" in result.output
    assert not (tmp_path / "results").exists()
