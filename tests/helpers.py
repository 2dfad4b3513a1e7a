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
from bench.session import RunSpec
from bench.training.cells import Grid, MethodChoice, method_choice
from bench.training.executors import InlineExecutor
from bench.training.loop import TrainConfig
from bench.training.sweep import plan_jobs, run_sweep

FAST_TRAINING = TrainConfig(max_steps=2, batch_size=4, eval_batch_size=256, max_length=64)
# the loop settings of a library run on the tiny model: one step of batch 4, short inputs
TINY_TRAIN = {"max_steps": "1", "batch_size": "4", "max_length": "48"}


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


def tiny_spec(model: Path | None, data_dir: Path | None, out: Path, **fields) -> RunSpec:
    """A run of full_ft on 8 shots of the tiny model, inline, with the TINY_TRAIN loop settings; `fields`
    are RunSpec fields that override these, except `train`, whose entries are added to TINY_TRAIN (an
    entry set to None removes that setting)."""
    train = {**TINY_TRAIN, **dict(fields.pop("train", {}))}
    fields = {"methods": "full_ft", "shots": "8", "executor": "inline", **fields}
    return RunSpec(model=None if model is None else str(model),
                   data_dir=None if data_dir is None else str(data_dir), out=str(out),
                   train={name: value for name, value in train.items() if value is not None}, **fields)


def build(method: str, model_path: Path, task: str = "sst2", **knobs: str) -> BuiltMethod:
    spec = get_method(method)
    return spec.build(spec.make_config(knobs), model=resolve_model(str(model_path)), task=get_task(task),
                      max_length=64)


def batch(built: BuiltMethod, examples: Sequence[Example]) -> dict:
    """Encoded, collated examples with their labels (what the loop feeds the model)."""
    return collate(built.encoder.encode(examples), built.encoder.pad_id)


def assert_close_at(precision: str, actual: dict, expected: dict) -> None:
    """Tensors by name, equal up to what the precision holds: in fp32 each to float rounding; under
    bf16 autocast (8 bits of mantissa, about 0.4% a rounding, compounded through the layers) all of
    them together within 3% of their norm (a tensor near zero, such as a key bias's gradient, has no
    relative precision of its own)."""
    import torch

    assert set(actual) == set(expected)
    if precision == "fp32":
        for name in expected:
            assert torch.allclose(actual[name], expected[name], atol=1e-6), name
        return
    flat = torch.cat([actual[name].float().flatten() for name in expected])
    reference = torch.cat([expected[name].float().flatten() for name in expected])
    relative = (flat - reference).norm() / reference.norm().clamp_min(1e-12)
    assert relative < 3e-2, f"relative error {relative:.4f} under bf16"


def page_data(page: str) -> dict:
    """The data report.html carries as JSON (its leaderboard rows and their cells)."""
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert match, "report.html carries its data as JSON"
    return json.loads(match[1])
