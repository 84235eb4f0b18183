"""Numbers for people: money, volumes, shares, gaps, probabilities; never in e-notation.

One layer for the terminal, the HTML reports, the sweep report, the charts, the workbook's
number formats and the messages of `verify`, so that a figure reads the same everywhere:

    money(24_846_903_612.42, "USD")  -> "24.85 bn USD"      (4 significant digits from 1 million)
    money(24_447.37, "USD")          -> "24,447.37 USD"     (cents below 1 million)
    money(0.004, "bn USD")           -> "0.004 bn USD"      (4 significant digits below 1)
    volume(1_356_188.3, "t")         -> "1,356,188 t"
    share(0.35275)                   -> "35.3%"
    gap(6e-07)                       -> "0.00006%"
    probability(0.0075)              -> "0.0075"
    exact(17342.105263157893)        -> "17,342.10526"      (10 significant digits: messages)

Machine-readable files (CSV, JSON) keep full precision instead (`csv_value`: the shortest
text that round-trips the value rounded to 12 significant digits, so float noise such as
0.12600000000000003 is written 0.126). Light: no pandas, numpy or matplotlib.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal

MONEY_SCALES = ((1e12, "tn"), (1e9, "bn"), (1e6, "M"), (1e3, "k"))
CSV_DIGITS = 12  # significant digits kept in the CSV files


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def fixed(value: float, significant: int = 4, max_decimals: int = 6) -> str:
    """`value` with about `significant` digits (trailing zeros dropped), thousands separators,
    no exponent; integers beyond those digits are shown whole (1,356,188 not 1,356,000), and
    values below `max_decimals` decimals as 0."""
    if not _finite(value):
        return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = min(max_decimals, max(0, significant - 1 - magnitude))
    text = f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def exact(value: float) -> str:
    """10 significant digits, for messages that compare two numbers."""
    return fixed(value, 10, max_decimals=12)


def money_scale(values: Iterable[float]) -> tuple[float, str]:
    """The divisor and its name ("", "k", "M", "bn", "tn") for showing `values` together: chosen
    by the largest magnitude, so that it reads between 1 and 1,000."""
    largest = max((abs(v) for v in values if _finite(v)), default=0.0)
    for divisor, name in MONEY_SCALES:
        if largest >= divisor:
            return divisor, name
    return 1.0, ""


def money(value: float | None, currency: str = "") -> str:
    """Money: cents below a million (4 significant digits below 1, where cents would show a
    figure in thousands or billions of a currency as 0.00), else 4 significant digits in M, bn
    or tn."""
    if value is None or not _finite(value):
        return "-"
    unit = f" {currency}" if currency else ""
    if abs(value) < 1e6:
        return f"{cents(value)}{unit}"
    divisor, name = money_scale([value])
    return f"{fixed(value / divisor, 4)} {name}{unit}"


def cents(value: float) -> str:
    """A sum of money with two decimals, or 4 significant digits where it is below 1 (at most
    10 decimals): 0.50, 0.02374, 0.000123."""
    if abs(value) >= 1:
        return f"{value:,.2f}"
    whole, _, decimals = fixed(value, 4, max_decimals=10).partition(".")  # ("0" for -0.0 and -1e-12 alike)
    return f"{whole}.{decimals.ljust(2, '0')}"


def volume(value: float | None, unit: str = "") -> str:
    """A volume: whole units from 1,000, else 4 significant digits (at most 10 decimals: a
    volume in kilotonnes or megatonnes below 0.001 is not 0)."""
    if value is None or not _finite(value):
        return "-"
    text = f"{value:,.0f}" if abs(value) >= 1000 else fixed(value, 4, max_decimals=10)
    return f"{text} {unit}" if unit else text


def share(value: float | None) -> str:
    """A fraction as a percentage: 1 decimal, more when it would otherwise show as 0.0%."""
    if value is None or not _finite(value):
        return "-"
    if value == 0 or abs(value) >= 0.001:
        return f"{value:.1%}"
    return f"{fixed(value * 100, 2)}%"


def percent(value: float) -> str:
    """A setting as a percentage, as exact as it is (0.2 -> "20%", 0.125 -> "12.5%")."""
    return f"{fixed(value * 100, 4, max_decimals=4)}%"


def gap(value: float | None) -> str:
    """A relative MIP gap as a percentage, to two significant digits."""
    if value is None or not _finite(value):
        return "-"
    if value == 0:
        return "0%"
    return f"{fixed(value * 100, 2, max_decimals=10)}%"


def probability(value: float | None) -> str:
    """A probability with 4 significant digits, no exponent."""
    if value is None or not _finite(value):
        return "-"
    return fixed(value, 4, max_decimals=10)


def count(number: int, noun: str) -> str:
    """`number` and `noun`, plural but for one: "1 scenario", "2 scenarios", "1,200 options"."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def plain(value: float) -> str:
    """A number as a user types it: the shortest digits that give it back, no exponent, no
    thousands separators (it can be typed back into a --vary): 2500000, 0.1, 0.0000001; in
    e-notation only past 24 characters."""
    if not _finite(value):
        return str(value)
    text = format(Decimal(repr(float(value))), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if len(text) > 24:  # (1e-300 has 300 digits: no one types that)
        return f"{value:g}"
    return "0" if text in ("", "-0") else text


def key_values(values: Mapping[str, object]) -> str:
    """A sweep run's values as its labels and notes show them: "risk.aversion=0.5,
    budget.fixed_cost_max=2500000" (`plain`: it read 2.5e+06)."""
    return ", ".join(f"{key}={plain(value)}" if isinstance(value, float) else f"{key}={value}"
                     for key, value in values.items())


def unbounded_vss(metrics: Mapping[str, object]) -> str:
    """An unbounded VSS as the terminal, the report and the workbook show it, with why (the
    metrics' `vss_note`)."""
    return f"unbounded: {metrics.get('vss_note') or 'the expected-value plan breaks a rule of the model'}"


def evaluation_findings(evaluation: Mapping, probabilities: Mapping[str, float],
                        service_levels: Mapping[str, float | None] | None = None) -> list[tuple[str, str]]:
    """What an evaluation's summary records beside its figures (`evaluation` in summary.json), as
    (what, finding) pairs: the instance's files changed since the plan was solved, every service
    level missed and every limit on what is supplied that the held contracts exceed, in how many
    of the scenarios (`probabilities`, by name) and with what probability. The terminal and the
    report say them alike."""
    def scenarios(names: list[str]) -> str:
        chance = sum(probabilities.get(s, 0.0) for s in names)
        return f"{len(names)} of {len(probabilities)} scenarios (p {probability(chance)})"

    found = []
    changed = evaluation.get("instance_changed")
    if isinstance(changed, list) and changed:
        found.append(("instance", f"{', '.join(map(str, changed))} changed since the plan was solved: evaluated under "
                                  "the files as they are now, so its figures are not the solve's"))
    for m, names in (evaluation.get("service_levels_missed") or {}).items():
        level = (service_levels or {}).get(m)
        found.append((f"service level of {m}{f' ({share(level)})' if level is not None else ''}",
                      f"missed in {scenarios(names)}: reported, not enforced, so this evaluation may cost less "
                      "than the solve"))
    for limit in evaluation.get("supplied_limits_exceeded") or []:
        where = f"{limit['scope']} {limit['name']}"
        found.append((f"limit on what is supplied of {limit['commodity']} from {where} ({share(limit['max_share'])})",
                      f"exceeded by the contracts held in {scenarios(limit['scenarios'])}: an evaluation cannot "
                      f"undo contracts, so it allows them there and buys nothing more from {where} on the spot"))
    return found


def csv_value(value: float) -> float:
    """`value` rounded to CSV_DIGITS significant digits (written by its shortest repr); anything
    but a finite number, and 0, as it is."""
    return csv_values([value])[0] if _finite(value) else value


def csv_differences(after: Iterable[float], before: Iterable[float]) -> list[float]:
    """after - before, pairwise, and 0 where the two are one number in the CSV files (CSV_DIGITS
    significant digits): a change no table could show between them is none (one volume summed
    in another order, 0.1 + 0.2 against 0.3, is no change of 5.6e-17)."""
    return [0.0 if csv_value(a) == csv_value(b) else a - b for a, b in zip(after, before, strict=True)]


def csv_values(values: list[float]) -> list[float]:
    """Each number of a column (floats: NaN, the infinities and 0 as they are) rounded to
    CSV_DIGITS significant digits, as one list (the CSV writer rounds whole columns: no call
    per cell)."""
    return [float(f"{v:.{CSV_DIGITS}g}") if v != 0 and v - v == 0 else v for v in values]


# Characters no spreadsheet cell and no XML or HTML document can hold: the C0 control characters
# but tab, line feed and carriage return (XML 1.0, which workbooks and reports are written in, forbids them).
UNSHOWABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def unshowable(text: str) -> str | None:
    """"holds the control character U+XXXX" for the first character of `text` that a spreadsheet
    or a report cannot hold (`UNSHOWABLE`); None when it has none."""
    found = UNSHOWABLE.search(text)
    return None if found is None else f"holds the control character U+{ord(found.group()):04X}"
