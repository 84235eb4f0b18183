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
# ASSUMPTION: Dy/Tb share of REO output; 0.5-1% is usual for hard-rock ores (China's mix: 1%), ionic clays richer
HREE_SHARE_OF_REO = {"CHN": 0.01, "MMR": 0.05, "AUS": 0.01, "RUS": 0.02}

# --- US demand in 2026 (t/yr) and yearly growth
DEMAND = {  # material: (2026 demand, growth, source)
    "ndpr_oxide": (2000, 0.10, "ASSUMPTION: magnet build-out (MP 10,000 t/yr magnet plant needs ~3,000 t NdPr)"),
    "heavy_ree_oxide": (150, 0.08, "ASSUMPTION: ~7% of NdPr demand for Dy/Tb in high-temperature magnets"),
    "gallium": (16, 0.05, "USGS: ~16 t/yr US consumption, average 2016-2020; growth ASSUMPTION (GaN)"),
    "germanium": (30, 0.03, "ASSUMPTION: ~15% of world refined output (210 t)"),
    "graphite": (60000, 0.08, "ASSUMPTION: ~4% of world natural graphite; growth with EV anodes"),
    "antimony": (27220, 0.0, "USGS MCS 2020: apparent consumption 2015-2019 mean 27,220 t; flat ASSUMPTION"),
    "tungsten": (10000, 0.0, "ASSUMPTION: ~12% of world mine output (81,000 t)"),
}
SERVICE_LEVEL = {"ndpr_oxide": 0.9, "heavy_ree_oxide": 0.7}  # ASSUMPTION: policy; NOTES.md says why
# Shortage penalty, as a multiple of the 2024 price: the cost to the US economy of a tonne not
# delivered. USGS OFR 2025-1047 (doi 10.3133/ofr20251047) ranks commodities by probability-
# weighted GDP loss from trade disruptions: Dy, Tb and Ga above USD 1 bn; Ge and W in its top
# ten; NdPr, antimony and natural graphite lower. The multiples are an ASSUMPTION that follows
# that ranking (the report's per-commodity losses are not transcribed here); NOTES.md sweeps them.
PENALTY_MULTIPLE = {"heavy_ree_oxide": 50, "gallium": 50, "germanium": 20, "tungsten": 20,
                    "ndpr_oxide": 5, "antimony": 5, "graphite": 5}
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


PROCESSING_YEARS = 8  # reference/README.md: roughly 8 years for new processing capacity
MINE_YEARS = 9  # reference/README.md: at least 9 years for a new rare-earth mine
ANTIMONY_SECONDARY = 4000  # t/yr, USGS MCS 2020 antimony: secondary production 2018-2019


def after(decided: int, years: int) -> str:
    """The first period a project decided in `decided` can deliver, `years` later (the horizon's
    last period if that is beyond it)."""
    return str(min(decided + years, int(PERIODS[-1])))


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


# Where each option that is not an incumbent comes from (incumbents: `source_of`)
OPTION_SOURCES = {
    "ndpr_oxide:USA-MP-separation": "ASSUMPTION: Mountain Pass separation ramping, 1,000 t/yr at the DoD floor "
                                    "price (reference/README.md)",
    "ndpr_oxide:AUS-Iluka-Eneabba": "reference/README.md: Iluka Eneabba refinery, AUD 1.0-1.2 bn (2022); "
                                    "8 years for processing; capacity ASSUMPTION",
    "ndpr_oxide:RUS-megaproject": "ASSUMPTION: expansion of Russian capacity; reference/README.md: 9+ years for "
                                  "a new rare-earth mine (not before 2035)",
    "heavy_ree_oxide:AUS-Lynas-Texas": "reference/README.md: USD 258 M DoD contract (2023), 8 years for "
                                       "processing; capacity the Australian heavy feed (USGS MCS 2025 x 1%)",
    "gallium:AUS-alumina-recovery": "ASSUMPTION: gallium recovery at Australian alumina refineries; 8 years for "
                                    "processing (reference/README.md)",
    "germanium:BEL": "USGS OFR 2024-1057: Belgian refinery output 2022 (4 t) x 50% access (ASSUMPTION)",
    "germanium:COD-BEL-BigHill": "ASSUMPTION: Gecamines-Umicore Big Hill tailings offtake",
    "graphite:MOZ-USA-Vidalia": "ASSUMPTION: Syrah Vidalia active-anode-material plant",
    "graphite:UKR-Zavallia-expansion": "ASSUMPTION: Zavallia expansion, gated by the Ukraine deal",
    "antimony:USA-secondary": "USGS MCS 2020 antimony: secondary production 4,000 t (2018-2019)",
    "antimony:USA-Stibnite": "ASSUMPTION: Perpetua Stibnite (permitted 2025), antimony share of capex",
    "tungsten:KOR-Sangdong": "ASSUMPTION: Almonty Sangdong offtake",
}


def source_of(op: dict) -> str:
    """The source of an option of options.csv (NOTES.md, Options)."""
    name = op["option"]
    if name in OPTION_SOURCES:
        return OPTION_SOURCES[name]
    if name.endswith(":CHN-spot"):
        return "ASSUMPTION: Chinese spot market, a third to a half of the contracted Chinese option"
    if name.endswith(":world-spot"):
        return "ASSUMPTION: spot market outside China, a quarter of what the incumbents outside China can contract"
    material = {"ndpr_oxide": "rare_earth_oxide", "heavy_ree_oxide": "rare_earth_oxide"}.get(op["commodity"],
                                                                                             op["commodity"])
    return (f"reference/production_2024.csv: {material} {op['origin']} (USGS MCS 2025) x the share the US can "
            "contract (ASSUMPTION)")


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
    ops.append(incumbent("ndpr_oxide", ree, "AUS", 1.1 * P["ndpr_oxide"], processor="MYS"))  # Lynas Malaysia
    ops.append(incumbent("ndpr_oxide", ree, "RUS", P["ndpr_oxide"], agreement="us_russia_deal", share=0.5))
    project("ndpr_oxide:USA-MP-separation", "ndpr_oxide", "USA", "", 1000, "2026", 0, NDPR_FLOOR)
    project("ndpr_oxide:AUS-Iluka-Eneabba", "ndpr_oxide", "AUS", "", 1000, after(2022, PROCESSING_YEARS),
            715_000_000, 1.2 * P["ndpr_oxide"])  # AUD 1.1 bn x 0.65 USD/AUD (ASSUMPTION)
    project("ndpr_oxide:RUS-megaproject", "ndpr_oxide", "RUS", "", 2000, after(2026, MINE_YEARS), 300_000_000,
            P["ndpr_oxide"], agreement="us_russia_deal")
    ops.append(option("ndpr_oxide:CHN-spot", "ndpr_oxide", "CHN", 2000, P["ndpr_oxide"], spot=1, spot_premium=0.3))
    # heavy rare-earth oxide (Dy/Tb)
    ops.append(incumbent("heavy_ree_oxide", ree, "CHN", P["heavy_ree_oxide"]))
    ops.append(incumbent("heavy_ree_oxide", ree, "MMR", 0.95 * P["heavy_ree_oxide"], processor="CHN"))
    ops.append(incumbent("heavy_ree_oxide", ree, "AUS", 1.1 * P["heavy_ree_oxide"], processor="MYS"))
    ops.append(incumbent("heavy_ree_oxide", ree, "RUS", P["heavy_ree_oxide"], agreement="us_russia_deal", share=0.5))
    # Lynas Texas separates Australian feed: what Australia's ore holds (1% of its REO) beyond the
    # share the Malaysian plant already sells the US
    australian_feed = PRODUCTION[ree]["AUS"] * HREE_SHARE_OF_REO["AUS"] * (1 - access("AUS"))
    project("heavy_ree_oxide:AUS-Lynas-Texas", "heavy_ree_oxide", "AUS", "USA", australian_feed,
            after(2023, PROCESSING_YEARS), 258_000_000, 1.3 * P["heavy_ree_oxide"])
    ops.append(option("heavy_ree_oxide:CHN-spot", "heavy_ree_oxide", "CHN", 100, P["heavy_ree_oxide"], spot=1,
                      spot_premium=0.5))
    # gallium
    ops.append(incumbent("gallium", "gallium", "CHN", P["gallium"]))
    ops.append(incumbent("gallium", "gallium", "JPN", 1.1 * P["gallium"]))
    ops.append(incumbent("gallium", "gallium", "KOR", 1.1 * P["gallium"]))
    ops.append(incumbent("gallium", "gallium", "RUS", P["gallium"], agreement="us_russia_deal", share=0.5))
    project("gallium:AUS-alumina-recovery", "gallium", "AUS", "", 10, after(2026, PROCESSING_YEARS), 150_000_000,
            1.3 * P["gallium"])
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
    # Russian antimony concentrate has mostly been smelted in China (ASSUMPTION from trade reporting)
    ops.append(incumbent("antimony", "antimony", "RUS", P["antimony"], processor="CHN", agreement="us_russia_deal"))
    # secondary antimony, recovered in the US from lead-acid batteries: 4,000 t a year (USGS MCS 2020)
    ops.append(option("antimony:USA-secondary", "antimony", "USA", ANTIMONY_SECONDARY, P["antimony"]))
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


# --- events (probabilities are ASSUMPTIONS, see NOTES.md); planner generates the scenarios from them
# (events of one group exclude each other). China: licensing stays in force in every outcome (MOFCOM
# 2023-2025, reference/china_export_controls.csv); the outcomes differ in the ban that comes on top.
LICENSED = ["gallium", "germanium", "graphite", "antimony", "tungsten", "heavy_ree_oxide"]  # reference file
LICENSING_SEVERITY = 0.3  # ASSUMPTION: licences delay or refuse about 30% of what US buyers ask for
# MOFCOM 46/2024 bans gallium, germanium and antimony exports to the US and tightens graphite reviews
CHINA_BAN = [("gallium", 1), ("germanium", 1), ("antimony", 1), ("graphite", 0.5)]
# escalation (ASSUMPTION): every controlled material, NdPr included through the 2025 magnet rules
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
LAST = PERIODS[-1]
EVENT_SOURCES = {  # probabilities and severities are ASSUMPTIONS (NOTES.md, Scenarios); dates as sourced
    "china-licensing": "reference/china_export_controls.csv: licensing of Ga, Ge, graphite, Sb, W and Dy/Tb "
                       "(2023-2025) stays in force; severity 0.3 an ASSUMPTION",
    "china-ban": "reference/china_export_controls.csv: MOFCOM 46/2024 (US ban of Ga, Ge, Sb; graphite review), "
                 "suspended until 2026-11-27; resumes in 2027 (ASSUMPTION)",
    "china-ban-2029": "the same ban resuming in 2029 instead (ASSUMPTION: a later start)",
    "china-escalation": "reference/china_export_controls.csv: MOFCOM 10/2025, 18/2025 and 55-62 (W, Dy/Tb, "
                        "wider rare-earth rules) together, 2027-2032 (ASSUMPTION: length)",
    "russia-no-deal": "ASSUMPTION: the US-Russia deal is never concluded",
    "russia-breaks": "ASSUMPTION: Russia breaks the deal in 2029",
    "us-ends-deal": "ASSUMPTION: the US ends the deal (sanctions) in 2031",
    "war-resumes": "ASSUMPTION: the war resumes in 2028: the deal ends and Ukraine's mines are damaged (2028-2030)",
    "coups": "ASSUMPTION: coups in Myanmar and DR Congo, 2028-2030 (WGI instability 0.94 and 0.90)",
    "mozambique-insurgency": "ASSUMPTION: the Cabo Delgado insurgency halts half of Balama graphite, 2027-2028",
    "madagascar-unrest": "ASSUMPTION: unrest in Madagascar halves graphite exports, 2028-2029",
}


def events():
    rows = []

    def add(event, scope, name, commodity, start, end, severity, probability, group="", price_factor=1):
        rows.append(dict(event=event, scope=scope, name=name, commodity=commodity, start_period=start,
                         end_period=end, severity=severity, probability=probability, group=group,
                         price_factor=price_factor))

    def china(event, probability, ban, start, end):
        """Licensing before `start` and after `end`, the ban (its rows and price shocks) in between."""
        first, last = PERIODS.index(start), PERIODS.index(end)
        for commodity in LICENSED:
            if first > 0:
                add(event, "bloc", "china", commodity, PERIODS[0], PERIODS[first - 1], LICENSING_SEVERITY,
                    probability, "china")
            if last < len(PERIODS) - 1:
                add(event, "bloc", "china", commodity, PERIODS[last + 1], LAST, LICENSING_SEVERITY, probability,
                    "china")
        banned = dict(ban)
        for commodity in sorted(set(LICENSED) | set(banned)):
            severity = banned.get(commodity, LICENSING_SEVERITY if commodity in LICENSED else 0)
            factor = PRICE_FACTOR.get(commodity, 1) if commodity in banned else 1
            add(event, "bloc", "china", commodity, start, end, severity, probability, "china", factor)

    china("china-licensing", 0.40, [], PERIODS[0], LAST)
    china("china-ban", 0.20, CHINA_BAN, "2027", LAST)
    china("china-ban-2029", 0.15, CHINA_BAN, "2029", LAST)
    china("china-escalation", 0.25, CHINA_ESCALATION, "2027", "2032")
    # the Russia deal (ASSUMPTIONS): not concluded, broken by Russia, ended by the US, or swept away
    # when the war resumes, which also damages Ukraine's mines (one event: they move together)
    add("russia-no-deal", "country", "RUS", "*", PERIODS[0], LAST, 1, 0.20, "russia")
    add("russia-breaks", "country", "RUS", "*", "2029", LAST, 1, 0.15, "russia")
    add("us-ends-deal", "country", "RUS", "*", "2031", LAST, 1, 0.10, "russia")
    add("war-resumes", "country", "RUS", "*", "2028", LAST, 1, 0.15, "russia")
    add("war-resumes", "country", "UKR", "*", "2028", "2030", 0.7, 0.15, "russia")
    add("coups", "country", "MMR", "*", "2028", "2030", 1, 0.25)
    add("coups", "country", "COD", "*", "2028", "2030", 1, 0.25)
    # graphite from Africa (ASSUMPTIONS): Cabo Delgado insurgency near Balama; unrest in Madagascar
    add("mozambique-insurgency", "country", "MOZ", "graphite", "2027", "2028", 0.5, 0.15, "africa")
    add("madagascar-unrest", "country", "MDG", "graphite", "2028", "2029", 0.5, 0.10, "africa")
    return rows


def write(name: str, rows: list[dict]) -> None:
    with open(HERE / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    write("countries", [dict(country=c, bloc=b, risk=r, name=n) for c, b, r, n in COUNTRIES])
    write("commodities", [dict(
        commodity=m, shortage_penalty=PENALTY_MULTIPLE[m] * PRICE[m], holding_cost=round(0.03 * PRICE[m], 2),
        initial_stock=0,
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
    # the cap counts what arrives from China-exposed sources, spot buys included (basis supplied)
    write("limits", [dict(scope="bloc", name="china", commodity="*", max_share=0.5, basis="supplied")])
    write("events", events())


if __name__ == "__main__":
    main()
