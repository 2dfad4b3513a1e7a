"""The results.jsonl store: one record per line, every write atomic and locked, so a sweep can be
killed at any moment and resumed."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import tempfile
from pathlib import Path

from bench.core.errors import BenchError
from bench.core.records import CellResult

RESULTS_FILE = "results.jsonl"


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
            except (json.JSONDecodeError, TypeError, ValueError) as error:
                raise BenchError(f"{self.path}: line {number} is not a result record ({error}); "
                                 f"remove the line or point --out elsewhere") from error
        return records

    def latest(self) -> list[CellResult]:
        """The last record of each cell, in the order the last records were written (a re-run
        replaces a failure); nothing downstream depends on the order (search ties go by grid position)."""
        by_cell: dict[str, CellResult] = {}
        for record in self.load():
            by_cell.pop(record.cell_id, None)
            by_cell[record.cell_id] = record
        return list(by_cell.values())

    def done_cell_ids(self) -> set[str]:
        return {record.cell_id for record in self.latest() if record.succeeded}

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


def write_atomically(path: Path, content: str | bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over the target; the file
    gets the user's normal mode (0666 less the umask), not mkstemp's private 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content.encode("utf-8") if isinstance(content, str) else content)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@functools.cache
def _umask() -> int:
    """The process umask (read once: setting it to read it is not thread-safe to repeat)."""
    current = os.umask(0o022)
    os.umask(current)
    return current
