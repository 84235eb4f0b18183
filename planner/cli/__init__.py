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
    emit_json,
    error_document,
)
from planner.cli.plan import generate, list_instances, report, solve, validate, verify
from planner.cli.studies import compare, evaluate, scenarios, sweep


class _Commands(click.Group):
    """The commands; a bad command line of a `--json` command is also one JSON document on stdout
    (kind `usage`, exit code 2), as every other error of such a command is: a script reading
    stdout finds an answer whatever went wrong. Click still prints the usage on stderr."""

    def invoke(self, ctx: click.Context) -> object:
        args = [*getattr(ctx, "_protected_args", []), *ctx.args]  # (invoke empties them)
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            command = args[0] if args and args[0] in self.commands else ""
            if command and "--json" in args[1:] and any(p.name == "as_json" for p in self.commands[command].params):
                emit_json(error_document(command.removeprefix("list_"), EXIT_USAGE, "usage", exc.format_message()))
            raise


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="planner")
def main() -> None:
    """Plan critical-mineral sourcing under supply disruptions (docs/model.md)."""


for command in (solve, validate, verify, generate, report, scenarios, evaluate, sweep, compare, list_instances):
    main.add_command(command)
