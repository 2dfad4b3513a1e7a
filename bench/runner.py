"""Expands a grid into cells and runs each one: seed, build, train, measure, record."""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import torch
from tqdm.auto import tqdm

from bench.device import DeviceChoice
from bench.environment import library_versions
from bench.errors import one_line
from bench.measure import PeakMemory
from bench.metrics import score
from bench.models import ModelRef
from bench.results import CellResult, ResultsStore
from bench.splits import CellSplits, majority_label, make_splits, resolve_shots
from bench.train import TrainConfig, train_and_evaluate
from methods.spec import MethodConfig, MethodSpec
from tasks.loader import TaskData, load_task_data
from tasks.spec import TaskSpec


@dataclass(frozen=True)
class GridConfig:
    """The cross product to run: tasks x methods x seeds, on one model and shot setting."""

    tasks: tuple[TaskSpec, ...]
    methods: tuple[tuple[MethodSpec, MethodConfig], ...]
    model: ModelRef
    seeds: tuple[int, ...]
    shots: str  # "default", "full" or a number (see bench.splits.resolve_shots)
    fewclue_split: str
    data_dir: Path | None
    train: TrainConfig


@dataclass(frozen=True)
class CellSpec:
    task: TaskSpec
    method: MethodSpec
    method_config: MethodConfig
    model: ModelRef
    seed: int
    shots: int | None
    fewclue_split: str | None
    train: TrainConfig

    @property
    def cell_id(self) -> str:
        """Stable across runs: the same command maps to the same ids, so a re-run resumes."""
        key = {"task": self.task.name, "task_version": self.task.version,
               "method": self.method.name, "config": self.method_config.to_json(),
               "model": self.model.display_name, "seed": self.seed, "shots": self.shots,
               "fewclue_split": self.fewclue_split, "train": dataclasses.asdict(self.train)}
        digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:10]
        shots = "full" if self.shots is None else self.shots
        return f"{self.task.name}/{self.method.name}/shots={shots}/seed={self.seed}/{digest}"


def expand_cells(grid: GridConfig) -> list[CellSpec]:
    return [CellSpec(task, method, config, grid.model, seed, resolve_shots(grid.shots, task),
                     grid.fewclue_split if task.fewclue_splits else None, grid.train)
            for task in grid.tasks for method, config in grid.methods for seed in grid.seeds]


def run_grid(grid: GridConfig, store: ResultsStore, device: DeviceChoice) -> list[CellResult]:
    """Run every cell not already done in the store; each record is written as soon as it ends."""
    cells = expand_cells(grid)
    data = {task.name: load_task_data(task, data_dir=grid.data_dir, fewclue_split=grid.fewclue_split)
            for task in grid.tasks}  # load (and validate) everything before the first cell
    done = store.done_cell_ids()
    records = []
    for cell in tqdm(cells, desc="cells", unit="cell"):
        if cell.cell_id in done:
            continue
        tqdm.write(f"running {cell.cell_id}")
        record = run_cell(cell, data[cell.task.name], device)
        store.append(record)
        records.append(record)
        if record.status != "success":
            tqdm.write(f"cell {cell.cell_id} failed: {record.error}")
    return records


def _seed_everything(seed: int) -> None:
    from transformers import set_seed

    set_seed(seed)


def run_cell(cell: CellSpec, data: TaskData, device: DeviceChoice) -> CellResult:
    """Train and evaluate one cell; any exception becomes a failed record, not a crash."""
    started = time.perf_counter()
    base = dict(cell_id=cell.cell_id, task=cell.task.name, task_version=cell.task.version,
                language=cell.task.language, method=cell.method.name,
                method_config=cell.method_config.to_json(), model=cell.model.display_name,
                seed=cell.seed, shots=cell.shots, fewclue_split=cell.fewclue_split,
                zero_shot=cell.train.zero_shot, metric=cell.task.metric, device=device.name,
                dtype=device.dtype_name, versions=library_versions(), data_source=data.source)
    try:
        measured = _measure_cell(cell, data, device)
        status, error = "success", ""
    except Exception as failure:  # noqa: BLE001  (a failing cell must not stop the sweep)
        measured, status = {}, "failed"
        error = one_line(failure)
    finally:
        gc.collect()
        if device.device.type == "cuda":
            torch.cuda.empty_cache()
    return CellResult(**base, **measured, status=status, error=error,
                      wall_seconds=time.perf_counter() - started,
                      finished_at=datetime.now(UTC).isoformat(timespec="seconds"))


def _measure_cell(cell: CellSpec, data: TaskData, device: DeviceChoice) -> dict:
    splits: CellSplits = make_splits(data, shots=cell.shots, seed=cell.seed)
    _seed_everything(cell.seed)
    learning_rate = cell.train.learning_rate or cell.method_config.learning_rate
    with PeakMemory(device.device) as memory:
        built = cell.method.build(cell.method_config, model=cell.model, task=cell.task,
                                  max_length=cell.train.max_length)
        outcome = train_and_evaluate(built, train=splits.train, dev=splits.dev,
                                     evaluation=splits.eval, config=cell.train,
                                     learning_rate=learning_rate, device=device,
                                     metric=cell.task.metric, seed=cell.seed,
                                     epochs=cell.train.epochs or cell.method_config.epochs)
    golds = [example.label for example in splits.eval]
    majority = [majority_label(splits.train)] * len(golds)
    parameters = list(built.model.parameters())
    return dict(
        learning_rate=learning_rate,
        score=score(cell.task.metric, outcome.eval_predictions, golds),
        accuracy=score("accuracy", outcome.eval_predictions, golds),
        dev_score=outcome.dev_score, majority_score=score(cell.task.metric, majority, golds),
        n_train=len(splits.train), n_dev=len(splits.dev), n_eval=len(splits.eval),
        steps=outcome.steps, best_step=outcome.best_step,
        train_samples_per_s=_rate(outcome.train_samples, outcome.train_seconds),
        eval_samples_per_s=_rate(outcome.eval_samples, outcome.eval_seconds),
        peak_memory_bytes=memory.peak_bytes, memory_kind=memory.kind,
        trainable_params=sum(p.numel() for p in parameters if p.requires_grad),
        total_params=sum(p.numel() for p in parameters), mlm_head=built.mlm_head,
    )


def _rate(samples: int, seconds: float) -> float | None:
    return samples / seconds if seconds > 0 else None
