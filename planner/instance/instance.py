"""`Instance`: a validated instance folder, as `planner.instance.loader.load_instance` returns it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from planner.errors import Problem


@dataclass
class Instance:
    """A validated instance: settings from instance.toml and one table per CSV file.

    Every table has the columns of its `planner.instance.schema.Table` in order, defaults
    applied, plus `_row`, the spreadsheet row it came from (0 for generated rows).
    Empty optional numbers are NaN; empty optional text is "".
    """

    path: Path
    name: str
    periods: tuple[str, ...]
    description: str = ""
    currency: str = "USD"
    unit: str = "t"
    discount_rate: float = 0.0
    risk_aversion: float = 0.0
    cvar_alpha: float = 0.9
    ambiguity: float = 0.0  # delta of docs/model.md section 3.5
    stages: str = "two"  # "two" or "multi" (docs/model.md section 3.6)
    fixed_cost_max: float | None = None
    # how scenarios are generated from events.csv when there is no scenarios.csv (`[events]`)
    events_max_scenarios: int = 200
    events_method: str = "auto"
    events_seed: int = 0
    sources: dict = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was done for the user (scenarios generated)
    scenarios_generated: bool = False  # scenarios come from events.csv
    # the SHA-256 of each instance file read from `path`, by name (`planner.instance.digest`)
    file_digests: dict[str, str] = field(default_factory=dict)
    events_ignored: bool = False  # events.csv is present but scenarios.csv takes precedence

    @property
    def commodities(self) -> pd.DataFrame:
        return self.tables["commodities"]

    @property
    def demand(self) -> pd.DataFrame:
        return self.tables["demand"]

    @property
    def countries(self) -> pd.DataFrame:
        return self.tables["countries"]

    @property
    def options(self) -> pd.DataFrame:
        return self.tables["options"]

    @property
    def capacity(self) -> pd.DataFrame:
        return self.tables["capacity"]

    @property
    def agreements(self) -> pd.DataFrame:
        return self.tables["agreements"]

    @property
    def limits(self) -> pd.DataFrame:
        return self.tables["limits"]

    @property
    def scenarios(self) -> pd.DataFrame:
        return self.tables["scenarios"]

    @property
    def disruptions(self) -> pd.DataFrame:
        return self.tables["disruptions"]
