"""Refuse what is too large for the machine's memory before building it.

An instance of 20 materials x 60 options x 20 periods x 3,000 scenarios grew to 15 GiB in five
minutes without a word, and would have gone on until the system's out-of-memory killer ended
it (the shell says "Killed", nothing more), minutes later. Two checks now say so at once,
before each part is built, where it would need more than the machine (or the container: its
memory limit) has free (`planner.processes.available_memory`):

- `check_data_memory`: the instance's derived data holds each option's availability in each
  period and scenario, at least `BYTES_PER_CELL` bytes per cell;
- `check_memory`: the model, its variables and rows counted without building it
  (`planner.model.size`), at least `BYTES_PER_UNIT` bytes each for a solve.

Both figures are lower bounds of what was measured (docs/performance.md, "Memory"), so what is
refused could not have been solved here. Nothing is refused where the system does not say how
much memory is free. `workers_that_fit` sizes a sweep's worker processes by the same count, at
the least a whole solve was measured to take.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from planner.errors import MemoryShortage
from planner.model.variant import PLAN, Variant

if TYPE_CHECKING:
    from planner.instance.data import ModelData

# Bytes a solve takes per variable and row of its model, at the least: the peaks measured per
# unit were 3.0 kB (20 x 60 x 20 x 100, a node limit) to 6.4 kB (M with 1,000 scenarios and a
# time limit, two models in memory); the Pyomo model alone takes 0.5 kB.
BYTES_PER_UNIT = 2_000
# What a whole solve took per variable and row at the least of the peaks measured: how many runs
# of a sweep are started side by side (`workers_that_fit`).
SOLVE_BYTES_PER_UNIT = 3_000
# Bytes of derived data per option, period and scenario, at the least (measured: 127-134).
BYTES_PER_CELL = 100
_ADVICE = ("Solve it with fewer scenarios (events.max_scenarios in instance.toml, or fewer rows of "
           "scenarios.csv), periods, options or materials, or on a machine with more memory; nothing was solved "
           "or written")


def check_data_memory(options: int, periods: int, scenarios: int, free: int | None = None) -> None:
    """Raise `MemoryShortage` when the derived data of an instance of this many options, periods
    and scenarios needs more than `free` bytes (by default what the machine has free)."""
    need = BYTES_PER_CELL * options * periods * scenarios
    free = _free() if free is None else free
    if free is not None and need > free:
        raise MemoryShortage(
            f"this instance is too large for the memory available: its {options:,} options x {periods:,} periods "
            f"x {scenarios:,} scenarios take at least {_gib(need)} before any model is built "
            f"({BYTES_PER_CELL} bytes each, measured), where {_gib(free)} are free here. {_ADVICE}")


def check_memory(data: ModelData, variant: Variant = PLAN, free: int | None = None) -> None:
    """Raise `MemoryShortage` when solving the model of `data` needs more than `free` bytes (by
    default what the machine has free)."""
    from planner.model.size import model_size

    free = _free() if free is None else free
    if free is None:
        return
    size = model_size(data, variant)
    need = BYTES_PER_UNIT * size.units
    if need > free:
        raise MemoryShortage(
            f"this instance is too large for the memory available: its model has {size.variables:,} variables "
            f"and {size.rows:,} rows, and a solve takes at least {_gib(need)} more for them "
            f"({BYTES_PER_UNIT:,} bytes each, measured), where {_gib(free)} are free here. {_ADVICE}")


def _free() -> int | None:
    from planner.processes import available_memory

    return available_memory()


def _gib(size: int) -> str:
    return f"{size / 2**30:.1f} GiB"


def workers_that_fit(data: ModelData, cores: int, free: int | None = None) -> tuple[int, int]:
    """How many solves of `data`'s model fit side by side in `free` bytes (by default what the
    machine has free), at most `cores` and at least 1, and what one takes (`SOLVE_BYTES_PER_UNIT`
    per variable and row): a sweep's default number of worker processes. `cores` where the
    system does not say."""
    from planner.model.size import model_size

    need = SOLVE_BYTES_PER_UNIT * model_size(data).units
    free = _free() if free is None else free
    if free is None:
        return cores, need
    return max(1, min(cores, free // max(need, 1))), need
