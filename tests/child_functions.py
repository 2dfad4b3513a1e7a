"""Functions the isolation tests run in child processes: standard library only, so that a child
starts in milliseconds (unpickling a function imports its module)."""

import os
import time


def sleep_then_pid(seconds: float) -> tuple[int, float, float]:
    """(pid, began, ended) around a sleep."""
    began = time.time()
    time.sleep(seconds)
    return os.getpid(), began, time.time()


def forkserver_children() -> list[int]:
    """The live processes whose parent is this process's fork server (Linux /proc)."""
    from multiprocessing import forkserver

    server = forkserver._forkserver._forkserver_pid
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    state, parent = handle.read().rsplit(")", 1)[1].split()[:2]
            except OSError:
                continue
            if int(parent) == server and state != "Z":
                children.append(int(entry))
    return children


def module_loaded(name: str) -> bool:
    """Whether the child started with `name` already imported (from its fork server)."""
    import sys

    return name in sys.modules
