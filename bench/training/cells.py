"""A grid expands into cells; a cell is plain data (no plugin code), so it can travel to a child
process or a Ray worker, and hashes of its settings identify it."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from bench.core import source
from bench.core.device import Device, Runtime
from bench.core.errors import BenchError
from bench.core.knobs import identity_fields, jsonable, knob_types
from bench.core.method import MethodConfig, get_method
from bench.core.models import ModelRef
from bench.core.selection import FIXED_DEV, SelectionProtocol
from bench.core.task import TaskSpec
from bench.training.loop import TrainConfig, settings_on_device

Knobs = tuple[tuple[str, Any], ...]
# --search targets that every method understands: the two method knobs that --lr / --epochs set,
# and the loop's settings
SEARCH_ALIASES = {"lr": "learning_rate", "learning_rate": "learning_rate", "epochs": "epochs"}


@dataclass(frozen=True)
class SearchAxis:
    """One --search dimension: `lr`, `epochs`, a loop setting (`batch_size`), or `METHOD.KNOB`."""

    target: str
    values: tuple[str, ...]

    def applies_to(self, method: str) -> bool:
        """A METHOD.KNOB target applies to its method, lr / epochs to every method with that knob,
        a loop setting to every method."""
        if "." in self.target:
            return self.target.split(".", 1)[0] == method
        if self.target in SEARCH_ALIASES:
            return SEARCH_ALIASES[self.target] in knob_types(get_method(method).config_type)
        return True


@dataclass(frozen=True)
class MethodChoice:
    """A method of the grid and its knobs as resolved before any search (JSON values)."""

    name: str
    knobs: Knobs


def method_choice(name: str, overrides: dict[str, str] | None = None) -> MethodChoice:
    """A grid's method with every knob resolved (defaults, then the overrides)."""
    config = get_method(name).make_config(overrides)
    return MethodChoice(name, tuple(sorted(config.knobs().items())))


@dataclass(frozen=True)
class CellSpec:
    task: TaskSpec
    method: str
    knobs: Knobs  # every knob as it runs, search point included
    model: ModelRef
    seed: int
    shots: int | None
    split: str | None
    train: TrainConfig
    search: tuple[tuple[str, str], ...] = ()  # this cell's point of the --search grid
    runtime: Runtime = Runtime()  # device kind and precision (fp32 for an fp32-only method)
    search_index: int = 0  # the point's position in the --search grid: ties in selection go to the first
    selection: SelectionProtocol = FIXED_DEV  # how the labelled pool is cut and the run's score formed
    fold: int | None = None  # which of the protocol's K train/dev cuts this cell trains on (None: one cut)

    def method_config(self) -> MethodConfig:
        return get_method(self.method).make_config(dict(self.knobs))

    def configuration(self, *, without_search: bool = False) -> dict[str, Any]:
        """Every setting that defines the configuration, seed, split, fold and environment excepted. The
        selection protocol is in it unless it is fixed dev, so ids from before protocols stay."""
        targets = [target for target, _ in self.search] if without_search else []
        searched_knobs = {searched_knob(target) for target in targets} - {None}
        knobs = {name: value for name, value in self.knobs if name not in searched_knobs}
        on_device = settings_on_device(self.train, cuda=self.runtime.device == Device.CUDA)
        train = {name: jsonable(getattr(on_device, name)) for name in identity_fields(TrainConfig)
                 if name not in targets}
        protocol = {} if self.selection.is_default else {"selection": self.selection.text}
        return {"task": self.task.name, "task_version": self.task.version,
                "task_definition": self.task.definition_digest, "method": self.method, "knobs": knobs,
                "model": self.model.display_name, "model_fingerprint": self.model.fingerprint,
                "shots": self.shots, "train": train,
                "device": self.runtime.device, "dtype": self.runtime.dtype, **protocol}

    @property
    def config_id(self) -> str:
        """What pairs a run with its baseline: the configuration, never the code that ran it (an edited
        method is compared with its old self)."""
        return _digest(self.configuration())

    @property
    def code_digest(self) -> str:
        """The code that computes this cell's numbers: PETBench's own numeric source, and the method's
        file when it comes from a plugin."""
        return source.code_digest(get_method(self.method).code_digest)

    @property
    def selection_id(self) -> str:
        """Cells of one --search grid (one seed or split) share it: model selection picks among them."""
        return _digest(self.configuration(without_search=True))

    def cell_id(self, *, data_fingerprint: str, versions: str) -> str:
        """Stable across runs: the same settings, data, code and library versions map to the same id,
        so a re-run resumes only true repeats (a commit that changes a number trains anew)."""
        fold = {} if self.fold is None else {"fold": self.fold}
        digest = _digest({**self.configuration(), "seed": self.seed, "split": self.split,
                          "data": data_fingerprint, "versions": versions, "code": self.code_digest, **fold})
        shots = "full" if self.shots is None else self.shots
        split = f"/split={self.split}" if self.split is not None else ""
        fold_part = f"/fold={self.fold}" if self.fold is not None else ""
        return f"{self.task.name}/{self.method}/shots={shots}{split}/seed={self.seed}{fold_part}/{digest}"


def searched_knob(target: str) -> str | None:
    """The method knob a --search target sets (None for a loop setting)."""
    if target in SEARCH_ALIASES:
        return SEARCH_ALIASES[target]
    return target.split(".", 1)[1] if "." in target else None


def _digest(values: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:10]


@dataclass(frozen=True)
class Grid:
    """The cross product to run: tasks x official splits x shots x methods x search points x seeds x
    the selection protocol's folds."""

    tasks: tuple[TaskSpec, ...]
    methods: tuple[MethodChoice, ...]
    model: ModelRef
    seeds: tuple[int, ...]
    # each "default", "full" or a number (bench.core.splits.resolve_shots); a string is read as
    # bench.core.splits.parse_shots reads --shots ("16" or "16,32,64") and stored as the tuple
    shots: tuple[str, ...] | str
    splits: str = "default"  # "default", "all", or comma-separated split names
    train: TrainConfig = TrainConfig()
    search: tuple[SearchAxis, ...] = ()
    runtime: Runtime = Runtime()
    selection: SelectionProtocol = FIXED_DEV

    def __post_init__(self) -> None:
        from bench.core.splits import parse_shots

        shots = parse_shots(self.shots) if isinstance(self.shots, str) else tuple(self.shots)
        if not shots:
            raise BenchError("--shots lists no value: give one, or a comma-separated list (16,32,64)")
        object.__setattr__(self, "shots", shots)


def task_splits(task: TaskSpec, choice: str) -> tuple[str | None, ...]:
    """The official splits a task runs on: its default, all of them, or the named ones."""
    if not task.splits:
        return (None,)
    if choice == "default":
        return (task.default_split,)
    if choice == "all":
        return task.splits
    names = tuple(name.strip() for name in choice.split(",") if name.strip())
    for name in names:
        task.check_split(name)
    return names


def expand_cells(grid: Grid) -> list[CellSpec]:
    """Every cell of the grid, in grid order; shot choices that mean the same number for a task (its
    default and that number) are one cell."""
    from bench.core.splits import resolve_shots

    def runtime(method: str) -> Runtime:
        return grid.runtime.in_fp32() if get_method(method).fp32_only else grid.runtime

    points = {choice.name: list(search_points(choice, grid.train, grid.search)) for choice in grid.methods}
    _check_points_for_selection(grid.selection, points)
    return [CellSpec(task, choice.name, knobs, grid.model, seed, shots, split, train, point,
                     runtime(choice.name), index, grid.selection, fold)
            for task in grid.tasks for split in task_splits(task, grid.splits)
            for shots in dict.fromkeys(resolve_shots(choice, task) for choice in grid.shots)
            for choice in grid.methods
            for index, (point, knobs, train) in enumerate(points[choice.name])
            for seed in grid.seeds for fold in grid.selection.folds]


def _check_points_for_selection(selection: SelectionProtocol, points: dict[str, list]) -> None:
    """`none` trains one fixed setting: a search grid with more than one point has nothing to choose
    with, so it is refused rather than silently cut to its first point."""
    crowded = {method: len(found) for method, found in points.items() if len(found) > 1}
    if not selection.selects and crowded:
        method, count = next(iter(crowded.items()))
        raise BenchError(f"--selection none trains one setting without selection, but --search gives "
                         f"{method} {count}: drop --search, give each axis one value, or pick a protocol "
                         f"that selects")


SearchPoint = tuple[tuple[str, str], ...]


def search_points(choice: MethodChoice, train: TrainConfig,
                  axes: Sequence[SearchAxis]) -> Iterator[tuple[SearchPoint, Knobs, TrainConfig]]:
    """(search point, knobs, loop settings) for every combination of the axes that apply."""
    applicable = [axis for axis in axes if axis.applies_to(choice.name)]
    spec = get_method(choice.name)
    seen: dict[str, str] = {}
    for values in itertools.product(*(axis.values for axis in applicable)):
        point = tuple((axis.target, value) for axis, value in zip(applicable, values, strict=True))
        knob_overrides = {searched_knob(target): value for target, value in point if searched_knob(target)}
        train_overrides = {target: value for target, value in point if not searched_knob(target)}
        config = spec.make_config({**dict(choice.knobs), **knob_overrides})
        knobs, point_train = tuple(sorted(config.knobs().items())), replace_train(train, train_overrides)
        setting = json.dumps([dict(knobs), dataclasses.asdict(point_train)], sort_keys=True, default=str)
        shown = ", ".join(f"{target}={value}" for target, value in point)
        if setting in seen:
            raise BenchError(f"--search: {shown} is the same setting as {seen[setting]} for {choice.name}: "
                             f"list each value once")
        seen[setting] = shown
        yield point, knobs, point_train


def check_search_axes(axes: Sequence[SearchAxis], methods: Sequence[str]) -> None:
    """Every --search target names something the grid has; errors say what does exist."""
    train_fields = sorted(field.name for field in dataclasses.fields(TrainConfig))
    for axis in axes:
        if not axis.values:
            raise BenchError(f"--search {axis.target}= lists no values: give V1,V2,...")
        if axis.target in SEARCH_ALIASES or axis.target in train_fields:
            continue
        method, _, knob_name = axis.target.partition(".")
        if not knob_name:
            raise BenchError(f"--search {axis.target}: not lr, epochs, a loop setting "
                             f"({', '.join(train_fields)}) or METHOD.KNOB")
        if method not in methods:
            raise BenchError(f"--search {axis.target}: method {method} is not in the grid "
                             f"({', '.join(methods)})")
        get_method(method).make_config({knob_name: axis.values[0]})


def replace_train(train: TrainConfig, overrides: dict[str, str]) -> TrainConfig:
    """The loop settings with string overrides parsed as each field's type."""
    if not overrides:
        return train
    from bench.core.knobs import knob_types, parse_knob_value

    types = knob_types(TrainConfig)
    values = {name: parse_knob_value("train", name, text, types[name]) for name, text in overrides.items()}
    try:
        return dataclasses.replace(train, **values)
    except BenchError as error:
        raise BenchError(f"--search: {error}") from error
