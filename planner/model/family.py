"""What every constraint family module provides, and the helpers they share.

A family module (contract, agreement, spot, balance, service_level, diversification,
average_risk, share_limit, budget) holds all there is of one constraint of docs/model.md
section 3.3, under its number:

    NUMBER, TITLE                  its number and name in docs/model.md
    FIRST_STAGE                    it binds the first stage only (left out of evaluations)
    build(b, data, variant)        its parameters, rows and, in the elastic model, its slack
                                   with the weight the least relaxation gives it
    explain(data, slack, plan, volume, money)   the sentences that say which relaxation of it
                                   makes an infeasible instance feasible (slack values as
                                   solved, in the model's scaled units)
    check(data, plan, rules)       the rule `planner verify` checks on a plan, in the user's units

`planner.model.families.FAMILIES` lists them in order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from planner.formatting import exact

TOLERANCE = 1e-6  # relative, at least absolute: looser than solver noise, tight enough for money
SLACK_TOLERANCE = 1e-6  # a slack below this share of the quantity relaxed is no relaxation


@dataclass(frozen=True)
class Violation:
    check: str  # the constraint (its number in docs/model.md) or the file and column
    where: str
    size: float  # by how much, in the quantity's own unit (inf: not a number at all)
    detail: str

    def __str__(self) -> str:
        return f"{self.check}: {self.where}: {self.detail} (off by {fmt(self.size)})"


@dataclass(frozen=True)
class Rules:
    """The rules a plan was made under: an evaluation reports service levels rather than
    enforcing them, and may dispose of volume that can be neither used nor stored."""

    evaluation: bool = False


def tolerance(*scales: float) -> float:
    """TOLERANCE times the largest finite |scale|, at least 1."""
    largest = 1.0
    for scale in scales:
        size = abs(scale)
        if largest < size < math.inf:  # (False for nan)
            largest = size
    return TOLERANCE * largest


def fmt(value: float) -> str:
    """A number in a message: 10 significant digits, never in e-notation."""
    return exact(value) if math.isfinite(value) else str(value)


class Checks:
    """Violations of one family, recorded as they are found."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.found: list[Violation] = []

    def at_least_zero(self, ok_by: float, scale: float, where: str, detail: str, *numbers: float) -> None:
        """A violation when `ok_by` (>= 0 when the rule holds) is below -tolerance(scale); `detail`
        holds a `{}` for each of `numbers` (and no user text, then), written (`fmt`) only on a
        violation: every solve checks its plan, and most rows hold."""
        if ok_by < -tolerance(scale):
            self.found.append(Violation(self.name, where, -ok_by,
                                        detail.format(*map(fmt, numbers)) if numbers else detail))


def typical_volume(data: object, m: str) -> float:
    """A material's mean demand per period, at least 1: what its volumes are weighed against."""
    total = sum(data.demand[m, t] for t in data.horizon)  # type: ignore[attr-defined]
    return max(total / len(data.periods), 1.0)  # type: ignore[attr-defined]


def copies(data: object, m: str, r: str) -> int:
    """How many scenarios share material m's recourse copy r over the whole horizon (in a
    multi-stage model, r's class in the last period): a slack of that copy counts for each."""
    return len(sharing(data, m, r))


def sharing(data: object, m: str, r: str) -> list[str]:
    """The scenarios whose whole recourse for m is that of scenario r."""
    if data.multi_stage:  # type: ignore[attr-defined]
        return data.node_members(len(data.periods) - 1, r)  # type: ignore[attr-defined]
    return data.sharing(m, r)  # type: ignore[attr-defined]


def in_scenarios(data: object, members: list[str]) -> str:
    """Where a row holds for `members` only, them, as a diagnosis names them: " (scenario calm)",
    " (scenarios a, b, c and 4 more)"; "" where they are every scenario."""
    if len(members) == len(data.scenarios):  # type: ignore[attr-defined]
        return ""
    more = f" and {len(members) - 3} more" if len(members) > 3 else ""
    return f" (scenario{'s' if len(members) > 1 else ''} {', '.join(members[:3])}{more})"


def horizon_copies(data: object, m: str) -> list[str]:
    """The scenarios owning one copy of m's recourse over the whole horizon: the recourse copies
    (two-stage), the classes of the last period (multi-stage)."""
    if data.multi_stage:  # type: ignore[attr-defined]
        return data.nodes_at(len(data.periods) - 1)  # type: ignore[attr-defined]
    return data.recourse_scenarios[m]  # type: ignore[attr-defined]
