"""Runs a function in a fresh child process, forked from a server that has imported the libraries
but never touched a device: each child has its own peak memory and CUDA context, a crash in it
cannot take the caller down, and it starts in milliseconds."""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import multiprocessing.context
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any


@dataclass(frozen=True)
class ChildDied:
    """The child ended without answering (killed, out of memory, a crash in C code)."""

    exitcode: int | None

    def __str__(self) -> str:
        return f"worker exited {self.exitcode} without a result"


def fork_server(preload: Sequence[str]) -> multiprocessing.context.ForkServerContext:
    """The fork server's context, its server started now: it imports the preload while the caller
    goes on (on a 2-core machine, beside the driver's own planning)."""
    import multiprocessing.forkserver

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(preload))
    # the server inherits SIGINT ignored: a Ctrl-C while it imports must not print its traceback
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)
    return context


def call_in_child(context: multiprocessing.context.ForkServerContext, function: Callable[..., Any],
                  *args: Any, name: str = "petbench-child") -> Any | ChildDied:
    """function(*args) computed in a fresh child; its return value, or ChildDied."""
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_answer, args=(sender, function, args), name=name)
    try:
        with _stop_signals_held():
            child.start()
        sender.close()
        result = receiver.recv()
    except EOFError:
        result = None
    except BaseException:  # interrupted, terminated: the cell ends with the driver, now
        if child.pid is None:  # it never started
            raise
        child.terminate()  # the child exits cleanly on SIGTERM (its semaphores released)
        child.join(timeout=10)
        if child.is_alive():
            child.kill()
            child.join()
        raise
    finally:
        receiver.close()
    child.join()
    return ChildDied(child.exitcode) if result is None else result


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def _stop_signals_held():
    """Ctrl-C and SIGTERM wait until the child has its whole task: cut off mid-message, it would
    print a pickle traceback as it dies. They are delivered the moment the block ends."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _answer(connection: Connection, function: Callable[..., Any], args: tuple) -> None:
    _die_with_parent()
    # Ctrl-C reaches the whole process group: the driver says it in one line, the child stays silent
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_quietly)
    try:
        connection.send(function(*args))
    finally:
        connection.close()


_PR_SET_PDEATHSIG = 1


def _exit_quietly(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _die_with_parent() -> None:
    """Linux: the kernel kills this child when its parent (the fork server, which exits with the
    driver) dies, so a killed or interrupted sweep leaves no cell training on."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the child ends when it next writes to its pipe
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)
