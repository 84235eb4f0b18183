"""Leftovers of planner processes that died while writing: their temporary files and folders
(`.planner-tmp-*`) and the old folders they had set aside (`.planner-old-*`). Each name says
which process of which machine made it (`writer`), so that the next write beside them removes
those whose process is gone (`clear_leftovers`), and nothing else."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import shutil
import socket
from pathlib import Path

TEMP_PREFIX = ".planner-tmp-"
OLD_PREFIX = ".planner-old-"


@functools.cache
def _machine() -> str:
    """This machine and process namespace, in 8 hex digits: where a process number means this
    process (two containers sharing a folder have numbers of their own)."""
    place = socket.gethostname()
    with contextlib.suppress(OSError):
        place += os.readlink("/proc/self/ns/pid")
    return hashlib.sha256(place.encode()).hexdigest()[:8]


def writer() -> str:
    """What a temporary name says of the process writing it: `MACHINE-PID-`."""
    return f"{_machine()}-{os.getpid()}-"


_LEFTOVER = re.compile(rf"({re.escape(TEMP_PREFIX)}|{re.escape(OLD_PREFIX)})([0-9a-f]{{8}})-([0-9]+)-(.*)", re.DOTALL)


def short_name(name: str) -> str:
    """At most 64 bytes of `name`, for a temporary name (a target's name may take all 255)."""
    return os.fsdecode(os.fsencode(name)[:64])


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # another user's: running (a number beyond any: left alone)
        return True
    return True


def clear_leftovers(folder: Path) -> list[str]:
    """Remove from `folder` what planner processes of this machine left there when they died
    while writing (killed, out of memory, the machine's power): their temporary files and
    folders, and old folders they had set aside whose replacement is in place. The names of
    those removed. A leftover of a process still running (a write under way), of another
    machine, or an old folder whose target is missing (the only copy of a result, its swap cut
    short) is left; so is anything named otherwise (leftovers of planner before 2026-12-04)."""
    removed = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return removed
    for entry in entries:
        found = _LEFTOVER.fullmatch(entry.name)
        if not found or found[2] != _machine() or _running(int(found[3])):
            continue
        if found[1] == OLD_PREFIX and not (Path(folder) / found[4]).exists():
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
        removed.append(entry.name)
    return removed
