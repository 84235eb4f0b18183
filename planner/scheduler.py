"""A Dask scheduler of `--scheduler`, as a solve's phase (`planner.solve.decomposition.cluster`)
and a sweep (`planner.studies.sweep`) both reach it: one way to connect, one time to wait, one
way to say it is gone, one check that a worker runs the same planner as the command that sent
it work (`CODE`, `check_same_code`). `distributed` is imported only when a scheduler is asked for.

Dask sends planner's functions by name, and a worker runs its own installed planner: a cluster
whose workers kept an older planner (the command's machine updated, the workers not) gave that
planner's numbers, faults fixed since included, under the new one's name. Planner's version
number does not tell two of its states apart, so its code does: the SHA-256 of its source files
as this process read them."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path
from typing import Any

import planner
from planner.errors import ClusterError


def _code() -> str:
    """SHA-256 of planner's source files (their paths in the package and their bytes)."""
    root = Path(planner.__file__).parent
    digest = hashlib.sha256()
    for file in sorted(root.rglob("*.py")):
        digest.update(file.relative_to(root).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


CODE = _code()  # read as this module is imported: with the modules a worker loads for its first task


def check_same_code(sender: str) -> None:
    """On a Dask worker: `ClusterError` unless its planner is the one whose code is `sender`."""
    if sender != CODE:
        raise ClusterError(f"the Dask worker on {socket.gethostname()} runs another planner than the command that "
                           f"sent it work (planner {planner.__version__} at {Path(planner.__file__).parent}, its "
                           f"code {CODE[:12]} where the command's is {sender[:12]}); install the same planner on "
                           "every worker and start them again")

CONNECT_TIMEOUT = "5s"  # to reach the scheduler


def connect(address: str) -> Any:
    """A client of the scheduler at `address` (the default client: Dask actors find theirs so);
    `ClusterError` when it does not answer within CONNECT_TIMEOUT."""
    from distributed import Client

    try:
        return Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError, MemoryError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address} within {CONNECT_TIMEOUT}: {exc}") from None


def is_lost(client: Any) -> bool:
    """Whether `client` has lost its scheduler (it gives up reconnecting after a few seconds)."""
    return client.status != "running"


def lost(address: str, during: str, cause: object = None) -> ClusterError:
    """The error for a scheduler gone `during` some work."""
    return ClusterError(f"lost the Dask scheduler at {address} during {during}" + (f": {cause}" if cause else ""))
