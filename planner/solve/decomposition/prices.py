"""The multipliers of the Lagrangian bound, and the rules they follow.

Prices hold nu_i >= 0 per linking row (the tail rows first: CVaR weights q_s scaled by
lambda, in the box 0 <= nu_s <= cost(e_s) with sum nu_s = cost(eta); then the budget row) and
beta_bg >= 0 per copy of agreement g in block b. The bound holds for any prices in that set;
`project` brings any prices into it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

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


def tail_box(s: Structure, costs: np.ndarray) -> tuple[np.ndarray, float]:
    """The set the tail weights live in, {0 <= nu_s <= upper_s, sum nu_s = total}: upper_s =
    cost(e_s) and total = cost(eta)."""
    cols = s.linking_columns
    return costs[cols[1:1 + s.tail_count]], float(costs[cols[0]])


def project(prices: Prices, s: Structure, costs: np.ndarray) -> Prices:
    """Multipliers the bound holds for: tail weights in {0 <= nu_s <= cost(e_s), sum = cost(eta)},
    every other multiplier >= 0."""
    k = s.tail_count
    nu = np.maximum(prices.rows, 0.0)
    if k:
        nu[:k] = project_tail_weights(nu[:k], *tail_box(s, costs))
    return Prices(nu, {key: max(0.0, value) for key, value in prices.copies.items()})


def fill_agreements(prices: Prices, s: Structure, costs: np.ndarray, normalised: sp.csr_matrix) -> Prices:
    """Raise the copies' prices of each agreement until they sum to its cap, the agreement's
    cost at these prices (its objective cost plus nu_i times its entries in the normalised
    linking rows, the budget row), in proportion to them (evenly when all are 0).

    The bound never falls: each block's minimum is non-decreasing in its copies' prices (the
    copies are >= 0), and the agreement's own term min(0, cap - sum of its copies' prices)
    stays 0."""
    g = s.agreements
    if not len(g):
        return prices
    caps = costs[g] + normalised[:, g].T @ prices.rows
    copies = dict(prices.copies)
    for agreement, cap in zip(g.tolist(), np.asarray(caps).ravel().tolist()):
        keys = s.agreement_copies.get(agreement, [])
        total = sum(copies[key] for key in keys)
        if not keys or cap <= total:
            continue
        for key in keys:
            copies[key] = copies[key] * cap / total if total > 0 else cap / len(keys)
    return Prices(prices.rows, copies)


def tail_of(recourse: np.ndarray, upper: np.ndarray, total: float, ties: np.ndarray | None = None) -> np.ndarray:
    """The tail weights that put a plan's CVaR on its costliest scenarios: given its recourse
    cost R_s per tail row, a maximiser of sum_s nu_s R_s over {0 <= nu_s <= upper_s, sum nu_s =
    total} (a subgradient of the CVaR at the plan): the costliest rows filled first. Costs
    within 1e-9 of the largest of each other are ties, filled in the order of `ties`
    (largest first), then by row."""
    k = len(recourse)
    nu = np.zeros(k)
    scale = max(1e-300, float(np.max(np.abs(recourse)))) if k else 1.0
    level = np.round(recourse / scale, 9)
    order = np.lexsort((np.arange(k), -(ties if ties is not None else np.zeros(k)), -level))
    left = total
    for i in order:
        nu[i] = min(upper[i], left)
        left -= nu[i]
        if left <= 0:
            break
    return nu


def from_duals(row_dual: np.ndarray, s: Structure, sign: np.ndarray) -> Prices:
    """From the whole model's LP relaxation: nu_i = -sign_i y_i, beta_bg = sum |y| of its links."""
    nu = -sign * row_dual[s.linking_rows]
    copies = {key: float(np.abs(row_dual[rows]).sum()) for key, rows in s.links.items()}
    return Prices(nu, copies)


def plain(s: Structure, costs: np.ndarray) -> Prices:
    """Tail weights in proportion to p (the expected cost), agreement costs split evenly."""
    k = s.tail_count
    nu = np.zeros(len(s.linking_rows))
    if k:
        upper, total = tail_box(s, costs)
        nu[:k] = total * upper / max(upper.sum(), 1e-300)
    return Prices(nu, {(b, g): float(costs[g]) / len(s.agreement_copies[g]) for (b, g) in s.links})


def blend(best: Prices, master: Prices, smoothing: float = SMOOTHING) -> Prices:
    """`smoothing` of the way from the master's prices back to the best ones (Wentges)."""
    a = smoothing
    keys = set(best.copies) | set(master.copies)
    return Prices(a * best.rows + (1 - a) * master.rows,
                  {key: a * best.copies.get(key, 0.0) + (1 - a) * master.copies.get(key, 0.0) for key in keys})
