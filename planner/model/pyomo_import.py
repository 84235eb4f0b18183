"""Pyomo, as planner imports it: every planner module takes Pyomo from here.

Pyomo registers a hook (`pyomo.common.dependencies`) that, as soon as anything imports scipy,
also imports scipy.stats, scipy.integrate and scipy.spatial, which planner never uses: more
than a second of every command's start (README, "Start-up"). Before Pyomo can resolve scipy,
this module hands that hook one that imports scipy.sparse only (what Pyomo's standard-form
compiler uses); Pyomo still imports the other submodules if its code asks for them (they are
deferred submodules of its scipy). With a Pyomo whose hook is not the one this was written
for, nothing is changed: the start is slower, the results the same.

It imports `pyomo.core` (the modelling components), the standard-form compiler and the linear
representation, not `pyomo.environ`, which loads every Pyomo plugin (solver interfaces,
transformations, DAE, GDP), none of which planner uses: a quarter of a second more.

Pyomo logs its warnings to stdout, where planner writes its output (`--json`, tables piped on):
its handler is pointed at stderr, as every warning of planner is.
"""

from __future__ import annotations

import logging
import sys

import pyomo.common.dependencies as _dependencies


def _import_scipy_sparse(module: object, available: bool) -> None:
    if available:
        import scipy.sparse  # noqa: F401


_scipy = getattr(_dependencies, "scipy_available", None)
if getattr(_scipy, "_callback", None) is getattr(_dependencies, "_finalize_scipy", None) is not None:
    _scipy._callback = _import_scipy_sparse

import pyomo.core as pyo  # noqa: E402
from pyomo.core.expr.numvalue import is_constant  # noqa: E402
from pyomo.repn import generate_standard_repn  # noqa: E402
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler  # noqa: E402


class StderrHandler(logging.StreamHandler):
    """A handler that writes to sys.stderr as it is when a record comes (tests swap it)."""

    def __init__(self, formatter: logging.Formatter | None, filters: list) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(formatter)
        for item in filters:
            self.addFilter(item)

    def emit(self, record: logging.LogRecord) -> None:
        self.setStream(sys.stderr)
        super().emit(record)


_pyomo_logger = logging.getLogger("pyomo")
for _handler in list(_pyomo_logger.handlers):
    if isinstance(_handler, logging.StreamHandler) and _handler.stream in (sys.stdout, sys.__stdout__):
        _pyomo_logger.removeHandler(_handler)
        _pyomo_logger.addHandler(StderrHandler(_handler.formatter, list(_handler.filters)))

__all__ = ["LinearStandardFormCompiler", "generate_standard_repn", "is_constant", "pyo"]
