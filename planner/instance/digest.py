"""What an instance's files held when planner read them: the SHA-256 of each. A result keeps
them (summary.json's `instance_files`), so that `planner evaluate` and `planner verify` can say
which of the instance's files changed since its plan was solved: an evaluation under an
instance whose demand was edited since gives other figures than the plan's own, and said
nothing of it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path

from planner.instance.schema import TABLES

INSTANCE_FILES = ("instance.toml", *sorted(t.file for t in TABLES))  # every file planner reads in an instance
SCENARIO_FILES = ("scenarios.csv", "disruptions.csv", "events.csv")  # what `evaluate --scenarios` replaces


def file_digests(folder: Path, skipped: Iterable[str] = ()) -> dict[str, str]:
    """The SHA-256 (hex) of each of the instance files in `folder` by name, but `skipped`; a
    file that is not there (or cannot be read) is left out."""
    digests = {}
    for name in INSTANCE_FILES:
        if name in skipped:
            continue
        try:
            digests[name] = hashlib.sha256((Path(folder) / name).read_bytes()).hexdigest()
        except OSError:
            continue
    return digests


def changed_files(recorded: object, now: Mapping[str, str], ignored: Iterable[str] = ()) -> list[str] | None:
    """The instance files, by name, whose content differs between `recorded` (a result's
    `instance_files`) and `now`, or that are in one only, but `ignored`; None when `recorded` is
    no record (a result written before planner kept one, or edited)."""
    if not isinstance(recorded, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                 for k, v in recorded.items()):
        return None
    names = (set(recorded) | set(now)) - set(ignored)
    return sorted(name for name in names if recorded.get(name) != now.get(name))
