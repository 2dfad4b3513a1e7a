"""How often a table's ranking survives resampling: from joint bootstrap replicates of every method's
mean (reports.resampling), the share in which the observed best stays strictly best, the share in which
the whole observed order holds, and per adjacent pair of that order the share keeping it (a tie counts
half, as a coin would break it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RankStability:
    order: tuple[str, ...]  # by observed mean, best first
    resamples: int
    top_holds: float  # share of replicates in which order[0] has the strictly highest mean
    order_holds: float  # share in which every adjacent pair keeps its order strictly
    adjacent_holds: tuple[float, ...]  # per (order[i], order[i + 1]): share with order[i] ahead
    text: str


def rank_stability(names: Sequence[str], means: np.ndarray, replicates: np.ndarray) -> RankStability | None:
    """Stability of the order of `means` (one per name) over replicates (resamples x names); None for
    fewer than two names."""
    if len(names) < 2:
        return None
    ranked = np.argsort(-np.asarray(means), kind="stable")
    columns = replicates[:, ranked]
    gaps = columns[:, :-1] - columns[:, 1:]
    adjacent = (gaps > 0).mean(axis=0) + 0.5 * (gaps == 0).mean(axis=0)
    top = float((columns[:, :1] > columns[:, 1:]).all(axis=1).mean())
    whole = float((gaps > 0).all(axis=1).mean())
    order = tuple(names[index] for index in ranked)
    text = stability_text(order, top, whole, adjacent, len(replicates))
    return RankStability(order, len(replicates), top, whole, tuple(float(share) for share in adjacent), text)


def stability_text(order: Sequence[str], top: float, whole: float, adjacent: np.ndarray,
                   resamples: int) -> str:
    """One sentence: how often the best stays best, the whole order holds, and the shakiest neighbours."""
    sentence = f"{order[0]} ranks first in {top:.0%} of {resamples} bootstrap resamples"
    if len(order) == 2:
        return sentence + "."
    weakest = int(np.argmin(adjacent))
    return (f"{sentence}; the whole order holds in {whole:.0%}, and the least settled neighbours are "
            f"{order[weakest]} and {order[weakest + 1]} ({order[weakest]} ahead in {adjacent[weakest]:.0%}).")
