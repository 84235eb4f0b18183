"""Which copy of a decision a scenario uses: the families write their rows with these, the
same way in two-stage and multi-stage models (docs/model.md section 3.6). Light: no Pyomo.
"""

from __future__ import annotations

from planner.instance.data import ModelData
from planner.model.structure import Decisions


def x(d: Decisions, data: ModelData, o: str, t: int, s: str | None = None) -> object:
    """The volume variable x_ot scenario s uses (s is not needed in a two-stage model)."""
    return d.volume[(o, t) if not data.multi_stage else data.volume_key(o, t, s)]


def recourse(var: object, data: ModelData, key: str, m: str, t: int, s: str) -> object:
    """The copy of a period-t recourse variable (`spot`, `stock`, `unmet`; indexed by `key`, an
    option or a material of m) scenario s uses."""
    return var[key, t, data.recourse_node(m, t, s)]  # type: ignore[index]


def later(data: ModelData, options: list[str], t: int) -> bool:
    """Whether some period-t volume of `options` is decided once the horizon has begun (not up front)."""
    return any(data.decision_period(o, t) >= 0 for o in options if t in data.periods_of[o])


def row_nodes(data: ModelData, options: list[str], t: int) -> list[str]:
    """The scenario copies of a row over the period-t volumes of `options`: none in a two-stage
    model; else the information classes of the latest period any of them is decided in (the
    classes refine over time, so each class there fixes every volume of the row)."""
    if not data.multi_stage or not options:
        return []
    return data.nodes_at(max(data.decision_period(o, t) for o in options))


def row_members(data: ModelData, options: list[str], t: int, node: str) -> list[str]:
    """The scenarios a row of `row_nodes` holds for: the members of its information class."""
    return data.node_members(max(data.decision_period(o, t) for o in options), node)
