"""One self-describing record per cell, and the results.jsonl store (atomic, resumable)."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.errors import BenchError

RESULTS_FILE = "results.jsonl"


@dataclass(frozen=True)
class CellResult:
    """Everything measured for one (task, method, model, seed, shots) cell."""

    cell_id: str
    status: str  # "success" or "failed"
    task: str
    task_version: str
    language: str
    method: str
    method_config: str  # JSON of the method's config dataclass
    model: str
    seed: int
    shots: int | None  # requested; None means the whole train split
    fewclue_split: str | None
    zero_shot: bool
    metric: str
    learning_rate: float = 0.0  # the one used: --lr, else the method's default
    score: float | None = None  # the task's official metric on the eval split, in [0, 1] (MCC in [-1, 1])
    accuracy: float | None = None
    dev_score: float | None = None
    majority_score: float | None = None  # the metric when always predicting the train majority label
    n_train: int = 0
    n_dev: int = 0
    n_eval: int = 0
    steps: int = 0
    best_step: int = 0
    train_samples_per_s: float | None = None
    eval_samples_per_s: float | None = None
    peak_memory_bytes: int | None = None
    memory_kind: str = ""
    trainable_params: int = 0
    total_params: int = 0
    mlm_head: str = "none"
    wall_seconds: float = 0.0
    device: str = ""
    dtype: str = ""
    versions: str = ""  # "torch=...,transformers=...,peft=...,petbench=..."
    data_source: str = ""
    finished_at: str = ""
    error: str = ""

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict) -> CellResult:
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})


class ResultsStore:
    """results.jsonl under an output folder; every write replaces the file atomically."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / RESULTS_FILE

    def load(self) -> list[CellResult]:
        if not self.path.exists():
            return []
        records = []
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(CellResult.from_dict(json.loads(line)))
            except (json.JSONDecodeError, TypeError) as error:
                raise BenchError(f"{self.path}: line {number} is not a result record ({error}); "
                                 f"remove the line or point --out elsewhere") from error
        return records

    def latest(self) -> list[CellResult]:
        """The last record of each cell, in first-seen order (a re-run replaces a failure)."""
        by_cell: dict[str, CellResult] = {}
        for record in self.load():
            by_cell.pop(record.cell_id, None)
            by_cell[record.cell_id] = record
        return list(by_cell.values())

    def done_cell_ids(self) -> set[str]:
        return {record.cell_id for record in self.latest() if record.status == "success"}

    def append(self, record: CellResult) -> None:
        """Add a record; a lock keeps two sweeps sharing an output folder from losing records."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with _locked(self.out_dir / f".{RESULTS_FILE}.lock"):
            existing = self.path.read_text(encoding="utf-8") if self.path.exists() else ""
            if existing and not existing.endswith("\n"):
                existing += "\n"
            write_atomically(self.path, existing + record.to_json() + "\n")


@contextlib.contextmanager
def _locked(path: Path):
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
