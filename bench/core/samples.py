"""Per-example outputs of a cell's final evaluation (`--log-samples`): one gzip'd JSON-lines file per
cell, `<out>/samples/<cell_id>.jsonl.gz`, read back by `compare` for tests on shared examples."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.core.errors import BenchError
from bench.core.store import write_atomically
from bench.core.task import Example

SAMPLES_DIR = "samples"
SUFFIX = ".jsonl.gz"
TEXT_SEPARATOR = " ||| "


@dataclass(frozen=True)
class Sample:
    """One eval example as the cell saw it: its position, a content id, gold, prediction, its text."""

    index: int
    id: str  # a hash of the example's texts: the same example has the same id in every cell
    gold: str
    prediction: str
    probabilities: dict[str, float]  # per class (label-word scores already mapped to classes)
    text: str = ""  # the example's fields joined by TEXT_SEPARATOR, for reading a cell's errors

    @property
    def correct(self) -> bool:
        return self.gold == self.prediction


def samples_path(samples_dir: Path, cell_id: str) -> Path:
    """A cell id's slashes become folders: samples/<task>/<method>/.../<digest>.jsonl.gz."""
    return Path(samples_dir) / f"{cell_id}{SUFFIX}"


def example_id(example: Example) -> str:
    return hashlib.sha1("\x1f".join(example.texts).encode("utf-8")).hexdigest()[:12]


def make_samples(examples: Sequence[Example], predictions: Sequence[int],
                 probabilities: Sequence[Sequence[float]], labels: Sequence[str]) -> list[Sample]:
    return [Sample(index, example_id(example), labels[example.label], labels[predicted],
                   {label: round(float(p), 6) for label, p in zip(labels, probs, strict=True)},
                   TEXT_SEPARATOR.join(example.texts))
            for index, (example, predicted, probs) in enumerate(zip(examples, predictions, probabilities,
                                                                    strict=True))]


def write_samples(path: Path, samples: Sequence[Sample]) -> None:
    """Written whole or not at all (a temporary file renamed over the target)."""
    lines = "".join(json.dumps(vars(sample), ensure_ascii=False) + "\n" for sample in samples)
    write_atomically(path, gzip.compress(lines.encode("utf-8"), mtime=0))


def read_samples(path: Path) -> list[Sample]:
    """A cell's samples; a file that is not one (corrupt, cut short, other fields) is a one-line error."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as stream:
            return [Sample(**json.loads(line)) for line in stream if line.strip()]
    except (OSError, EOFError, UnicodeDecodeError, ValueError, TypeError) as error:
        raise BenchError(f"samples file {path} is unreadable ({type(error).__name__}): delete it and run its "
                         f"cell again with --log-samples --rerun") from error
