"""The `planner` command's entry point: Ctrl-C, and the signals that ask a program to stop
(SIGTERM from `kill`, `timeout`, a batch scheduler at its time limit; SIGHUP when the terminal
closes), are handled from the first moment.

Once a command runs under its guard (`planner.cli.common.guard`), each of these signals raises
KeyboardInterrupt wherever it finds the main thread, so every phase stops as Ctrl-C stops it:
HiGHS asked to stop, worker processes ended, staged files dropped; the command then says so
and exits with 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP), as
the shell reports a program killed by it. Left to their default action, SIGTERM and SIGHUP
killed planner wherever it was: a solve's temporary folder stayed beside its `--out`.

Before a command starts, while the command line's modules are imported (click, the commands:
a tenth of a second), nothing would catch the exception, and Ctrl-C printed a traceback. So
until then a signal leaves at once with the same exit code: nothing has been written yet. This
module imports nothing of planner's and nothing that Python has not loaded at its start, so
that it is in place before anything else loads. (A signal in the first hundredths of a second,
while Python itself starts, is Python's: it stops the process and may print a traceback of its
own start-up.) A signal that is ignored when planner starts (`nohup`, a job started in the
background) stays ignored.
"""

from __future__ import annotations

# `_signal`, not `signal`: the C module is built in, where importing `signal` loads enum,
# functools and collections first, tens of milliseconds on a busy machine without a handler
import _signal
import _thread
import os
import sys
import time

EXIT_INTERRUPTED = 130  # 128 + SIGINT
# (Windows has no SIGHUP: there `main` says where planner runs, rather than fail on importing this)
_NAMES = {getattr(_signal, name): said for name, said in (
    ("SIGINT", "interrupted"), ("SIGTERM", "terminated (SIGTERM)"), ("SIGHUP", "hung up (SIGHUP)"))
    if hasattr(_signal, name)}
STOP_SIGNALS = tuple(_NAMES)
NOT_HERE = ("planner runs on Linux and macOS: it relies on their signals and worker processes. On Windows, run it in "
            "WSL (the Windows Subsystem for Linux, `wsl --install`), installed there as its README says")

_stopped_by = _signal.SIGINT  # the signal that stopped the command; Ctrl-C unless one says otherwise


def exit_code() -> int:
    """The exit code of a command stopped by a signal: 128 + its number."""
    return 128 + _stopped_by


def stopped_as() -> str:
    """How the message of a stopped command starts: 'interrupted', 'terminated (SIGTERM)', ..."""
    return _NAMES[_stopped_by]


def _stopped_while_starting(signum: int, frame: object) -> None:
    try:
        sys.stderr.write(f"{_NAMES[signum]}: nothing was written.\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # the terminal is gone (SIGHUP): nothing to say it to
        pass
    os._exit(128 + signum)


def _raise_interrupt(signum: int, frame: object) -> None:
    global _stopped_by, _raised
    _stopped_by = signum
    _raised += 1
    raise KeyboardInterrupt


_raised = 0  # the stops raised so far as KeyboardInterrupt
_AGAIN_AFTER = 0.02  # s: when a stop Python dropped is sent again (once its callback has returned)
_hook_before: object = None  # sys.unraisablehook before a command's own (`started`)


def _dropped(unraisable: object) -> None:
    """sys.unraisablehook while a command runs. Python drops an exception raised where nothing can
    take it (a finaliser, a garbage collector's or a fork's callback: 'Exception ignored in'),
    and a stop that landed there was lost: the command ran on to its end under a traceback. Such
    a stop is sent again, from a thread, once the callback has returned, unless another has been
    raised meanwhile; anything else goes to the hook before."""
    if getattr(unraisable, "exc_type", None) is KeyboardInterrupt:
        try:
            _thread.start_new_thread(_send_again, (_raised, _stopped_by))
            return
        except RuntimeError:  # no thread to be had (the system's limit): said as Python says it
            pass
    _hook_before(unraisable)  # type: ignore[operator]


def _send_again(raised: int, signum: int) -> None:
    time.sleep(_AGAIN_AFTER)
    if _raised == raised and _signal.getsignal(signum) is _raise_interrupt:
        os.kill(os.getpid(), signum)


def install() -> None:
    """Each stop signal leaves at once (unless it is ignored), until `started` hands it to the
    command."""
    for signum in STOP_SIGNALS:
        if _signal.getsignal(signum) is not _signal.SIG_IGN:
            _signal.signal(signum, _stopped_while_starting)


def started() -> None:
    """A command is running under its guard: each stop signal raises KeyboardInterrupt (only
    where `install` set it otherwise; called from the main thread), and one that Python drops is
    sent again (`_dropped`)."""
    global _hook_before
    ours = False
    for signum in STOP_SIGNALS:
        if _signal.getsignal(signum) is _stopped_while_starting:
            _signal.signal(signum, _raise_interrupt)
            ours = True
    if ours and sys.unraisablehook is not _dropped:
        _hook_before, sys.unraisablehook = sys.unraisablehook, _dropped


def stopping() -> None:
    """The command is leaving (stopped, or ended): a second signal is ignored rather than raised
    into its last words (a second Ctrl-C in the message printed a traceback)."""
    for signum in STOP_SIGNALS:
        if _signal.getsignal(signum) in (_stopped_while_starting, _raise_interrupt):
            _signal.signal(signum, _signal.SIG_IGN)
    if sys.unraisablehook is _dropped:
        sys.unraisablehook = _hook_before


def _standard_streams_open() -> None:
    """A standard stream closed before planner started (`planner solve >&-`, a daemon's closed
    descriptors) is opened on the null device: the command runs as with that output discarded.
    Python had set it to None, and the first progress line ended the command with an internal
    error; and the next file planner opened would have taken the free descriptor, for HiGHS's
    log lines (written to descriptor 1) to land in it."""
    for descriptor, name, flags in ((0, "stdin", os.O_RDONLY), (1, "stdout", os.O_WRONLY), (2, "stderr", os.O_WRONLY)):
        try:
            os.fstat(descriptor)
        except OSError:
            null = os.open(os.devnull, flags)
            if null != descriptor:
                os.dup2(null, descriptor)
                os.close(null)
        if getattr(sys, name) is None:
            setattr(sys, name, open(descriptor, "r" if descriptor == 0 else "w", encoding="utf-8", closefd=False))


def _never_fail_to_encode() -> None:
    """Output the terminal's encoding cannot hold (a material named with '€' on a Latin-1
    terminal, a file name that is not UTF-8) is written as Python writes it to stderr, with
    backslash escapes: it ended the command with an internal error after its results were
    written."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


class StandardOutputFailed(OSError):
    """Standard output refused a write other than by its reader going away (a full disk under
    `planner solve > log`, `/dev/full`, an I/O error): the command cannot deliver its answer."""


class _Stream:
    """A standard stream whose failed writes are planner's to handle, not a traceback. Standard
    output raises `StandardOutputFailed`, which the guard turns into exit 7; a failed write to
    standard error (notes, progress, HiGHS's log) is dropped, since there is nowhere left to say
    it, and the command goes on. A reader that went away (BrokenPipeError) is passed on as it is
    (`planner.cli.common.output_closed`). Everything else is the stream's own."""

    def __init__(self, stream: object, is_output: bool) -> None:
        self._stream = stream
        self._is_output = is_output

    def _failed(self, exc: OSError) -> None:
        if self._is_output:
            raise StandardOutputFailed(exc.errno, exc.strerror) from exc

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            self._failed(exc)
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            self._failed(exc)

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def _guard_writes() -> None:
    """Standard output and error as `_Stream`s: `planner solve 2> FILE` on a full disk ended a
    solve in an internal error before its results were written, and `--json > FILE` printed a
    traceback."""
    if not isinstance(sys.stdout, _Stream):
        sys.stdout = _Stream(sys.stdout, is_output=True)
    if not isinstance(sys.stderr, _Stream):
        sys.stderr = _Stream(sys.stderr, is_output=False)


def missing_package(exc: ModuleNotFoundError) -> str:
    """What to say when one of planner's packages cannot be imported: an installation without its
    dependencies (another Python than the one planner was installed in), not a bug of planner."""
    package = (exc.name or "?").split(".")[0]
    return (f"planner needs the Python package '{package}', which this Python ({sys.executable}) cannot import: "
            f"install planner with its dependencies (pip install -e . in its folder), or run it with the Python "
            f"it was installed in")


def main() -> None:
    """The `planner` command. Once it has ended (its files written, or none), stop signals are
    ignored: in the interpreter's last moments Python restores the default action, and a
    signal there ended the process by SIGINT (exit -2, no message) after a result was
    complete."""
    if sys.platform == "win32":
        sys.stderr.write(f"error: {NOT_HERE}\n")
        sys.exit(1)
    install()
    _standard_streams_open()
    _never_fail_to_encode()
    _guard_writes()
    try:
        from planner.cli import main as command_line
    except ModuleNotFoundError as exc:  # click or pandas missing: before any command's guard
        sys.stderr.write(f"error: {missing_package(exc)}\n")
        sys.exit(1)

    try:
        command_line()
    except StandardOutputFailed as exc:  # outside a command's guard: `planner --help > FILE` on a full disk
        from planner.cli.common import output_failed

        output_failed(exc)
    finally:
        stopping()
