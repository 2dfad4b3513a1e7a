"""The one guard on every path by which unlabelled text enters training (PCP's texts, hard_prompt's
auxiliary MLM texts, the masked-LM stage's texts): a text equal to a dev or eval text of the task never
trains. Texts are compared Unicode-normalised (NFKC), case-folded and without punctuation or
whitespace: FewCLUE's unlabelled files repeat test sentences with more or fewer full stops."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bench.core.errors import BenchError
from bench.core.splits import CellSplits

if TYPE_CHECKING:
    from torch import nn

Texts = tuple[str, ...]  # one value per text field of the task (a line of a text file: one value)


def normalised(text: str) -> str:
    """The form two texts are compared in: NFKC, case-folded, punctuation and whitespace removed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(char for char in folded if not (char.isspace() or unicodedata.category(char)[0] in "PZ"))


def _keys(fields: Sequence[str]) -> set[str]:
    """Each field alone and all of them together: a pair's sentence seen alone is still seen."""
    parts = [normalised(field) for field in fields]
    return {key for key in (*parts, "".join(parts)) if key}


@dataclass(frozen=True)
class HeldOut:
    """The normalised texts a guard keeps out of training, and a few words on whose they are."""

    keys: frozenset[str]
    what: str  # "dev and eval texts of eprstmt"

    @classmethod
    def of(cls, rows: Iterable[Sequence[str]], what: str) -> HeldOut:
        return cls(frozenset(key for fields in rows for key in _keys(fields)), what)

    def holds(self, fields: Sequence[str]) -> bool:
        """Whether the text, or one of its fields, equals a held-out text or field."""
        return not self.keys.isdisjoint(_keys(fields))


@dataclass(frozen=True)
class Guarded:
    """The texts that may train, and how many the guard dropped."""

    kept: list[Texts]
    read: int
    dropped: int
    against: str

    def sentence(self) -> str:
        """The card's words for it."""
        return (f"{self.dropped} of {self.read} unlabelled texts dropped as equal to a {self.against} "
                f"(compared NFKC-normalised, case-folded, without punctuation and whitespace)")

    def facts(self) -> dict:
        return {"texts_read": self.read, "dropped_equal_to_dev_or_eval": self.dropped,
                "guarded_against": self.against}


def drop_held_out(rows: Sequence[Texts], held_out: HeldOut) -> Guarded:
    """The rows that equal no held-out text, in order."""
    kept = [tuple(fields) for fields in rows if not held_out.holds(fields)]
    return Guarded(kept, len(rows), len(rows) - len(kept), held_out.what)


def cell_held_out(splits: CellSplits) -> HeldOut:
    """A cell's dev and eval texts: what it selects on and is scored on."""
    return HeldOut.of((example.texts for example in (*splits.dev, *splits.eval)),
                      "dev or eval text of the cell")


@runtime_checkable
class TakesUnlabelled(Protocol):
    """A module of a built method that trains on unlabelled texts; it draws none before `exclude`."""

    def exclude(self, held_out: HeldOut) -> Guarded:
        """Drop the held-out texts; then (only then) the module may train on the rest."""


def guard_unlabelled(model: nn.Module, held_out: HeldOut) -> int | None:
    """Run the guard on every module of the model that takes unlabelled texts: how many texts it
    dropped, None when the model takes none."""
    counts = [module.exclude(held_out).dropped for module in model.modules()
              if isinstance(module, TakesUnlabelled)]
    return sum(counts) if counts else None


def require_some(guarded: Guarded, source: str) -> None:
    """A one-line error when the guard leaves nothing to train on."""
    if not guarded.kept:
        raise BenchError(f"all {guarded.read} texts of {source} equal a {guarded.against}: pass unlabelled "
                         f"texts that are not the task's dev or eval texts")
