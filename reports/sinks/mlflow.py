"""MLflow: each cell one run of the experiment `petbench-<sweep>`, in the tracking store named by
$MLFLOW_TRACKING_URI, else a local file store in OUT/mlruns (no server, no network)."""

from __future__ import annotations

import os

from bench.core.records import CellResult
from bench.core.sinks import SinkContext, register_sink
from reports.sinks.tracked import tracked_run

EXPERIMENT_PREFIX = "petbench-"
FILE_STORE = "mlruns"


def tracking_uri(context: SinkContext) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or (context.out_dir / FILE_STORE).as_uri()


@register_sink("mlflow", requires="mlflow", extra="mlflow")
class MlflowSink:
    def __init__(self, context: SinkContext) -> None:
        from mlflow import MlflowClient

        uri = tracking_uri(context)
        if uri.startswith("file:") or "://" not in uri:  # a file: URI or a plain folder
            # mlflow-skinny has no database backend; its file store is the one that works offline
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.client, self.context = MlflowClient(uri), context
        name = EXPERIMENT_PREFIX + context.name
        found = self.client.get_experiment_by_name(name)
        self.experiment_id = found.experiment_id if found else self.client.create_experiment(name)

    def start(self, cells: int) -> None:
        pass

    def record(self, record: CellResult) -> None:
        from mlflow.entities import Metric, Param

        run = tracked_run(record, self.context)
        started = self.client.create_run(self.experiment_id, run_name=run.name, tags=run.tags)
        run_id = started.info.run_id
        metrics = [Metric(key, value, 0, 0) for key, value in run.metrics.items()]
        params = [Param(key, value) for key, value in run.params.items()]
        self.client.log_batch(run_id, metrics=metrics, params=params)
        self.client.set_terminated(run_id, status="FINISHED" if run.succeeded else "FAILED")

    def close(self) -> None:
        """Every run is finished as it is logged: nothing stays open."""
