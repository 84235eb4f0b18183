"""Command line: parse, call the library, print. Exit codes are documented in the README.

The commands live in `plan` (solve, validate, verify, generate, report, instances) and
`studies` (scenarios, evaluate, sweep, compare); what they share in `common`.
"""

from __future__ import annotations

import click

from planner import __version__
from planner.cli.common import (  # noqa: F401 - the exit codes, part of the command line's interface
    EXIT_CLUSTER,
    EXIT_INFEASIBLE,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_INVALID_INPUT,
    EXIT_NO_SOLUTION,
    EXIT_OK,
    EXIT_OUTPUT,
    EXIT_OUTPUT_CLOSED,
    EXIT_SOLVER,
    EXIT_USAGE,
    EXIT_VERIFY_FAILED,
)
from planner.cli.plan import generate, list_instances, report, solve, validate, verify
from planner.cli.studies import compare, evaluate, scenarios, sweep


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="planner")
def main() -> None:
    """Plan critical-mineral sourcing under supply disruptions (docs/model.md)."""


for command in (solve, validate, verify, generate, report, scenarios, evaluate, sweep, compare, list_instances):
    main.add_command(command)
