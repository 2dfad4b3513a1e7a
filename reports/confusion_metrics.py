"""A task metric on many resamples of one run's examples at once. The bootstraps of reports.ranking
score thousands of resamples, which scikit-learn, one call each, would take minutes for: the built-in
metrics are computed from weighted confusion counts instead, each agreeing with bench.core.metrics.score
on the same predictions (tests/test_ranking.py); a metric a plugin registered is computed by its own
function, one resample at a time."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.core.metrics import get_metric


def outcome_codes(golds: Sequence[int], predictions: Sequence[int], n_labels: int) -> np.ndarray:
    """One integer per example naming its confusion cell: gold x n_labels + prediction."""
    return np.asarray(golds, dtype=np.int64) * n_labels + np.asarray(predictions, dtype=np.int64)


def confusion_counts(codes: np.ndarray, weights: np.ndarray, n_labels: int) -> np.ndarray:
    """Confusion matrices (resamples x gold x prediction) of one run's examples, each example counted
    as often as its weight in that resample (weights: resamples x examples)."""
    cells = np.zeros((codes.size, n_labels * n_labels))
    cells[np.arange(codes.size), codes] = 1.0
    return (weights @ cells).reshape(weights.shape[0], n_labels, n_labels)


def resampled_scores(metric: str, codes: np.ndarray, weights: np.ndarray, n_labels: int) -> np.ndarray:
    """The metric on each resample (one per row of weights: how often each example is drawn)."""
    if metric in _METRICS:
        return metric_of_counts(metric, confusion_counts(codes, weights, n_labels))
    compute = get_metric(metric).compute
    golds, predictions = np.divmod(codes, n_labels)
    drawn = [np.repeat(np.arange(codes.size), row.astype(np.int64)) for row in weights]
    return np.array([compute(predictions[rows].tolist(), golds[rows].tolist()) for rows in drawn])


def metric_of_counts(metric: str, counts: np.ndarray) -> np.ndarray:
    """The metric of each confusion matrix (resamples x gold x prediction), as bench.core.metrics
    defines it: F1 of label index 1, macro F1 over the labels seen as gold or prediction, and an
    undefined ratio (no positives, one class only) scored 0 as scikit-learn's zero_division=0 does."""
    return _METRICS[metric](np.asarray(counts, dtype=float))


def _accuracy(counts: np.ndarray) -> np.ndarray:
    return np.trace(counts, axis1=1, axis2=2) / counts.sum(axis=(1, 2))


def _class_f1(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per class F1 (resamples x labels) and whether the class was seen at all (its denominator)."""
    hits = np.diagonal(counts, axis1=1, axis2=2)
    denominator = counts.sum(axis=2) + counts.sum(axis=1)  # 2 tp + fn + fp
    f1 = np.divide(2 * hits, denominator, out=np.zeros_like(hits), where=denominator > 0)
    return f1, denominator > 0


def _binary_f1(counts: np.ndarray) -> np.ndarray:
    return _class_f1(counts)[0][:, 1]


def _macro_f1(counts: np.ndarray) -> np.ndarray:
    f1, seen = _class_f1(counts)
    return (f1 * seen).sum(axis=1) / np.maximum(seen.sum(axis=1), 1)


def _matthews(counts: np.ndarray) -> np.ndarray:
    total = counts.sum(axis=(1, 2))
    correct = np.trace(counts, axis1=1, axis2=2)
    gold, predicted = counts.sum(axis=2), counts.sum(axis=1)
    numerator = correct * total - (gold * predicted).sum(axis=1)
    denominator = np.sqrt((total**2 - (predicted**2).sum(axis=1)) * (total**2 - (gold**2).sum(axis=1)))
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


_METRICS = {"accuracy": _accuracy, "f1": _binary_f1, "macro_f1": _macro_f1, "matthews": _matthews}
