"""Worker processes that end with the daemon that started them, even under kill -9.

The VC pool's workers are children of multiprocessing's fork server, not of the
daemon, and each holds the fork server's alive pipe open, so neither notices the
daemon's death: they lived on under init, holding the daemon's log file open. Each
worker therefore watches the daemon itself (`exit_with`, a pool's initializer).
Imports nothing beyond the standard library, so a worker starts no slower.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

PARENT_CHECK_S = 1.0  # how soon a worker notices that its daemon is gone


def gone(pid: int) -> bool:
    """Whether process `pid` has ended (a zombie waiting for its reaper has too, where
    /proc tells; without /proc, as on a registrar's Mac running `senim issue`, the
    kernel is asked whether the process exists: read as gone, every hashing worker
    ended as it started)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True if _PROC.is_dir() else not _exists(pid)
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


_PROC = Path("/proc/self")


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's: it exists
        pass
    return True


def exit_with(pid: int) -> None:
    """In a worker: end this process as soon as process `pid` has ended."""
    def watch() -> None:
        while not gone(pid):
            time.sleep(PARENT_CHECK_S)
        os._exit(0)  # nothing of a worker's needs flushing: its caller is gone

    threading.Thread(target=watch, name="senim-orphan-guard", daemon=True).start()
