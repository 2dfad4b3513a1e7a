"""Where cells run. The driver hands each executor the cells still to do and a callback that stores
each record as it arrives; the driver stays the single writer of results.jsonl."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from tqdm.auto import tqdm

from bench.core.records import CellResult
from bench.training.isolation import ChildDied, call_in_child, fork_server
from bench.training.runner import CellJob, WorkerSettings, failed_record, run_job

OnRecord = Callable[[CellResult], None]
Setup = Callable[[], None]  # registers plugins (built-ins, user files) in a fresh process


class ExecutorKind(StrEnum):
    LOCAL = "local"  # one cell at a time, each in a fresh child process (the default)
    INLINE = "inline"  # one cell at a time in this process (debugging; memory figures share it)
    RAY = "ray"  # cells as Ray tasks on a local or remote cluster


class Executor(Protocol):
    def run(self, jobs: Sequence[CellJob], on_record: OnRecord) -> None: ...


def progress(total: int) -> tqdm:
    return tqdm(total=total, desc="cells", unit="cell")


def report(bar: tqdm, record: CellResult, counts: dict[str, int]) -> None:
    counts["done" if record.succeeded else "failed"] += 1
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
    """Each cell in a fresh child process: its memory figure is its own, whatever ran before it."""

    setup: Setup
    settings: WorkerSettings = field(default_factory=WorkerSettings)
    preload: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self._context = fork_server(self.preload)  # preloads while the driver plans the cells

    def run(self, jobs: Sequence[CellJob], on_record: OnRecord) -> None:
        counts = {"done": 0, "failed": 0}
        with progress(len(jobs)) as bar:
            for job in jobs:
                tqdm.write(f"running {job.cell_id}")
                started = time.perf_counter()
                result = call_in_child(self._context, run_job_after_setup, self.setup, job, self.settings,
                                       name=f"cell-{job.cell.method}")
                if isinstance(result, ChildDied):
                    result = failed_record(job, str(result), wall_seconds=time.perf_counter() - started)
                on_record(result)
                report(bar, result, counts)


def run_job_after_setup(setup: Setup, job: CellJob, settings: WorkerSettings) -> CellResult:
    """A worker's entry point: register the plugins, then run the cell."""
    setup()
    return run_job(job, settings)
