"""Worker processes that die with their parent and leave Ctrl-C to it (sweeps, block pools)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time


def bind_to_parent(parent: int) -> None:
    """In a worker process: die with the parent (also after kill -9), leave Ctrl-C to the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: the kernel kills us when the parent dies
    if os.getppid() != parent:  # the parent died before we got here
        os._exit(1)

    def watch() -> None:  # elsewhere (and as a second guard): poll the parent
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
