"""What planner wrote, and nothing else: the only files and folders it may replace.

Every folder planner writes (a results folder, an evaluation, a sweep and each of its runs,
generated scenarios, a generated instance) holds a manifest, `.planner.json`: its kind and
the SHA-256 of every file planner put there. Before writing to a target, `check_target`
looks at what is there:

- nothing, or an empty folder: written;
- a folder of the same kind whose every entry planner wrote and nobody changed since:
  replaced (a rerun of the same command);
- a folder planner wrote whose files were changed since, or of another kind: replaced only
  with `force`;
- anything else (a file or folder planner did not write, a symbolic link): refused, with or
  without `force`, naming what was found.

Sub-folders count as planner's when they hold a manifest and are planner's in turn (a
sweep's runs, an evaluation inside a results folder). Leftovers of an interrupted write
(`.planner-tmp-*`, `.planner-old-*`) are planner's too, and each names the process that made
it: the next write beside them removes those whose process died (`clear_leftovers`). Single
files written outside such a
folder (a report or workbook at a path of the user's choosing) are recognised by what
they say of themselves (`recognise`).

A folder is swapped into place whole (`staged_folder`): written beside the target under a
temporary name and renamed over it only when complete, so a crash or Ctrl-C never leaves a
folder that looks finished. The manifest itself, and single files written whole
(`staged_file`), are `planner.results.manifest`'s.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from planner.errors import OutputError
from planner.paths import unusable
from planner.results.claim import LOCK_FILE, claimed, held_elsewhere, in_use
from planner.results.leftovers import OLD_PREFIX, TEMP_PREFIX, clear_leftovers, short_name, writer
from planner.results.manifest import (
    MANIFEST,
    Kind,
    follow_umask,
    is_planners_own,
    read_manifest,
    record_files,
    sha256,
    sha256_if_readable,
    staged_file,
    write_manifest,
)

GENERATOR = "planner"  # what a report's <meta name="generator"> and a workbook's creator say
SHOWN = 5  # foreign entries named in a message


@dataclass
class Ownership:
    """What a target holds, as far as planner is concerned."""

    exists: bool
    kind: str | None = None  # from the manifest, None without one
    foreign: list[str] = field(default_factory=list)  # entries planner did not write (relative paths)
    changed: list[str] = field(default_factory=list)  # planner's files changed since
    locked: list[str] = field(default_factory=list)  # entries the system will not let planner read or remove

    @property
    def empty(self) -> bool:
        return not self.exists or (self.kind is None and not self.foreign)


def inspect(target: Path) -> Ownership:
    """Who wrote what is at `target` (a folder, or a path that does not exist)."""
    target = Path(target)
    if not target.exists() and not target.is_symlink():
        return Ownership(exists=False)
    if target.is_symlink() or not target.is_dir():
        return Ownership(exists=True, foreign=[target.name])
    found = Ownership(exists=True)
    _walk(target, Path(), found, top=True)
    return found


def _refused(path: Path) -> bool:
    """Whether the system refuses planner a look at the file at `path` (its permissions, or its
    folder's): planner cannot tell whose it is."""
    try:
        with open(path, "rb"):
            return False
    except PermissionError:
        return True
    except OSError:
        return False


def _walk(folder: Path, relative: Path, found: Ownership, top: bool) -> None:
    if top and _refused(folder / MANIFEST):
        found.locked.append(MANIFEST)
        return
    manifest = read_manifest(folder)
    if top:
        found.kind = manifest["kind"] if manifest else None
    recorded = manifest["files"] if manifest else {}
    shown_folder = f"{relative}/" if relative.parts else "what it holds"
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except PermissionError:
        found.locked.append(shown_folder)
        return
    if entries and not os.access(folder, os.W_OK | os.X_OK):  # its entries cannot be removed
        found.locked.append(shown_folder)
    for entry in entries:
        name, shown = entry.name, str(relative / entry.name)
        if is_planners_own(name):
            continue
        if entry.is_symlink():
            found.foreign.append(shown)
        elif entry.is_dir():
            if _refused(entry / MANIFEST):
                found.locked.append(shown + "/")
            elif read_manifest(entry) is None:
                found.foreign.append(shown + "/")
            else:
                _walk(entry, relative / name, found, top=False)
        elif name in recorded:
            digest = sha256_if_readable(entry)
            if digest is None:
                found.locked.append(shown)
            elif digest != recorded[name]:
                found.changed.append(shown)
        elif manifest is not None and recognise(entry):  # planner's report or workbook, its entry lost
            found.changed.append(shown)
        else:
            found.foreign.append(shown)


def _names(entries: list[str]) -> str:
    shown = ", ".join(entries[:SHOWN])
    return shown + (f" and {len(entries) - SHOWN} more" if len(entries) > SHOWN else "")


def check_path(target: Path, option: str = "--out") -> None:
    """Raise OutputError when the system refuses `target` as a path (`planner.paths.unusable`)
    or will not let planner write it (`_unwritable`)."""
    reason = unusable(Path(target))
    if reason:
        raise OutputError(f"{option} {target}: cannot be used: {reason}")
    reason = _unwritable(Path(target))
    if reason:
        raise OutputError(f"{option} {target}: cannot be written: {reason}; choose another {option}")


def _unwritable(path: Path) -> str:
    """Why this user may not make or replace `path` ("" when they may): the folder it goes in,
    or the nearest folder on the way that exists, does not let them add entries (its
    permissions, a read-only file system). Writers ask before their work, so that a long solve
    does not end in "Permission denied"."""
    folder = Path(os.path.abspath(path)).parent
    while not os.path.lexists(folder) and folder != folder.parent:
        folder = folder.parent
    effective = os.access in os.supports_effective_ids  # (set-user-id runs: the rights the writes will have)
    if not os.path.isdir(folder) or os.access(folder, os.W_OK | os.X_OK, effective_ids=effective):
        return ""
    try:  # the question answered by mode bits; some file systems (network shares) let their server decide
        os.rmdir(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{writer()}probe-", dir=folder))  # (a kill between: cleared)
    except OSError as exc:
        return f"the system does not let this user add to {folder}: {exc.strerror or exc}"
    return ""


def check_target(target: Path, kind: Kind, force: bool = False, option: str = "--out") -> Ownership:
    """Raise OutputError unless planner may write a folder of `kind` at `target` (module docstring)."""
    target = Path(target)
    check_path(target, option)
    if kind is not Kind.RUN:  # (a sweep's own runs are written inside its folder by its workers)
        _check_outside_claims(target, option)
    found = inspect(target)
    if not found.exists:
        return found
    if target.is_symlink() or not target.is_dir():
        raise OutputError(f"{target} exists and is not a folder; planner writes a folder there: choose another "
                          f"{option}")
    holder = held_elsewhere(target)
    if holder:  # a sweep still running there (`planner.results.claim`)
        raise OutputError(in_use(target, holder, option))
    if found.foreign:
        raise OutputError(f"{target} holds what planner did not write ({_names(found.foreign)}); planner never "
                          f"replaces it, with or without --force: choose another {option} or move those away")
    if found.locked:  # it could be set aside but not removed: a copy hidden beside the new result
        raise OutputError(f"{target} cannot be written: the system does not let planner read or change "
                          f"{_names(found.locked)} (their permissions); change them, or choose another {option}")
    if found.kind is None:  # an empty folder
        return found
    if not force and found.changed:
        raise OutputError(f"{target} was written by planner, but {_names(found.changed)} changed since; "
                          "pass --force to replace it")
    if not force and found.kind != str(kind):
        raise OutputError(f"{target} holds a planner {found.kind} folder, not a {kind} folder; pass --force "
                          f"to replace it, or choose another {option}")
    return found


@contextlib.contextmanager
def claimed_target(target: Path, kind: Kind, force: bool = False, option: str = "--out",
                   keep: bool = False) -> Iterator[Ownership]:
    """`target` checked (`check_target`) and claimed for this process until the block ends
    (`planner.results.claim`): a second command writing there meanwhile is refused at once,
    naming this one, where it used to replace this one's result with its own when it ended.
    `keep`: leave the lock file in the folder (a sweep's, written over a long time)."""
    found = check_target(target, kind, force, option)
    with claimed(Path(target), option, keep=keep):
        yield found


def _check_outside_claims(target: Path, option: str) -> None:
    """Raise OutputError when a folder around `target` is claimed by another process (a sweep runs
    there, `planner.results.claim`): `solve --out SWEEP/runs/ID --force` replaced one of a running
    sweep's runs, which the sweep then took for its own."""
    for folder in Path(os.path.abspath(target)).parents:
        holder = held_elsewhere(folder)
        if holder:
            raise OutputError(f"{target} is inside {folder}, which another planner command still running there "
                              f"holds ({holder}): nothing is written into it meanwhile; wait for it to end or stop "
                              f"it, or choose another {option}")


def _retire(target: Path) -> Path:
    retired = target.parent / f"{OLD_PREFIX}{writer()}{target.name}"
    target.rename(retired)
    return retired


def remove_owned(target: Path) -> None:
    """Delete a folder that `check_target` accepted (it holds nothing planner did not write)."""
    shutil.rmtree(_retire(target), ignore_errors=True)


def empty_owned(target: Path) -> None:
    """Delete what a folder that `check_target` accepted holds, but its claim's lock file
    (`planner.results.claim`): the folder stays, and so does the claim on it."""
    for entry in sorted(Path(target).iterdir()):
        if entry.name == LOCK_FILE:
            continue
        if entry.is_dir() and not entry.is_symlink():
            remove_owned(entry)
        else:
            entry.unlink(missing_ok=True)


def _swap_in(staging: Path, target: Path) -> None:
    """Put the finished `staging` in place of `target`, a folder `check_target` accepted. The old
    folder is renamed aside, the new one renamed in, and only then is the old one deleted: if the
    second rename fails or is interrupted (Ctrl-C), the old folder is put back: whatever stops it,
    `target` is left holding the old result or the new one, never neither."""
    retired = _retire(target)
    try:
        staging.rename(target)
    except BaseException:
        retired.rename(target)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def _private_folder(parent: Path, name: str) -> Path:
    staging = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{writer()}{short_name(name)}-", dir=parent))
    follow_umask(staging, 0o777)  # mkdtemp makes it private
    return staging


@contextlib.contextmanager
def staged_folder(target: Path, kind: Kind, force: bool = False, option: str = "--out") -> Iterator[Path]:
    """Yield a temporary folder to fill; on success it replaces `target`, with its manifest.

    Checks `target` first (`check_target`). On any exception the temporary folder is removed
    and `target` is left as it was.
    """
    target = Path(target)
    check_target(target, kind, force, option)
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        clear_leftovers(parent)
        staging = _private_folder(parent, target.name)
    except OSError as exc:
        raise OutputError(f"cannot write to {parent}: {exc.strerror or exc}") from None
    try:
        yield staging
        write_manifest(staging, kind)
        if target.exists():
            check_target(target, kind, force, option)  # again: something may have appeared meanwhile
            _swap_in(staging, target)
        else:
            staging.rename(target)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    except OutputError as exc:  # a file of it (staged_file): named by the target, not the temporary folder
        raise OutputError(str(exc).replace(str(staging), str(target))) from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def recognise(path: Path) -> bool:
    """Whether the single file at `path` says planner wrote it (a report or a workbook)."""
    path = Path(path)
    try:
        if path.suffix.lower() in (".html", ".htm"):
            with open(path, encoding="utf-8", errors="replace") as fh:
                head = fh.read(4096)
            return f'<meta name="generator" content="{GENERATOR}' in head
        if path.suffix.lower() == ".xlsx":
            with zipfile.ZipFile(path) as archive:
                core = archive.read("docProps/core.xml").decode("utf-8", errors="replace")
            return f"<dc:creator>{GENERATOR}</dc:creator>" in core
    except (OSError, KeyError, zipfile.BadZipFile):
        return False
    return False


def write_file(path: Path, write: Callable[[Path], None], force: bool = False, option: str = "--out") -> Path:
    """Write one file at `path` (parent folders made) through `write(temporary path)`.

    An existing file is replaced only when planner wrote it: listed in the manifest of its
    folder, or recognised (`recognise`). The file appears whole or not at all.
    """
    path = Path(path)
    check_path(path, option)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise OutputError(f"{path} exists and is not a file; choose another {option}")
    if path.exists():
        manifest = read_manifest(path.parent)
        listed = manifest is not None and manifest["files"].get(path.name)
        if _refused(path):
            raise OutputError(f"{path} exists and the system does not let planner read it (its permissions); "
                              f"choose another {option}")
        ours = (listed == sha256(path)) or (listed and force) or (not listed and recognise(path))
        if not ours:
            raise OutputError(f"{path} exists and planner did not write it (or it changed since); planner "
                              f"never replaces it: choose another {option}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with staged_file(path) as staging:
            write(staging)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    if read_manifest(path.parent) is not None:
        record_files(path.parent, [path.name])
    return path


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_location(target: Path, inputs: tuple[Path, ...] = (), option: str = "--out") -> None:
    """Refuse an output `target` that would replace or write into what is read, or the folder
    one stands in: the current folder or one holding it, an input (an instance or results
    folder, or a file read) or a folder holding one, anything inside an input folder or inside
    planner's bundled instances."""
    from planner.instance.bundled import bundled_dir

    check_path(target, option)
    where = Path(os.path.abspath(target))
    here = Path.cwd().resolve()
    resolved = where.resolve()
    if _within(here, resolved):
        raise OutputError(f"{option} {target} is the folder you are in{'' if resolved == here else ' or holds it'}; "
                          "planner replaces its output folder as a whole: choose a sub-folder, e.g. "
                          f"{option} results/NAME")
    if _within(resolved, bundled_dir().resolve()):
        raise OutputError(f"{option} {target} is inside planner's bundled instances, which are inputs: choose a "
                          "folder of your own")
    for source in inputs:
        source = Path(source).resolve()
        if _within(source, resolved):
            raise OutputError(f"{option} {target} is {'' if source == resolved else 'a folder holding '}the input "
                              f"{source}; planner never writes over its inputs: choose another {option}")
        if source.is_dir() and _within(resolved, source):
            raise OutputError(f"{option} {target} is inside the input {source}; planner never writes into its "
                              f"inputs: choose a folder outside it")
