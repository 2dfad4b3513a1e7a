"""The built-in result sinks: the report writer (every run) and the MLflow and W&B trackers
(`--log-to`), which import their library only when a run opens them."""

from reports.sinks import mlflow, report, wandb  # noqa: F401  (register the built-in sinks)
from reports.sinks.report import ReportSink, write_final_reports
from reports.sinks.tracked import TrackedRun, tracked_run

__all__ = ["ReportSink", "TrackedRun", "tracked_run", "write_final_reports"]
