"""Process pools whose workers die with their parent.

A sweep killed with -9 while fingerprinting left its pool's workers alive, holding the
database and media open for many minutes. Each worker asks the kernel for SIGKILL when its
parent dies (Linux prctl PR_SET_PDEATHSIG) and, where that is not available, a watchdog thread
exits once the parent is gone.
"""
from __future__ import annotations

import ctypes
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor

_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def worker_pool(max_workers: int | None = None) -> ProcessPoolExecutor:
    """A ProcessPoolExecutor whose workers end when this process ends, however it ends."""
    return ProcessPoolExecutor(max_workers=max_workers, initializer=_die_with_parent, initargs=(os.getpid(),))
