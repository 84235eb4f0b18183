"""What a command shows while it works, on stderr: a solve's status line (`Progress`) and the
steps of a known number of them (`Steps`: the solves of --metrics, the runs of a sweep)."""

from __future__ import annotations

import os
import sys
import threading
import time

import click

from planner.cli.common import QUIET, stop_for_closed_output
from planner.formatting import gap, money
from planner.status import relative_gap


def _columns() -> int:
    """The width of the terminal stderr shows on: COLUMNS when set (as shutil reads it), else
    the terminal's own (asked each time: it may be resized), else 80."""
    try:
        own = os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError, AttributeError):  # (stderr closed, replaced, or on no terminal after all)
        own = 0
    setting = os.environ.get("COLUMNS", "")
    return int(setting) if setting.isdigit() and int(setting) > 0 else own or 80


def _emit(text: str, nl: bool = True) -> None:
    """A line (or a redraw) on stderr, from the main thread or a helper's (the solver's progress,
    a heartbeat): where stderr's reader went away, the main thread raises as usual and another
    stops the command from its own (`stop_for_closed_output`)."""
    try:
        click.echo(text, err=True, nl=nl)
    except BrokenPipeError:
        if threading.current_thread() is threading.main_thread():
            raise
        stop_for_closed_output()


class Progress:
    """The solve's status line on stderr: on a terminal rewritten in place every second from the
    start (elapsed time, then "building the model" until the solve starts, then its best plan,
    bound and gap), cut to the terminal's width; elsewhere (a log file, a pipe) a plain line
    every 30 s from the start, whether or not the solver has reported (a model's build and its
    first LP report nothing), never a carriage return. Silent with --quiet."""

    def __init__(self, currency: str = "", every: float | None = None, task: str = "") -> None:
        """`task`: work whose solves' figures are not the user's objective (an evaluation), shown
        as its elapsed time and this word alone."""
        self.task = task
        self.interactive = sys.stderr.isatty()
        self.every = every if every is not None else (1.0 if self.interactive else 30.0)
        self.currency = currency
        self.started = time.monotonic()
        # (seconds, best plan, bound) as the solve last reported them; None until it starts: the
        # instance's data and its model are being built (minutes for the largest)
        self.state: tuple[float, float | None, float | None] | None = None
        self.shown = False
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.heartbeat: threading.Thread | None = None
        if self.every > 0 and not QUIET["on"]:
            self.heartbeat = threading.Thread(target=self._beat, daemon=True, name="planner-progress")
            self.heartbeat.start()

    def _text(self, width: int | None = None) -> str:
        """The whole line; when it is wider than `width`, the short form, which puts the gap
        first and drops the labels (on a narrow terminal the gap is what is cut last)."""
        seconds, incumbent, bound = self.state or (0.0, None, None)
        seconds = max(seconds, time.monotonic() - self.started)
        if self.task or self.state is None:
            return f"  {seconds:7.1f} s  {self.task or 'building the model'}"[:width]
        text = f"  {seconds:7.1f} s  best plan {money(incumbent, self.currency)}"
        if bound is not None:
            text += f"  bound {money(bound, self.currency)}"
        if incumbent is not None and bound is not None:
            text += f"  gap {gap(relative_gap(incumbent, bound))}"
        if width is None or len(text) <= width:
            return text
        short = f"{seconds:.1f} s"
        if incumbent is not None and bound is not None:
            short += f" gap {gap(relative_gap(incumbent, bound))}"
        short += f" {money(incumbent)}" if incumbent is not None else " no plan yet"
        if bound is not None:
            short += f" >= {money(bound)}"
        return short + (f" {self.currency}" if self.currency else "")

    def _show(self) -> None:
        if self.interactive:  # one row of the terminal as it is now, or the next redraw starts a new row
            width = max(_columns() - 1, 1)
            text = "\r" + self._text(width)[:width].ljust(width)
        else:
            text = self._text()
        _emit(text, nl=not self.interactive)
        self.shown = True

    def _beat(self) -> None:
        while not self.stop.wait(self.every):
            with self.lock:
                self._show()

    def __call__(self, seconds: float, incumbent: float | None, bound: float | None) -> None:
        with self.lock:
            self.state = (seconds, incumbent, bound)
            if self.heartbeat is None and not QUIET["on"]:  # (every = 0: each report shows)
                self._show()

    def close(self) -> None:
        self.stop.set()
        if self.heartbeat is not None:
            self.heartbeat.join(timeout=2)
        if self.shown and self.interactive:
            if self.task:  # a task's line says nothing once it is done: cleared, not left above what follows
                width = max(_columns() - 1, 1)
                click.echo("\r" + " " * width + "\r", err=True, nl=False)
            else:  # the solve's last line (its best plan, bound and gap) stays
                click.echo("", err=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Steps:
    """Progress through a known number of steps (the solves of --metrics, the runs of a sweep):
    a bar on a terminal, redrawn every second so that its elapsed time moves during a long step;
    plain lines elsewhere (one per step, at most one every `every` s, and while a step takes
    long, the count again every `beat` s with the time since the start, so that a batch job's
    log shows a sweep of long runs is alive)."""

    def __init__(self, total: int, label: str, unit: str = "solve", done: int = 0, every: float = 10.0,
                 beat: float = 30.0) -> None:
        self.total, self.label, self.unit, self.done, self.every = total, label, unit, done, every
        self.started = self.last = time.monotonic()
        self.failed: int | None = None
        self.bar = None
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.heartbeat: threading.Thread | None = None
        if QUIET["on"]:
            return
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=done, unit=unit, desc=label, file=sys.stderr, dynamic_ncols=True,
                            leave=False)
        if beat > 0 and done < total:  # (on a terminal, the bar's elapsed time ticks each second)
            self.beat = 1.0 if self.bar is not None else beat
            self.heartbeat = threading.Thread(target=self._beat, daemon=True, name="planner-steps")
            self.heartbeat.start()

    def _line(self, step: str = "", failed: int | None = None, since: bool = False) -> str:
        extra = f", {failed} failed" if failed else ""
        elapsed = f" ({_duration(time.monotonic() - self.started)} so far)" if since else ""
        return f"  {self.label}: {self.done}/{self.total} {self.unit}s done{extra}" + (f" ({step})" if step else "") \
            + elapsed

    def _beat(self) -> None:
        while not self.stop.wait(self.beat):
            with self.lock:
                if self.bar is not None:  # a bar redraws only when told: its clock stood still during a long step
                    self.bar.refresh()
                elif time.monotonic() - self.last >= self.beat:
                    self.last = time.monotonic()
                    _emit(self._line(failed=self.failed, since=True))

    def __call__(self, step: str = "", failed: int | None = None) -> None:
        with self.lock:
            self.done += 1
            self.failed = failed
            if QUIET["on"]:
                return
            if self.bar is not None:
                if failed is not None:
                    self.bar.set_postfix(failed=failed)
                self.bar.update(1)
                return
            now = time.monotonic()
            if now - self.last >= self.every or self.done == self.total:
                self.last = now
                _emit(self._line(step, failed))

    def close(self) -> None:
        self.stop.set()
        if self.heartbeat is not None:
            self.heartbeat.join(timeout=2)
        if self.bar is not None:
            self.bar.close()


def _duration(seconds: float) -> str:
    """Elapsed time as people say it: 45 s, 12 min 5 s, 3 h 20 min."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
