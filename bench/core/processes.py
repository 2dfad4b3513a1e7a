"""Whether a process is alive, by pid (Linux and macOS): for markers left by cells and sweeps, and
for a cell's process watching its driver."""

from __future__ import annotations

import os


def process_alive(pid: int) -> bool:
    """True while the process exists (another user's live process included)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
