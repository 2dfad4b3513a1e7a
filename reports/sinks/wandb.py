"""Weights & Biases: each cell one run of project `petbench` (or $WANDB_PROJECT), grouped by sweep,
written under OUT/wandb. Offline unless $WANDB_MODE says otherwise (offline needs no network or
account; `wandb sync` uploads later)."""

from __future__ import annotations

import os

from bench.core.records import CellResult
from bench.core.sinks import SinkContext, register_sink
from reports.sinks.tracked import tracked_run

DEFAULT_PROJECT = "petbench"


@register_sink("wandb", requires="wandb", extra="wandb")
class WandbSink:
    def __init__(self, context: SinkContext) -> None:
        import wandb  # noqa: F401  (a broken installation fails here, before any cell trains)

        self.context = context
        self.mode = os.environ.get("WANDB_MODE", "offline")
        os.environ.setdefault("WANDB_SILENT", "true")  # its banners would break the progress bar

    def start(self, cells: int) -> None:
        pass

    def record(self, record: CellResult) -> None:
        import wandb

        run = tracked_run(record, self.context)
        project = os.environ.get("WANDB_PROJECT", DEFAULT_PROJECT)
        started = wandb.init(project=project, group=self.context.name,
                             name=run.name, job_type="cell", config=run.params, dir=str(self.context.out_dir),
                             mode=self.mode, reinit="create_new",
                             tags=[run.tags["status"]], notes=run.tags.get("error"),
                             settings=wandb.Settings(silent=True, console="off", x_disable_stats=True))
        started.summary.update({**run.metrics, **{f"id.{key}": value for key, value in run.tags.items()}})
        started.finish(exit_code=0 if run.succeeded else 1)

    def close(self) -> None:
        import wandb

        wandb.teardown()  # stops its background service, which would otherwise outlive the sweep
