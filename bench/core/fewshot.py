"""Few-shot sampling: N examples in total, or k folds, stratified by label, deterministic for a seed."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Sequence


def allocate_quotas(n: int, label_counts: dict[int, int]) -> dict[int, int]:
    """Split n over labels in proportion to their counts (largest remainder).

    Every label present gets at least one example when n allows it; no quota exceeds its count.
    """
    total = sum(label_counts.values())
    if n >= total:
        return dict(label_counts)
    labels = sorted(label_counts)
    exact = {label: n * label_counts[label] / total for label in labels}
    quotas = {label: math.floor(exact[label]) for label in labels}
    if n >= len(labels):
        quotas = {label: max(1, quota) for label, quota in quotas.items()}
    by_remainder = sorted(labels, key=lambda label: (quotas[label] - exact[label], label))
    while sum(quotas.values()) < n:
        for label in by_remainder:
            if sum(quotas.values()) < n and quotas[label] < label_counts[label]:
                quotas[label] += 1
    while sum(quotas.values()) > n:  # the at-least-one rule can overshoot: take from the largest
        largest = max(labels, key=lambda label: (quotas[label], -label))
        quotas[largest] -= 1
    return quotas


def stratified_sample(labels: Sequence[int], n: int, *, seed: int) -> list[int]:
    """Indices of n examples drawn label-stratified; the same seed gives the same indices."""
    by_label: dict[int, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_label[label].append(index)
    quotas = allocate_quotas(n, {label: len(indices) for label, indices in by_label.items()})
    rng = random.Random(seed)
    chosen: list[int] = []
    for label in sorted(by_label):
        chosen.extend(rng.sample(by_label[label], quotas[label]))
    rng.shuffle(chosen)
    return chosen


def stratified_folds(labels: Sequence[int], k: int, *, seed: int) -> list[list[int]]:
    """Indices dealt into k folds of sizes that differ by at most one, each label spread over the folds
    as evenly as it can be; the same seed gives the same folds."""
    by_label: dict[int, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_label[label].append(index)
    rng = random.Random(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    dealt = 0  # the deal goes on across labels, so the folds stay balanced in size
    for label in sorted(by_label):
        members = by_label[label]
        rng.shuffle(members)
        for index in members:
            folds[dealt % k].append(index)
            dealt += 1
    return folds
