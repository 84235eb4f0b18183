"""Lagrangian decomposition by material: the decomposition phase of a planning solve.

The materials of the sourcing model share only three things: the risk measure of the
scenario costs (the CVaR's tail rows and, with ambiguity, the worst-case rows each sum every
material's recourse cost), the agreements (w_g gates options of several materials) and the
budget. Everything else, contracts, spot, stock,
service levels and policy limits, belongs to one material. With those links priced
instead of enforced, the model falls apart into one small MIP per material, solved in a
fraction of the time HiGHS spends on the whole (its root cut loop grows with the number of
rows, and the whole has all of them) by a branch and bound over HiGHS's LPs (`branching`).

The bound. CVaR_alpha(C) = max { sum_s q_s C_s : sum_s q_s = 1, 0 <= q_s <= p_s/(1-alpha) }
(the LP dual of the Rockafellar-Uryasev form), so for any such q, any beta >= 0 splitting
each agreement's cost among copies w^m_g of w_g, and any nu >= 0 pricing the budget,

    L(q, beta, nu) = offset - nu B + sum_m min_{X_m} [ c_m x_m + lambda sum_s q_s R_ms(x_m)
                                                       + nu b_m x_m + sum_g beta_gm w^m_g ]
                     + sum_g min(0, (1 + nu) f_g - sum_m beta_gm)

is a lower bound on the optimal objective (weak duality). c_m is the objective's cost of
m's columns (fixed cost, contract cost, (1 - lambda) sum_s p_s R_ms), R_ms = R_m,r(m,s)
its recourse cost in scenario s (the tail rows' coefficients), X_m m's rows with w_g
replaced by its copy, b the budget row (fixed costs). Each min is a block MIP; its search's
dual bound (`branching`: the least LP bound of the nodes not closed) is used, so the bound
holds whatever the block's gap.

With ambiguity (docs/model.md 3.5) the objective is the worst case over probabilities p in
P = {l <= p <= u, sum p = 1}, and its worst-case rows rho + beta_s - gamma_s >= (1 - lambda)
R_s + lambda / (1 - alpha) e_s are priced too, by pi_s: the same bound holds with p replaced
by any pi in P, in c_m and in the box of q (0 <= q_s <= pi_s / (1 - alpha)), since the
worst case is the max over P (`prices`: pi and mu = lambda q are read off the matrix, and
every rule below works on both; a plan's prices put pi on its worst case).

The multipliers. First from the duals of the whole model's LP relaxation (q from the tail
rows, beta from the agreement links z_o <= w_g, nu from the budget row; solved from a basis
put together from the blocks' own LP relaxations, `first`; for models above
LP_START_MAX_COLUMNS, whose LP relaxation costs more than a round, solved to a loose gap
(`first.lp_first`), q = p and beta splits each agreement's cost evenly), then from the
restricted Dantzig-Wolfe master: the LP over convex combinations of the block plans
found so far, with the tail rows, agreement links and budget kept exactly. Its duals are
smoothed towards the best multipliers found (Wentges smoothing) before the next round.
Two rules sharpen them (`prices`). Filling: each agreement's copies are raised, in
proportion, until they sum to its cost at those prices; the bound cannot fall, since each
block's minimum grows with its copies' prices and the agreement's own term stays 0. Prices
from the best plan: when a round finds a better plan, the next round prices what that plan
would need to be optimal (complementary slackness): q on its costliest scenarios (a
subgradient of its CVaR) and each agreement it signs paid for only by the materials that
use it. With many scenarios the master's q, one weight per scenario, is poor for rounds; the
plan's q is right as soon as the plan is. Used once per new best plan, and no more once such
prices gave a bound below the best.

The plans. Each round makes two: the blocks' plans with every agreement signed that one of
them uses, and a plan that signs what the LP relaxation (first round) or the master (later
rounds) signs, the blocks that used an agreement left unsigned solved again without it. Each
is made whole by the whole model's LP with z and w fixed (from the last basis, or, without
one, from the blocks' plans put together; with worker processes, the blocks are solved again
there while the first plan is made whole); the best is the upper bound. The phase ends when
(upper - lower) <= gap |upper|, the gap of the solve: the plan is then optimal to that gap,
with the Lagrangian bound as its proof. Otherwise the best plan goes to branch and bound on
the whole model: after ROUNDS rounds, when neither the bound nor the master's value moved by
1% of the gap in STALL_ROUNDS rounds (at lambda = 1 the bound can stay flat for rounds while
the master closes in), or when the master's value (at least the best bound any prices can
give, since its columns are a subset of all block plans) is below upper (1 - gap).

The restricted MIP (`restricted`). Priced links are not enforced: under a budget that binds,
the blocks' plans together can spend more than it, and no round has a plan. Before the phase
gives up (and whenever it has no plan), the whole model is solved as a MIP over the binaries
some block plan has set, the others fixed at 0 (price-and-branch); its plan is offered like
the others, and its parts join the master, which then has combinations that fit. Not when the
rounds stalled with the best plan near the bound (`fixing.near`): branch and bound then starts
with the binaries fixed that every plan at least as good shares (`fixing`).

The sub-modules: `structure` (the blocks, from what the model declares), `first` (the LP
relaxation for the first prices), `prices` (the multipliers: plain prices, projection,
smoothing), `master` (the restricted master LP), `restricted` (the restricted MIP), `whole`
(whole plans from block plans), `phase` (the rounds; `PhaseRun` holds one solve's state),
`block` (one block's solve, the same wherever it runs), `dispatch` (which holder solves which
block), `pool` and `cluster` (the blocks of a round in worker processes or on Dask workers), and
`fixing` (after the phase: the binaries every plan near the optimum shares, by its bound, which
branch and bound after a phase that stopped near the bound and the tie-break stage at lambda = 1
fix). Measurements are in docs/performance.md, "How a plan is solved".
"""


from __future__ import annotations

from planner.solve.decomposition.phase import Decomposition, DecompositionResult
from planner.solve.decomposition.structure import Structure, find_structure

__all__ = ["Decomposition", "DecompositionResult", "Structure", "find_structure"]
