"""The driver of a sweep: every task split is loaded and validated and every cell planned before the
first one runs; then the executor runs the cells not done yet and each record is stored as it comes."""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from bench.core.data import load_task_data
from bench.core.environment import library_versions
from bench.core.errors import one_line
from bench.core.models import cache_dir
from bench.core.records import CellResult
from bench.core.sinks import Sink
from bench.core.splits import check_eval_limit, check_selection, check_shots, make_splits
from bench.core.store import ResultsStore
from bench.core.task import TaskData
from bench.training.cells import Grid, expand_cells
from bench.training.compatibility import check_tokenizer_covers
from bench.training.executors import Executor
from bench.training.plan import remember
from bench.training.runner import CellJob, identity_labels


@dataclass(frozen=True)
class SweepSummary:
    succeeded: int
    failed: int
    skipped: int
    unsaved: int = 0  # records the results folder refused (a full disk)
    kept_in: str = ""  # where they are instead: the side file, or stderr when it too was refused

    def line(self) -> str:
        counts = f"{self.succeeded} succeeded, {self.failed} failed, {self.skipped} skipped as already done"
        if not self.unsaved:
            return counts
        return (f"{counts}; {self.unsaved} record(s) could not be written to results.jsonl and are kept in "
                f"{self.kept_in}: append them to results.jsonl to keep them")


def plan_jobs(grid: Grid, data_dir: Path | None) -> list[CellJob]:
    """Every cell with its examples; raises (one line) on any data or settings problem."""
    versions = library_versions()
    data: dict[tuple[str, str | None], TaskData] = {}
    checked: set[tuple[str, str | None, int | None]] = set()
    jobs = []
    for cell in expand_cells(grid):
        key = (cell.task.name, cell.split)
        where = f"task {cell.task.name}" + (f" split {cell.split}" if cell.split is not None else "")
        loaded = key not in data
        if loaded:
            data[key] = load_task_data(cell.task, data_dir=data_dir, split=cell.split)
        task_data = data[key]
        if (*key, cell.shots) not in checked:
            checked.add((*key, cell.shots))
            check_shots(task_data, cell.shots, where)
            check_selection(task_data, cell.shots, cell.selection, where)
        if loaded:
            check_eval_limit(task_data, cell.train.eval_limit, where)
            if not grid.model.random_init:
                check_tokenizer_covers(grid.model, task_data, where)
        cell_id = cell.cell_id(data_fingerprint=task_data.fingerprint, versions=versions)
        splits = make_splits(task_data, shots=cell.shots, seed=cell.seed, eval_limit=cell.train.eval_limit,
                             selection=cell.selection, fold=cell.fold)
        jobs.append(CellJob(cell, cell_id, splits, task_data.source, task_data.fingerprint, versions))
    return jobs


def keep_aside(record: CellResult) -> Path:
    """Write a record that the results folder refused into a side file in the temporary folder."""
    side = Path(tempfile.gettempdir()) / "petbench-unsaved-records.jsonl"
    with open(side, "a", encoding="utf-8") as handle:
        handle.write(record.to_json() + "\n")
    return side


def set_aside(record: CellResult, error: OSError, store: ResultsStore) -> str:
    """Keep a record the store refused in the side file, or print it when that is refused too (the
    temporary folder on the same full disk); say so in one warning line, and return where it is."""
    refused = f"warning: could not write to {store.path} ({error.strerror or error})"
    try:
        side = str(keep_aside(record))
    except OSError as side_error:
        print(f"{refused}, nor to the side file ({side_error.strerror or side_error}); the record of "
              f"{record.cell_id} is the next line: append it to results.jsonl to keep it", file=sys.stderr)
        print(record.to_json(), file=sys.stderr)
        return "the lines printed on stderr"
    print(f"{refused}; the record of {record.cell_id} is kept in {side}: append that file's lines to "
          f"results.jsonl to keep it", file=sys.stderr)
    return side


def tell_sinks(sinks: Sequence[Sink], record: CellResult) -> None:
    """Pass a stored record on (the report, trackers); a sink's failure is one warning line and never
    stops the sweep: the record is already safe in the store."""
    for sink in sinks:
        try:
            sink.record(record)
        except Exception as error:  # noqa: BLE001  (any sink bug: warn, carry on)
            # tqdm.write: above the progress bar, not in it
            tqdm.write(f"warning: {sink_name(sink)} failed on {record.cell_id} ({one_line(error)}); the "
                       f"record is stored, the sweep goes on", file=sys.stderr)


def sink_name(sink: Sink) -> str:
    return getattr(sink, "name", None) or type(sink).__name__


def _label_done_cells_for_this_search(jobs: list[CellJob], stored: dict[str, CellResult],
                                      store: ResultsStore) -> None:
    """A done cell that is also a point of this run's --search (it ran before, alone or in another
    grid) takes part in the selection: its record is stored again with this grid's labels."""
    for job in jobs:
        record = stored.get(job.cell_id)
        labels = identity_labels(job)
        if record is not None and labels != {key: getattr(record, key) for key in labels}:
            stored[job.cell_id] = dataclasses.replace(record, **labels)
            store.append(stored[job.cell_id])


def run_sweep(jobs: list[CellJob], store: ResultsStore, executor: Executor, *,
              rerun: bool = False, sinks: Sequence[Sink] = ()) -> tuple[SweepSummary, list[CellResult]]:
    """Run the jobs not already done in the store (every job with rerun); each record is appended as
    soon as it arrives, then handed to the sinks (told first how many cells will train), and a re-run
    cell's new record replaces the old one in the reports."""
    stored = {} if rerun else {record.cell_id: record for record in store.latest() if record.succeeded}
    _label_done_cells_for_this_search(jobs, stored, store)
    done = set(stored)
    todo = list({job.cell_id: job for job in jobs if job.cell_id not in done}.values())
    claimed, taken = store.claim([job.cell_id for job in todo])
    if taken:
        print(f"{len(taken)} cell(s) are being trained by another sweep sharing {store.out_dir}: left to it "
              f"(re-run this command afterwards to see them in the report)", file=sys.stderr)
    skipped = len({job.cell_id for job in jobs}) - len(todo)
    todo = [job for job in todo if job.cell_id in set(claimed)]
    records: list[CellResult] = []
    unsaved: list[str] = []  # where each record the store refused is kept instead
    for sink in sinks:
        sink.start(len(todo))

    def keep(record: CellResult) -> None:
        records.append(record)
        remember(record, cache_dir())  # this machine's history, for --dry-run's estimates
        try:
            store.append(record)
        except OSError as error:  # a full disk, a folder gone read-only: the record must survive
            unsaved.append(set_aside(record, error, store))
        tell_sinks(sinks, record)

    try:
        executor.run(todo, keep)
    finally:
        store.release(claimed)
    succeeded = sum(record.succeeded for record in records)
    kept_in = " and ".join(dict.fromkeys(unsaved))
    return SweepSummary(succeeded, len(records) - succeeded, skipped, len(unsaved), kept_in), records
