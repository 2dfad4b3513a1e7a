"""What the store's concurrency test runs in spawned processes: it imports the store alone (a tenth
of a second), not the test module's torch and reports (seconds in each process)."""

from pathlib import Path

from bench.core.records import CellResult, CellStatus
from bench.core.store import ResultsStore


def record_numbered(seed: int) -> CellResult:
    return CellResult(cell_id=f"c{seed}", config_id="c", status=CellStatus.SUCCESS, task="t",
                      task_version="1", language="en", method="m", method_config="{}", model="x", seed=seed,
                      shots=1, split=None, zero_shot=False, metric="accuracy")


def append_records(out: str, worker: int) -> None:
    for index in range(10):
        ResultsStore(Path(out)).append(record_numbered(worker * 10 + index))
