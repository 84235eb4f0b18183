"""One planner command at a time in a folder written over a long time (a sweep).

A sweep folder is written run by run, for as long as the sweep takes, and a second sweep there
meanwhile (a batch job started again while the first still runs, or the same command in a
second terminal) solved every run twice; one started over with `--force` for another instance
deleted the first's runs under it, and the first then wrote its table from the second's runs and
called it its own. `claimed` makes the second command refuse at once, naming the first.

The claim is an advisory lock (`flock`) on a file in the folder, `.planner-lock`, opened for
writing (as the lock needs on NFS): the system releases it whenever its process ends, `kill -9`
and the out-of-memory killer included, so a claim is never left behind. The file itself is
kept (empty but for who holds it). Planner counts it as its own (`planner.results.ownership`),
and a start over in the folder keeps it (`empty_owned`). Where the system has no such locks
(Windows, an NFS without its lock service), nothing is claimed.

A solve or an evaluation claims its output folder too, for as long as it runs (`keep=False`):
two solves into one `--out` at once each wrote a whole result, and the last to end replaced
the first's without a word, while the first's terminal said its plan was there. That claim
takes its lock file away when it ends (a finished result replaces the folder, lock and all),
so no result is left holding one. Taking the file away is safe because a lock counts only
while the file it is on is still the one at the path: a command that locked a file removed
meanwhile opens the new one and tries again (`_open_locked`).
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from planner.errors import OutputError

LOCK_FILE = ".planner-lock"
_HELD: set[Path] = set()  # the folders this process claimed, while it holds them


@contextlib.contextmanager
def claimed(folder: Path, option: str = "--out", keep: bool = True) -> Iterator[None]:
    """`folder` (made if missing) claimed for this process until the block ends; `OutputError`
    naming the holder when another process holds it. Callers check first that planner may write
    there (`planner.results.ownership.check_target`): the lock file is written into the folder.
    If the folder holds nothing but the lock file when the block ends, the lock file goes, and
    so do the folders this call made: a command refused after its claim leaves nothing. With
    `keep` False the lock file goes whatever the folder holds (a solve's claim)."""
    try:
        import fcntl  # noqa: F401 (whether the system has the locks)
    except ImportError:  # (Windows)
        yield
        return
    folder = Path(folder)
    made = [p for p in (folder, *folder.parents) if not p.exists()]  # the folders this call makes
    lock = folder / LOCK_FILE
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write {folder}: {exc.strerror or exc}") from None
    handle, taken = _open_locked(lock, folder, option)
    try:
        if taken:
            _say_holder(handle)
        _HELD.add(folder.resolve())
        try:
            yield
        finally:
            _HELD.discard(folder.resolve())
            if not keep and taken and _still_at(handle, lock):
                with contextlib.suppress(OSError):
                    lock.unlink()
            _remove_if_bare(folder, made)
    finally:
        os.close(handle)  # (releases the lock)


def _open_locked(lock: Path, folder: Path, option: str) -> tuple[int, bool | None]:
    """The lock file opened and locked (True), or opened on a file system without locks (None);
    `OutputError` naming the holder when another process holds it. A lock taken on a file that
    was removed or replaced meanwhile (its holder ended and took it away) holds nothing: the file
    now at the path is opened and tried in its place."""
    for _ in range(100):  # (each turn means another command ended meanwhile)
        try:
            handle = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise OutputError(f"cannot write {folder}: {exc.strerror or exc}") from None
        taken = _try_lock(handle)
        if taken is False:
            holder = _holder(handle)
            os.close(handle)
            raise OutputError(in_use(folder, holder, option))
        if not taken or _still_at(handle, lock):
            return handle, taken
        os.close(handle)
    raise OutputError(in_use(folder, "commands start and end there one after another", option))


def _still_at(handle: int, lock: Path) -> bool:
    """Whether the open lock file is still the file at `lock` (not removed or replaced)."""
    try:
        mine, there = os.fstat(handle), os.stat(lock)
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino)


def held_elsewhere(folder: Path) -> str:
    """Who holds a claim on `folder` ("" when no other process does): what a command that would
    replace or write into the folder asks first."""
    try:
        import fcntl  # noqa: F401 (whether the system has the locks)
    except ImportError:  # (Windows)
        return ""
    folder = Path(folder)
    if folder.resolve() in _HELD:
        return ""
    try:
        handle = os.open(folder / LOCK_FILE, os.O_RDWR)
    except OSError:  # none there (never claimed), or not ours to open: not claimed as far as planner can tell
        return ""
    try:
        return _holder(handle) if _try_lock(handle) is False else ""
    finally:
        os.close(handle)  # (releases the lock taken to ask)


def _try_lock(handle: int) -> bool | None:
    """Lock the open lock file: True when taken, False when another process holds it, None on a
    file system without locks (then nothing is claimed, as where the system has none)."""
    import fcntl

    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        return None
    return True


def in_use(folder: Path, holder: str, option: str = "--out") -> str:
    """The message for a folder another planner command holds."""
    return (f"{folder} is in use by another planner command still running there ({holder}); wait for it to end "
            f"or stop it, or choose another {option}")


def _say_holder(handle: int) -> None:
    """Write into the claimed lock file who holds it, for the message of a refused command."""
    with contextlib.suppress(OSError):  # (only a message depends on it)
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"process {os.getpid()} on {socket.gethostname()}\n".encode(), 0)


def _holder(handle: int) -> str:
    try:
        said = os.pread(handle, 200, 0).decode("utf-8", errors="replace").strip()
    except OSError:
        said = ""
    return said or "which one is not known"


def _remove_if_bare(folder: Path, made: list[Path]) -> None:
    """Take the lock file away again if the folder holds nothing else (the command wrote nothing
    there: refused, or stopped before it began), and the folders this call made with it."""
    with contextlib.suppress(OSError):
        if [entry.name for entry in folder.iterdir()] not in ([LOCK_FILE], []):
            return
        (folder / LOCK_FILE).unlink(missing_ok=True)
        for path in made:  # (the folder first, then the parents made for it)
            path.rmdir()
