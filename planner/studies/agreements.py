"""What each agreement is worth: the break-even of a deal (`--metrics`).

For an agreement g (a deal that gates options, such as the Russia deal), against the plan's
objective:

- `worth`: the optimum without g (every option it gates removed) minus the plan's optimum.
  The plan's objective already pays g's fixed cost, so this is net of it; the deal stops
  paying when its price rises by more, i.e. its break-even price is
  `break_even_price` = fixed cost + worth (below 0 worth, it is not worth its price).
- per material m whose options g gates, `contribution`: the optimum with g's options of m
  removed (its others kept) minus the plan's optimum, what m's part of the deal adds; and
  `worth_without`: what the deal would be worth without m's part (worth minus the part m
  adds on top of the others).

Each figure is one more solve of the whole model, on the same data otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pandas as pd

from planner.errors import InfeasibleError
from planner.instance.data import ModelData, build_model_data, with_stages
from planner.instance.instance import Instance
from planner.processes import run_each
from planner.results.plan import compute_figures
from planner.solve.pipeline import solve_data
from planner.solve.session import SolveOptions


def gated_materials(inst: Instance, agreement: str) -> list[str]:
    options = inst.options
    return sorted(set(options.loc[options["agreement"] == agreement, "commodity"]))


def without_options(inst: Instance, drop: Callable[[pd.Series], bool]) -> Instance:
    """`inst` without the options `drop` selects (a row of options.csv), nor their capacity rows."""
    options = inst.options
    removed = set(options.loc[options.apply(drop, axis=1), "option"])
    tables = dict(inst.tables)
    tables["options"] = options[~options["option"].isin(removed)].reset_index(drop=True)
    tables["capacity"] = inst.capacity[~inst.capacity["option"].isin(removed)].reset_index(drop=True)
    return replace(inst, tables=tables, notes=list(inst.notes))


def agreement_steps(inst: Instance) -> int:
    """How many solves `agreement_values` makes."""
    return sum(1 + len(gated_materials(inst, g)) for g in inst.agreements["agreement"])


def _optimum_without(shared: tuple[Instance, bool, SolveOptions], removed: tuple[str, str | None]) -> float | None:
    """The optimum without agreement g's options (of material m only, when m is given), planned
    with stages as the plan was (`--multi-stage`); None when that model is infeasible."""
    inst, multi_stage, options = shared
    g, m = removed
    data = build_model_data(without_options(inst, lambda row: row["agreement"] == g
                                            and (m is None or row["commodity"] == m)))
    if data.multi_stage != multi_stage:
        data = with_stages(data, multi_stage)
    try:
        _, plan, _ = solve_data(data, options)
    except InfeasibleError:
        return None
    return compute_figures(data, plan).objective


def agreement_values(inst: Instance, data: ModelData, objective: float, options: SolveOptions,
                     step: Callable[[str], None] | None = None, workers: int = 1) -> dict:
    """Per agreement: its fixed cost, worth, break-even price and the part of each material
    (module docstring). A figure is None where the model without those options is infeasible
    (the deal is then indispensable: a service level or minimum needs it). The solves run on
    `workers` local processes when above 1 (`planner.processes.run_each`)."""
    step = step or (lambda _: None)
    costs = dict(zip(inst.agreements["agreement"], inst.agreements["fixed_cost"]))
    gated = {g: gated_materials(inst, g) for g in sorted(costs)}
    removals = [(g, m) for g, materials in gated.items() for m in [None, *materials]]
    optima = dict(zip(removals, run_each(
        _optimum_without, (inst, data.multi_stage, options), removals, workers,
        lambda removed: step(f"without {removed[0]}" + ("" if removed[1] is None else f"'s {removed[1]}")))))
    out: dict = {}
    for g, materials in gated.items():
        without = optima[g, None]
        worth = None if without is None else without - objective
        parts = {}
        for m in materials:
            alone = optima[g, m]
            contribution = None if alone is None else alone - objective
            parts[m] = {"contribution": contribution,
                        "worth_without": None if without is None or alone is None else without - alone}
        out[g] = {"fixed_cost": float(costs[g]), "worth": worth,
                  "break_even_price": None if worth is None else float(costs[g]) + worth, "materials": parts}
    return out
