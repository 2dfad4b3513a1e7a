"""A run spec resolved: every name, knob, number, seed, split and the model checked, and the grid of
cells it stands for, before anything is written or trained."""

from __future__ import annotations

from pathlib import Path

from bench.core.errors import BenchError
from bench.session.grammar import config_from_values, merge_shorthands, parse_overrides, parse_search
from bench.session.spec import DEFAULT_TASK, RunSpec


def build_grid(spec: RunSpec, *, gpus_elsewhere: bool = False):
    """The grid, with everything checkable before the first cell checked (one-line errors); the
    plugins are loaded already. gpus_elsewhere: the executor's cells reserve GPUs on other machines."""
    from bench.core.method import get_method
    from bench.training.cells import Grid, check_search_axes, method_choice
    from bench.training.settings import TrainConfig

    tasks = _tasks(spec)
    train = config_from_values(TrainConfig, dict(spec.train))
    method_names = method_names_of(spec.methods, zero_shot=train.zero_shot)
    overrides = parse_overrides(spec.knobs)
    for method in overrides:
        get_method(method)
        if method not in method_names:
            raise BenchError(f"--set names method {method}, which is not in the grid "
                             f"({', '.join(method_names)}): add it to --methods or drop the --set")
    shorthands = {"learning_rate": spec.lr, "epochs": spec.epochs}
    knobs = merge_shorthands(overrides, method_names, shorthands=shorthands)
    choices = tuple(method_choice(name, knobs.get(name)) for name in method_names)
    search = search_axes(spec.search, method_names)
    check_search_axes(search, method_names)
    _check_splits(tasks, spec.split or "default")
    grid = Grid(tasks=tasks, methods=choices, model=model_of(spec.model, tasks), seeds=seeds_of(spec.seeds),
                shots=shots_of(spec.shots), splits=spec.split or "default", train=train, search=search,
                runtime=runtime_of(spec, gpus_elsewhere=gpus_elsewhere), selection=selection_of(spec))
    from bench.training.compatibility import check_model_for_grid

    check_model_for_grid(grid.model, method_names, max_length=grid.train.max_length,
                         zero_shot=grid.train.zero_shot)
    return grid


def search_axes(items, method_names: list[str]) -> tuple:
    """The search axes: KNOB=V1,V2 items, and named search spaces expanded to each method's own axes."""
    from bench.training.cells import SearchAxis
    from bench.training.search_spaces import named_search

    axes = []
    for target, values in parse_search(items):
        if values:
            axes.append(SearchAxis(target, values))
            continue
        axes.extend(named_search(target, method_names))
    targets = [axis.target for axis in axes]
    twice = sorted({target for target in targets if targets.count(target) > 1})
    if twice:
        raise BenchError(f"--search gives {', '.join(twice)} twice (a search space names it too): give it "
                         f"once")
    return tuple(axes)


def selection_of(spec: RunSpec):
    """The selection protocol (fixed dev when the spec names none)."""
    from bench.core.selection import FIXED_DEV, SelectionProtocol

    return FIXED_DEV if spec.selection is None else SelectionProtocol.parse(spec.selection)


def _tasks(spec: RunSpec) -> tuple:
    from bench.core.task import get_task
    from tasks.dialect import load_task_file

    from_files = [task for path in spec.task_files for task in load_task_file(Path(path))]  # registers them
    if spec.tasks is None:  # the files' tasks, else the default
        return tuple(from_files) if from_files else (get_task(DEFAULT_TASK),)
    if not spec.tasks:
        raise BenchError("--tasks is empty: name at least one task (`run_bench.py list` shows them)")
    return tuple(dict.fromkeys(get_task(name) for name in spec.tasks))


def method_names_of(names: tuple[str, ...] | None, *, zero_shot: bool = False) -> list[str]:
    """The grid's methods (None: all); with zero_shot, all means every method with a zero-shot form,
    and a named method without one is refused."""
    from bench.core.method import METHODS, get_method

    if names is None or tuple(names) == ("all",):
        return [name for name in METHODS.names()
                if METHODS.get(name).available and (METHODS.get(name).zero_shot or not zero_shot)]
    names = list(dict.fromkeys(names))
    if not names:
        raise BenchError("--methods is empty: name at least one method, or 'all'")
    for name in names:
        get_method(name).require_available()
    without = [name for name in names if zero_shot and not get_method(name).zero_shot]
    if without:
        having = ", ".join(name for name in METHODS.names() if METHODS.get(name).zero_shot)
        raise BenchError(f"--zero-shot: {', '.join(without)} has no zero-shot form (it must train before it "
                         f"predicts anything meaningful); methods with one: {having}")
    return names


def seeds_of(values: tuple[str, ...] | None) -> tuple[int, ...]:
    values = values if values is not None else ("42",)
    text = ",".join(values)
    try:
        seeds = tuple(int(seed) for seed in values)
    except ValueError as error:
        raise BenchError(f"--seeds {text!r} must be comma-separated integers") from error
    if not seeds or any(seed < 0 for seed in seeds) or len(set(seeds)) != len(seeds):
        raise BenchError(f"--seeds {text!r} must list distinct non-negative integers, at least one")
    if max(seeds) >= 2**32:  # numpy's generators, which samplers seed, take 32 bits
        raise BenchError(f"--seeds {text!r}: a seed must be below 2**32 = 4294967296")
    return seeds


def shots_of(values: tuple[str, ...] | None):
    """The training sizes: each a positive number, 'full' or 'default'; one value, or several as an axis."""
    values = values if values is not None else ("default",)
    if not values:
        raise BenchError("--shots '' is not a positive number, 'full' or 'default'")
    for value in values:
        if not (value in ("default", "full") or (value.isdigit() and int(value) > 0)):
            raise BenchError(f"--shots {value!r} is not a positive number, 'full' or 'default'")
    if len(set(values)) != len(values):
        raise BenchError(f"--shots {','.join(values)} lists a value twice: list each once")
    return values[0] if len(values) == 1 else tuple(values)


def _check_splits(tasks: tuple, choice: str) -> None:
    from bench.training.cells import task_splits

    if choice not in ("default", "all") and not any(task.splits for task in tasks):
        names = ", ".join(task.name for task in tasks)
        raise BenchError(f"--split {choice}: none of the tasks ({names}) has official splits; drop --split")
    for task in tasks:
        task_splits(task, choice)


def model_of(value: str | None, tasks: tuple):
    from bench.core.models import DEFAULT_MODEL, resolve_model, with_fingerprint

    if value is None:
        value = "multilingual-e5-small" if any(task.language == "zh" for task in tasks) else DEFAULT_MODEL
    return with_fingerprint(resolve_model(value))


def runtime_of(spec: RunSpec, *, gpus_elsewhere: bool = False):
    """Where and in which precision the cells run, resolved here (a missing GPU or bf16 fails once)."""
    from bench.core.device import Runtime

    return Runtime.resolve(spec.device, precision=spec.precision, gpus_elsewhere=gpus_elsewhere)
