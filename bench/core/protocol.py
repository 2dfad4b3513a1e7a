"""Published protocols as data: the tasks, splits or seeds, shots, model, hyperparameter grid, budget
and selection rule of a paper's setting, with the source it was read in. `run --protocol NAME` runs
one; a user's protocol file works like a user's task file."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bench.core.registry import Registry


class Selection(StrEnum):
    BEST_DEV = "best_dev"  # per seed and split, the grid point with the best dev score (first on ties)


@dataclass(frozen=True)
class ProtocolSpec:
    name: str
    description: str
    reference: str  # the published setting it follows, and where each number of it was read
    tasks: tuple[str, ...]
    methods: tuple[str, ...] = ()  # empty: the run's --methods
    model: str | None = None  # None: the run's --model (or its default)
    split: str | None = None  # official splits: "all", "default" or names
    seeds: tuple[int, ...] = ()
    shots: str | None = None
    train: tuple[tuple[str, str], ...] = ()  # loop settings (TrainConfig fields) and their values
    search: tuple[tuple[str, tuple[str, ...]], ...] = ()  # grid axes (lr, a loop setting, METHOD.KNOB)
    knobs: tuple[tuple[str, str], ...] = ()  # ("METHOD.KNOB", value): fixed method settings
    selection: Selection = Selection.BEST_DEV
    origin: str = ""  # the file it came from


PROTOCOLS: Registry[ProtocolSpec] = Registry("protocol")


def register_protocol(spec: ProtocolSpec) -> ProtocolSpec:
    return PROTOCOLS.add(spec.name, spec)
