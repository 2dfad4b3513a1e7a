"""Holm's correction and the compact letter display that turns pairwise decisions into groups."""

from __future__ import annotations

import string
from collections.abc import Hashable, Sequence

Pair = tuple[Hashable, Hashable]


def holm(p_values: dict[Pair, float]) -> dict[Pair, float]:
    """Holm-adjusted p-values: the k-th smallest of m is multiplied by (m - k + 1), made monotone and
    capped at 1. A pair whose adjusted p is below alpha differs with family-wise error at most alpha."""
    ordered = sorted(p_values, key=lambda pair: p_values[pair])
    adjusted, running = {}, 0.0
    for rank, pair in enumerate(ordered):
        running = max(running, min(1.0, (len(ordered) - rank) * p_values[pair]))
        adjusted[pair] = running
    return adjusted


def compact_letters(order: Sequence[Hashable], different: set[frozenset]) -> dict[Hashable, str]:
    """Letters per item, such that two items share a letter exactly when they are not in `different`.

    Insert and absorb: start from one group holding every item; for each differing pair, every group
    holding both is replaced by two copies, one without each; a group inside another is dropped. Groups
    are lettered a, b, ... by their first item in `order` (best first), so the best item has `a`."""
    groups = [frozenset(order)]
    for pair in different:
        first, second = tuple(pair)
        split = []
        for group in groups:
            split += [group - {first}, group - {second}] if pair <= group else [group]
        groups = [group for group in set(split) if group and not any(group < other for other in split)]
    position = {item: index for index, item in enumerate(order)}
    groups.sort(key=lambda group: sorted(position[item] for item in group))
    names = _letter_names(len(groups))
    return {item: "".join(name for name, group in zip(names, groups, strict=True) if item in group)
            for item in order}


def _letter_names(count: int) -> list[str]:
    """a..z, then aa, ab, ... (a table of more than 26 distinguishable groups is rare)."""
    letters = string.ascii_lowercase
    return [letters[index] if index < 26 else letters[index // 26 - 1] + letters[index % 26]
            for index in range(count)]
