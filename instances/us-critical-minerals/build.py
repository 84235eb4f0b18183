"""Writes the us-critical-minerals instance from sourced figures and stated assumptions.

Run from this folder: `python build.py`. Every number below carries its source (a file of
reference/ in this folder, or a USGS page) or the word ASSUMPTION; NOTES.md explains each one.
The CSV files it writes are committed, so the instance does not need this script to run.
"""

from __future__ import annotations

import csv
from pathlib import Path

HERE = Path(__file__).parent
PERIODS = [str(y) for y in range(2026, 2036)]

# --- production 2024 (t; gallium/germanium converted from kg / refined t), reference/production_2024.csv
PRODUCTION = {
    "rare_earth_oxide": {"CHN": 270000, "USA": 45000, "MMR": 31000, "AUS": 13000, "RUS": 2500},
    "gallium": {"CHN": 750, "RUS": 6, "JPN": 3, "KOR": 3},  # 750,000 kg -> 750 t
    "germanium": {"CHN": 180, "CAN": 20, "RUS": 6, "BEL": 4},  # refined 2022 (OFR 2024-1057)
    "graphite": {"CHN": 1270000, "MDG": 89000, "MOZ": 75000, "BRA": 68000, "CAN": 20000, "RUS": 20000, "UKR": 1200},
    "antimony": {"CHN": 60000, "TJK": 17000, "RUS": 13000, "MMR": 4500, "BOL": 3700, "AUS": 2000, "TUR": 1600},
    "tungsten": {"CHN": 67000, "VNM": 3400, "RUS": 2000, "BOL": 1600, "RWA": 1200, "AUS": 1000},
}
# --- 2024 prices, USD/t, reference/us_import_reliance_and_prices.csv (x1000 from USD/kg)
PRICE = {
    "ndpr_oxide": 56000,  # Nd oxide 56 USD/kg
    "heavy_ree_oxide": 0.8 * 260000 + 0.2 * 810000,  # ASSUMPTION: 80% Dy oxide (260) + 20% Tb oxide (810)
    "gallium": 500000,  # high-purity 500 USD/kg
    "germanium": 2100000,  # metal 2,100 USD/kg
    "graphite": 1070,  # flake import unit value 1,070 USD/t
    "antimony": 21000,  # 21 USD/kg
    "tungsten": 31500,  # 31.5 USD/kg W
}
NDPR_FLOOR = 110000  # US DoD-MP Materials NdPr floor price, 110 USD/kg (reference)
NDPR_SHARE_OF_REO = 0.20  # ASSUMPTION: NdPr oxide is about 20% of mixed REO (bastnaesite/monazite)
HREE_SHARE_OF_REO = {"CHN": 0.03, "MMR": 0.05, "AUS": 0.01, "RUS": 0.02}  # ASSUMPTION (ionic clays richer)

# --- US demand in 2026 (t/yr) and yearly growth
DEMAND = {  # material: (2026 demand, growth, source)
    "ndpr_oxide": (2000, 0.10, "ASSUMPTION: magnet build-out (MP 10,000 t/yr magnet plant needs ~3,000 t NdPr)"),
    "heavy_ree_oxide": (150, 0.08, "ASSUMPTION: ~7% of NdPr demand for Dy/Tb in high-temperature magnets"),
    "gallium": (16, 0.05, "USGS: ~16 t/yr US consumption, average 2016-2020; growth ASSUMPTION (GaN)"),
    "germanium": (30, 0.03, "ASSUMPTION: ~15% of world refined output (210 t)"),
    "graphite": (60000, 0.08, "ASSUMPTION: ~4% of world natural graphite; growth with EV anodes"),
    "antimony": (23600, 0.0, "USGS MCS 2011: apparent consumption 2006-2010 mean 23,640 t; flat ASSUMPTION"),
    "tungsten": (10000, 0.0, "ASSUMPTION: ~12% of world mine output (81,000 t)"),
}
SERVICE_LEVEL = {"ndpr_oxide": 0.9, "heavy_ree_oxide": 0.85}  # ASSUMPTION: policy; see NOTES.md for Ga/Ge
US_ACCESS = {"CHN": 0.10, "default": 0.30, "ally": 0.50}  # ASSUMPTION: share of a country's output the US can contract
ALLIES = {"AUS", "CAN", "JPN", "KOR", "BEL", "USA"}

# --- countries: WGI instability_2022 (reference/wgi_political_stability.csv) and bloc
COUNTRIES = [
    ("CHN", "china", 0.588, "China"), ("RUS", "russia", 0.684, "Russian Federation"),
    ("UKR", "ukraine", 0.900, "Ukraine"), ("USA", "domestic", 0.507, "United States"),
    ("AUS", "allies", 0.313, "Australia"), ("CAN", "allies", 0.345, "Canada"), ("JPN", "allies", 0.285, "Japan"),
    ("KOR", "allies", 0.388, "Republic of Korea"), ("BEL", "allies", 0.385, "Belgium"),
    ("MYS", "global_south", 0.472, "Malaysia"), ("MMR", "global_south", 0.942, "Myanmar"),
    ("COD", "global_south", 0.896, "DR Congo"), ("MDG", "global_south", 0.606, "Madagascar"),
    ("MOZ", "global_south", 0.758, "Mozambique"), ("BRA", "global_south", 0.566, "Brazil"),
    ("TJK", "global_south", 0.639, "Tajikistan"), ("BOL", "global_south", 0.557, "Bolivia"),
    ("TUR", "global_south", 0.708, "Turkiye"), ("VNM", "global_south", 0.506, "Viet Nam"),
    ("RWA", "global_south", 0.494, "Rwanda"),
]


def access(country: str) -> float:
    return US_ACCESS["CHN"] if country == "CHN" else US_ACCESS["ally" if country in ALLIES else "default"]


def option(name, commodity, origin, capacity, unit_cost, processor="", fixed_cost=0, min_volume=0,
           available_from="", spot=0, spot_premium="", agreement=""):
    return dict(option=name, commodity=commodity, origin=origin, processor=processor, capacity=round(capacity, 3),
                unit_cost=round(unit_cost, 2), fixed_cost=fixed_cost, min_volume=min_volume,
                available_from=available_from, spot=spot, spot_premium=spot_premium, agreement=agreement)


def incumbent(commodity, material, country, unit_cost, processor="", agreement="", share=None):
    """An option sized from 2024 production: US access share x production (x NdPr/HREE share for REE)."""
    produced = PRODUCTION[material][country]
    if commodity == "ndpr_oxide":
        produced *= NDPR_SHARE_OF_REO
    elif commodity == "heavy_ree_oxide":
        produced *= HREE_SHARE_OF_REO[country]
    cap = produced * (share if share is not None else access(country))
    tag = f"{country}-{processor}" if processor else country
    return option(f"{commodity}:{tag}", commodity, country, cap, unit_cost, processor=processor, agreement=agreement)


def options_and_ramps():
    P, ops, ramps = PRICE, [], []

    def project(name, commodity, origin, processor, full, start, fixed, cost, agreement=""):
        """New capacity: available from `start`, a third then two thirds of `full` in its first years."""
        ops.append(option(name, commodity, origin, full, cost, processor=processor, fixed_cost=fixed,
                          available_from=start, agreement=agreement))
        first = PERIODS.index(start)
        for step, period in enumerate(PERIODS[first:first + 2]):
            ramps.append(dict(option=name, period=period, capacity=round(full * (step + 1) / 3, 3)))

    ree = "rare_earth_oxide"
    # NdPr oxide
    ops.append(incumbent("ndpr_oxide", ree, "CHN", P["ndpr_oxide"]))
    ops.append(incumbent("ndpr_oxide", ree, "MMR", 0.95 * P["ndpr_oxide"], processor="CHN"))
    ops.append(incumbent("ndpr_oxide", ree, "USA", P["ndpr_oxide"], processor="CHN", share=0.5))  # concentrate
    ops.append(incumbent("ndpr_oxide", ree, "AUS", 1.1 * P["ndpr_oxide"], processor="MYS"))  # Lynas Malaysia
    ops.append(incumbent("ndpr_oxide", ree, "RUS", P["ndpr_oxide"], agreement="us_russia_deal", share=0.5))
    project("ndpr_oxide:USA-MP-separation", "ndpr_oxide", "USA", "", 1000, "2026", 0, NDPR_FLOOR)
    project("ndpr_oxide:USA-MP-10X", "ndpr_oxide", "USA", "", 3000, "2028", 1_000_000_000, NDPR_FLOOR)
    project("ndpr_oxide:AUS-Iluka-Eneabba", "ndpr_oxide", "AUS", "", 1000, "2027", 715_000_000,
            1.2 * P["ndpr_oxide"])  # AUD 1.1 bn x 0.65 USD/AUD (ASSUMPTION)
    project("ndpr_oxide:RUS-megaproject", "ndpr_oxide", "RUS", "", 2000, "2030", 300_000_000, P["ndpr_oxide"],
            agreement="us_russia_deal")
    ops.append(option("ndpr_oxide:CHN-spot", "ndpr_oxide", "CHN", 2000, P["ndpr_oxide"], spot=1, spot_premium=0.3))
    # heavy rare-earth oxide (Dy/Tb)
    ops.append(incumbent("heavy_ree_oxide", ree, "CHN", P["heavy_ree_oxide"]))
    ops.append(incumbent("heavy_ree_oxide", ree, "MMR", 0.95 * P["heavy_ree_oxide"], processor="CHN"))
    ops.append(incumbent("heavy_ree_oxide", ree, "AUS", 1.1 * P["heavy_ree_oxide"], processor="MYS"))
    ops.append(incumbent("heavy_ree_oxide", ree, "RUS", P["heavy_ree_oxide"], agreement="us_russia_deal", share=0.5))
    project("heavy_ree_oxide:AUS-Lynas-Texas", "heavy_ree_oxide", "AUS", "USA", 150, "2028", 258_000_000,
            1.3 * P["heavy_ree_oxide"])
    ops.append(option("heavy_ree_oxide:CHN-spot", "heavy_ree_oxide", "CHN", 100, P["heavy_ree_oxide"], spot=1,
                      spot_premium=0.5))
    # gallium
    ops.append(incumbent("gallium", "gallium", "CHN", P["gallium"]))
    ops.append(incumbent("gallium", "gallium", "JPN", 1.1 * P["gallium"]))
    ops.append(incumbent("gallium", "gallium", "KOR", 1.1 * P["gallium"]))
    ops.append(incumbent("gallium", "gallium", "RUS", P["gallium"], agreement="us_russia_deal", share=0.5))
    project("gallium:AUS-alumina-recovery", "gallium", "AUS", "", 10, "2028", 150_000_000, 1.3 * P["gallium"])
    ops.append(option("gallium:CHN-spot", "gallium", "CHN", 20, P["gallium"], spot=1, spot_premium=0.5))
    # germanium
    ops.append(incumbent("germanium", "germanium", "CHN", P["germanium"]))
    ops.append(incumbent("germanium", "germanium", "CAN", 1.1 * P["germanium"]))
    ops.append(incumbent("germanium", "germanium", "RUS", P["germanium"], agreement="us_russia_deal", share=0.5))
    ops.append(option("germanium:BEL", "germanium", "BEL", PRODUCTION["germanium"]["BEL"] * 0.5,
                      1.1 * P["germanium"]))
    project("germanium:COD-BEL-BigHill", "germanium", "COD", "BEL", 15, "2027", 0, 1.1 * P["germanium"])
    ops.append(option("germanium:CHN-spot", "germanium", "CHN", 5, P["germanium"], spot=1, spot_premium=0.5))
    # natural graphite
    ops.append(incumbent("graphite", "graphite", "CHN", P["graphite"]))
    ops.append(incumbent("graphite", "graphite", "MOZ", 0.95 * P["graphite"], processor="CHN"))
    ops.append(incumbent("graphite", "graphite", "MDG", 0.95 * P["graphite"], processor="CHN"))
    ops.append(incumbent("graphite", "graphite", "BRA", P["graphite"]))
    ops.append(incumbent("graphite", "graphite", "CAN", 1.15 * P["graphite"]))
    ops.append(incumbent("graphite", "graphite", "RUS", P["graphite"], agreement="us_russia_deal"))
    ops.append(incumbent("graphite", "graphite", "UKR", P["graphite"], agreement="us_ukraine_deal", share=0.5))
    project("graphite:MOZ-USA-Vidalia", "graphite", "MOZ", "USA", 10000, "2026", 0, 1.4 * P["graphite"])
    project("graphite:UKR-Zavallia-expansion", "graphite", "UKR", "", 20000, "2029", 60_000_000, P["graphite"],
            agreement="us_ukraine_deal")
    ops.append(option("graphite:CHN-spot", "graphite", "CHN", 30000, P["graphite"], spot=1, spot_premium=0.3))
    # antimony
    ops.append(incumbent("antimony", "antimony", "CHN", P["antimony"]))
    ops.append(incumbent("antimony", "antimony", "TJK", 0.95 * P["antimony"], processor="CHN"))
    ops.append(incumbent("antimony", "antimony", "MMR", 0.95 * P["antimony"], processor="CHN"))
    ops.append(incumbent("antimony", "antimony", "RUS", P["antimony"], agreement="us_russia_deal"))
    ops.append(incumbent("antimony", "antimony", "BOL", 1.1 * P["antimony"], processor="USA", share=0.5))
    ops.append(incumbent("antimony", "antimony", "AUS", 1.1 * P["antimony"]))
    ops.append(incumbent("antimony", "antimony", "TUR", P["antimony"], share=0.5))
    project("antimony:USA-Stibnite", "antimony", "USA", "", 4000, "2029", 500_000_000, 1.2 * P["antimony"])
    ops.append(option("antimony:CHN-spot", "antimony", "CHN", 3000, P["antimony"], spot=1, spot_premium=0.5))
    # tungsten
    ops.append(incumbent("tungsten", "tungsten", "CHN", P["tungsten"]))
    ops.append(incumbent("tungsten", "tungsten", "VNM", 1.05 * P["tungsten"], share=0.5))
    ops.append(incumbent("tungsten", "tungsten", "RUS", P["tungsten"], agreement="us_russia_deal"))
    ops.append(incumbent("tungsten", "tungsten", "BOL", P["tungsten"], share=0.5))
    ops.append(incumbent("tungsten", "tungsten", "RWA", P["tungsten"], share=0.5))
    ops.append(incumbent("tungsten", "tungsten", "AUS", 1.1 * P["tungsten"], share=0.5))
    project("tungsten:KOR-Sangdong", "tungsten", "KOR", "", 2000, "2027", 0, 1.1 * P["tungsten"])
    ops.append(option("tungsten:CHN-spot", "tungsten", "CHN", 3000, P["tungsten"], spot=1, spot_premium=0.5))
    ops.extend(world_spot(ops))
    return ops, ramps


WORLD_SPOT_SHARE = 0.25  # ASSUMPTION: traders' stocks and recyclers outside China, a quarter of contractable output
WORLD_SPOT_MARKUP = 1.5  # ASSUMPTION: traders' price, 50% over the 2024 price (as the Chinese spot premiums)


def world_spot(ops: list[dict]) -> list[dict]:
    """A spot market outside China for each material: a quarter of what the incumbents outside China
    (no Chinese processing, no deal needed) can contract, named after the largest of them, at the
    traders' price whether bought ahead (a forward contract) or on the day (no spot premium). On the
    day, a ban's price shock (PRICE_FACTOR) multiplies that price; bought ahead, it does not."""
    spot = []
    for material in PRICE:
        free = [o for o in ops if o["commodity"] == material and o["origin"] != "CHN" and o["processor"] != "CHN"
                and not o["agreement"] and not o["available_from"] and not o["spot"]]
        largest = max(free, key=lambda o: o["capacity"])
        spot.append(option(f"{material}:world-spot", material, largest["origin"],
                           WORLD_SPOT_SHARE * sum(o["capacity"] for o in free), WORLD_SPOT_MARKUP * PRICE[material],
                           spot=1, spot_premium=0))
    return spot


# --- events: four independent uncertainties (probabilities are ASSUMPTIONS, see NOTES.md); planner
# generates the 3 x 2 x 2 x 2 = 24 scenarios from them (events of group "china" exclude each other)
CHINA_BAN = [("gallium", 1), ("germanium", 1), ("antimony", 1), ("graphite", 0.5), ("tungsten", 0.5)]
CHINA_ESCALATION = [("gallium", 1), ("germanium", 1), ("antimony", 1), ("graphite", 1), ("tungsten", 1),
                    ("heavy_ree_oxide", 1), ("ndpr_oxide", 0.5)]
# --- price shocks of a Chinese ban: the price outside China within about a year of the control it
# follows, over the 2024 price used above (PRICE); reference/price_shocks.csv gives each figure's source.
# Materials not listed keep their price (no shock found in the sources: graphite, NdPr; see NOTES.md).
PRICE_FACTOR = {
    "gallium": 1.19,  # 595 USD/kg (Dec 2024, after the US ban) / 500
    "germanium": 2.38,  # about 5,000 USD/kg (Sep 2025) / 2,100
    "antimony": 1.84,  # 17.50 USD/lb (Nov 2024) / 9.50 USD/lb, USGS MCS 2025
    "tungsten": 4.33,  # APT 1,082 USD/mtu (Dec 2025, after the Feb 2025 controls) / 250
    "heavy_ree_oxide": 3.46,  # Argus Europe May 2025: Dy oxide 850, Tb oxide 3,000 USD/kg, same 80/20 mix
}


def events():
    rows = []

    def add(event, scope, name, commodity, start, end, severity, probability, group="", price_factor=1):
        rows.append(dict(event=event, scope=scope, name=name, commodity=commodity, start_period=start,
                         end_period=end, severity=severity, probability=probability, group=group,
                         price_factor=price_factor))

    for commodity, severity in CHINA_BAN:
        add("china-ban", "bloc", "china", commodity, "2027", "", severity, 0.35, "china",
            PRICE_FACTOR.get(commodity, 1))
    for commodity, severity in CHINA_ESCALATION:
        add("china-escalation", "bloc", "china", commodity, "2027", "", severity, 0.25, "china",
            PRICE_FACTOR.get(commodity, 1))
    add("russia-breaks", "country", "RUS", "*", "2029", "2035", 1, 0.4)
    add("ukraine-damage", "country", "UKR", "*", "2027", "2029", 0.7, 0.3)
    add("coups", "country", "MMR", "*", "2028", "2030", 1, 0.25)
    add("coups", "country", "COD", "*", "2028", "2030", 1, 0.25)
    return rows


def write(name: str, rows: list[dict]) -> None:
    with open(HERE / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    write("countries", [dict(country=c, bloc=b, risk=r, name=n) for c, b, r, n in COUNTRIES])
    write("commodities", [dict(
        commodity=m, shortage_penalty=5 * PRICE[m], holding_cost=round(0.03 * PRICE[m], 2), initial_stock=0,
        storage_capacity="", service_level=SERVICE_LEVEL.get(m, ""),
        min_suppliers=2 if m in ("ndpr_oxide", "gallium") else 0, max_avg_risk="") for m in PRICE])
    write("demand", [dict(commodity=m, period=p, demand=round(d0 * (1 + g) ** t, 3))
                     for m, (d0, g, _) in DEMAND.items() for t, p in enumerate(PERIODS)])
    ops, ramps = options_and_ramps()
    write("options", ops)
    write("capacity", ramps)
    write("agreements", [
        dict(agreement="us_russia_deal", fixed_cost=500_000_000,
             description="US-Russia rare-earth deal: ASSUMPTION, political and sanctions-relief cost"),
        dict(agreement="us_ukraine_deal", fixed_cost=50_000_000,
             description="US-Ukraine minerals deal (signed 2025): ASSUMPTION, incremental fund commitment"),
    ])
    write("limits", [dict(scope="bloc", name="china", commodity="*", max_share=0.5)])
    write("events", events())


if __name__ == "__main__":
    main()
