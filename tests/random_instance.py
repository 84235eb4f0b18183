"""Small random instances using every feature of the format, for property tests."""

from __future__ import annotations

import random
from pathlib import Path

from helpers import write_instance

COUNTRIES = [
    {"country": "CHN", "bloc": "china", "risk": 0.588},
    {"country": "RUS", "bloc": "russia", "risk": 0.684},
    {"country": "AUS", "bloc": "allies", "risk": 0.2},
    {"country": "IDN", "bloc": "global_south", "risk": 0.588},
    {"country": "USA", "bloc": "domestic", "risk": 0.507},
]


def random_instance(folder: Path, seed: int, max_options: int = 5, *, materials: int | None = None,
                    aversion: float | None = None, binding_budget: bool = False, relaxed: bool = False,
                    price_shocks: bool = False, ambiguity: float | None = None, multi_stage: bool = False,
                    supplied_limits: bool = False) -> Path:
    """Write a random instance with at most `max_options` options (2^K contract choices).

    By default every feature may appear. Asked for a shape, it draws that shape: `materials`
    materials, each with at least two options; `aversion` as lambda; `binding_budget`, a
    budget of the two cheapest options' fixed costs (and every option with one); `relaxed`,
    no rule that can make it infeasible (service levels, minimum suppliers, average risk,
    initial stock), so that every example has an optimum; `price_shocks`, spot options and
    disruptions with price factors (some of severity 0: price events only); `ambiguity`, delta;
    `multi_stage`, a multi-stage plan over two to four periods, lead times 0 to 2 (or the default);
    `supplied_limits`, share limits on what is supplied (spot included) as well as contracted.
    """
    rng = random.Random(seed)
    T = rng.randint(2, 4) if multi_stage else rng.randint(1, 3)
    periods = [str(2026 + t) for t in range(T)]
    mats = ["ree", "gallium"][: rng.randint(1, 2) if materials is None else materials]
    codes = [c["country"] for c in COUNTRIES]
    blocs = sorted({c["bloc"] for c in COUNTRIES})
    maybe = lambda p, value: value if rng.random() < p else ""  # noqa: E731

    commodities = [{
        "commodity": m,
        "shortage_penalty": rng.choice([50, 200, 500]),
        "holding_cost": maybe(0.5, round(rng.uniform(0, 5), 2)),
        "initial_stock": maybe(0.3, rng.randint(0, 40)),
        "storage_capacity": maybe(0.6, rng.choice([0, 20, 100])),
        "service_level": maybe(0.25, rng.choice([0.5, 0.8])),
        "min_suppliers": maybe(0.2, 1),
        "max_avg_risk": maybe(0.25, rng.choice([0.55, 0.6, 0.7])),
    } for m in mats]
    demand = [{"commodity": m, "period": p, "demand": rng.randint(0, 100)} for m in mats for p in periods
              if rng.random() < 0.9]
    agreements = [{"agreement": "G1", "fixed_cost": rng.randint(0, 400)},
                  {"agreement": "G2", "fixed_cost": rng.randint(0, 400)}]
    options = []
    least = 2 if materials is None else 2 * len(mats)
    for k in range(rng.randint(least, max(least, max_options))):
        is_spot = rng.random() < 0.3
        options.append({
            "option": f"O{k}",
            "commodity": rng.choice(mats),
            "origin": rng.choice(codes),
            "processor": maybe(0.3, rng.choice(codes)),
            "capacity": rng.choice([20, 50, 80, 120]),
            "unit_cost": rng.randint(5, 150),
            "fixed_cost": maybe(0.7, rng.randint(0, 1500)),
            "min_volume": maybe(0.3, rng.randint(1, 40)),
            "available_from": maybe(0.3, rng.choice(periods)),
            "spot": 1 if is_spot else maybe(0.5, 0),
            "spot_premium": maybe(0.5, round(rng.uniform(0, 0.5), 2)),
            "agreement": "" if is_spot else maybe(0.3, rng.choice(["G1", "G2"])),
        })
    capacity = [{"option": o["option"], "period": rng.choice(periods), "capacity": rng.choice([0, 10, 60])}
                for o in options if rng.random() < 0.3]
    capacity = list({(c["option"], c["period"]): c for c in capacity}.values())
    limits = []
    for _ in range(rng.randint(0, 2)):
        scope = rng.choice(["country", "bloc"])
        limits.append({"scope": scope, "name": rng.choice(codes if scope == "country" else blocs),
                       "commodity": rng.choice(["*", *mats]), "max_share": rng.choice([0.3, 0.5, 0.8])})
    limits = list({(r["scope"], r["name"], r["commodity"]): r for r in limits}.values())

    n_scen = rng.randint(1, 3)
    weights = [rng.randint(1, 5) for _ in range(n_scen)]
    scenarios = [{"scenario": f"s{i}", "probability": w / sum(weights)} for i, w in enumerate(weights)]
    disruptions = []
    for sc in scenarios[1:]:
        for _ in range(rng.randint(1, 2)):
            scope = rng.choice(["country", "bloc"])
            first = rng.randrange(T)
            disruptions.append({
                "scenario": sc["scenario"], "scope": scope,
                "name": rng.choice(codes if scope == "country" else blocs),
                "commodity": rng.choice(["*", *mats]), "start_period": periods[first],
                "end_period": maybe(0.5, periods[rng.randrange(first, T)]),
                "severity": maybe(0.6, rng.choice([0.5, 1])),
            })
    settings: dict = {
        "name": f"random-{seed}", "periods": periods,
        "discount_rate": rng.choice([0.0, 0.0, 0.05]),
        "risk": {"aversion": rng.choice([0.0, 0.3, 1.0]), "cvar_alpha": rng.choice([0.5, 0.8])},
    }
    if rng.random() < 0.2:
        settings["budget"] = {"fixed_cost_max": rng.choice([500, 1500])}
    if materials is not None:  # each material at least two options
        for k, option in enumerate(options[:least]):
            option["commodity"] = mats[k % len(mats)]
    if relaxed:
        for row in commodities:
            row.update(service_level="", min_suppliers="", max_avg_risk="", initial_stock="")
    if aversion is not None:
        settings["risk"]["aversion"] = aversion
    if ambiguity is not None:
        settings["risk"]["ambiguity"] = ambiguity
    if price_shocks:
        for option in options[::2]:
            option.update(spot=1, agreement="")
        for row in disruptions:
            row["price_factor"] = rng.choice([1, 1.5, 3])
        for sc in scenarios[1:]:
            disruptions.append({"scenario": sc["scenario"], "scope": "bloc", "name": "china",
                                "commodity": rng.choice(["*", *mats]), "start_period": periods[0], "end_period": "",
                                "severity": 0, "price_factor": rng.choice([2, 4])})
    if supplied_limits:
        for option in options[::2]:
            option.update(spot=1, agreement="")
        for row in limits:
            row["basis"] = rng.choice(["contracted", "supplied"])
        limits.append({"scope": "bloc", "name": "china", "commodity": mats[0], "max_share": rng.choice([0.3, 0.6]),
                       "basis": "supplied"})
        limits = list({(r["scope"], r["name"], r["commodity"]): r for r in limits}.values())
    if multi_stage:
        settings["decisions"] = {"stages": "multi"}
        for option in options:
            option["lead_time"] = maybe(0.7, rng.choice([0, 1, 2]))
    if binding_budget:
        for option in options:
            option["fixed_cost"] = option["fixed_cost"] or rng.randint(100, 1500)
        settings["budget"] = {"fixed_cost_max": sum(sorted(o["fixed_cost"] for o in options)[:2])}
    tables: dict = {"commodities": commodities, "demand": demand or [{"commodity": mats[0], "period": periods[0],
                                                                       "demand": 10}],
                    "countries": COUNTRIES, "options": options, "agreements": agreements,
                    "scenarios": scenarios}
    if capacity:
        tables["capacity"] = capacity
    if limits:
        tables["limits"] = limits
    if disruptions:
        tables["disruptions"] = disruptions
    return write_instance(folder, settings, **tables)
