"""A Dask scheduler of `--scheduler`, as a solve's phase (`planner.solve.decomposition.cluster`)
and a sweep (`planner.studies.sweep`) both reach it: one way to connect, one time to wait, one
way to say it is gone. `distributed` is imported only when a scheduler is asked for."""

from __future__ import annotations

from typing import Any

from planner.errors import ClusterError

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
