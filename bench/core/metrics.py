"""The registry of task metrics: each computes a score from integer predictions (with scikit-learn,
no hub downloads) and says which way is better and what range a score lies in. A plugin adds one
with `register_metric`; a task names its metric by registered name."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.core.registry import Registry

MetricFn = Callable[[Sequence[int], Sequence[int]], float]  # (predictions, golds) -> score


@dataclass(frozen=True)
class MetricSpec:
    name: str
    compute: MetricFn
    higher_is_better: bool = True  # selection keeps the best; a check flags a change for the worse
    bounds: tuple[float, float] = (0.0, 1.0)  # every score lies within (a fraction; a correlation may be < 0)
    description: str = ""

    def better(self, first: float, second: float) -> bool:
        """first is strictly better than second."""
        return first > second if self.higher_is_better else first < second

    def worse_by(self, baseline: float, value: float) -> float:
        """How much worse value is than baseline, in the metric's own units (negative: better)."""
        return baseline - value if self.higher_is_better else value - baseline


METRICS: Registry[MetricSpec] = Registry("metric")


def register_metric(name: str, *, higher_is_better: bool = True, bounds: tuple[float, float] = (0.0, 1.0),
                    description: str = "") -> Callable[[MetricFn], MetricFn]:
    """Decorator: register fn(predictions, golds) -> float as a task metric."""

    def register(compute: MetricFn) -> MetricFn:
        METRICS.add(name, MetricSpec(name, compute, higher_is_better, bounds, description))
        return compute

    return register


def get_metric(name: str) -> MetricSpec:
    return METRICS.get(name)


@register_metric("accuracy", description="share of examples predicted right")
def _accuracy(predictions: Sequence[int], golds: Sequence[int]) -> float:
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(golds, predictions))


@register_metric("f1", description="F1 of label index 1, the positive class (GLUE's MRPC/QQP convention)")
def _binary_f1(predictions: Sequence[int], golds: Sequence[int]) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(golds, predictions, pos_label=1, average="binary", zero_division=0.0))


@register_metric("macro_f1", description="mean of the per-class F1 scores")
def _macro_f1(predictions: Sequence[int], golds: Sequence[int]) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(golds, predictions, average="macro", zero_division=0.0))


@register_metric("matthews", bounds=(-1.0, 1.0), description="Matthews correlation (GLUE's CoLA)")
def _matthews(predictions: Sequence[int], golds: Sequence[int]) -> float:
    from sklearn.metrics import matthews_corrcoef

    return float(matthews_corrcoef(golds, predictions))


def score(metric: str, predictions: Sequence[int], golds: Sequence[int]) -> float:
    """The named metric of predictions against gold label indices."""
    spec = get_metric(metric)
    if len(predictions) != len(golds) or not golds:
        raise ValueError(f"cannot score {len(predictions)} predictions against {len(golds)} golds")
    return spec.compute(predictions, golds)
