import math

import pytest

from bench.core.errors import BenchError
from bench.core.metrics import METRICS, register_metric, score
from bench.core.task import TASKS


def test_metrics_on_hand_made_predictions():
    golds = [1, 1, 0, 0, 1]
    predictions = [1, 0, 0, 1, 1]
    assert score("accuracy", predictions, golds) == pytest.approx(3 / 5)
    # positive class: tp=2, fp=1, fn=1 -> precision = recall = 2/3
    assert score("f1", predictions, golds) == pytest.approx(2 / 3)
    # tp=2, tn=1, fp=1, fn=1 -> (2*1 - 1*1) / sqrt(3*3*2*2)
    assert score("matthews", predictions, golds) == pytest.approx(1 / 6)
    assert score("macro_f1", [0, 1, 2], [0, 1, 1]) == pytest.approx((1 + 2 / 3 + 0) / 3)


def test_perfect_and_constant_predictions():
    assert score("matthews", [0, 1, 0], [0, 1, 0]) == pytest.approx(1.0)
    assert math.isclose(score("matthews", [1, 1, 1], [0, 1, 0]), 0.0)


def test_every_metric_name_has_a_function_and_every_tasks_metric_scores_its_own_labels():
    assert {TASKS.get(name).metric for name in TASKS} <= set(METRICS)
    for name in TASKS:
        task = TASKS.get(name)
        golds = [label % task.n_labels for label in range(2 * task.n_labels)]
        assert score(task.metric, golds, golds) == pytest.approx(1.0), name  # perfect is the maximum
        wrong = [(label + 1) % task.n_labels for label in golds]
        assert score(task.metric, wrong, golds) < 0.5, name
    with pytest.raises(BenchError, match="unknown metric 'bleu'"):
        score("bleu", [1], [1])


def test_a_plugin_metric_carries_its_direction_and_a_task_can_name_it():
    @register_metric("error_rate", higher_is_better=False, description="share predicted wrong")
    def error_rate(predictions, golds):
        return sum(p != g for p, g in zip(predictions, golds, strict=True)) / len(golds)

    try:
        spec = METRICS.get("error_rate")
        assert score("error_rate", [1, 0], [1, 1]) == pytest.approx(0.5)
        assert spec.better(0.1, 0.2) and not spec.better(0.2, 0.1)
        assert spec.worse_by(0.1, 0.3) == pytest.approx(0.2)  # a rise in error is a change for worse
        assert METRICS.get("accuracy").worse_by(0.9, 0.7) == pytest.approx(0.2)
    finally:
        METRICS.remove("error_rate")
