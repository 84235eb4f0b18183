"""The plan stored in a solved model's variables, read for every scenario."""

from __future__ import annotations

from planner.instance.data import ModelData
from planner.model.builder import value
from planner.model.structure import BuiltModel
from planner.results.plan import Plan


def plan_from_model(built: BuiltModel, data: ModelData) -> Plan:
    """Read the plan stored in a solved model's decisions (model units), second stage for
    every scenario: a recourse copy shared by several scenarios (`ModelData.recourse_of`, or
    in a multi-stage model an information class) is each one's. Multi-stage volumes decided
    while nothing tells the scenarios apart are read once, as (o, t); the others for each
    scenario, (o, t, s). The volumes of an option not contracted are 0, as x <= cap z makes
    them: HiGHS may leave one within its tolerance (3.8e-7 model units: 11 t where demand is 3e7 t)."""
    d = built.decisions

    def values(var: object) -> dict:
        return {k: value(v) for k, v in var.items()}

    def per_scenario(var: object, material: dict[str, str] | None = None) -> dict:
        return {(key, t, s): v for (key, t, r), v in values(var).items()
                for s in data.recourse_members(material[key] if material else key, t, r)}

    contracted = {k: int(round(v)) for k, v in values(d.contracted).items()}
    volume: dict[tuple, float] = {}
    for key, v in values(d.volume).items():
        if not contracted[key[0]]:
            v = 0.0
        if len(key) == 2 or data.volume_common(key[0], key[1]):
            volume[key[:2]] = v
        else:
            volume.update({(key[0], key[1], s): v for s in data.volume_members(key)})

    return Plan(
        contracted=contracted,
        signed={k: int(round(v)) for k, v in values(d.signed).items()},
        volume=volume,
        spot=per_scenario(d.spot, data.commodity_of),
        stock=per_scenario(d.stock),
        unmet=per_scenario(d.unmet),
        disposed=per_scenario(d.disposed) if d.disposed is not None else {},
    )
