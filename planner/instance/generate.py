"""Random but plausible instances of any size, using every file of the format (and, with the switches
of `Shape`, every feature: lead times, price shocks, supplied-basis limits).

Same arguments and seed, same files. Countries carry WGI-like risks and real blocs; each
material has incumbent options (some mined elsewhere and processed in China), spot
capacity at a premium, new projects that start later and ramp up (`capacity.csv`),
options gated by a Russia or a Ukraine deal, a China share cap, and, for some materials,
service levels, supplier minimums and average-risk caps. Scenarios combine bloc and
country cut-offs of random start, length and severity around a no-disruption base.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from planner.results.manifest import Kind
from planner.results.ownership import staged_folder

COUNTRIES = [  # code, bloc, risk (about WGI 2022 instability)
    ("CHN", "china", 0.588), ("RUS", "russia", 0.684), ("UKR", "ukraine", 0.900), ("USA", "domestic", 0.507),
    ("AUS", "allies", 0.330), ("CAN", "allies", 0.320), ("JPN", "allies", 0.290), ("FRA", "allies", 0.430),
    ("IDN", "global_south", 0.588), ("BRA", "global_south", 0.580), ("COD", "global_south", 0.870),
    ("MMR", "global_south", 0.942), ("VNM", "global_south", 0.460), ("ZAF", "global_south", 0.540),
]
MATERIALS = ["ndpr_oxide", "heavy_ree_oxide", "gallium", "germanium", "graphite", "antimony", "tungsten",
             "cobalt", "lithium", "nickel", "manganese", "vanadium", "indium", "tantalum", "niobium"]


def _write(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _probabilities(rng: random.Random, count: int) -> list[float]:
    """Scenario probabilities that sum to 1 exactly in their written form: a likely base."""
    weights = [count * 2.0] + [rng.uniform(0.2, 2.0) for _ in range(count - 1)]
    probs = [round(w / sum(weights), 12) for w in weights]
    probs[0] = round(1.0 - sum(probs[1:]), 12)
    return probs


@dataclass(frozen=True)
class Shape:
    """The family of a generated instance (`planner generate` switches): by default the ladder's.

    - `aversion`: lambda (default 0.3);
    - `ambiguity`: delta, each scenario probability trusted to within this share (default 0);
    - `budget`: a fixed-cost budget of this share of every option's and agreement's fixed cost
      (0.1 binds on the ladder's M, seeds 0-2: its unconstrained plan spends 13% at seed 0; L's less);
    - `agreements`: extra deals, each gating the options of one country across every material
      (deals shared by many materials), beyond the Russia and Ukraine deals;
    - `events`: scenarios from this many independent events (events.csv, 2^events combinations,
      at most `scenarios` of them kept: `[events] max_scenarios` of instance.toml) instead of
      explicit scenarios;
    - `lead_times`: each option's volume fixed 0-3 periods ahead of delivery in a multi-stage
      plan (options.csv `lead_time`: spot 0, incumbents 0-2, new projects 1-3) instead of the
      default 1;
    - `price_shocks`: some cut-offs also multiply spot prices (`price_factor` 1.5-3);
    - `supplied_limits`: share caps on what arrives in each scenario (limits.csv `basis`
      supplied: the Global South 50% and one country 30%) beside the contracted China cap.

    The last three draw from a generator of their own, so that an instance without them is the
    one the same seed always gave.
    """

    aversion: float = 0.3
    ambiguity: float = 0.0
    budget: float | None = None
    agreements: int = 0
    events: int = 0
    lead_times: bool = False
    price_shocks: bool = False
    supplied_limits: bool = False

    def switches(self) -> str:
        """The `planner generate` switches that give this shape ("" for the default)."""
        parts = [f" --aversion {self.aversion:g}" if self.aversion != 0.3 else "",
                 f" --ambiguity {self.ambiguity:g}" if self.ambiguity else "",
                 f" --budget-share {self.budget:g}" if self.budget is not None else "",
                 f" --shared-agreements {self.agreements}" if self.agreements else "",
                 f" --events {self.events}" if self.events else "",
                 " --lead-times" if self.lead_times else "", " --price-shocks" if self.price_shocks else "",
                 " --supplied-limits" if self.supplied_limits else ""]
        return "".join(parts)


def generate_instance(out: Path, commodities: int, options: int, periods: int, scenarios: int,
                      seed: int = 0, force: bool = False, shape: Shape | None = None,
                      on_note: Callable[[str], None] | None = None) -> Path:
    """Write an instance with `options` options per material into the folder `out`.

    `out` must not exist, be empty, or hold an instance planner generated (replaced; with
    `force` even when its files changed since): `planner.results.ownership`. `on_note` hears
    where the instance has less of a feature than asked for (fewer shared deals than countries).
    """
    with staged_folder(Path(out), Kind.INSTANCE, force, option="OUT") as folder:
        _write_instance(folder, commodities, options, periods, scenarios, seed, shape or Shape(),
                        on_note or (lambda text: None))
    return Path(out)


def _write_instance(out: Path, commodities: int, options: int, periods: int, scenarios: int, seed: int,
                    shape: Shape, on_note: Callable[[str], None]) -> None:
    rng = random.Random(seed)
    features = random.Random(f"features-{seed}")  # lead times, price shocks, supplied limits: apart from rng
    labels = [str(2026 + t) for t in range(periods)]
    mats = [MATERIALS[i] if i < len(MATERIALS) else f"material_{i + 1}" for i in range(commodities)]
    codes = [c[0] for c in COUNTRIES]
    blocs = sorted({c[1] for c in COUNTRIES})

    (out / "instance.toml").write_text(
        f'name = "generated-{commodities}x{options}x{periods}x{scenarios}-s{seed}"\n'
        f'description = "planner generate --commodities {commodities} --options {options} --periods {periods} '
        f'--scenarios {scenarios} --seed {seed}{shape.switches()}"\n'
        f"periods = [{', '.join(repr(p).replace(chr(39), chr(34)) for p in labels)}]\n"
        f"discount_rate = 0.03\n\n[risk]\naversion = {shape.aversion:g}\ncvar_alpha = 0.9\n"
        + (f"ambiguity = {shape.ambiguity:g}\n" if shape.ambiguity else ""), encoding="utf-8")
    _write(out / "countries.csv", ["country", "bloc", "risk"], [list(c) for c in COUNTRIES])

    base_demand = {m: rng.uniform(100, 1000) for m in mats}
    growth = {m: rng.uniform(0.0, 0.08) for m in mats}
    demand = [[m, p, round(base_demand[m] * (1 + growth[m]) ** t, 3)] for m in mats for t, p in enumerate(labels)]
    _write(out / "demand.csv", ["commodity", "period", "demand"], demand)

    price = {m: rng.uniform(5_000, 500_000) for m in mats}  # per unit
    _write(out / "commodities.csv",
           ["commodity", "shortage_penalty", "holding_cost", "initial_stock", "storage_capacity", "service_level",
            "min_suppliers", "max_avg_risk"],
           [[m, round(price[m] * rng.uniform(3, 6), 2), round(price[m] * 0.02, 2),
             round(base_demand[m] * rng.choice([0, 0, 0.25]), 3), round(base_demand[m] * rng.choice([0.5, 1, 2]), 3),
             rng.choice(["", "", "", 0.5]), rng.choice([0, 0, 1, 2]), rng.choice(["", "", 0.7])] for m in mats])

    option_rows, capacity_rows = [], []
    for m in mats:
        for k in range(options):
            origin = rng.choice(codes)
            processor = "CHN" if origin != "CHN" and rng.random() < 0.3 else ""
            cap = round(base_demand[m] * rng.uniform(0.15, 0.6), 3)
            is_spot = rng.random() < 0.2
            agreement = "" if is_spot else {"RUS": "us_russia_deal", "UKR": "us_ukraine_deal"}.get(origin, "")
            new_project = not is_spot and periods > 2 and rng.random() < 0.25
            start = rng.randrange(1, periods) if new_project else 0
            option_rows.append([
                f"{m}-{origin}-{k + 1}", m, origin, processor, cap,
                round(price[m] * rng.uniform(0.8, 1.4), 2),
                round(price[m] * cap * rng.uniform(0.05, 0.5) * (4 if new_project else 1), 2),
                round(cap * rng.choice([0, 0, 0.2]), 3), labels[start] if new_project else "",
                int(is_spot), round(rng.uniform(0.1, 0.6), 3) if is_spot else "", agreement,
            ])
            if new_project:  # ramp-up: a third, two thirds, then full capacity
                for step, t in enumerate(range(start, min(start + 2, periods))):
                    capacity_rows.append([f"{m}-{origin}-{k + 1}", labels[t], round(cap * (step + 1) / 3, 3)])
    _write(out / "capacity.csv", ["option", "period", "capacity"], capacity_rows)
    deals = [["us_russia_deal", round(sum(price.values()) * 20, 2), "generated"],
             ["us_ukraine_deal", round(sum(price.values()) * 5, 2), "generated"]]
    if shape.agreements:
        made = _share_agreements(rng, shape.agreements, option_rows, deals, price)
        if made < shape.agreements:
            on_note(f"{made} shared deals, not {shape.agreements}: one for each country with options a deal can "
                    "gate (not spot, not already the Russia or Ukraine deal's, not the USA's)")
    option_columns = ["option", "commodity", "origin", "processor", "capacity", "unit_cost", "fixed_cost",
                      "min_volume", "available_from", "spot", "spot_premium", "agreement"]
    if shape.lead_times:  # spot at once; a new project's volume fixed longest ahead
        option_columns.append("lead_time")
        for row in option_rows:
            row.append(0 if row[9] else features.randint(1, 3) if row[8] else features.choice([0, 1, 1, 2]))
    _write(out / "options.csv", option_columns, option_rows)
    _write(out / "agreements.csv", ["agreement", "fixed_cost", "description"], deals)
    if shape.supplied_limits:
        _write(out / "limits.csv", ["scope", "name", "commodity", "max_share", "basis"],
               [["bloc", "china", "*", 0.6, "contracted"], ["bloc", "global_south", "*", 0.5, "supplied"],
                ["country", features.choice([c for c in codes if c != "CHN"]), "*", 0.3, "supplied"]])
    else:
        _write(out / "limits.csv", ["scope", "name", "commodity", "max_share"], [["bloc", "china", "*", 0.6]])
    if shape.budget is not None:
        total = sum(float(row[6]) for row in option_rows) + sum(float(d[1]) for d in deals)
        with open(out / "instance.toml", "a", encoding="utf-8") as fh:
            fh.write(f"\n[budget]\nfixed_cost_max = {round(shape.budget * total, 2)}\n")
    shock = (lambda: features.choice(["", "", 1.5, 2, 3])) if shape.price_shocks else None
    if shape.events:
        _write_events(out, rng, shape.events, labels, mats, codes, blocs, shock)
        with open(out / "instance.toml", "a", encoding="utf-8") as fh:
            fh.write(f"\n[events]\nmax_scenarios = {scenarios}\n")
        return

    names = ["base"] + [f"s{i:03d}" for i in range(1, scenarios)]
    _write(out / "scenarios.csv", ["scenario", "probability"], list(zip(names, _probabilities(rng, scenarios))))
    disruptions = []
    for name in names[1:]:
        for _ in range(rng.randint(1, 3)):
            scope = rng.choice(["bloc", "bloc", "country"])
            target = rng.choice(blocs) if scope == "bloc" else rng.choice(codes)
            first = rng.randrange(periods)
            last = min(periods - 1, first + rng.randint(0, 3))
            disruptions.append([name, scope, target, rng.choice(["*", "*", rng.choice(mats)]), labels[first],
                                labels[last], rng.choice([1, 1, 0.5, 0.3])] + ([shock()] if shock else []))
    _write(out / "disruptions.csv", ["scenario", "scope", "name", "commodity", "start_period", "end_period",
                                     "severity"] + (["price_factor"] if shock else []), disruptions)


def _share_agreements(rng: random.Random, count: int, option_rows: list[list[object]], deals: list[list[object]],
                      price: dict[str, float]) -> int:
    """`count` more deals, each gating every ungated non-spot option of one country, whatever
    its material (so that one deal links many materials); at most one per such country: how
    many were made."""
    countries = sorted({row[2] for row in option_rows if not row[11] and not row[9]} - {"USA"})
    for k, country in enumerate(rng.sample(countries, min(count, len(countries)))):
        name = f"deal_{k + 1}_{country.lower()}"
        gated = [row for row in option_rows if row[2] == country and not row[11] and not row[9]]
        for row in gated:
            row[11] = name
        deals.append([name, round(sum(price.values()) * rng.uniform(2, 10), 2), "generated: shared by materials"])
    return min(count, len(countries))


def _write_events(out: Path, rng: random.Random, count: int, labels: list[str], mats: list[str],
                  codes: list[str], blocs: list[str], shock: Callable[[], object] | None = None) -> None:
    """events.csv with `count` independent events (2^count combinations): bloc and country
    cut-offs of random start, length and severity, probability 0.05-0.4 each; with `shock`, each
    row's price factor drawn from it."""
    periods = len(labels)
    rows = []
    for k in range(count):
        probability = round(rng.uniform(0.05, 0.4), 3)
        for _ in range(rng.randint(1, 2)):
            scope = rng.choice(["bloc", "country", "country"])
            target = rng.choice(blocs) if scope == "bloc" else rng.choice(codes)
            first = rng.randrange(periods)
            last = min(periods - 1, first + rng.randint(0, 3))
            rows.append([f"e{k + 1:02d}", scope, target, rng.choice(["*", rng.choice(mats)]), labels[first],
                         labels[last], rng.choice([1, 0.5, 0.3]), probability, ""] + ([shock()] if shock else []))
    _write(out / "events.csv", ["event", "scope", "name", "commodity", "start_period", "end_period", "severity",
                                "probability", "group"] + (["price_factor"] if shock else []), rows)
