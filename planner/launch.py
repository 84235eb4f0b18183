"""The `planner` command's entry point: Ctrl-C is handled from the first moment.

Python raises KeyboardInterrupt wherever the signal finds it, and the commands turn it into
a message and exit code 130 (`planner.cli.common.guard`). Before a command starts, while the
command line's modules are imported (click, the commands: a tenth of a second), nothing would,
and Ctrl-C printed a traceback. So until then Ctrl-C leaves at once with the same exit code:
nothing has been written yet. This module imports nothing of planner's and nothing that Python
has not loaded at its start, so that it is in place before anything else loads. (Ctrl-C in
the first hundredths of a second, while Python itself starts, is Python's: it stops the process
and may print a traceback of its own start-up.)
"""

from __future__ import annotations

# `_signal`, not `signal`: the C module is built in, where importing `signal` loads enum,
# functools and collections first, tens of milliseconds on a busy machine without a handler
import _signal
import os
import sys

EXIT_INTERRUPTED = 130


def _interrupted_while_starting(signum: int, frame: object) -> None:
    sys.stderr.write("interrupted: nothing was written.\n")
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


def install() -> None:
    """Ctrl-C leaves at once (unless it is ignored: a job started in the background keeps
    ignoring it), until `started` hands it back to Python."""
    if _signal.getsignal(_signal.SIGINT) is not _signal.SIG_IGN:
        _signal.signal(_signal.SIGINT, _interrupted_while_starting)


def started() -> None:
    """A command is running under its guard: Ctrl-C raises KeyboardInterrupt again (only when
    `install` set it otherwise; called from the main thread)."""
    if _signal.getsignal(_signal.SIGINT) is _interrupted_while_starting:
        _signal.signal(_signal.SIGINT, _signal.default_int_handler)


def main() -> None:
    """The `planner` command. Once it has ended (its files written, or none), Ctrl-C is ignored:
    in the interpreter's last moments Python restores the default action, and a signal there
    ended the process by SIGINT (exit -2, no message) after a result was complete."""
    install()
    from planner.cli import main as command_line

    try:
        command_line()
    finally:
        _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
