"""Paths the system refuses, and what is at a path: what readers and writers ask before they
touch one."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def unusable(path: Path) -> str:
    """Why the system refuses `path` ("" when it does not): a name longer than its file system
    allows, a loop of links, a folder it may not enter. A path that is merely missing is usable
    (a writer makes it), unless one of its names is too long: the system reports the missing
    folder first, and a writer would make folders on the way before it failed."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        longest = max(len(os.fsencode(part)) for part in Path(os.path.abspath(path)).parts)
        most = _name_max(Path(path))
        return f"a name of {longest} bytes, more than the {most} this system allows" if longest > most else ""
    except OSError as exc:
        return exc.strerror or str(exc)
    return ""


def _name_max(path: Path) -> int:
    """The longest name (bytes) the file system of `path`'s nearest existing folder allows."""
    existing = Path(os.path.abspath(path))
    while not os.path.isdir(existing) and existing != existing.parent:  # (isdir: False on any error)
        existing = existing.parent
    try:
        return os.pathconf(existing, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # (no pathconf: Windows)
        return 255


def what_is_at(path: Path) -> str:
    """'file', 'nothing' or 'other' (a folder, a FIFO, a device: the reader would hang or
    crash on them). A path the system will not look at (a folder without permission on the
    way) counts as a file: reading it then says why it cannot be read (pathlib raised there)."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return "nothing"
    except OSError:
        return "file"
    return "file" if stat.S_ISREG(mode) else "other"


_SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".ods", ".numbers", ".tsv", ".txt")


def stand_in(folder: Path, name: str) -> tuple[str, str] | None:
    """A file of `folder` that looks meant to be the missing `name`, and a hint saying so (None
    when none does): the name in other letter cases (Options.csv, saved where case does not
    count), with a second extension (options.csv.txt, the system hiding the last one), or a
    spreadsheet or text file of the same stem (options.xlsx)."""
    try:
        entries = sorted(entry.name for entry in os.scandir(folder))
    except OSError:
        return None
    wanted, stem = name.lower(), Path(name).stem.lower()
    for entry in entries:
        if entry.lower() == wanted:
            return entry, f"{entry} is here: planner reads the name in lower case; rename it {name}"
        if entry.lower().startswith(wanted + "."):
            return entry, f"{entry} is here: rename it {name} (a second extension, which the system may hide)"
    for entry in entries:
        if Path(entry).stem.lower() == stem and Path(entry).suffix.lower() in _SPREADSHEETS:
            save = ("save it as CSV (Excel: 'CSV UTF-8'; LibreOffice: 'Text CSV', character set UTF-8) named "
                    if name.endswith(".csv") else "rename it ")
            return entry, f"{entry} is here: planner reads text; {save}{name}"
    return None
