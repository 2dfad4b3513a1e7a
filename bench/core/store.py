"""The results.jsonl store: one record per line, appended (never rewritten) under a lock and fsync'd,
so a sweep can be killed at any moment and resumed."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.core.errors import BenchError
from bench.core.processes import process_alive
from bench.core.records import CellResult

RESULTS_FILE = "results.jsonl"
# what parsing a line that is not a whole record raises (JSONDecodeError and UnicodeDecodeError are
# ValueErrors; a JSON value that is no object, or an unknown status, TypeError / ValueError)
BAD_RECORD = (ValueError, TypeError, AttributeError)
CLAIMS_DIR = ".claims"  # one file per cell being trained, holding the pid of the sweep training it


class ResultsStore:
    """results.jsonl under an output folder."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / RESULTS_FILE

    def load(self) -> list[CellResult]:
        """Every record in file order. A torn last line (a crash mid-write) is dropped with a warning;
        a bad line anywhere else is a one-line error naming it."""
        if not self.path.exists():
            return []
        if not self.path.is_file():
            raise BenchError(f"{self.path} is not a file: move it away or point --out elsewhere")
        data = self.path.read_bytes()
        lines = data.split(b"\n")
        torn = lines.pop() if lines else b""  # what follows the last newline: empty unless torn
        records = [record for number, line in enumerate(lines, start=1)
                   if (record := self._parse(line, number)) is not None]
        if torn.strip():
            try:
                records.append(_record(torn))
            except BAD_RECORD:
                _warn_once(f"warning: {self.path}: its last line is an incomplete record (a write was cut "
                           f"off); it is ignored, and the next record written replaces it")
        return records

    def _parse(self, line: bytes, number: int) -> CellResult | None:
        if not line.strip():
            return None
        try:
            return _record(line)
        except BAD_RECORD as error:
            raise BenchError(f"{self.path}: line {number} is not a result record ({type(error).__name__}); "
                             f"delete that line (its cell re-runs) or point --out elsewhere") from error

    def latest(self) -> list[CellResult]:
        """The newest record of each cell (a re-run replaces a failure): by finished_at, a record without
        one older than any with one, the later written on a tie; in the order they were written.
        Nothing downstream depends on the order (search ties go by grid position)."""
        by_cell: dict[str, CellResult] = {}
        for record in self.load():
            earlier = by_cell.pop(record.cell_id, None)
            newer = earlier is None or _finished(record) >= _finished(earlier)
            by_cell[record.cell_id] = record if newer else earlier
        return list(by_cell.values())

    @property
    def _lock(self) -> Path:
        return self.out_dir / f".{RESULTS_FILE}.lock"

    def _claim_marker(self, cell_id: str) -> Path:
        return self.out_dir / CLAIMS_DIR / hashlib.sha1(cell_id.encode()).hexdigest()

    def claim(self, cell_ids: list[str]) -> tuple[list[str], list[str]]:
        """(claimed, taken): claim the cells for this process under the lock, unless another live
        process holds them (a second sweep sharing the folder); claims of dead processes lapse."""
        (self.out_dir / CLAIMS_DIR).mkdir(parents=True, exist_ok=True)
        claimed, taken = [], []
        with _locked(self._lock):
            for cell_id in cell_ids:
                marker = self._claim_marker(cell_id)
                holder = _holder(marker)
                if holder is not None and holder != os.getpid():
                    taken.append(cell_id)
                    continue
                marker.write_text(str(os.getpid()), encoding="utf-8")
                claimed.append(cell_id)
        return claimed, taken

    def release(self, cell_ids: list[str]) -> None:
        for cell_id in cell_ids:
            marker = self._claim_marker(cell_id)
            if _holder(marker) == os.getpid():
                marker.unlink(missing_ok=True)

    def append(self, record: CellResult) -> None:
        """Add one line (O(1): the file is never rewritten), fsync'd, under a lock that keeps sweeps
        sharing an output folder from interleaving; a torn last line left by a crash is cut off first."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        line = (record.to_json() + "\n").encode("utf-8")
        with _locked(self._lock):
            descriptor = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
            try:
                _cut_torn_line(descriptor)
                written = 0
                while written < len(line):
                    written += os.write(descriptor, line[written:])
                os.fsync(descriptor)
            finally:
                os.close(descriptor)


def _holder(marker: Path) -> int | None:
    """The live process holding a claim, or None (no claim, or its process is gone)."""
    try:
        pid = int(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return pid if process_alive(pid) else None  # another user's live process holds its claim too


def _finished(record: CellResult) -> datetime:
    """When a record's cell finished, as an instant whatever its offset (the earliest one without)."""
    try:
        finished = datetime.fromisoformat(record.finished_at)
    except (TypeError, ValueError):
        return datetime.min.replace(tzinfo=UTC)
    return finished if finished.tzinfo else finished.replace(tzinfo=UTC)


@functools.cache
def _warn_once(message: str) -> None:
    print(message, file=sys.stderr)


def _record(line: bytes) -> CellResult:
    values = json.loads(line.decode("utf-8"))
    if not isinstance(values, dict):
        raise TypeError(f"a JSON {type(values).__name__}, not an object")
    return CellResult.from_dict(values)


def _cut_torn_line(descriptor: int) -> None:
    """Truncate an unfinished last line (no newline after it): the record it began was never whole."""
    size = os.fstat(descriptor).st_size
    if not size or os.pread(descriptor, 1, size - 1) == b"\n":
        return
    tail = os.pread(descriptor, min(size, 1 << 20), max(0, size - (1 << 20)))
    keep = size - len(tail) + tail.rfind(b"\n") + 1 if b"\n" in tail else 0
    os.ftruncate(descriptor, keep)


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
