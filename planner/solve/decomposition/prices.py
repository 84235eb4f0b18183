"""The multipliers of the Lagrangian bound, and the rules they follow.

Prices hold nu_i >= 0 per linking row (the tail rows first: CVaR weights q_s scaled by
lambda, in the box 0 <= nu_s <= cost(e_s) with sum nu_s = cost(eta); then the budget row) and
beta_bg >= 0 per copy of agreement g in block b. The bound holds for any prices in that set;
`project` brings any prices into it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from planner.solve.decomposition.structure import Structure

SMOOTHING = 0.5  # weight of the best multipliers in the next round's (Wentges)


@dataclass
class Prices:
    """nu_i per linking row, beta_bg per (block, agreement column) copy."""

    rows: np.ndarray
    copies: dict[tuple[int, int], float]


def project_tail_weights(weights: np.ndarray, upper: np.ndarray, total: float) -> np.ndarray:
    """The point of {0 <= mu <= upper, sum mu = total} reached from `weights` by clipping and
    shifting the excess or deficit onto the entries with room (proportionally)."""
    mu = np.clip(weights, 0.0, upper)
    for _ in range(100):
        deficit = total - mu.sum()
        if abs(deficit) <= 1e-15 * max(1.0, total):
            break
        room = (upper - mu) if deficit > 0 else mu
        if room.sum() <= 0:
            break
        mu = np.clip(mu + deficit * room / room.sum(), 0.0, upper)
    return mu


def project(prices: Prices, s: Structure, costs: np.ndarray) -> Prices:
    """Multipliers the bound holds for: tail weights in {0 <= nu_s <= cost(e_s), sum = cost(eta)},
    every other multiplier >= 0."""
    k, cols = s.tail_count, s.linking_columns
    nu = np.maximum(prices.rows, 0.0)
    if k:
        nu[:k] = project_tail_weights(nu[:k], costs[cols[1:1 + k]], float(costs[cols[0]]))
    return Prices(nu, {key: max(0.0, value) for key, value in prices.copies.items()})


def from_duals(row_dual: np.ndarray, s: Structure, sign: np.ndarray) -> Prices:
    """From the whole model's LP relaxation: nu_i = -sign_i y_i, beta_bg = sum |y| of its links."""
    nu = -sign * row_dual[s.linking_rows]
    copies = {key: float(np.abs(row_dual[rows]).sum()) for key, rows in s.links.items()}
    return Prices(nu, copies)


def plain(s: Structure, costs: np.ndarray) -> Prices:
    """Tail weights in proportion to p (the expected cost), agreement costs split evenly."""
    k, cols = s.tail_count, s.linking_columns
    nu = np.zeros(len(s.linking_rows))
    if k:
        upper = costs[cols[1:1 + k]]
        nu[:k] = costs[cols[0]] * upper / max(upper.sum(), 1e-300)
    sharing = Counter(g for _, g in s.links)  # blocks holding a copy of each w_g
    return Prices(nu, {(b, g): float(costs[g]) / sharing[g] for (b, g) in s.links})


def blend(best: Prices, master: Prices, smoothing: float = SMOOTHING) -> Prices:
    """`smoothing` of the way from the master's prices back to the best ones (Wentges)."""
    a = smoothing
    keys = set(best.copies) | set(master.copies)
    return Prices(a * best.rows + (1 - a) * master.rows,
                  {key: a * best.copies.get(key, 0.0) + (1 - a) * master.copies.get(key, 0.0) for key in keys})
