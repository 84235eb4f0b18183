"""The instance format (docs/model.md section 2), kept as data.

Validation (`planner.instance.loader`), defaults and the format tables of docs/model.md all come
from the specifications below, so the three cannot drift apart. Units are written with the
placeholders ``{unit}`` and ``{currency}``, filled from ``instance.toml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """How a cell is parsed."""

    TEXT = "text"
    NUMBER = "number"  # finite real
    INTEGER = "integer"
    FLAG = "flag"  # 0/1 (also true/false, yes/no)
    PERIOD = "period"  # a label from instance.toml `periods`


@dataclass(frozen=True)
class Column:
    """One column of an instance table."""

    name: str
    kind: Kind
    description: str
    required: bool = False
    default: object = None  # None: empty means "none" (e.g. no limit)
    unit: str = ""
    lower: float | None = None
    upper: float | None = None
    lower_open: bool = False  # lower bound excluded, as in (0, 1]
    upper_open: bool = False
    refers_to: str | None = None  # "countries", "commodities", "options", ...
    allow_star: bool = False  # "*" means every commodity
    choices: tuple[str, ...] = ()
    is_fraction: bool = False  # accepts "90%" as 0.9

    def bounds_text(self) -> str:
        """The admissible range, as the README and error messages state it."""
        if self.choices:
            return " or ".join(f"`{c}`" for c in self.choices)
        if self.lower is None and self.upper is None:
            return ""
        if self.upper is None:
            return f"> {self.lower:g}" if self.lower_open else f">= {self.lower:g}"
        left = "(" if self.lower_open else "["
        right = ")" if self.upper_open else "]"
        return f"in {left}{self.lower:g}, {self.upper:g}{right}"


@dataclass(frozen=True)
class Table:
    """One CSV file of an instance."""

    file: str
    required: bool
    row: str  # what one row is
    key: tuple[str, ...]  # columns that identify a row (unique)
    columns: tuple[Column, ...]
    note: str = ""

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def stem(self) -> str:
        return self.file.removesuffix(".csv")


def _nonneg(name: str, description: str, unit: str = "", **kw: object) -> Column:
    return Column(name, Kind.NUMBER, description, unit=unit, lower=0.0, **kw)  # type: ignore[arg-type]


def _fraction(name: str, description: str, **kw: object) -> Column:
    return Column(
        name, Kind.NUMBER, description, lower=0.0, upper=1.0, is_fraction=True, **kw  # type: ignore[arg-type]
    )


SCOPES = ("country", "bloc")

COMMODITIES = Table(
    "commodities.csv",
    required=True,
    row="material",
    key=("commodity",),
    columns=(
        Column("commodity", Kind.TEXT, "material name", required=True),
        _nonneg("shortage_penalty", "cost of each unit of unmet demand", "{currency}/{unit}", required=True),
        _nonneg("holding_cost", "cost of holding one unit in stock for one period", "{currency}/{unit}/period",
                default=0.0),
        _nonneg("initial_stock", "stock before the first period", "{unit}", default=0.0),
        _nonneg("storage_capacity", "most stock held at the end of a period; empty = unlimited", "{unit}"),
        _fraction("service_level", "share of total demand that must be met in every scenario; empty = none"),
        Column("min_suppliers", Kind.INTEGER, "fewest options to contract", default=0, lower=0.0),
        _fraction("max_avg_risk", "cap on the volume-weighted political risk of contracts, each period; empty = none"),
    ),
)

DEMAND = Table(
    "demand.csv",
    required=True,
    row="material x period",
    key=("commodity", "period"),
    columns=(
        Column("commodity", Kind.TEXT, "material", required=True, refers_to="commodities"),
        Column("period", Kind.PERIOD, "period label", required=True),
        _nonneg("demand", "demand in the period", "{unit}", required=True),
    ),
    note="missing pairs mean 0",
)

COUNTRIES = Table(
    "countries.csv",
    required=True,
    row="country",
    key=("country",),
    columns=(
        Column("country", Kind.TEXT, "ISO 3166 alpha-3 code", required=True),
        Column("bloc", Kind.TEXT, "political bloc (china, russia, allies, ...)", required=True),
        _fraction("risk", "political risk score", required=True),
        Column("name", Kind.TEXT, "country name", default=""),
    ),
)

OPTIONS = Table(
    "options.csv",
    required=True,
    row="supply option",
    key=("option",),
    columns=(
        Column("option", Kind.TEXT, "option identifier", required=True),
        Column("commodity", Kind.TEXT, "material supplied", required=True, refers_to="commodities"),
        Column("origin", Kind.TEXT, "country where it is mined", required=True, refers_to="countries"),
        _nonneg("capacity", "most volume per period", "{unit}/period", required=True),
        _nonneg("unit_cost", "price per unit delivered", "{currency}/{unit}", required=True),
        Column("processor", Kind.TEXT, "country where it is processed; empty = origin", refers_to="countries"),
        _nonneg("fixed_cost", "one-off cost when contracted", "{currency}", default=0.0),
        _nonneg("min_volume", "least volume per period when contracted", "{unit}/period", default=0.0),
        Column("available_from", Kind.PERIOD, "first period it can deliver; empty = first period"),
        Column("spot", Kind.FLAG, "1: uncontracted capacity can be bought in a scenario", default=0),
        _nonneg("spot_premium", "spot price markup over unit_cost (0.2 = +20%)", default=0.0),
        Column("agreement", Kind.TEXT, "agreement that gates it; empty = none", refers_to="agreements"),
        Column("lead_time", Kind.INTEGER, "multi-stage plans only: periods ahead of delivery its volume is fixed "
               "(1: a year ahead; 0: in the period itself)", default=1, lower=0.0, unit="periods"),
    ),
)

CAPACITY = Table(
    "capacity.csv",
    required=False,
    row="option x period",
    key=("option", "period"),
    columns=(
        Column("option", Kind.TEXT, "option", required=True, refers_to="options"),
        Column("period", Kind.PERIOD, "period label", required=True),
        _nonneg("capacity", "capacity in that period, overriding options.csv", "{unit}/period", required=True),
    ),
    note="ramp-up and depletion",
)

AGREEMENTS = Table(
    "agreements.csv",
    required=False,
    row="agreement",
    key=("agreement",),
    columns=(
        Column("agreement", Kind.TEXT, "agreement identifier", required=True),
        _nonneg("fixed_cost", "one-off cost of signing it", "{currency}", required=True),
        Column("description", Kind.TEXT, "free text", default=""),
    ),
)

LIMITS = Table(
    "limits.csv",
    required=False,
    row="share limit",
    key=("scope", "name", "commodity"),
    columns=(
        Column("scope", Kind.TEXT, "what `name` is", required=True, choices=SCOPES),
        Column("name", Kind.TEXT, "country code or bloc name", required=True),
        Column("commodity", Kind.TEXT, "material, or `*` for each one", required=True,
               refers_to="commodities", allow_star=True),
        _fraction("max_share", "most volume exposed to the scope, as a share of demand", required=True),
        Column("basis", Kind.TEXT, "`contracted`: the contracted volume (8a); `supplied`: what arrives in each "
               "scenario, contracted deliveries and spot buys (8b)", default="contracted",
               choices=("contracted", "supplied")),
    ),
)

SCENARIOS = Table(
    "scenarios.csv",
    required=False,
    row="scenario",
    key=("scenario",),
    columns=(
        Column("scenario", Kind.TEXT, "scenario name", required=True),
        _fraction("probability", "probability; all sum to 1", required=True),
        Column("description", Kind.TEXT, "free text", default=""),
    ),
    note="absent: one scenario `base` with probability 1",
)

_DISRUPTION = (  # what a disruption hits, how long and how hard: disruptions.csv and events.csv
    Column("scope", Kind.TEXT, "what `name` is", required=True, choices=SCOPES),
    Column("name", Kind.TEXT, "country code or bloc name", required=True),
    Column("commodity", Kind.TEXT, "material, or `*` for each one", required=True,
           refers_to="commodities", allow_star=True),
    Column("start_period", Kind.PERIOD, "first period hit", required=True),
    Column("end_period", Kind.PERIOD, "last period hit; empty = last period"),
    Column("severity", Kind.NUMBER, "fraction of capacity lost (0: a price event only)", default=1.0,
           lower=0.0, upper=1.0, is_fraction=True),
    _nonneg("price_factor", "spot prices of the commodity, from any option, times this while it lasts "
            "(the largest factor applies where rows overlap)", default=1.0),
)

DISRUPTIONS = Table(
    "disruptions.csv",
    required=False,
    row="disruption",
    key=(),
    columns=(
        Column("scenario", Kind.TEXT, "scenario it belongs to", required=True, refers_to="scenarios"),
        *_DISRUPTION,
    ),
)

EVENTS = Table(
    "events.csv",
    required=False,
    row="disruption of an event",
    key=(),
    columns=(
        Column("event", Kind.TEXT, "event name; rows with the same name are one event", required=True),
        *_DISRUPTION,
        _fraction("probability", "probability that the event happens (the same on all its rows)", required=True),
        Column("group", Kind.TEXT, "events of one group exclude each other; empty = independent", default=""),
    ),
    note="used when there is no scenarios.csv: scenarios are generated from the events (planner scenarios)",
)

TABLES: tuple[Table, ...] = (
    COMMODITIES, DEMAND, COUNTRIES, OPTIONS, CAPACITY, AGREEMENTS, LIMITS, SCENARIOS, DISRUPTIONS, EVENTS,
)


# events.max_scenarios at most: more than one machine holds a model of (about 1 MiB per scenario at
# the ladder's M, docs/performance.md)
MAX_SCENARIOS_FROM_EVENTS = 100_000
# `planner generate`'s materials x periods x (options + scenarios) at most: about a hundred times
# the largest instance measured (M with 2,000 scenarios: 96,720, 2.2 GiB; docs/performance.md)
MAX_GENERATED_SIZE = 10_000_000
ENUMERATION_LIMIT = 200_000  # combinations of events at most that `exact` and `reduce` enumerate


@dataclass(frozen=True)
class Setting:
    """One key of instance.toml (dotted for its tables: `risk.aversion`)."""

    key: str
    kind: str  # "text", "number", "integer", "choice", "periods", "table"
    description: str
    required: bool = False
    default: object = None
    lower: float | None = None
    upper: float | None = None
    upper_open: bool = False
    choices: tuple[str, ...] = ()  # kind "choice": one of these
    field: str = ""  # the `Instance` attribute that holds it, where not the key with `_` for `.`

    @property
    def attribute(self) -> str:
        """The `Instance` attribute that holds this setting."""
        return self.field or self.key.replace(".", "_")


SETTINGS: tuple[Setting, ...] = (
    Setting("name", "text", "instance name (also the default results folder)", required=True),
    Setting("periods", "periods", "ordered list of period labels, e.g. `[\"2026\", \"2027\"]`", required=True),
    Setting("description", "text", "free text", default=""),
    Setting("currency", "text", "currency of every cost", default="USD"),
    Setting("unit", "text", "unit of every quantity", default="t"),
    Setting("discount_rate", "number", "per period; d_t = (1 + rate)^-t", default=0.0, lower=0.0),
    Setting("risk.aversion", "number", "lambda: weight of CVaR against expected cost", default=0.0,
            lower=0.0, upper=1.0),
    Setting("risk.ambiguity", "number", "delta: each scenario probability may lie anywhere in "
            "[p (1 - delta), min(1, p (1 + delta))], summing to 1; the objective is the worst case over them "
            "(section 3.5)", default=0.0, lower=0.0, upper=1.0, field="ambiguity"),
    Setting("risk.cvar_alpha", "number", "alpha: CVaR confidence level", default=0.9,
            lower=0.0, upper=1.0, upper_open=True, field="cvar_alpha"),
    Setting("budget.fixed_cost_max", "number", "cap on fixed costs (options and agreements); absent = none", lower=0.0,
            field="fixed_cost_max"),
    Setting("decisions.stages", "choice", "`two`: contract volumes fixed up front, recourse per scenario; `multi`: "
            "every decision taken when it is due, on what is known then (section 3.6)", default="two",
            choices=("two", "multi"), field="stages"),
    Setting("events.max_scenarios", "integer", "most scenarios generated from `events.csv` (when there is no "
            "`scenarios.csv`): more combinations are reduced or sampled (`events.method`)", default=200,
            lower=1, upper=MAX_SCENARIOS_FROM_EVENTS),
    Setting("events.method", "choice", "how scenarios are generated from `events.csv`: `exact` every combination, "
            "`sample` `max_scenarios` seeded draws, `reduce` the most probable and the most severe; `auto` exact "
            f"when they fit, else reduce, else (past {ENUMERATION_LIMIT:,} combinations) sample", default="auto",
            choices=("auto", "exact", "sample", "reduce")),
    Setting("events.seed", "integer", "seed of the draws of `sample`", default=0, lower=0),
    Setting("sources", "table", "free-text citations", default={}),
)
SETTING = {s.key: s for s in SETTINGS}  # by key


def markdown_tables() -> str:
    """The format tables of docs/model.md section 2, generated from the specifications above."""
    lines = ["| `instance.toml` key | required | default | range | description |", "|---|---|---|---|---|"]
    for s in SETTINGS:
        rng = ""
        if s.lower is not None and s.upper is not None:
            rng = f"[{s.lower:g}, {s.upper:g}{')' if s.upper_open else ']'}"
        elif s.lower is not None:
            rng = f">= {s.lower:g}"
        default = "" if s.default in (None, {}, "") else f"`{s.default}`"
        if s.choices:
            rng = " or ".join(f"`{c}`" for c in s.choices)
        lines.append(f"| `{s.key}` | {'yes' if s.required else ''} | {default} | {rng} | {s.description} |")
    for table in TABLES:
        lines += [
            "",
            f"**`{table.file}`** ({'required' if table.required else 'optional'}; one row per {table.row}"
            + (f"; {table.note}" if table.note else "") + ")",
            "",
            "| column | required | type | unit | default | range | description |",
            "|---|---|---|---|---|---|---|",
        ]
        for c in table.columns:
            kind = c.kind.value if not c.refers_to else f"{c.kind.value} (in `{c.refers_to}.csv`)"
            if c.required:
                default = ""
            elif c.default is None or c.default == "":
                default = "empty"
            else:
                default = f"`{c.default:g}`" if isinstance(c.default, float) else f"`{c.default}`"
            unit = c.unit.replace("{currency}", "currency").replace("{unit}", "unit")
            lines.append(
                f"| `{c.name}` | {'yes' if c.required else ''} | {kind} | {unit} | {default} "
                f"| {c.bounds_text()} | {c.description} |"
            )
    return "\n".join(lines) + "\n"


TABLES_START = "<!-- format table: generated by `python -m planner.instance.schema docs/model.md` -->"
TABLES_END = "<!-- end of format table -->"


def with_tables(readme: str) -> str:
    """`readme` with the text between the two markers replaced by `markdown_tables()`."""
    head, _, rest = readme.partition(TABLES_START)
    _, _, tail = rest.partition(TABLES_END)
    return f"{head}{TABLES_START}\n{markdown_tables()}{TABLES_END}{tail}"


if __name__ == "__main__":  # python -m planner.instance.schema docs/model.md
    import sys
    from pathlib import Path

    target = Path(sys.argv[1])
    target.write_text(with_tables(target.read_text(encoding="utf-8")), encoding="utf-8")
