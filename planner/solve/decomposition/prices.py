"""The multipliers of the Lagrangian bound, and the rules they follow.

Prices hold nu_i >= 0 per linking row and beta_bg >= 0 per copy of agreement g in block b.
The linking rows are the risk measure's (docs/model.md 3.4 and 3.5), then the budget row:

- tail rows s (lambda > 0): CVaR weights mu_s (q_s scaled by lambda);
- worst-case rows s (ambiguity delta > 0): the worst-case probabilities pi_s.

The bound holds where each linking column's reduced cost c_j + sum_i nu_i g_ij (g the
normalised rows) has the sign its bounds allow (`RiskForm`): eta and rho free, e_s, beta_s,
gamma_s >= 0. Without ambiguity that is the CVaR box {0 <= mu_s <= cost(e_s), sum mu =
cost(eta)}; with it,

    pi in P:  l_s <= pi_s <= u_s,  sum pi = 1                          (gamma_s, beta_s, rho)
    mu:       0 <= mu_s <= kappa_s pi_s,  sum mu = lambda                (e_s, eta; kappa_s = lambda / (1 - alpha))

(in the model's scaled units, read off the matrix and the costs). A material's recourse R_ms
is then weighed by (1 - lambda) pi_s + mu_s in its block's priced costs: the nominal model's
weights with pi in place of p, the worst case of docs/model.md 3.5 being the max over pi.
`project` brings any prices into the set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from planner.solve.decomposition.structure import RiskColumns, Structure

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


@dataclass
class RiskForm:
    """How the risk measure's linking columns enter its normalised linking rows (g_i(x) <= 0):

        tail row s:        ... - eta - e_s
        worst-case row s:  ... - a rho - b_s beta_s + g_s gamma_s + kappa_s e_s

    which decides where the bound holds (module docstring). `valid` says the compiled model has
    this form; the phase runs only then (`Decomposition.valid`)."""

    columns: RiskColumns
    level: float  # a
    above: np.ndarray  # b_s
    below: np.ndarray  # g_s
    kappa: np.ndarray  # kappa_s (0 without tail rows)
    valid: bool

    @property
    def tail_count(self) -> int:
        """How many tail rows (the first linking rows) there are: one per e_s."""
        return len(self.columns.tail_excess)

    @property
    def worst_count(self) -> int:
        """How many worst-case rows (the next linking rows) there are: one per beta_s."""
        return len(self.columns.worst_above)

    @property
    def count(self) -> int:
        """How many linking rows (the first ones) the risk measure has."""
        return self.tail_count + self.worst_count

    @classmethod
    def of(cls, s: Structure, normalised: sp.csr_matrix) -> RiskForm:
        """The form of the risk rows of `normalised` (the linking rows, in the order of `s`)."""
        k, kw, c = s.tail_count, s.worst_count, s.risk

        def block(rows: slice, columns: np.ndarray) -> np.ndarray:
            return normalised[rows][:, columns].toarray()

        tail, worst = slice(0, k), slice(k, k + kw)
        valid = (len(c.value_at_risk) == (1 if k else 0) and len(c.tail_excess) == k
                 and len(c.worst_level) == (1 if kw else 0) and len(c.worst_above) == len(c.worst_below) == kw
                 and (k == 0 or kw == 0 or k == kw))
        if valid and k:
            valid = (np.allclose(block(tail, c.value_at_risk), -1.0)
                     and np.allclose(block(tail, c.tail_excess), -np.eye(k))
                     and not block(tail, np.concatenate([c.worst_level, c.worst_above, c.worst_below])).any())
        level, above, below, kappa = 1.0, np.ones(kw), np.ones(kw), np.zeros(kw)
        if valid and kw:
            rho, beta = block(worst, c.worst_level)[:, 0], block(worst, c.worst_above)
            gamma = block(worst, c.worst_below)
            level, above, below = -float(rho[0]), -np.diag(beta), np.diag(gamma)
            excess = block(worst, c.tail_excess) if k else np.zeros((kw, kw))
            kappa = np.diag(excess).copy()
            valid = (level > 0 and np.allclose(rho, -level) and (above > 0).all() and (below > 0).all()
                     and np.allclose(beta, -np.diag(above)) and np.allclose(gamma, np.diag(below))
                     and (kappa >= 0).all() and np.allclose(excess, np.diag(kappa))
                     and not block(worst, c.value_at_risk).any())
        return cls(c, level, above, below, kappa, bool(valid))

    def worst_box(self, costs: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """The set the worst-case probabilities live in, {lower <= pi <= upper, sum pi = total}:
        gamma_s's, beta_s's and rho's reduced costs at >= 0, >= 0 and = 0."""
        c = self.columns
        total = float(costs[c.worst_level[0]]) / self.level if self.worst_count else 0.0
        return -costs[c.worst_below] / self.below, costs[c.worst_above] / self.above, total

    def tail_box(self, costs: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, float]:
        """The set the tail weights live in given the worst-case probabilities of `rows`,
        {0 <= mu_s <= upper_s, sum mu_s = total}: upper_s = cost(e_s) + kappa_s pi_s and total =
        cost(eta)."""
        c, k = self.columns, self.tail_count
        upper = costs[c.tail_excess].copy()
        if self.worst_count:
            upper += self.kappa * rows[k:k + self.worst_count]
        return upper, float(costs[c.value_at_risk[0]])

    def project(self, rows: np.ndarray, costs: np.ndarray) -> np.ndarray:
        """The risk rows' multipliers of `rows` brought into their set (module docstring):
        the worst-case probabilities first, clipped and shifted into theirs, then the tail weights
        into the box those allow."""
        k, kw = self.tail_count, self.worst_count
        nu = rows.copy()
        if kw:
            nu[k:k + kw] = _within(nu[k:k + kw], *self.worst_box(costs))
        if k:
            nu[:k] = project_tail_weights(nu[:k], *self.tail_box(costs, nu))
        return nu

    def plain(self, costs: np.ndarray) -> np.ndarray:
        """The risk rows' multipliers of the expected cost under the given probabilities: pi = p
        (in proportion to the lower ends l_s = p_s (1 - delta), or the upper ones at delta = 1),
        and tail weights in proportion to their upper ends."""
        k, kw = self.tail_count, self.worst_count
        nu = np.zeros(k + kw)
        if kw:
            lower, upper, total = self.worst_box(costs)
            shares = lower if lower.sum() > 0 else upper
            nu[k:] = _within(total * shares / max(shares.sum(), 1e-300), lower, upper, total)
        if k:
            upper, total = self.tail_box(costs, nu)
            nu[:k] = total * upper / max(upper.sum(), 1e-300)
        return nu

    def supporting(self, costs: np.ndarray, recourse: np.ndarray, ties: np.ndarray) -> np.ndarray:
        """The risk rows' multipliers that put a plan's risk on its costliest scenarios (given its
        recourse cost R_s, or a positive multiple of it, per scenario), the optimality conditions of
        its eta, e_s, rho, beta_s and gamma_s: the worst-case probabilities from their lower ends up,
        the costliest first (the worst case over P), then the tail weights within the box they
        allow (a subgradient of the CVaR under them). Ties broken by `ties`' weights (`tail_of`)."""
        k, kw = self.tail_count, self.worst_count
        nu = np.zeros(k + kw)
        if kw:
            lower, upper, total = self.worst_box(costs)
            nu[k:] = lower + tail_of(recourse, upper - lower, total - lower.sum(), ties=ties[k:k + kw])
        if k:
            nu[:k] = tail_of(recourse, *self.tail_box(costs, nu), ties=ties[:k])
        return nu


def _within(weights: np.ndarray, lower: np.ndarray, upper: np.ndarray, total: float) -> np.ndarray:
    """`project_tail_weights` into {lower <= w <= upper, sum w = total}."""
    return lower + project_tail_weights(weights - lower, upper - lower, total - lower.sum())


def project(prices: Prices, form: RiskForm, costs: np.ndarray) -> Prices:
    """Multipliers the bound holds for: the risk rows' in their set (`RiskForm.project`), every
    other multiplier >= 0."""
    nu = np.maximum(prices.rows, 0.0)
    if form.count:
        nu[:form.count] = form.project(nu[:form.count], costs)
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


def plain(s: Structure, form: RiskForm, costs: np.ndarray) -> Prices:
    """The expected cost's weights on the risk rows (`RiskForm.plain`), the budget unpriced,
    agreement costs split evenly."""
    nu = np.zeros(len(s.linking_rows))
    nu[:form.count] = form.plain(costs)
    return Prices(nu, {(b, g): float(costs[g]) / len(s.agreement_copies[g]) for (b, g) in s.links})


def blend(best: Prices, master: Prices, smoothing: float = SMOOTHING) -> Prices:
    """`smoothing` of the way from the master's prices back to the best ones (Wentges)."""
    a = smoothing
    keys = set(best.copies) | set(master.copies)
    return Prices(a * best.rows + (1 - a) * master.rows,
                  {key: a * best.copies.get(key, 0.0) + (1 - a) * master.copies.get(key, 0.0) for key in keys})
