"""Task metrics on integer predictions, computed with scikit-learn (no hub downloads)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from bench.core.task import Metric

MetricFn = Callable[[Sequence[int], Sequence[int]], float]


def _accuracy(predictions: Sequence[int], golds: Sequence[int]) -> float:
    return float(accuracy_score(golds, predictions))


def _binary_f1(predictions: Sequence[int], golds: Sequence[int]) -> float:
    """F1 of label index 1 (the positive class), GLUE's MRPC/QQP convention."""
    return float(f1_score(golds, predictions, pos_label=1, average="binary", zero_division=0.0))


def _macro_f1(predictions: Sequence[int], golds: Sequence[int]) -> float:
    return float(f1_score(golds, predictions, average="macro", zero_division=0.0))


def _matthews(predictions: Sequence[int], golds: Sequence[int]) -> float:
    return float(matthews_corrcoef(golds, predictions))


METRIC_FUNCTIONS: dict[Metric, MetricFn] = {Metric.ACCURACY: _accuracy, Metric.F1: _binary_f1,
                                            Metric.MACRO_F1: _macro_f1, Metric.MATTHEWS: _matthews}


def score(metric: Metric | str, predictions: Sequence[int], golds: Sequence[int]) -> float:
    """The named metric of predictions against gold label indices."""
    if len(predictions) != len(golds) or not golds:
        raise ValueError(f"cannot score {len(predictions)} predictions against {len(golds)} golds")
    return METRIC_FUNCTIONS[Metric(metric)](predictions, golds)
