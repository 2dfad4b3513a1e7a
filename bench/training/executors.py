"""Where cells run. The driver hands each executor the cells still to do and a callback that stores
each record as it arrives; the driver stays the single writer of results.jsonl."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from tqdm.auto import tqdm

from bench.core.records import CellResult
from bench.training.isolation import ChildDied, call_in_children, fork_server
from bench.training.runner import CellJob, WorkerSettings, failed_record, run_job

OnRecord = Callable[[CellResult], None]
Setup = Callable[[], None]  # registers plugins (built-ins, user files) in a fresh process


class ExecutorKind(StrEnum):
    LOCAL = "local"  # each cell in a fresh child process, --jobs at a time (the default)
    INLINE = "inline"  # one cell at a time in this process (debugging; memory figures share it)
    RAY = "ray"  # cells as Ray tasks on a local or remote cluster


class Executor(Protocol):
    def run(self, jobs: Sequence[CellJob], on_record: OnRecord) -> None: ...


def progress(total: int) -> tqdm:
    """The sweep's bar; its ETA is the mean time per cell so far (smoothing=0), not the last few."""
    return tqdm(total=total, desc="cells", unit="cell", smoothing=0)


def report(bar: tqdm, record: CellResult, counts: dict[str, int]) -> None:
    """Count the record in the bar: done, failed and remaining cells beside tqdm's own ETA."""
    counts["done" if record.succeeded else "failed"] += 1
    counts["remaining"] = bar.total - counts["done"] - counts["failed"]
    bar.set_postfix(counts)
    bar.update(1)
    if not record.succeeded:
        tqdm.write(f"cell {record.cell_id} failed: {record.error}")


@dataclass
class InlineExecutor:
    settings: WorkerSettings = field(default_factory=WorkerSettings)

    def run(self, jobs: Sequence[CellJob], on_record: OnRecord) -> None:
        counts = {"done": 0, "failed": 0}
        with progress(len(jobs)) as bar:
            for job in jobs:
                tqdm.write(f"running {job.cell_id}")
                record = run_job(job, self.settings)
                on_record(record)
                report(bar, record, counts)


@dataclass
class LocalExecutor:
    """Each cell in a fresh child process: its memory figure is its own, whatever ran before it.
    `jobs` cells run at once (each with its share of the cores unless settings name the threads)."""

    setup: Setup
    settings: WorkerSettings = field(default_factory=WorkerSettings)
    preload: tuple[str, ...] = ()
    jobs: int = 1

    def __post_init__(self) -> None:
        self._context = fork_server(self.preload)  # preloads while the driver plans the cells

    def run(self, jobs: Sequence[CellJob], on_record: OnRecord) -> None:
        counts = {"done": 0, "failed": 0}
        settings = replace(self.settings, threads=cell_threads(self.jobs, self.settings.threads))
        if self.jobs > 1:
            settings = replace(settings, progress_bars=False)
        started: dict[int, float] = {}

        def tasks():
            for index, job in enumerate(jobs):
                tqdm.write(f"running {job.cell_id}")
                started[index] = time.perf_counter()
                yield run_job_after_setup, (self.setup, job, settings, time.time()), f"cell-{job.cell.method}"

        with progress(len(jobs)) as bar, closing(call_in_children(self._context, tasks(),
                                                                  at_once=self.jobs)) as results:
            for index, result in results:
                if isinstance(result, ChildDied):
                    result = failed_record(jobs[index], str(result),
                                           wall_seconds=time.perf_counter() - started[index])
                on_record(result)
                report(bar, result, counts)


def cell_threads(jobs: int, threads: int | None) -> int | None:
    """The threads each of `jobs` cells side by side runs with: as asked, else its share of the cores
    (None, torch's default, for a cell alone)."""
    if threads is None and jobs > 1:
        return max(1, usable_cores() // jobs)
    return threads


CELL_MEMORY_BYTES = 2 << 30  # what a small-encoder cell may take at its peak, with room to spare


def auto_jobs() -> int:
    """One cell per usable core, no more than the available memory holds at CELL_MEMORY_BYTES each."""
    return max(1, min(usable_cores(), available_memory_bytes() // CELL_MEMORY_BYTES))


def available_memory_bytes() -> int:
    """MemAvailable (free memory plus what the page cache would give back); one cell's worth where
    the system does not say."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return CELL_MEMORY_BYTES


def usable_cores() -> int:
    """The cores this process may run on (its affinity, as under taskset or a container's cpuset)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def run_job_after_setup(setup: Setup, job: CellJob, settings: WorkerSettings,
                        dispatched_at: float | None = None) -> CellResult:
    """A worker's entry point: register the plugins, then run the cell."""
    setup()
    return run_job(job, settings, dispatched_at=dispatched_at)
