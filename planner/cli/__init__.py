"""Command line: parse, call the library, print. Exit codes are documented in the README.

The commands live in `plan` (solve, validate, verify, generate, report, instances) and
`studies` (scenarios, evaluate, sweep, compare); what they share in `common`.
"""

from __future__ import annotations

from typing import Any

import click

from planner import __version__
from planner.cli.common import (  # noqa: F401 - the exit codes, part of the command line's interface
    EXIT_CLUSTER,
    EXIT_HUNG_UP,
    EXIT_INFEASIBLE,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_INVALID_INPUT,
    EXIT_NO_SOLUTION,
    EXIT_OK,
    EXIT_OUTPUT,
    EXIT_OUTPUT_CLOSED,
    EXIT_SOLVER,
    EXIT_TERMINATED,
    EXIT_USAGE,
    EXIT_VERIFY_FAILED,
    emit_json,
    error_document,
    output_closed,
)
from planner.cli.plan import generate, list_instances, report, solve, validate, verify
from planner.cli.studies import compare, evaluate, scenarios, sweep

_ARGS = "planner.args"


class _Commands(click.Group):
    """The commands; a bad command line of a `--json` command is also one JSON document on stdout
    (kind `usage`, exit code 2), as every other error of such a command is: a script reading
    stdout finds an answer whatever went wrong. Click still prints the usage on stderr. Help
    written to a reader that went away ends with 141, as a command's output does (click's own
    answer is exit 1)."""

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except BrokenPipeError:  # `planner --help | head -1`: left as every command leaves (141)
            output_closed()
            raise

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta[_ARGS] = list(args)  # the command line after `planner`, as given (`invoke` reads it)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> object:
        args = ctx.meta.get(_ARGS, [])
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # a command's --help (the commands' own errors are their guard's)
            output_closed()
            raise
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
