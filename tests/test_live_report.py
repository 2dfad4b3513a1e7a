"""Long sweeps: report.md and results.csv are rewritten after every cell (within their share of the
sweep's time), and the progress bar counts cells done, failed and remaining beside its ETA."""

from __future__ import annotations

import io

from bench.core.records import CellResult, CellStatus
from bench.core.store import ResultsStore
from bench.training.executors import InlineExecutor, progress, report
from bench.training.sweep import plan_jobs, run_sweep
from reports import CSV_FILE, REPORT_FILE, write_reports
from reports.live import LiveReport
from tests.helpers import tiny_grid


def rows_seen_after_each_cell(tmp_path, tiny_model, data_dir, share: float) -> list[int]:
    """Run three cells with a LiveReport; after each, how many cells results.csv holds."""
    out = tmp_path / "out"
    seen: list[int] = []

    def look(record: CellResult) -> None:
        assert (out / REPORT_FILE).exists()
        seen.append(len((out / CSV_FILE).read_text().strip().splitlines()) - 1)

    jobs = plan_jobs(tiny_grid(tiny_model, seeds=(1, 2, 3)), data_dir)
    run_sweep(jobs, ResultsStore(out), InlineExecutor(), listeners=[LiveReport(out, share=share), look])
    return seen


def test_the_report_is_rewritten_after_every_cell(tmp_path, tiny_model, data_dir):
    assert rows_seen_after_each_cell(tmp_path, tiny_model, data_dir, share=1.0) == [1, 2, 3]


def test_a_rewrite_costing_more_than_its_share_of_the_sweep_waits(tmp_path, tiny_model, data_dir):
    # with no time allowed, only the first cell's rewrite happens; the final report catches up
    assert rows_seen_after_each_cell(tmp_path, tiny_model, data_dir, share=0.0) == [1, 1, 1]


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
    jobs = plan_jobs(tiny_grid(tiny_model, seeds=(1,)), data_dir)
    run_sweep(jobs, ResultsStore(out), InlineExecutor(), listeners=[LiveReport(out)])
    assert "Drawn when the sweep ends." in (out / REPORT_FILE).read_text() and not list(out.glob("*.png"))
    final = write_reports(out)
    assert "Drawn when the sweep ends." not in final and list(out.glob("*.png"))
