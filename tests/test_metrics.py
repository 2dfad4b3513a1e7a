import math

import pytest

from bench.core.metrics import METRIC_FUNCTIONS, score
from bench.core.task import TASKS, Metric


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
    assert set(METRIC_FUNCTIONS) == set(Metric)
    for name in TASKS:
        task = TASKS.get(name)
        golds = [label % task.n_labels for label in range(2 * task.n_labels)]
        assert score(task.metric, golds, golds) == pytest.approx(1.0), name  # perfect is the maximum
        wrong = [(label + 1) % task.n_labels for label in golds]
        assert score(task.metric, wrong, golds) < 0.5, name
    with pytest.raises(ValueError):
        score("bleu", [1], [1])
