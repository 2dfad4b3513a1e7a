"""Cells as Ray tasks on whatever cluster is there (or a local one Ray starts). The driver stays the
single writer of results.jsonl: records come back as tasks finish. Each task runs in a fresh worker
process (max_calls=1), so its memory figure is its own; a worker that dies becomes a failed record,
retried --retries times. Task data travels through Ray's object store (the cell's examples are in
its job); models and data files are read by path, so a multi-node cluster needs them on a shared
filesystem (or at the same paths on every node), and PETBench installed on every node."""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.core.errors import BenchError
from bench.core.extras import install_hint
from bench.training.executors import OnRecord, Setup, progress, report, run_job_after_setup
from bench.training.runner import CellJob, WorkerSettings, failed_record


@dataclass
class RayExecutor:
    setup: Setup
    address: str | None = None  # None: start a local cluster; "auto" or HOST:PORT: join one
    cpus_per_cell: int = 1
    gpus_per_cell: float | None = None  # None: 1 when the cluster has GPUs, else 0
    retries: int = 0
    _started_here: bool = field(default=False, repr=False)

    def run(self, jobs: Sequence[CellJob], on_record: OnRecord) -> None:
        ray = self._connect()
        try:
            self._run(ray, jobs, on_record)
        finally:
            if self._started_here:
                ray.shutdown()

    def _connect(self):
        try:
            import ray
        except ModuleNotFoundError as error:
            raise BenchError(f"--executor ray needs Ray: {install_hint('ray')}") from error
        _check_reachable(self.address)
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
            except ConnectionError as error:
                raise BenchError(f"cannot reach the Ray cluster at {self.address} ({error}); start one with "
                                 f"`ray start --head` or drop --ray-address") from error
            self._started_here = self.address is None
        return ray

    def _run(self, ray, jobs: Sequence[CellJob], on_record: OnRecord) -> None:
        gpus = self.gpus_per_cell
        if gpus is None:
            gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
        task = ray.remote(num_cpus=self.cpus_per_cell, num_gpus=gpus, max_calls=1, max_retries=0)(
            run_job_after_setup)
        settings = WorkerSettings(threads=self.cpus_per_cell)
        pending: dict = {}

        def submit(job: CellJob, attempt: int) -> None:
            pending[task.remote(self.setup, job, settings)] = (job, attempt, time.perf_counter())

        for job in jobs:
            submit(job, 0)
        # Ray does not say which submitted tasks have started: "pending" is queued or running
        counts = {"pending": len(pending), "done": 0, "failed": 0}
        with progress(len(jobs)) as bar:
            while pending:
                [finished], _ = ray.wait(list(pending), num_returns=1)
                job, attempt, started = pending.pop(finished)
                try:
                    record = ray.get(finished)
                except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                        ray.exceptions.OutOfMemoryError, ray.exceptions.RayTaskError) as error:
                    if attempt < self.retries:
                        submit(job, attempt + 1)
                        continue
                    elapsed = time.perf_counter() - started
                    record = failed_record(job, _died(error, attempt), wall_seconds=elapsed)
                counts["pending"] = len(pending)
                on_record(record)
                report(bar, record, counts)


def _died(error: Exception, attempt: int) -> str:
    """A one-line reason for a cell whose worker never returned a record."""
    lines = str(error).strip().splitlines()
    tries = f" after {attempt + 1} attempts" if attempt else ""
    return f"worker died{tries} ({type(error).__name__}: {lines[0] if lines else ''})"


# what a Ray GCS (a gRPC server, so HTTP/2) answers a client's connection preface with: a SETTINGS frame
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
FRAME_HEADER = 9  # bytes: length (3), type (1), flags (1), stream id (4)
SETTINGS = 4


def _check_reachable(address: str | None, timeout_s: float = 5.0) -> None:
    """A HOST:PORT address answers within seconds, and as a Ray cluster's GCS: Ray itself retries an
    unreachable address for minutes, and hangs on a port where another service listens."""
    if not address or address == "auto" or "://" in address or ":" not in address:
        return
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s) as connection:
            connection.settimeout(timeout_s)
            connection.sendall(HTTP2_PREFACE)
            answer = _first_frame(connection)
    except (OSError, ValueError) as error:
        raise BenchError(f"cannot reach the Ray cluster at {address} ({error}); start one with "
                         f"`ray start --head` or drop --ray-address") from error
    if len(answer) < FRAME_HEADER or answer[3] != SETTINGS or any(answer[5:FRAME_HEADER]):
        raise BenchError(f"{address} answers, but not as a Ray cluster (no gRPC handshake within "
                         f"{timeout_s:g} s): pass the head node's GCS address (`ray status` on the head "
                         f"shows it; port 6379 by default) or drop --ray-address")


def _first_frame(connection: socket.socket) -> bytes:
    """The first frame header the server sends back (shorter if it is silent, hangs up or resets)."""
    answer = b""
    while len(answer) < FRAME_HEADER:
        try:
            chunk = connection.recv(FRAME_HEADER - len(answer))
        except OSError:  # the timeout, or a reset by a service that took the preface for garbage
            return answer
        if not chunk:
            return answer
        answer += chunk
    return answer
