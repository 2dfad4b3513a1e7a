"""The run as a library: `run(RunSpec(...))` trains a grid and returns its records and a DataFrame of
them, writes the reports once per run, and a RunSpec is plain data (building one loads no torch)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent


def test_a_tiny_grid_runs_from_the_library_and_returns_records_and_a_frame(monkeypatch, tmp_path, tiny_model,
                                                                         data_dir):
    from bench.session import RunSpec, run
    from reports.sinks import report

    final_writes = []
    real_write = report.write_report_files

    def counting(out, **options):
        if options.get("figures", True):
            final_writes.append(out)
        return real_write(out, **options)

    monkeypatch.setattr(report, "write_report_files", counting)
    spec = RunSpec(tasks="sst2", methods="full_ft,lora", model=str(tiny_model), seeds="1,2", shots="8",
                   train={"max_steps": 1, "batch_size": 4, "max_length": 48}, data_dir=str(data_dir),
                   out=str(tmp_path), executor="inline")
    result = run(spec)
    assert result.ok and result.exit_code == 0
    assert (result.succeeded, result.failed, result.skipped, result.unsaved) == (4, 0, 0, 0)
    assert result.summary == "4 succeeded, 0 failed, 0 skipped as already done"
    assert sorted((record.method, record.seed) for record in result.records) == [
        ("full_ft", 1), ("full_ft", 2), ("lora", 1), ("lora", 2)]
    frame = result.frame()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 4  # one row per run
    assert set(frame["cell_id"]) == {record.cell_id for record in result.records}
    assert len(final_writes) == 1, "the reports (with their figures) are written once per run"
    assert any("| full_ft" in closing.text for closing in result.closings)  # report.md's text

    again = run(spec)  # every cell already done: nothing trains, the reports are written once more
    assert again.ok and (again.succeeded, again.skipped) == (0, 4) and again.records == ()
    assert len(again.frame()) == 4 and len(final_writes) == 2


def test_a_run_spec_is_built_without_torch():
    code = ("import sys\n"
            "from bench.session import RunSpec, dry_run, run\n"
            "spec = RunSpec(tasks='sst2,eprstmt', methods='full_ft', seeds='1,2', train={'max_steps': 1},\n"
            "               executor_options={'jobs': '2'})\n"
            "assert spec.tasks == ('sst2', 'eprstmt') and spec.seeds == ('1', '2')\n"
            "assert 'torch' not in sys.modules, 'building a RunSpec imported torch'\n")
    finished = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                              timeout=120)
    assert finished.returncode == 0, finished.stderr
