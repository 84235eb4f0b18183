"""What a planner knows in each period: the information classes of multi-stage plans
(docs/model.md section 3.6).

Two scenarios are indistinguishable in period tau when everything observed up to tau is
the same in both: the availability a_ots of every option and the spot price factors f_mts
of every material, for every t <= tau. The classes come from the scenarios alone (no input
is needed); each is named after its first scenario in canonical order, so that a class is
also a scenario name (its representative). The classes refine as time goes on: scenarios
apart in tau stay apart after it. Before the first period (tau = -1, `BEFORE`) nothing is
known: one class holds every scenario; what is decided then is decided up front.
"""

from __future__ import annotations

BEFORE = -1  # the "period" before the horizon: decisions taken up front, on no information


def information_nodes(scenarios: list[str], horizon: range, options: list[str], periods_of: dict[str, list[int]],
                      availability: dict[tuple[str, int, str], float], commodities: list[str],
                      price_factor: dict[tuple[str, int, str], float]) -> dict[tuple[int, str], str]:
    """(t, s) -> the representative of s's information class in period t."""
    active = {t: [o for o in options if t in periods_of[o]] for t in horizon}
    nodes: dict[tuple[int, str], str] = {(BEFORE, s): scenarios[0] for s in scenarios}
    previous = {s: "" for s in scenarios}
    for t in horizon:
        first: dict[tuple, str] = {}
        for s in scenarios:
            seen = (previous[s], tuple(availability[o, t, s] for o in active[t]),
                    tuple(price_factor.get((m, t, s), 1.0) for m in commodities))
            nodes[t, s] = first.setdefault(seen, s)
        previous = {s: nodes[t, s] for s in scenarios}
    return nodes


def members(nodes: dict[tuple[int, str], str], scenarios: list[str]) -> dict[tuple[int, str], list[str]]:
    """(t, representative) -> the scenarios of that class, in canonical order."""
    out: dict[tuple[int, str], list[str]] = {}
    for (t, s), node in sorted(nodes.items(), key=lambda item: (item[0][0], scenarios.index(item[0][1]))):
        out.setdefault((t, node), []).append(s)
    return out
