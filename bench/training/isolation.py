"""Runs a function in a fresh child process, forked from a server that has imported the libraries
but never touched a device: each child has its own peak memory and CUDA context, a crash in it
cannot take the caller down, and it starts in milliseconds."""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import multiprocessing.connection
import multiprocessing.context
import os
import select
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from bench.core.processes import process_alive


@dataclass(frozen=True)
class ChildDied:
    """The child ended without answering (killed, out of memory, a crash in C code)."""

    exitcode: int | None

    def __str__(self) -> str:
        return f"worker exited {self.exitcode} without a result"


_server_preload: frozenset[str] = frozenset()  # what the running fork server imported


def fork_server(preload: Sequence[str]) -> multiprocessing.context.ForkServerContext:
    """The fork server's context, its server started now: it imports the preload while the caller
    goes on (on a 2-core machine, beside the driver's own planning). A server already running
    without some of these modules is replaced when no child of this process runs: each of its
    children would import them again (seconds apiece)."""
    import multiprocessing.forkserver

    global _server_preload
    server = multiprocessing.forkserver._forkserver
    wanted = frozenset(preload)
    # a child still running learns its exit status through the server: never stop one under it
    if getattr(server, "_forkserver_pid", None) is not None and not wanted <= _server_preload \
            and not multiprocessing.active_children() and hasattr(server, "_stop"):
        server._stop()
    if getattr(server, "_forkserver_pid", None) is None:
        _server_preload = wanted | _server_preload
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(sorted(_server_preload))
    # the server inherits SIGINT ignored: a Ctrl-C while it imports must not print its traceback
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)
    return context


class Child:
    """function(*args) computing in a fresh child process, started now; `result()` once `connection`
    is readable (or to wait for it)."""

    def __init__(self, context: multiprocessing.context.ForkServerContext, function: Callable[..., Any],
                 args: tuple, name: str) -> None:
        self.connection, sender = context.Pipe(duplex=False)
        self._process = context.Process(target=_answer, args=(sender, os.getpid(), function, args), name=name)
        try:
            with _stop_signals_held():
                self._process.start()
        except BaseException:  # a stop signal held during the start arrives as the block ends
            if self._process.pid is not None:
                self.stop()
            raise
        finally:
            sender.close()

    def result(self) -> Any | ChildDied:
        """Its return value, or ChildDied; the process is joined either way."""
        try:
            answer = self.connection.recv()
        except EOFError:
            answer = None
        finally:
            self.connection.close()
        self._process.join()
        return ChildDied(self._process.exitcode) if answer is None else answer

    def stop(self) -> None:
        """End it now (the driver was interrupted or terminated)."""
        self._process.terminate()  # the child exits cleanly on SIGTERM (its semaphores released)
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self.connection.close()


def call_in_child(context: multiprocessing.context.ForkServerContext, function: Callable[..., Any],
                  *args: Any, name: str = "petbench-child") -> Any | ChildDied:
    """function(*args) computed in a fresh child; its return value, or ChildDied."""
    with contextlib.closing(call_in_children(context, [(function, args, name)], at_once=1)) as results:
        return next(results)[1]


Task = tuple[Callable[..., Any], tuple, str]  # function, args, process name


def call_in_children(context: multiprocessing.context.ForkServerContext, tasks: Iterable[Task], *,
                     at_once: int) -> Iterator[tuple[int, Any | ChildDied]]:
    """(index, result) of each task, as they finish, with at most `at_once` children computing at a
    time; an interrupt or termination ends every running child before it propagates."""
    pending = iter(enumerate(tasks))
    running: dict[Connection, tuple[int, Child]] = {}
    try:
        while True:
            while len(running) < at_once and (task := next(pending, None)) is not None:
                index, (function, args, name) = task
                child = Child(context, function, args, name)
                running[child.connection] = (index, child)
            if not running:
                return
            for connection in multiprocessing.connection.wait(list(running)):
                index, child = running.pop(connection)
                yield index, child.result()
    except BaseException:
        for _, child in running.values():
            child.stop()
        raise


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


def _answer(connection: Connection, driver: int, function: Callable[..., Any], args: tuple) -> None:
    _die_with_driver(driver)
    # what the fork server imported lives as long as the child: keep the collector from walking its
    # millions of objects (a full collection took 0.7 s a cell), and their pages shared
    gc.freeze()
    # Ctrl-C reaches the whole process group: the driver says it in one line, the child stays silent
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_quietly)
    try:
        connection.send(function(*args))
    finally:
        connection.close()


def _exit_quietly(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _die_with_driver(driver: int) -> None:
    """End this child the moment the process that asked for it (the driver) ends, however it ends
    (kill -9 included), so a killed sweep leaves no cell training on. The fork server, this child's
    parent, does not end with the driver while a child holds its liveness pipe, so the parent's death
    is no signal: a thread waits on the driver itself (a pidfd where Linux has one, else polling)."""
    try:
        handle = os.pidfd_open(driver)
    except ProcessLookupError:  # it died before this child started
        os._exit(1)
    except (AttributeError, OSError):  # no pidfds (not Linux, or a kernel before 5.3)
        handle = None

    def wait_for_the_driver() -> None:
        if handle is not None:
            select.select([handle], [], [])  # a pidfd turns readable when its process exits
        else:
            while process_alive(driver):
                time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=wait_for_the_driver, name="petbench-driver-watch", daemon=True).start()
