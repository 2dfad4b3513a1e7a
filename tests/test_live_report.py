"""Long sweeps: report.md and results.csv are rewritten after every cell but the last (within their
share of the sweep's time), the final reports are written once when the run ends, and the progress bar
counts cells done, failed and remaining beside its ETA."""

from __future__ import annotations

import io

from bench.core.records import CellResult, CellStatus
from bench.core.sinks import CallbackSink, SinkContext, close_sinks
from bench.core.store import ResultsStore
from bench.training.executors import InlineExecutor, progress, report
from bench.training.sweep import plan_jobs, run_sweep
from reports import CSV_FILE, REPORT_FILE
from reports.sinks import ReportSink
from tests.helpers import tiny_grid


def csv_rows(out) -> int:
    return len((out / CSV_FILE).read_text().strip().splitlines()) - 1


def rows_seen_after_each_cell(tmp_path, tiny_model, data_dir, share: float,
                              monkeypatch) -> tuple[list[int], int]:
    """Run three cells with the report sink; after each, how many cells results.csv holds; and how many
    times the reports were written in all."""
    import reports.sinks.report as report_sink

    out = tmp_path / "out"
    seen: list[int] = []
    writes: list[bool] = []
    write = report_sink.write_report_files

    def counted(*args, **kwargs):
        writes.append(kwargs.get("figures", True))
        return write(*args, **kwargs)

    monkeypatch.setattr(report_sink, "write_report_files", counted)

    def look(record: CellResult) -> None:
        seen.append(csv_rows(out) if (out / CSV_FILE).exists() else 0)

    jobs = plan_jobs(tiny_grid(tiny_model, seeds=(1, 2, 3)), data_dir)
    sinks = [ReportSink(SinkContext.for_out(out), share=share), CallbackSink(look)]
    run_sweep(jobs, ResultsStore(out), InlineExecutor(), sinks=sinks)
    close_sinks(sinks)
    assert csv_rows(out) == 3 and (out / REPORT_FILE).exists()  # the final report holds every cell
    assert writes.count(True) == 1  # the final reports, with figures, written once
    return seen, len(writes)


def test_the_report_is_rewritten_after_every_cell_but_the_last_then_written_once(tmp_path, tiny_model,
                                                                                  data_dir, monkeypatch):
    # the last cell's rewrite would be followed at once by the final report: it is skipped
    assert rows_seen_after_each_cell(tmp_path, tiny_model, data_dir, 1.0, monkeypatch) == ([1, 2, 2], 3)


def test_a_rewrite_costing_more_than_its_share_of_the_sweep_waits(tmp_path, tiny_model, data_dir,
                                                                  monkeypatch):
    # with no time allowed, only the first cell's rewrite happens; the final report catches up
    assert rows_seen_after_each_cell(tmp_path, tiny_model, data_dir, 0.0, monkeypatch) == ([1, 1, 1], 2)


def record(status: CellStatus) -> CellResult:
    return CellResult(cell_id="c", config_id="k", status=status, task="sst2", task_version="1", language="en",
                      method="lora", method_config="{}", model="m", seed=1, shots=8, split=None,
                      zero_shot=False, metric="accuracy",
                      error="" if status == CellStatus.SUCCESS else "boom")


def test_the_progress_bar_counts_done_failed_and_remaining_with_an_eta_from_all_cells_so_far():
    counts = {"done": 0, "failed": 0}
    with progress(4) as bar:
        bar.fp = io.StringIO()
        report(bar, record(CellStatus.SUCCESS), counts)
        report(bar, record(CellStatus.FAILED), counts)
        assert bar.postfix == "done=1, failed=1, remaining=2"
        assert bar.smoothing == 0  # the mean time per cell so far, not the last cells' alone


def test_mid_sweep_rewrites_leave_the_figures_to_the_final_report(tmp_path, tiny_model, data_dir):
    out = tmp_path / "out"
    jobs = plan_jobs(tiny_grid(tiny_model, seeds=(1, 2)), data_dir)
    sink = ReportSink(SinkContext.for_out(out))
    run_sweep(jobs, ResultsStore(out), InlineExecutor(), sinks=[sink])
    assert "Drawn when the sweep ends." in (out / REPORT_FILE).read_text() and not list(out.glob("*.png"))
    [closing] = close_sinks([sink])
    assert closing.ok and "Drawn when the sweep ends." not in closing.text and list(out.glob("*.png"))
    assert "Drawn when the sweep ends." not in (out / REPORT_FILE).read_text()
