"""Small builders shared by tests: grids on the tiny model with very short training."""

from __future__ import annotations

from pathlib import Path

from bench.models import resolve_model
from bench.runner import GridConfig
from bench.train import TrainConfig
from methods import get_method
from methods.spec import MethodSpec
from tasks import get_task

FAST_TRAINING = TrainConfig(max_steps=2, batch_size=4, eval_batch_size=256, max_length=64)


def tiny_grid(model: Path, data_dir: Path, *, tasks=("sst2",), methods=("full_ft",), seeds=(1,),
              shots="8", extra_methods: tuple[MethodSpec, ...] = ()) -> GridConfig:
    specs = [get_method(name) for name in methods] + list(extra_methods)
    return GridConfig(tasks=tuple(get_task(name) for name in tasks),
                      methods=tuple((spec, spec.make_config()) for spec in specs),
                      model=resolve_model(str(model)), seeds=seeds, shots=shots,
                      fewclue_split="0", data_dir=data_dir, train=FAST_TRAINING)
