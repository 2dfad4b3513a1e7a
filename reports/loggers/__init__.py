"""Result loggers (`--log-to`): the registry and the built-in trackers, which import their library
only when a sweep uses them."""

from reports.loggers import mlflow, wandb  # noqa: F401  (register the built-in loggers)
from reports.loggers.registry import (
    LOGGERS,
    RecordListener,
    ResultLogger,
    SweepContext,
    TrackedRun,
    close_loggers,
    logger_names,
    open_loggers,
    register_logger,
    tracked_run,
)

__all__ = ["LOGGERS", "RecordListener", "ResultLogger", "SweepContext", "TrackedRun", "close_loggers",
           "logger_names", "open_loggers", "register_logger", "tracked_run"]
