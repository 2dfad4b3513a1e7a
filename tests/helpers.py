"""Small builders shared by tests: grids on the tiny model with very short training, run inline."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from bench.core.encoded import collate
from bench.core.method import BuiltMethod, get_method
from bench.core.models import resolve_model, with_fingerprint
from bench.core.records import CellResult
from bench.core.store import ResultsStore
from bench.core.task import Example, get_task
from bench.training.cells import Grid, MethodChoice, method_choice
from bench.training.executors import InlineExecutor
from bench.training.loop import TrainConfig
from bench.training.sweep import plan_jobs, run_sweep

FAST_TRAINING = TrainConfig(max_steps=2, batch_size=4, eval_batch_size=256, max_length=64)


def choices(*methods: str, **knobs: dict[str, str]) -> tuple[MethodChoice, ...]:
    return tuple(method_choice(name, knobs.get(name)) for name in methods)


def tiny_grid(model: Path, *, tasks: Sequence[str] = ("sst2",), methods: Sequence[str] = ("full_ft",),
              seeds: Sequence[int] = (1,), shots: str = "8", train: TrainConfig = FAST_TRAINING,
              **grid_options) -> Grid:
    model_ref = with_fingerprint(resolve_model(str(model)))
    return Grid(tasks=tuple(get_task(name) for name in tasks), methods=choices(*methods), model=model_ref,
                seeds=tuple(seeds), shots=shots, train=train, **grid_options)


def run_tiny(grid: Grid, out: Path, data_dir: Path, executor=None) -> list[CellResult]:
    """Plan and run a grid into `out`; the records of the cells that ran."""
    _, records = run_sweep(plan_jobs(grid, data_dir), ResultsStore(out), executor or InlineExecutor())
    return records


def build(method: str, model_path: Path, task: str = "sst2", **knobs: str) -> BuiltMethod:
    spec = get_method(method)
    return spec.build(spec.make_config(knobs), model=resolve_model(str(model_path)), task=get_task(task),
                      max_length=64)


def batch(built: BuiltMethod, examples: Sequence[Example]) -> dict:
    """Encoded, collated examples with their labels (what the loop feeds the model)."""
    return collate(built.encoder.encode(examples), built.encoder.pad_id)


def page_data(page: str) -> dict:
    """The data report.html carries as JSON (its leaderboard rows and their cells)."""
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert match, "report.html carries its data as JSON"
    return json.loads(match[1])
