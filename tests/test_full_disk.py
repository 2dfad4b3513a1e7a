"""A full disk is one line, never a traceback, and leaves no file half-written: a disk full before
training is refused up front; a record the results folder refuses is kept aside, the run says where
and exits 1; reports and figures that cannot be written leave the previous ones whole and exit 1.
The disk is filled by making writes into the output folder raise ENOSPC after a few bytes."""

import builtins
import errno
import os
import tempfile
from pathlib import Path

import pytest

from bench.core.errors import BenchError
from bench.core.store import ResultsStore
from bench.session import run
from bench.training import sweep
from tests.helpers import tiny_spec
from tests.store_children import record_numbered

ROOM = 100  # bytes a write still gets onto the disk before it fills


class FullStream:
    """A file on a disk that fills: a write puts what fits and then raises ENOSPC."""

    def __init__(self, stream) -> None:
        self.stream, self.room = stream, ROOM

    def write(self, data):
        if len(data) > self.room:
            self.stream.write(data[: self.room])
            self.stream.flush()
            self.room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.stream.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exception) -> None:
        self.stream.close()

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


def fill_disk(monkeypatch, folder: Path, full=lambda path: True) -> None:
    """Writes into `folder` to files for which `full(path)` holds hit a full disk."""
    real_open, real_fdopen = builtins.open, os.fdopen

    def hits(path: Path) -> bool:
        return path.resolve().is_relative_to(folder.resolve()) and full(path)

    def fake_open(file, mode="r", *args, **kwargs):
        stream = real_open(file, mode, *args, **kwargs)
        writes = any(flag in mode for flag in "wax+") and isinstance(file, str | os.PathLike)
        return FullStream(stream) if writes and hits(Path(file)) else stream

    def fake_fdopen(descriptor, mode="r", *args, **kwargs):
        stream = real_fdopen(descriptor, mode, *args, **kwargs)
        path = Path(os.readlink(f"/proc/self/fd/{descriptor}"))
        return FullStream(stream) if any(flag in mode for flag in "wax+") and hits(path) else stream

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(os, "fdopen", fake_fdopen)


def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}


def test_a_disk_full_before_training_is_one_line_and_trains_nothing(tmp_path, tiny_model, data_dir,
                                                                    monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    fill_disk(monkeypatch, out)
    with pytest.raises(BenchError) as raised:
        run(tiny_spec(tiny_model, data_dir, out))
    assert "\n" not in str(raised.value)
    assert f"--out {out} is not writable (No space left on device)" in str(raised.value)
    assert list(out.iterdir()) == []


def test_figures_the_full_disk_refuses_leave_the_previous_ones_whole_and_exit_1_in_one_line(
        capsys, tmp_path, tiny_model, data_dir, monkeypatch):
    spec = tiny_spec(tiny_model, data_dir, tmp_path)
    assert run(spec).exit_code == 0
    before = {name: data for name, data in _files(tmp_path).items() if name.endswith((".png", ".svg"))}
    assert len(before) == 4 and all(len(data) > ROOM for data in before.values())
    capsys.readouterr()
    fill_disk(monkeypatch, tmp_path, full=lambda path: ".png" in path.name or ".svg" in path.name)
    result = run(spec.replace(rerun=True))
    captured = capsys.readouterr()
    last = captured.err.strip().splitlines()[-1]
    assert result.exit_code == 1 and "Traceback" not in captured.err
    assert last == (f"error: could not write the reports in {tmp_path} (No space left on device); the stored "
                    f"records are in {tmp_path / 'results.jsonl'}: free space, then run "
                    f"`run_bench.py report {tmp_path}`")
    after = _files(tmp_path)
    assert {name: after[name] for name in before} == before
    assert not [name for name in after if name.endswith(".tmp")]
    assert len(ResultsStore(tmp_path).load()) == 2, "both runs' records are stored"


def test_a_record_the_full_disk_refuses_is_kept_aside_and_the_run_says_where_and_exits_1(
        capsys, tmp_path, tiny_model, data_dir, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def refuse(self, record) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(ResultsStore, "append", refuse)
    result = run(tiny_spec(tiny_model, data_dir, tmp_path / "out"))
    captured = capsys.readouterr()
    side = tmp_path / "petbench-unsaved-records.jsonl"
    assert result.exit_code == 1 and result.unsaved == 1 and "Traceback" not in captured.err
    assert result.summary == (
        f"1 succeeded, 0 failed, 0 skipped as already done; 1 record(s) could not be written to "
        f"results.jsonl and are kept in {side}: append them to results.jsonl to keep them")
    assert '"method": "full_ft"' in side.read_text(encoding="utf-8")


def test_a_record_refused_by_the_side_file_too_is_printed_whole(capsys, tmp_path, monkeypatch):
    def refuse(record):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(sweep, "keep_aside", refuse)
    record = record_numbered(1)
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    where = sweep.set_aside(record, full, ResultsStore(tmp_path))
    warning, line = capsys.readouterr().err.splitlines()
    assert where == "the lines printed on stderr"
    assert "nor to the side file (No space left on device)" in warning
    assert line == record.to_json()
