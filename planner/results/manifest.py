"""The manifest of a folder planner wrote, and files written whole.

A folder planner writes holds `.planner.json`: its kind (`Kind`) and the SHA-256 of every file
planner put there (`write_manifest`, `record_files`), which `planner.results.ownership` reads to
tell planner's files from anyone else's. Every file, the manifest included, is written under a
temporary name beside its target and renamed over it only when complete (`staged_file`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

from planner import __version__
from planner.errors import OutputError
from planner.results.claim import LOCK_FILE
from planner.results.leftovers import OLD_PREFIX, TEMP_PREFIX, clear_leftovers, short_name, writer

MANIFEST = ".planner.json"


class Kind(StrEnum):
    """What a planner-written folder holds."""

    RESULTS = "results"
    EVALUATION = "evaluation"
    SWEEP = "sweep"
    RUNS = "sweep runs"
    RUN = "sweep run"
    SCENARIOS = "scenarios"
    COMPARISON = "comparison"
    INSTANCE = "instance"
    FILES = "files"  # some files planner wrote into a folder it does not own (scenarios into an instance)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_if_readable(path: Path) -> str | None:
    """`sha256`, or None where the system will not let planner read the file (its permissions)."""
    try:
        return sha256(path)
    except PermissionError:
        return None


def read_manifest(folder: Path) -> dict | None:
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        return None
    return manifest


def write_manifest(folder: Path, kind: Kind, files: list[str] | None = None) -> None:
    """Record `files` (names in `folder`; default every regular file in it) as planner's."""
    folder = Path(folder)
    if files is None:
        files = sorted(p.name for p in folder.iterdir() if p.is_file() and not p.is_symlink()
                       and not is_planners_own(p.name))
    manifest = {"planner": __version__, "kind": str(kind),
                "files": {name: sha256(folder / name) for name in sorted(files)}}
    _write_json_atomically(folder / MANIFEST, manifest)


@contextlib.contextmanager
def _folder_locked(folder: Path) -> Iterator[None]:
    """`folder` locked against other planner processes (an advisory lock on the folder itself,
    so nothing is added to it), where the system has such locks; elsewhere not locked: Windows,
    and file systems that refuse to lock a folder (an NFS without its lock service says ENOLCK,
    and one with it may refuse a folder opened only for reading), where the lock's OSError
    ended every sweep and report in an internal error."""
    try:
        import fcntl
    except ImportError:  # (Windows)
        yield
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
        except OSError:  # not lockable here: as where the system has no locks
            pass
        yield
    finally:
        os.close(handle)  # (releases the lock)


def record_files(folder: Path, names: list[str], kind: Kind = Kind.FILES) -> None:
    """Add files planner just wrote in `folder` to its manifest (made, of `kind`, if absent).
    Read, changed and written under a lock: two commands recording files in one folder at once
    (a report and a workbook of one result) each kept the other's entry out, and the file left
    unrecorded then counted as one planner did not write."""
    folder = Path(folder)
    with _folder_locked(folder):
        manifest = read_manifest(folder) or {"planner": __version__, "kind": str(kind), "files": {}}
        for name in names:
            manifest["files"][name] = sha256(folder / name)
        _write_json_atomically(folder / MANIFEST, manifest)


def _write_json_atomically(path: Path, content: dict) -> None:
    with staged_file(path) as staging:
        staging.write_text(json.dumps(content, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def follow_umask(path: Path, mode: int) -> None:
    """Give `path` the permissions a file or folder made the usual way would have (`mode` less the
    umask). A file system with permissions of its own refuses (a USB stick's FAT or exFAT: EPERM;
    some network shares): its files keep what it gives them, where planner wrote nothing at all."""
    with contextlib.suppress(OSError):
        path.chmod(mode & ~_umask())


@contextlib.contextmanager
def staged_file(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path` to write; on success it replaces `path` whole.

    The name is this call's own (`.planner-tmp-MACHINE-PID-NAME-XXXXXXXX.SUFFIX`): two planner commands
    writing the same file at once never write into one temporary file, and the last to finish
    leaves its file whole. Leftovers of dead writers beside it are removed first
    (`clear_leftovers`). On any exception the temporary file is removed and `path` is left as
    it was; an OSError (a full disk) becomes an OutputError naming `path`. Callers check first
    that `path` is theirs to replace.
    """
    path = Path(path)
    clear_leftovers(path.parent)
    try:
        handle, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{writer()}{short_name(path.name)}-",
                                        suffix=short_name(path.suffix),
                                        dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(handle)
    staging = Path(name)
    try:
        follow_umask(staging, 0o666)  # mkstemp makes it private
        yield staging
        staging.replace(path)
    except OSError as exc:  # a full disk, a folder gone: what the caller wrote, or the rename
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        staging.unlink(missing_ok=True)


def _is_debris(name: str) -> bool:
    return name.startswith((TEMP_PREFIX, OLD_PREFIX))


def is_planners_own(name: str) -> bool:
    """Files of planner's bookkeeping in a folder it wrote: the manifest, a claim's lock file
    (`planner.results.claim`), the leftovers of an interrupted write."""
    return name in (MANIFEST, LOCK_FILE) or _is_debris(name)


def changed_files(folder: Path) -> list[str]:
    """The files `folder`'s manifest records (not those of its sub-folders) changed since planner
    wrote them; none without a manifest. Reads only those files, where `inspect` hashes the whole
    tree (a sweep's every run)."""
    folder = Path(folder)
    recorded = (read_manifest(folder) or {"files": {}})["files"]
    return sorted(name for name, digest in recorded.items()  # (one it may not read: the reader says so)
                  if (folder / name).is_file() and sha256_if_readable(folder / name) not in (digest, None))
