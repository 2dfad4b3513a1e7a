"""Model-selection protocols as data: how a cell's labelled pool is cut into train and dev, how many
models a run trains, and how a run's dev and eval scores are formed. FewNLU (Zheng et al., ACL 2022;
THUDM/FewNLU's `--few_shot_setting`) names the settings followed here.

The labelled pool of a cell is every labelled example the fixed-dev protocol reads: the sampled train
examples and the dev set (the task's dev file, or the held-out dev sampled from train). Every protocol
spends that same budget; the eval set is never in it.

- fixed (FewNLU `dev32_setting`): train and dev as given; one model, selected on dev.
- multisplit:K:R (`dev32_split`): K random re-splits of the pool, R of it (stratified) to train and
  the rest to dev, each with its own seed; K models per grid point.
- cv:K (`cross_validation`): the pool dealt into K stratified folds; model k trains on the other
  folds and is scored on fold k.
- mdl:K (`mdl`): the pool is halved (stratified); the second half is dealt into K blocks; model k
  trains on the first half and blocks 0..k-1 and is scored on block k.
- none (`fix_setting`): one model trained on the whole pool with fixed settings for the fixed budget;
  no dev set, no early stopping, no search.

Selection and reporting (reports.aggregate): a grid point's dev score for a run (seed and split) is
the mean dev score of its K models; the point with the best mean is selected; the run's eval score is
the mean eval score of the selected point's K models (FewNLU reports the test mean of the K models
trained with the selected hyper-parameters; no model is retrained on the whole pool afterwards).
For MDL, FewNLU's toolkit ranks on the dev metric of the blocks, as done here; the prequential
codelength (a sum of log-losses over the blocks) would need the loop to report a dev loss, which it
does not, so the blocks' mean metric stands in for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bench.core.errors import BenchError
from bench.core.fewshot import stratified_folds, stratified_sample

DEFAULT_FOLDS = 4  # FewNLU's cv_k, also its number of Multi-Splits and MDL blocks
DEFAULT_RATIO = 0.5  # FewNLU's split_ratio: the share of the pool that trains in a Multi-Split
SYNTAX = "fixed, none, multisplit[:K[:RATIO]], cv[:K] or mdl[:K]"


class SelectionKind(StrEnum):
    FIXED_DEV = "fixed"
    MULTI_SPLITS = "multisplit"
    CV = "cv"
    MDL = "mdl"
    NONE = "none"


_FOLDED = (SelectionKind.MULTI_SPLITS, SelectionKind.CV, SelectionKind.MDL)


@dataclass(frozen=True)
class SelectionProtocol:
    """A selection protocol; `k` is the number of models a run trains per grid point (1 for fixed and
    none), `ratio` the train share of a Multi-Split (None for the others)."""

    kind: SelectionKind = SelectionKind.FIXED_DEV
    k: int = 1
    ratio: float | None = None

    def __post_init__(self) -> None:
        folded = self.kind in _FOLDED
        least = 1 if self.kind == SelectionKind.MULTI_SPLITS else 2
        if folded and self.k < least:
            raise BenchError(f"selection {self.kind.value}:{self.k}: K must be at least {least}")
        if not folded and self.k != 1:
            raise BenchError(f"selection {self.kind.value} takes no K (it trains one model per run)")
        if (self.ratio is not None) != (self.kind == SelectionKind.MULTI_SPLITS):
            raise BenchError(f"selection {self.kind.value}: only multisplit takes a ratio")
        if self.ratio is not None and not 0 < self.ratio < 1:
            raise BenchError(f"selection multisplit ratio {self.ratio} must lie strictly between 0 and 1")

    @classmethod
    def parse(cls, text: str) -> SelectionProtocol:
        """`fixed`, `none`, `multisplit[:K[:RATIO]]`, `cv[:K]` or `mdl[:K]` (K defaults to 4, RATIO
        to 0.5, as in FewNLU)."""
        name, *numbers = text.strip().lower().split(":")
        try:
            kind = SelectionKind(name)
        except ValueError:
            raise BenchError(f"selection {text!r} is not one of {SYNTAX}") from None
        most = {SelectionKind.MULTI_SPLITS: 2, SelectionKind.CV: 1, SelectionKind.MDL: 1}.get(kind, 0)
        if len(numbers) > most:
            raise BenchError(f"selection {text!r}: {kind.value} takes at most {most} number(s) ({SYNTAX})")
        try:
            k = int(numbers[0]) if numbers else (DEFAULT_FOLDS if kind in _FOLDED else 1)
            ratio = float(numbers[1]) if len(numbers) > 1 else None
        except ValueError:
            raise BenchError(f"selection {text!r}: K must be an integer, RATIO a number ({SYNTAX})") from None
        if kind == SelectionKind.MULTI_SPLITS and ratio is None:
            ratio = DEFAULT_RATIO
        return cls(kind, k, ratio)

    @property
    def text(self) -> str:
        """The canonical spelling (what records store and `parse` reads back)."""
        if self.kind == SelectionKind.MULTI_SPLITS:
            return f"{self.kind.value}:{self.k}:{self.ratio:g}"
        return f"{self.kind.value}:{self.k}" if self.kind in _FOLDED else self.kind.value

    def __str__(self) -> str:
        return self.text

    @property
    def is_default(self) -> bool:
        return self.kind == SelectionKind.FIXED_DEV

    @property
    def selects(self) -> bool:
        """Whether a run has a dev score to choose among grid points with (all but none)."""
        return self.kind != SelectionKind.NONE

    @property
    def folds(self) -> tuple[int | None, ...]:
        """The fold of each model a run trains per grid point: None for fixed and none."""
        return tuple(range(self.k)) if self.kind in _FOLDED else (None,)

    def describe(self) -> str:
        """A report heading's words for the protocol."""
        if self.kind == SelectionKind.MULTI_SPLITS:
            return (f"Multi-Splits ({self.k} random splits of the labelled pool, {self.ratio:.0%} train / "
                    f"{1 - self.ratio:.0%} dev; eval: mean of the selected setting's {self.k} models)")
        if self.kind == SelectionKind.CV:
            return f"{self.k}-fold cross-validation (eval: mean of the selected setting's {self.k} models)"
        if self.kind == SelectionKind.MDL:
            return (f"MDL (half the labelled pool, then {self.k} blocks added one by one; eval: mean of the "
                    f"selected setting's {self.k} models)")
        if self.kind == SelectionKind.NONE:
            return "no selection (fixed settings, trained on the whole labelled pool, last step kept)"
        return "fixed dev set"


FIXED_DEV = SelectionProtocol()


def check_pool(labels: Sequence[int], protocol: SelectionProtocol, where: str) -> None:
    """The error `partition` would meet on a pool this small, before any cell runs: every fold needs a
    non-empty train and dev set."""
    n = len(labels)
    sizes = {SelectionKind.CV: (n - -(-n // protocol.k), n // protocol.k),
             SelectionKind.MDL: (n // 2, (n - n // 2) // protocol.k),
             SelectionKind.MULTI_SPLITS: (int(n * (protocol.ratio or 0)), n - int(n * (protocol.ratio or 0))),
             SelectionKind.NONE: (n, 1)}.get(protocol.kind, (1, 1))
    if min(sizes) < 1:
        raise BenchError(f"selection {protocol.text} cannot split the {n} labelled examples of {where} into "
                         f"non-empty train and dev sets: raise --shots or lower K")


def partition(labels: Sequence[int], protocol: SelectionProtocol, *, fold: int | None,
              seed: int) -> tuple[list[int], list[int]]:
    """(train, dev) indices into a labelled pool for one fold, stratified by label, the same for the
    same seed and fold. fixed keeps the pool's own train/dev cut, so it is not partitioned here."""
    kind = protocol.kind
    if kind == SelectionKind.FIXED_DEV:
        raise ValueError("the fixed dev protocol keeps the task's own train/dev cut")
    if kind == SelectionKind.NONE:
        return list(range(len(labels))), []
    if fold is None or not 0 <= fold < protocol.k:
        raise ValueError(f"fold {fold} is not one of {protocol.text}'s {protocol.k} folds")
    if kind == SelectionKind.MULTI_SPLITS:
        assert protocol.ratio is not None
        size = int(len(labels) * protocol.ratio)
        train = stratified_sample(labels, size, seed=fold_seed(protocol, seed, fold))
        return sorted(train), sorted(set(range(len(labels))) - set(train))
    if kind == SelectionKind.CV:
        folds = stratified_folds(labels, protocol.k, seed=fold_seed(protocol, seed))
        return sorted(i for k, part in enumerate(folds) if k != fold for i in part), sorted(folds[fold])
    base = stratified_sample(labels, len(labels) // 2, seed=fold_seed(protocol, seed))
    rest = sorted(set(range(len(labels))) - set(base))
    blocks = stratified_folds([labels[i] for i in rest], protocol.k, seed=fold_seed(protocol, seed) + 1)
    earlier = [rest[i] for block in blocks[:fold] for i in block]
    return sorted([*base, *earlier]), sorted(rest[i] for i in blocks[fold])


def fold_seed(protocol: SelectionProtocol, seed: int, fold: int | None = None) -> int:
    """A sampling seed per protocol, cell seed (and fold), stable across processes and machines, so
    that the splits of one seed differ from another seed's and from the fixed protocol's draws."""
    key = f"{protocol.kind.value}/{seed}" + ("" if fold is None else f"/{fold}")
    return int(hashlib.sha1(key.encode()).hexdigest()[:12], 16)
