"""Builds a cell's train and dev examples: few-shot sampling, held-out dev sets, and the selection
protocol's cut of the labelled pool (bench.core.selection)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bench.core.errors import BenchError
from bench.core.fewshot import stratified_sample
from bench.core.selection import FIXED_DEV, SelectionProtocol, check_pool, partition
from bench.core.task import Example, TaskData, TaskSpec

FULL_DEV_CAP = 1000  # dev size carved from a full train split that has no dev file


@dataclass(frozen=True)
class CellSplits:
    train: tuple[Example, ...]
    dev: tuple[Example, ...]
    eval: tuple[Example, ...]


SHOTS_SYNTAX = "a positive number, 'full' or 'default'"


def parse_shots(text: str) -> tuple[str, ...]:
    """--shots as the grid's axis: one choice or a comma-separated list (`8,16,32`), each a positive
    number, 'full' or 'default', none given twice."""
    choices = tuple(part.strip() for part in text.split(","))
    for choice in choices:
        if choice not in ("default", "full") and not (choice.isdigit() and int(choice) > 0):
            raise BenchError(f"--shots {text!r}: {choice!r} is not {SHOTS_SYNTAX} (a list: --shots 16,32,64)")
    repeated = sorted({choice for choice in choices if choices.count(choice) > 1})
    if repeated:
        raise BenchError(f"--shots {text!r} lists {', '.join(repeated)} more than once: give each value once")
    return choices


def resolve_shots(choice: str, task: TaskSpec) -> int | None:
    """'default' -> the task's default; 'full' -> None (whole train split); digits -> that many."""
    if choice == "default":
        return task.default_shots
    if choice == "full":
        return None
    if choice.isdigit() and int(choice) > 0:
        return int(choice)
    raise BenchError(f"--shots {choice!r} is not {SHOTS_SYNTAX}")


def _pick(examples: Sequence[Example], indices: Sequence[int]) -> tuple[Example, ...]:
    return tuple(examples[i] for i in indices)


def _sample(examples: Sequence[Example], n: int, seed: int) -> tuple[tuple[Example, ...], ...]:
    """(n stratified examples, the rest)."""
    chosen = stratified_sample([example.label for example in examples], n, seed=seed)
    chosen_set = set(chosen)
    rest = [i for i in range(len(examples)) if i not in chosen_set]
    return _pick(examples, chosen), _pick(examples, rest)


def check_shots(data: TaskData, shots: int | None, where: str) -> None:
    """The error make_splits would raise for this many shots, before any cell runs."""
    if shots is None:
        return
    labels = len({example.label for example in data.train})
    if shots < labels:
        raise BenchError(f"--shots {shots} is fewer than the {labels} labels of {where}: a stratified sample "
                         f"needs one example of each; pass --shots {labels} or more")
    needed = shots if data.dev is not None else 2 * shots
    if needed > len(data.train):
        what = "" if data.dev is not None else f" ({shots} train + {shots} held-out dev)"
        raise BenchError(f"--shots {shots} needs {needed} training examples{what}, {where} has "
                         f"{len(data.train)}; lower --shots or use --shots full")


def check_selection(data: TaskData, shots: int | None, selection: SelectionProtocol, where: str) -> None:
    """The error a selection protocol would raise on this cell's labelled pool, before any cell runs
    (the pool's size does not depend on the seed)."""
    if not selection.is_default:
        check_pool([example.label for example in labelled_pool(_train_and_dev(data, shots=shots, seed=0))],
                   selection, where)


def check_eval_limit(data: TaskData, limit: int, where: str) -> None:
    """The error a stratified eval sample of `limit` examples would raise, before any cell runs."""
    labels = len({example.label for example in data.eval})
    if 0 < limit < labels:
        raise BenchError(f"--eval-limit {limit} is fewer than the {labels} labels in the eval split of "
                         f"{where}: a stratified sample needs one of each; pass at least {labels}")


EVAL_LIMIT_SEED = 0  # one subset of a limited eval split for every cell and seed: their scores compare


def make_splits(data: TaskData, *, shots: int | None, seed: int, eval_limit: int = 0,
                selection: SelectionProtocol = FIXED_DEV, fold: int | None = None) -> CellSplits:
    """Train: `shots` examples stratified by label (all when None). Dev: the task's dev split,
    or, when it has none, as many held-out train examples as train has (capped for full data).
    Other selection protocols re-cut that train + dev pool for their fold (selection.partition).
    Eval: the task's eval split, or `eval_limit` of its examples (a fixed stratified sample)."""
    splits = _train_and_dev(data, shots=shots, seed=seed)
    if not selection.is_default:
        splits = recut(splits, selection, fold=fold, seed=seed)
    if 0 < eval_limit < len(data.eval):
        eval_examples = _pick(data.eval, sorted(stratified_sample([example.label for example in data.eval],
                                                                  eval_limit, seed=EVAL_LIMIT_SEED)))
        return CellSplits(splits.train, splits.dev, eval_examples)
    return splits


def labelled_pool(splits: CellSplits) -> tuple[Example, ...]:
    """The labelled examples a cell may learn and select from: its train and dev sets, never eval."""
    return splits.train + splits.dev


def recut(splits: CellSplits, selection: SelectionProtocol, *, fold: int | None, seed: int) -> CellSplits:
    """The protocol's train and dev for one fold, cut from the fixed protocol's train + dev pool."""
    pool = labelled_pool(splits)
    labels = [example.label for example in pool]
    check_pool(labels, selection, "the cell")
    train, dev = partition(labels, selection, fold=fold, seed=seed)
    return CellSplits(_pick(pool, train), _pick(pool, dev), splits.eval)


def _train_and_dev(data: TaskData, *, shots: int | None, seed: int) -> CellSplits:
    check_shots(data, shots, "the train split")
    if data.dev is not None:
        whole = shots is None or shots == len(data.train)
        train = data.train if whole else _sample(data.train, shots, seed)[0]
        return CellSplits(train, data.dev, data.eval)
    if shots is None:
        dev_size = min(FULL_DEV_CAP, max(1, len(data.train) // 10))
        dev, train = _sample(data.train, dev_size, seed)
        return CellSplits(train, dev, data.eval)
    train, rest = _sample(data.train, shots, seed)
    dev, _ = _sample(rest, shots, seed + 1)
    return CellSplits(train, dev, data.eval)


def majority_label(examples: Sequence[Example]) -> int:
    """The most frequent label (lowest index on ties)."""
    counts = Counter(example.label for example in examples)
    return min(counts, key=lambda label: (-counts[label], label))
