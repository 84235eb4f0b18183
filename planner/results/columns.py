"""What each column of planner's tables holds, and how it reads: one place for the HTML
reports, the workbook's number formats and `planner compare`.

A column's kind decides its format (`planner.formatting`): money is scaled per column (the
header says "M USD"), volumes carry the unit in the header, shares and gaps are
percentages, probabilities have 4 significant digits, flags read yes or blank.
"""

from __future__ import annotations

import html
import math
from enum import StrEnum

from planner.formatting import cents, fixed, gap, money_scale, probability, share, volume


class Kind(StrEnum):
    TEXT = "text"
    MONEY = "money"
    VOLUME = "volume"
    SHARE = "share"
    PROBABILITY = "probability"
    RATIO = "ratio"  # a 0..1 score, not a share of anything (country risk)
    FLAG = "flag"  # 0 or 1
    COUNT = "count"
    PERIOD = "period"
    GAP = "gap"
    SECONDS = "seconds"
    NUMBER = "number"  # anything else numeric (a sweep's varied value)


COLUMN_KINDS: dict[str, Kind] = {
    **dict.fromkeys(("fixed_cost", "cost", "total_cost", "objective", "expected_cost", "cvar", "best_bound",
                     "worst_case_expected_cost", "worst_case_cvar", "evpi", "vss"), Kind.MONEY),
    **dict.fromkeys(("total_volume", "volume", "demand", "delivered", "spot", "shortage", "disposed", "stock",
                     "contracted", "capacity"), Kind.VOLUME),
    **dict.fromkeys(("share", "max_share", "shortage_share", "supplied_share", "expected_shortage_share",
                     "mean_share", "highest share"), Kind.SHARE),
    **dict.fromkeys(("probability", "worst_case_probability"), Kind.PROBABILITY),
    "risk": Kind.RATIO,
    **dict.fromkeys(("selected", "signed"), Kind.FLAG),
    **dict.fromkeys(("options_selected", "scenarios", "decomposition_rounds"), Kind.COUNT),
    "period": Kind.PERIOD,
    "mip_gap": Kind.GAP,
    "seconds": Kind.SECONDS,
}


def kind_of(column: str) -> Kind:
    """The kind of a column by its name; `share_...` columns are shares, a change column
    (`..._change`) is of the kind of what changed, and "volume: label" of the kind of volume."""
    name = str(column).split(": ", 1)[0]
    name = name.removesuffix("_change")
    if name.startswith("share_"):
        return Kind.SHARE
    return COLUMN_KINDS.get(name, Kind.TEXT)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


class ColumnFormat:
    """How the cells of one column read, chosen from all its values (money shares one scale)."""

    def __init__(self, column: str, values: list, currency: str = "", unit: str = "") -> None:
        self.kind = kind_of(column)
        numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and not _missing(v)]
        if self.kind is Kind.TEXT and numbers and len(numbers) == sum(not _missing(v) for v in values):
            self.kind = Kind.NUMBER
        self.divisor, scale = money_scale(numbers) if self.kind is Kind.MONEY else (1.0, "")
        self.header = str(column)
        if self.kind is Kind.MONEY:
            self.header += f" ({' '.join(p for p in (scale, currency) if p)})" if scale or currency else ""
        elif self.kind is Kind.VOLUME and unit:
            self.header += f" ({unit})"

    @property
    def numeric(self) -> bool:
        return self.kind not in (Kind.TEXT, Kind.PERIOD)

    def text(self, value: object) -> str:
        """The cell as plain text (not escaped)."""
        if _missing(value):
            return ""
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return str(value)
        match self.kind:
            case Kind.MONEY:
                return cents(value / self.divisor)
            case Kind.VOLUME:
                return volume(value)
            case Kind.SHARE:
                return share(value)
            case Kind.PROBABILITY:
                return probability(value)
            case Kind.RATIO:
                return f"{value:.3f}"
            case Kind.FLAG:
                return "yes" if value else ""
            case Kind.COUNT:
                return f"{int(value):,}"
            case Kind.PERIOD:
                return str(int(value)) if float(value).is_integer() else str(value)
            case Kind.GAP:
                return gap(value)
            case Kind.SECONDS:
                return f"{value:,.1f}"
            case _:
                return fixed(value, 6)

    def cell(self, value: object) -> str:
        """The cell as HTML: escaped, numbers right-aligned and kept on one line."""
        cls = "num" if self.numeric and not isinstance(value, str) else "text"
        return f'<td class="{cls}">{html.escape(self.text(value))}</td>'
