"""MLflow: each cell one run of the experiment `petbench-<sweep>`, in the tracking store named by
$MLFLOW_TRACKING_URI, else a local file store in OUT/mlruns (no server, no network)."""

from __future__ import annotations

import os

from reports.loggers.registry import SweepContext, TrackedRun, register_logger

EXPERIMENT_PREFIX = "petbench-"
FILE_STORE = "mlruns"


def tracking_uri(context: SweepContext) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or (context.out_dir / FILE_STORE).as_uri()


@register_logger("mlflow", requires="mlflow", extra="mlflow")
class MlflowLogger:
    def __init__(self, context: SweepContext) -> None:
        from mlflow import MlflowClient

        uri = tracking_uri(context)
        if uri.startswith("file:") or "://" not in uri:  # a file: URI or a plain folder
            # mlflow-skinny has no database backend; its file store is the one that works offline
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.client = MlflowClient(uri)
        name = EXPERIMENT_PREFIX + context.name
        found = self.client.get_experiment_by_name(name)
        self.experiment_id = found.experiment_id if found else self.client.create_experiment(name)

    def log(self, run: TrackedRun) -> None:
        from mlflow.entities import Metric, Param

        started = self.client.create_run(self.experiment_id, run_name=run.name, tags=run.tags)
        run_id = started.info.run_id
        metrics = [Metric(key, value, 0, 0) for key, value in run.metrics.items()]
        params = [Param(key, value) for key, value in run.params.items()]
        self.client.log_batch(run_id, metrics=metrics, params=params)
        self.client.set_terminated(run_id, status="FINISHED" if run.succeeded else "FAILED")

    def close(self) -> None:
        """Every run is finished as it is logged: nothing stays open."""
