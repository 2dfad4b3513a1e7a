"""Published protocols as data: the tasks, splits or seeds, shots, model, hyperparameter grid, budget
and selection rule of a paper's setting, with the source it was read in. `run --protocol NAME` runs
one; a user's protocol file works like a user's task file."""

from __future__ import annotations

from dataclasses import dataclass

from bench.core.registry import Registry
from bench.core.selection import FIXED_DEV, SelectionProtocol


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
    # how the labelled pool is cut and the grid point chosen (bench.core.selection); per seed and split
    selection: SelectionProtocol = FIXED_DEV
    origin: str = ""  # the file it came from

    @property
    def selection_text(self) -> str:
        """The protocol's selection as `--selection` takes it (`fixed` when the file names none)."""
        return self.selection.text


PROTOCOLS: Registry[ProtocolSpec] = Registry("protocol")


def register_protocol(spec: ProtocolSpec) -> ProtocolSpec:
    return PROTOCOLS.add(spec.name, spec)
