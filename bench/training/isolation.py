"""Runs a function in a fresh child process, forked from a server that has imported the libraries
but never touched a device: each child has its own peak memory and CUDA context, a crash in it
cannot take the caller down, and it starts in milliseconds."""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
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
    multiprocessing.forkserver.ensure_running()
    return context


def call_in_child(context: multiprocessing.context.ForkServerContext, function: Callable[..., Any],
                  *args: Any, name: str = "petbench-child") -> Any | ChildDied:
    """function(*args) computed in a fresh child; its return value, or ChildDied."""
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_answer, args=(sender, function, args), name=name)
    child.start()
    sender.close()
    try:
        result = receiver.recv()
    except EOFError:
        result = None
    finally:
        receiver.close()
    child.join()
    return ChildDied(child.exitcode) if result is None else result


def _answer(connection: Connection, function: Callable[..., Any], args: tuple) -> None:
    try:
        connection.send(function(*args))
    finally:
        connection.close()
