"""The `planner` command's entry point: Ctrl-C is handled from the first moment.

Python raises KeyboardInterrupt wherever the signal finds it, and the commands turn it into
a message and exit code 130 (`planner.cli.common.guard`). Before a command starts, while the
command line's modules are imported (click, the commands: a tenth of a second), nothing would,
and Ctrl-C printed a traceback. So until then Ctrl-C leaves at once with the same exit code:
nothing has been written yet. This module imports nothing of planner's, so that it is in place
before anything else loads.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

EXIT_INTERRUPTED = 130


def _interrupted_while_starting(signum: int, frame: FrameType | None) -> None:
    sys.stderr.write("interrupted: nothing was written.\n")
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


def install() -> None:
    """Ctrl-C leaves at once (unless it is ignored: a job started in the background keeps
    ignoring it), until `started` hands it back to Python."""
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, _interrupted_while_starting)


def started() -> None:
    """A command is running under its guard: Ctrl-C raises KeyboardInterrupt again (only when
    `install` set it otherwise; called from the main thread)."""
    if signal.getsignal(signal.SIGINT) is _interrupted_while_starting:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def main() -> None:
    """The `planner` command."""
    install()
    from planner.cli import main as command_line

    command_line()
