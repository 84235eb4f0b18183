"""The constraint families of docs/model.md section 3.3, in order (`planner.model.family`)."""

from __future__ import annotations

from planner.model import (
    agreement,
    average_risk,
    balance,
    budget,
    contract,
    diversification,
    service_level,
    share_limit,
    spot,
)

FAMILIES = (contract, agreement, spot, balance, service_level, diversification, average_risk, share_limit, budget)
