"""Refuse what is too large for the machine's memory before building it.

An instance of 20 materials x 60 options x 20 periods x 3,000 scenarios grew to 15 GiB in five
minutes without a word, and would have gone on until the system's out-of-memory killer ended
it (the shell says "Killed", nothing more), minutes later. Two checks now say so at once,
before each part is built, where it would need more than the machine (or the container: its
memory limit) has free (`available_memory`):

- `check_data_memory`, as the instance's derived data is built (`build_model_data`): it holds
  each option's availability in each period it can deliver and each scenario, a Python dict
  whose size follows from CPython's objects (`availability_bytes`);
- `check_memory`, as a model is built (`create_model`): its variables and rows counted without
  building it (`planner.model.size`), at least `BYTES_PER_UNIT` bytes each for a solve.

Both figures are lower bounds (the model's of what was measured, docs/performance.md, "Memory";
the data's of what its objects take), so what is refused could not have been solved here.
Nothing is refused where the system does not say how much memory is free. `workers_that_fit`
sizes a sweep's worker processes by the same count, at the least a whole solve was measured to
take.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from planner.errors import MemoryShortage
from planner.model.variant import PLAN, Variant
from planner.processes import control_groups

if TYPE_CHECKING:
    from planner.instance.data import ModelData

# Bytes a solve takes per variable and row of its model, at the least: the peaks measured per
# unit were 3.0 kB (20 x 60 x 20 x 100, a node limit) to 6.4 kB (M with 1,000 scenarios and a
# time limit, two models in memory); the Pyomo model alone takes 0.5 kB.
BYTES_PER_UNIT = 2_000
# What a whole solve took per variable and row at the least of the peaks measured: how many runs
# of a sweep are started side by side (`workers_that_fit`).
SOLVE_BYTES_PER_UNIT = 3_000
# The objects of one availability entry: its key, a tuple (option, period, scenario), and its
# value, a float of its own; and a dict's entry (hash, key, value) for each usable slot.
_KEY_BYTES = sys.getsizeof(("option", 0, "scenario"))
_VALUE_BYTES = sys.getsizeof(0.5)
_ENTRY_BYTES = 3 * 8
_DICT_BYTES = sys.getsizeof({})
_ADVICE = ("Solve it with fewer scenarios (events.max_scenarios in instance.toml, or fewer rows of "
           "scenarios.csv), periods, options or materials, or on a machine with more memory; nothing was solved "
           "or written")


def availability_bytes(cells: int) -> int:
    """The least memory a dict of `cells` availabilities takes (`build_model_data`): a key tuple
    and a float each, and CPython's table for them, the least power of two of slots whose two
    thirds hold them, each usable slot an entry and each slot an index of 1 to 8 bytes: 110 to 150
    bytes a cell (docs/performance.md, "Memory"). 100 bytes a cell, the figure used before, let
    data of 180,000,000 cells, 24.8 GiB, start on 23 GiB free, until the system's out-of-memory
    killer ended it."""
    if cells <= 0:
        return 0
    slots = 8  # CPython's smallest table
    while slots * 2 // 3 < cells:
        slots *= 2
    index = 1 if slots <= 2**7 else 2 if slots <= 2**15 else 4 if slots <= 2**31 else 8
    return _DICT_BYTES + cells * (_KEY_BYTES + _VALUE_BYTES) + (slots * 2 // 3) * _ENTRY_BYTES + slots * index


def check_data_memory(option_periods: int, scenarios: int, free: int | None = None) -> None:
    """Raise `MemoryShortage` when the availability of `option_periods` (each option in each period
    it can deliver) in `scenarios` scenarios needs more than `free` bytes (by default what the
    machine has free), before the rest of the data and any model."""
    need = availability_bytes(option_periods * scenarios)
    free = available_memory() if free is None else free
    if free is not None and need > free:
        raise MemoryShortage(
            f"this instance is too large for the memory available: its {option_periods:,} option-periods (each "
            f"option in each period it can deliver) x {scenarios:,} scenarios take at least {amount(need)} before "
            f"any model is built, where {amount(free)} are free here. {_ADVICE}")


def check_memory(data: ModelData, variant: Variant = PLAN, free: int | None = None) -> None:
    """Raise `MemoryShortage` when solving the model of `data` needs more than `free` bytes (by
    default what the machine has free)."""
    from planner.model.size import model_size

    free = available_memory() if free is None else free
    if free is None:
        return
    size = model_size(data, variant)
    need = BYTES_PER_UNIT * size.units
    if need > free:
        raise MemoryShortage(
            f"this instance is too large for the memory available: its model has {size.variables:,} variables "
            f"and {size.rows:,} rows, and a solve takes at least {amount(need)} more for them "
            f"({BYTES_PER_UNIT:,} bytes each, measured), where {amount(free)} are free here. {_ADVICE}")


def amount(size: int) -> str:
    """`size` bytes as a reader takes them in: GiB to one decimal from 1 GiB, whole MiB or KiB
    below (where "0.0 GiB" said nothing)."""
    if round(size / 2**20) >= 1024:
        return f"{size / 2**30:.1f} GiB"
    return f"{round(size / 2**20)} MiB" if round(size / 2**10) >= 1024 else f"{max(1, round(size / 2**10))} KiB"


def workers_that_fit(data: ModelData, cores: int, free: int | None = None) -> tuple[int, int]:
    """How many solves of `data`'s model fit side by side in `free` bytes (by default what the
    machine has free), at most `cores` and at least 1, and what one takes (`SOLVE_BYTES_PER_UNIT`
    per variable and row): a sweep's default number of worker processes. `cores` where the
    system does not say."""
    from planner.model.size import model_size

    need = SOLVE_BYTES_PER_UNIT * model_size(data).units
    free = available_memory() if free is None else free
    if free is None:
        return cores, need
    return max(1, min(cores, free // max(need, 1))), need


# ----------------------------------------------------------------------------- what the machine has free


def available_memory(meminfo: Path = Path("/proc/meminfo"), cgroups: Path = Path("/sys/fs/cgroup"),
                     membership: Path = Path("/proc/self/cgroup")) -> int | None:
    """Bytes this process could still take: the machine's available memory and free swap, no more
    than its control groups' memory limits leave (cgroup v2's memory.max less memory.current,
    v1's memory.limit_in_bytes less memory.usage_in_bytes, its cached files counted as free; a
    container's `--memory`), and no more than its own limits allow (`ulimit -v`, `ulimit -d`).
    None where the system does not say (not Linux)."""
    try:
        fields = dict(line.split(":", 1) for line in meminfo.read_text(encoding="utf-8").splitlines() if ":" in line)
        available = (int(fields["MemAvailable"].split()[0]) + int(fields.get("SwapFree", "0 kB").split()[0])) * 1024
    except (OSError, KeyError, ValueError):
        return None
    for folder in control_groups("memory", ("memory",), cgroups, membership):
        left = _memory_left_in(folder)
        if left is not None:
            available = min(available, left)
    left = _memory_left_in_limits()
    return available if left is None else min(available, left)


# Address space a solve takes per byte of resident memory, as it grows (thread stacks, the
# allocator's arenas per thread): measured 1.45 on 20 x 60 x 20 x 100 (from 0.62 to 3.67 GiB of
# address space while its resident memory went from 0.39 to 2.48 GiB), on 2 cores.
ADDRESS_SPACE_PER_RESIDENT = 1.4


def _memory_left_in_limits(statm: Path = Path("/proc/self/statm")) -> int | None:
    """Bytes of resident memory this process's own limits leave it (`ulimit -v`: its address
    space, `ulimit -d`: its data): what they leave of those, divided by
    `ADDRESS_SPACE_PER_RESIDENT`; None where it has none. A solve that reached its limit ended in a
    segmentation fault (HiGHS) or an internal error (Python's MemoryError), or did not end: every
    allocation failed, Python's included, and Ctrl-C could not stop it."""
    try:
        import resource

        sizes = [int(field) * os.sysconf("SC_PAGE_SIZE") for field in statm.read_text(encoding="utf-8").split()]
        limits = ((resource.RLIMIT_AS, sizes[0]), (resource.RLIMIT_DATA, sizes[5]))  # (statm: size, ..., data)
        left = [soft - used for kind, used in limits
                if (soft := resource.getrlimit(kind)[0]) != resource.RLIM_INFINITY]
    except (ImportError, OSError, ValueError, IndexError, AttributeError):
        return None
    return int(max(0, min(left)) / ADDRESS_SPACE_PER_RESIDENT) if left else None


def _memory_left_in(folder: Path) -> int | None:
    """Bytes one control group's own memory limit leaves, None when it has none (or no such file).
    Its usage counts the files the system caches for the group, which it gives back when the
    group needs the memory: they count as free (memory.stat's `file`, v1's `total_cache`), or a
    container that had read much would have refused what it could solve."""
    for limit_file, usage_file, cache_keys in (("memory.max", "memory.current", ("file",)),  # v2, then v1
                                               ("memory.limit_in_bytes", "memory.usage_in_bytes",
                                                ("total_cache", "cache"))):
        try:
            limit = (folder / limit_file).read_text(encoding="utf-8").strip()
            usage = (folder / usage_file).read_text(encoding="utf-8").strip()
        except OSError:
            continue
        if limit == "max" or not limit.isdigit() or not usage.isdigit() or int(limit) >= 2**60:  # v1: no limit is 2^63
            return None
        return max(0, int(limit) - int(usage) + _cached(folder, cache_keys))
    return None


def _cached(folder: Path, keys: tuple[str, ...]) -> int:
    """Bytes of files a control group's usage holds in the system's cache (0 where it does not say)."""
    try:
        stat = dict(line.split()[:2] for line in (folder / "memory.stat").read_text(encoding="utf-8").splitlines()
                    if len(line.split()) >= 2)
    except OSError:
        return 0
    for key in keys:
        if stat.get(key, "").isdigit():
            return int(stat[key])
    return 0
