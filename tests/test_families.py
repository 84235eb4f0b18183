"""One small instance per constraint family of docs/model.md section 3.3, optimum worked by hand.

Each test states its arithmetic; the instance is small enough to check on paper. Where a
family is switched off, the same instance's optimum moves, so each test also shows the
constraint is what makes the difference.
"""

from __future__ import annotations

import pytest
from helpers import examples, write_instance
from hypothesis import given
from hypothesis import strategies as st
from random_instance import random_instance

from planner.errors import InfeasibleError
from planner.solve.pipeline import solve_instance
from planner.solve.session import SolveOptions

EXACT = SolveOptions(mip_gap=1e-9)
COUNTRIES = [
    {"country": "CHN", "bloc": "china", "risk": 0.8},
    {"country": "MMR", "bloc": "global_south", "risk": 0.9},
    {"country": "AUS", "bloc": "allies", "risk": 0.2},
    {"country": "USA", "bloc": "domestic", "risk": 0.2},
]


def solve(tmp_path, options, *, commodity=None, settings=None, demand=100, **tables):
    com = {"commodity": "ree", "shortage_penalty": 1000, "storage_capacity": 0}
    com.update(commodity or {})
    base = {"name": "family", "periods": ["2026"]}
    base.update(settings or {})
    if isinstance(demand, (int, float)):
        demand = [{"commodity": "ree", "period": "2026", "demand": demand}]
    folder = write_instance(tmp_path / "inst", base, commodities=[com], demand=demand,
                            countries=COUNTRIES, options=options, **tables)
    return solve_instance(folder, EXACT)


def volume(outcome, option, period="2026"):
    t = outcome.data.periods.index(period)
    return outcome.plan.volume.get((option, t), 0.0)


def test_contract_min_volume_and_capacity(tmp_path):
    """1. q z <= x <= cap z. Demand 100, no storage. A: cap 60 at 10; B: cap 100 at 20, min 70.
    A 60 + B 70 overflows (no storage, no disposal), so B at its minimum 70 and A 30:
    300 + 1400 = 1700 (A alone: 600 + 40 x 1000 shortage; B alone: 2000)."""
    out = solve(tmp_path, [
        {"option": "A", "commodity": "ree", "origin": "AUS", "capacity": 60, "unit_cost": 10},
        {"option": "B", "commodity": "ree", "origin": "USA", "capacity": 100, "unit_cost": 20, "min_volume": 70},
    ])
    assert out.figures.objective == pytest.approx(1700)
    assert volume(out, "A") == pytest.approx(30) and volume(out, "B") == pytest.approx(70)


@pytest.mark.parametrize(("deal_cost", "objective", "signed"), [(1000, 6000, 1), (4000, 8000, 0)])
def test_agreement_gates_options(tmp_path, deal_cost, objective, signed):
    """2. z_o <= w_g. R (50/t) needs agreement G; A costs 80/t. Demand 100.
    G at 1000: 5000 + 1000 = 6000 < 8000, signed. G at 4000: 9000 > 8000, A instead."""
    out = solve(tmp_path, [
        {"option": "R", "commodity": "ree", "origin": "CHN", "capacity": 100, "unit_cost": 50, "agreement": "G"},
        {"option": "A", "commodity": "ree", "origin": "AUS", "capacity": 100, "unit_cost": 80},
    ], agreements=[{"agreement": "G", "fixed_cost": deal_cost}])
    assert out.figures.objective == pytest.approx(objective)
    assert out.plan.signed["G"] == signed and out.plan.contracted["R"] == signed
    assert out.tables["agreements"].set_index("agreement").at["G", "signed"] == signed


def test_spot_uses_remaining_available_capacity(tmp_path):
    """3. y <= a (cap - x). S: spot, cap 100, 100/t contracted, 150/t spot. Two equally likely
    scenarios: full (a = 1) and half (S's country loses 50%). Contracting x costs 100 x a,
    spot 150 y. Full: C = 100x + 150(100 - x). Half: delivered 0.5x + y <= 0.5x + 0.5(100 - x)
    = 50, so 50 short at 1000: C = 50x + 75(100 - x) + 50,000. E = 36,250 - 37.5x, least at
    x = 100: 32,500 (full 10,000, half 55,000). Without the cap on spot, 'half' would buy 50
    more spot and cost far less."""
    out = solve(
        tmp_path,
        [{"option": "S", "commodity": "ree", "origin": "AUS", "capacity": 100, "unit_cost": 100, "spot": 1,
          "spot_premium": 0.5}],
        scenarios=[{"scenario": "full", "probability": 0.5}, {"scenario": "half", "probability": 0.5}],
        disruptions=[{"scenario": "half", "scope": "country", "name": "AUS", "commodity": "ree",
                      "start_period": "2026", "severity": 0.5}],
    )
    assert out.figures.objective == pytest.approx(32500)
    assert volume(out, "S") == pytest.approx(100)
    costs = out.tables["scenario_costs"].set_index("scenario")["cost"]
    assert costs["full"] == pytest.approx(10000) and costs["half"] == pytest.approx(55000)
    supply = out.tables["supply"].set_index("scenario")
    assert supply.at["half", "delivered"] == pytest.approx(50) and supply.at["half", "shortage"] == pytest.approx(50)


def test_capacity_override_mid_horizon(tmp_path):
    """1 with capacity.csv: a period whose capacity is overridden to 0 is not in P_o.
    A (10/t) has capacity 0 in 2027 (capacity.csv); B costs 30/t. Demand 100 in both years,
    no storage: 2026 from A (1000), 2027 from B (3000) = 4000."""
    out = solve(
        tmp_path,
        [{"option": "A", "commodity": "ree", "origin": "AUS", "capacity": 100, "unit_cost": 10},
         {"option": "B", "commodity": "ree", "origin": "USA", "capacity": 100, "unit_cost": 30}],
        settings={"periods": ["2026", "2027"]},
        demand=[{"commodity": "ree", "period": p, "demand": 100} for p in ("2026", "2027")],
        capacity=[{"option": "A", "period": "2027", "capacity": 0}],
    )
    assert out.figures.objective == pytest.approx(4000)
    assert (("A", 1) not in out.plan.volume) and volume(out, "B", "2027") == pytest.approx(100)


@pytest.mark.parametrize(("rate", "objective", "buyer"), [(0.0, 1200, "A"), (0.1, 1250 / 1.1, "B")])
def test_balance_stock_holding_and_discount(tmp_path, rate, objective, buyer):
    """4. I_t = I_t-1 + supply + u - demand. Demand 0 in 2026 and 100 in 2027; unlimited
    storage at 2/t/period. A (10/t) delivers only in 2026 (capacity 0 in 2027); B (12.5/t) is
    available from 2027. Buying A and storing: 1000 + 100 x 2 = 1200 (both in 2026, d_0 = 1).
    Buying B in 2027: 1250 d_1; at rate 0 that is 1250 > 1200 (A), at 0.1, 1136.36 (B)."""
    out = solve(
        tmp_path,
        [{"option": "A", "commodity": "ree", "origin": "AUS", "capacity": 100, "unit_cost": 10},
         {"option": "B", "commodity": "ree", "origin": "USA", "capacity": 100, "unit_cost": 12.5,
          "available_from": "2027"}],
        commodity={"storage_capacity": "", "holding_cost": 2},
        settings={"periods": ["2026", "2027"], "discount_rate": rate},
        demand=[{"commodity": "ree", "period": "2026", "demand": 0},
                {"commodity": "ree", "period": "2027", "demand": 100}],
        capacity=[{"option": "A", "period": "2027", "capacity": 0}],
    )
    assert out.figures.objective == pytest.approx(objective)
    assert out.plan.contracted[buyer] == 1
    if buyer == "A":
        assert out.plan.stock["ree", 0, "base"] == pytest.approx(100)


def test_initial_stock_counts_as_supply(tmp_path):
    """4 with initial stock 30: only 70 need buying at 10/t: 700."""
    out = solve(tmp_path, [{"option": "A", "commodity": "ree", "origin": "AUS", "capacity": 100, "unit_cost": 10}],
                commodity={"initial_stock": 30, "storage_capacity": ""})
    assert out.figures.objective == pytest.approx(700)


@pytest.mark.parametrize(("level", "objective"), [("", 1500), (0.9, 4650)])
def test_service_level(tmp_path, level, objective):
    """5. sum_t u <= (1 - SL) sum_t demand, every scenario. CN 10/t, US 50/t, shortage only
    20/t; China cut off with probability 0.5; no storage. Without a service level: CN 100,
    E = 0.5 x 1000 + 0.5 x 2000 = 1500. At 0.9 the cut-off scenario may miss 10 at most, so
    US 90 (paid in both), CN 10: base 100 + 4500, cut 4500 + 10 x 20, E = 4650."""
    out = solve(
        tmp_path,
        [{"option": "CN", "commodity": "ree", "origin": "CHN", "capacity": 100, "unit_cost": 10},
         {"option": "US", "commodity": "ree", "origin": "USA", "capacity": 100, "unit_cost": 50}],
        commodity={"shortage_penalty": 20, "service_level": level},
        scenarios=[{"scenario": "base", "probability": 0.5}, {"scenario": "cut", "probability": 0.5}],
        disruptions=[{"scenario": "cut", "scope": "bloc", "name": "china", "commodity": "*",
                      "start_period": "2026"}],
    )
    assert out.figures.objective == pytest.approx(objective)


def test_min_suppliers(tmp_path):
    """6. sum z >= min_suppliers. CN1 100/t and CN2 105/t, fixed 500 each, demand 100, no
    storage; two suppliers required: both contracted, all volume from CN1: 1000 + 10,000."""
    out = solve(
        tmp_path,
        [{"option": "CN1", "commodity": "ree", "origin": "CHN", "capacity": 100, "unit_cost": 100, "fixed_cost": 500},
         {"option": "CN2", "commodity": "ree", "origin": "CHN", "capacity": 100, "unit_cost": 105, "fixed_cost": 500}],
        commodity={"min_suppliers": 2},
    )
    assert out.figures.objective == pytest.approx(11000)
    assert out.plan.contracted == {"CN1": 1, "CN2": 1}


def test_average_risk(tmp_path):
    """7. sum r x <= rho sum x. A in CHN (risk 0.8) 10/t; B in AUS (0.2) 20/t; cap 0.5:
    0.8a + 0.2b <= 0.5(a + b) means a <= b, so 50/50: 500 + 1000 = 1500."""
    out = solve(
        tmp_path,
        [{"option": "A", "commodity": "ree", "origin": "CHN", "capacity": 100, "unit_cost": 10},
         {"option": "B", "commodity": "ree", "origin": "AUS", "capacity": 100, "unit_cost": 20}],
        commodity={"max_avg_risk": 0.5},
    )
    assert out.figures.objective == pytest.approx(1500)
    assert volume(out, "A") == pytest.approx(50)


def test_share_limit_counts_processing_country(tmp_path):
    """8. Exposed volume <= max_share x demand. CN (China) 10/t; MM mined in Myanmar but
    processed in China, 12/t; US 20/t. China's bloc capped at 30%: CN + MM <= 30, so CN 30 and
    US 70: 300 + 1400 = 1700. (Were MM not exposed through its processor: 300 + 840.)"""
    out = solve(
        tmp_path,
        [{"option": "CN", "commodity": "ree", "origin": "CHN", "capacity": 100, "unit_cost": 10},
         {"option": "MM", "commodity": "ree", "origin": "MMR", "processor": "CHN", "capacity": 100, "unit_cost": 12},
         {"option": "US", "commodity": "ree", "origin": "USA", "capacity": 100, "unit_cost": 20}],
        limits=[{"scope": "bloc", "name": "china", "commodity": "*", "max_share": 0.3}],
    )
    assert out.figures.objective == pytest.approx(1700)
    exposure = out.tables["exposure"].set_index(["scope", "name"])
    assert exposure.at[("bloc", "china"), "share"] == pytest.approx(0.3)
    assert exposure.at[("bloc", "china"), "max_share"] == pytest.approx(0.3)


@pytest.mark.parametrize(("budget", "objective"), [(None, 1500), (400, 2000)])
def test_budget(tmp_path, budget, objective):
    """9. FC <= fixed_cost_max. CHEAP 10/t with fixed 500 (1500 in all) beats PRICEY 20/t
    (2000); a budget of 400 rules CHEAP out."""
    settings = {"budget": {"fixed_cost_max": budget}} if budget is not None else {}
    out = solve(
        tmp_path,
        [{"option": "CHEAP", "commodity": "ree", "origin": "AUS", "capacity": 100, "unit_cost": 10, "fixed_cost": 500},
         {"option": "PRICEY", "commodity": "ree", "origin": "USA", "capacity": 100, "unit_cost": 20}],
        settings=settings,
    )
    assert out.figures.objective == pytest.approx(objective)


def test_min_suppliers_beyond_options_is_explained(tmp_path):
    """6, unreachable: three suppliers required where two exist."""
    with pytest.raises(InfeasibleError, match="min_suppliers is 3 but only 2 options"):
        solve(
            tmp_path,
            [{"option": "A", "commodity": "ree", "origin": "AUS", "capacity": 100, "unit_cost": 10},
             {"option": "B", "commodity": "ree", "origin": "USA", "capacity": 100, "unit_cost": 20}],
            commodity={"min_suppliers": 3},
        )


def test_service_level_unreachable_is_infeasible(tmp_path):
    """5, unreachable: 100 needed, 60 can come, service level 0.9."""
    with pytest.raises(InfeasibleError):
        solve(tmp_path, [{"option": "A", "commodity": "ree", "origin": "AUS", "capacity": 60, "unit_cost": 10}],
              commodity={"service_level": 0.9})


def test_free_idle_contracts_are_not_reported_but_required_ones_stay(tmp_path):
    """A free option with no volume is not a contract: selected 0. With min_suppliers 2 the
    same idle option must stay contracted (dropping it would break constraint 6)."""
    options = [{"option": "A", "commodity": "ree", "origin": "AUS", "capacity": 100, "unit_cost": 10},
               {"option": "IDLE", "commodity": "ree", "origin": "USA", "capacity": 100, "unit_cost": 50}]
    out = solve(tmp_path, options)
    assert out.plan.contracted == {"A": 1, "IDLE": 0}
    out = solve(tmp_path / "b", options, commodity={"min_suppliers": 2})
    assert out.plan.contracted == {"A": 1, "IDLE": 1}
    assert out.figures.objective == pytest.approx(1000)


def test_scenarios_that_spare_a_material_share_its_recourse(tmp_path):
    """Scenarios with the same availability for a material share one copy of its second
    stage, and the optimum is unchanged. ree: CN (10/t, China) or AU-R (30/t, fixed 500,
    Australia), demand 100; ga: AU-G (50/t, Australia), demand 10; shortage 1000/t, no
    storage, lambda 0. Scenarios: base 0.5, China cut 0.3, Australia cut 0.2.
    Contracting AU-R for 100: ree costs 3,000 in base and China cut, 100,000 in Australia
    cut; ga costs 500, 500 and 10,000. Expected 500 + 0.5 x 3,500 + 0.3 x 3,500 + 0.2 x
    110,000 = 25,300 (CN for 100 instead: 30,700 + 2,400). The China cut does not touch
    ga, so ga has two copies (base and Australia cut) for three scenarios."""
    folder = write_instance(
        tmp_path / "inst", {"name": "shared", "periods": ["2026"]},
        commodities=[{"commodity": c, "shortage_penalty": 1000, "storage_capacity": 0} for c in ("ree", "ga")],
        demand=[{"commodity": "ree", "period": "2026", "demand": 100},
                {"commodity": "ga", "period": "2026", "demand": 10}],
        countries=COUNTRIES,
        options=[{"option": "CN", "commodity": "ree", "origin": "CHN", "capacity": 100, "unit_cost": 10},
                 {"option": "AU-R", "commodity": "ree", "origin": "AUS", "capacity": 100, "unit_cost": 30,
                  "fixed_cost": 500},
                 {"option": "AU-G", "commodity": "ga", "origin": "AUS", "capacity": 10, "unit_cost": 50}],
        scenarios=[{"scenario": "base", "probability": 0.5}, {"scenario": "china_cut", "probability": 0.3},
                   {"scenario": "aus_cut", "probability": 0.2}],
        disruptions=[{"scenario": "china_cut", "scope": "bloc", "name": "china", "commodity": "*",
                      "start_period": "2026"},
                     {"scenario": "aus_cut", "scope": "country", "name": "AUS", "commodity": "*",
                      "start_period": "2026"}],
    )
    out = solve_instance(folder, EXACT)
    assert out.data.recourse_of["ga", "china_cut"] == "base"
    assert out.data.recourse_scenarios == {"ga": ["aus_cut", "base"], "ree": ["aus_cut", "base", "china_cut"]}
    assert out.figures.expected_cost == pytest.approx(25_300)
    assert out.figures.scenario_cost == pytest.approx({"base": 3_500, "china_cut": 3_500, "aus_cut": 110_000})
    supply = out.tables["supply"].set_index(["scenario", "commodity"])
    assert len(supply) == 6  # every scenario has its row, shared copy or not
    assert supply.loc[("china_cut", "ga"), "shortage"] == pytest.approx(0)
    assert supply.loc[("aus_cut", "ga"), "shortage"] == pytest.approx(10)
    assert volume(out, "AU-R") == pytest.approx(100) and volume(out, "CN") == pytest.approx(0)


@examples(30)
@given(seed=st.integers(0, 10**9), multi=st.booleans())
def test_supplied_share_limits_match_the_independent_formulation(tmp_path_factory, seed, multi):
    """Constraint 8b: share limits on what arrives, spot included, in every scenario; the written
    result passes verify and the independent checker (which recomputes every scenario's supply)."""
    from invariants import agrees_with_reference

    root = tmp_path_factory.mktemp("s")
    agrees_with_reference(random_instance(root / "i", seed, supplied_limits=True, multi_stage=multi), root / "res")
