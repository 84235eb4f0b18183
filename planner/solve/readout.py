"""The plan stored in a solved model's variables, read for every scenario."""

from __future__ import annotations

from planner.instance.data import ModelData
from planner.model.builder import value
from planner.model.structure import BuiltModel
from planner.results.plan import Plan


def plan_from_model(built: BuiltModel, data: ModelData) -> Plan:
    """Read the plan stored in a solved model's decisions (model units), second stage for
    every scenario: a recourse copy shared by several scenarios (`ModelData.recourse_of`)
    is each one's."""
    d = built.decisions

    def values(var: object) -> dict:
        return {k: value(v) for k, v in var.items()}

    def per_scenario(var: object, material: dict[str, str] | None = None) -> dict:
        return {(key, t, s): v for (key, t, r), v in values(var).items()
                for s in data.sharing(material[key] if material else key, r)}

    return Plan(
        contracted={k: int(round(v)) for k, v in values(d.contracted).items()},
        signed={k: int(round(v)) for k, v in values(d.signed).items()},
        volume=values(d.volume),
        spot=per_scenario(d.spot, data.commodity_of),
        stock=per_scenario(d.stock),
        unmet=per_scenario(d.unmet),
        disposed=per_scenario(d.disposed) if d.disposed is not None else {},
    )
