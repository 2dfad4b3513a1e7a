"""Intervals, tiers and rank stability of a score table (reports.ranking): planted differences are found,
identical methods are not split, the bootstrap is repeatable, and without samples the table says it
rests on seed scores."""

import json

import numpy as np
import pytest

from bench.core.metrics import score
from bench.core.records import CellResult, CellStatus
from bench.core.samples import SAMPLES_DIR, Sample, samples_path, write_samples
from reports.aggregate import cells_frame
from reports.confusion_metrics import confusion_counts, metric_of_counts, outcome_codes
from reports.letters import compact_letters, holm
from reports.ranking import Evidence, MethodRuns, RunPredictions, rank_methods
from reports.ranking_inputs import ranking_tables
from reports.stats import summarize

EXAMPLES = tuple(f"e{index}" for index in range(200))


def planted(name: str, right_per_seed: int, *, seeds: int = 5) -> MethodRuns:
    """A binary-task method right on `right_per_seed` of 200 examples in every seed (a different
    stretch of them per seed), with gold labels alternating."""
    golds = tuple(index % 2 for index in range(200))
    scores, predictions = {}, {}
    for seed in range(seeds):
        right = {(seed * 37 + offset) % 200 for offset in range(right_per_seed)}
        predicted = tuple(gold if index in right else 1 - gold for index, gold in enumerate(golds))
        scores[(str(seed), "-")] = right_per_seed / 200
        predictions[(str(seed), "-")] = RunPredictions(EXAMPLES, golds, predicted)
    return MethodRuns(name, scores, predictions)


@pytest.mark.parametrize("metric", ["accuracy", "f1", "macro_f1", "matthews"])
def test_confusion_count_metrics_agree_with_the_registered_metric(metric):
    generator = np.random.default_rng(3)
    for trial in range(50):
        size = int(generator.integers(1, 40))
        golds, predictions = generator.integers(2, size=size), generator.integers(2, size=size)
        if trial % 5 == 0:
            predictions[:] = 0  # one class predicted: F1 and MCC have a zero denominator
        counts = confusion_counts(outcome_codes(golds, predictions, 2), np.ones((1, size)), 2)
        expected = score(metric, predictions.tolist(), golds.tolist())
        assert metric_of_counts(metric, counts)[0] == pytest.approx(expected)


def test_identical_methods_share_a_letter():
    ranking = rank_methods([planted("lora", 150), planted("lora_again", 150)], metric="accuracy")
    assert ranking.evidence == Evidence.EXAMPLES
    assert ranking.letters == {"lora": "a", "lora_again": "a"}
    assert ranking.tests[0].p_value == 1.0 and not ranking.tests[0].differ


def test_a_ten_point_gap_on_five_seeds_of_200_examples_gets_its_own_letter():
    ranking = rank_methods([planted("prompt_tuning", 140), planted("lora", 160)], metric="accuracy")
    assert ranking.letters == {"lora": "a", "prompt_tuning": "b"}
    assert [interval.name for interval in ranking.intervals] == ["lora", "prompt_tuning"]
    (test,) = ranking.tests
    assert (test.better, test.worse) == ("lora", "prompt_tuning") and test.difference == pytest.approx(0.1)
    assert ranking.stability.top_holds == 1.0 and "lora ranks first in 100%" in ranking.stability.text


def test_a_method_between_two_that_differ_shares_a_letter_with_each():
    letters = compact_letters(["high", "middle", "low"], {frozenset(("high", "low"))})
    assert letters == {"high": "a", "middle": "ab", "low": "b"}


def test_the_bootstrap_is_deterministic_given_its_seed():
    methods = [planted("lora", 160), planted("prompt_tuning", 150)]
    first, again = (rank_methods(methods, metric="accuracy", seed=7) for _ in range(2))
    other = rank_methods(methods, metric="accuracy", seed=8)
    assert first == again
    assert first.intervals != other.intervals


def test_the_interval_covers_the_true_accuracy_about_95_times_in_100():
    """Independent examples of accuracy 0.7, five seeds without seed noise: a 95% interval covers 0.7."""
    generator = np.random.default_rng(11)
    covered = 0
    for trial in range(60):
        golds = tuple(int(value) for value in generator.integers(2, size=200))
        runs = {}
        for seed in range(5):
            right = generator.random(200) < 0.7
            runs[(str(seed), "-")] = RunPredictions(EXAMPLES, golds, tuple(
                gold if hit else 1 - gold for gold, hit in zip(golds, right, strict=True)))
        method = MethodRuns("m", {key: 0.0 for key in runs}, runs)
        (interval,) = rank_methods([method], metric="accuracy", seed=trial).intervals
        covered += interval.low <= 0.7 <= interval.high
    assert 52 <= covered <= 60


def test_the_metric_is_recomputed_on_each_resample():
    method = planted("lora", 150)
    (interval,) = rank_methods([method], metric="matthews").intervals
    per_run = [score("matthews", list(run.predictions), list(run.golds))
               for run in method.predictions.values()]
    assert interval.mean == pytest.approx(np.mean(per_run))
    assert interval.low < interval.mean < interval.high


def test_without_samples_intervals_and_tiers_rest_on_seed_scores():
    logged = planted("lora", 160)
    unlogged = MethodRuns("prompt_tuning", {key: value - 0.1 + 0.01 * int(key[0]) % 3
                                            for key, value in logged.scores.items()})
    ranking = rank_methods([logged, unlogged], metric="accuracy")
    assert ranking.evidence == Evidence.SEEDS and "seed scores only" in ranking.note
    expected = summarize(list(unlogged.scores.values()))
    interval = next(interval for interval in ranking.intervals if interval.name == "prompt_tuning")
    assert (interval.low, interval.high) == pytest.approx((expected.ci_low, expected.ci_high))
    assert ranking.letters == {"lora": "a", "prompt_tuning": "b"}


def test_one_shared_seed_cannot_split_methods_on_seed_scores():
    ranking = rank_methods([MethodRuns("a", {("1", "-"): 0.9}), MethodRuns("b", {("1", "-"): 0.5})],
                           metric="accuracy")
    assert ranking.letters == {"a": "a", "b": "a"} and ranking.stability is None


def test_holm_multiplies_the_kth_smallest_by_the_pairs_left_and_stays_monotone():
    adjusted = holm({("a", "b"): 0.01, ("a", "c"): 0.04, ("b", "c"): 0.03})
    assert adjusted == pytest.approx({("a", "b"): 0.03, ("b", "c"): 0.06, ("a", "c"): 0.06})


def test_letters_give_a_shared_letter_exactly_to_pairs_not_told_apart():
    letters = compact_letters(["w", "x", "y", "z"], {frozenset("wy"), frozenset("wz"), frozenset("xz")})
    for first in "wxyz":
        for second in "wxyz":
            apart = frozenset((first, second)) in {frozenset("wy"), frozenset("wz"), frozenset("xz")}
            assert bool(set(letters[first]) & set(letters[second])) != apart
    assert letters["w"] == "a"


def _record(method: str, seed: int, right: list[bool]) -> CellResult:
    return CellResult(cell_id=f"sst2/{method}/seed={seed}", config_id=method, status=CellStatus.SUCCESS,
                      task="sst2", task_version="1", language="en", method=method, method_config="{}",
                      model="m", seed=seed, shots=16, split=None, zero_shot=False, metric="accuracy",
                      score=sum(right) / len(right), train_config=json.dumps({}))


def test_tables_read_from_records_use_the_logged_samples(tmp_path):
    records = []
    for method, right_count in (("lora", 170), ("hard_prompt", 130)):
        for seed in (1, 2, 3):
            right = [index < right_count for index in range(200)]
            record = _record(method, seed, right)
            samples = [Sample(index, f"id{index}", "positive", "positive" if hit else "negative",
                              {"negative": 0.2, "positive": 0.8}) for index, hit in enumerate(right)]
            write_samples(samples_path(tmp_path / SAMPLES_DIR, record.cell_id), samples)
            records.append(record)
    (table,) = ranking_tables(cells_frame(records), tmp_path / SAMPLES_DIR)
    assert (table.task, table.shots, table.metric, table.n_labels) == ("sst2", "16", "accuracy", 2)
    ranking = table.ranked()
    assert ranking.evidence == Evidence.EXAMPLES
    assert ranking.letters == {"lora": "a", "hard_prompt": "b"}
    assert ranking_tables(cells_frame(records), None)[0].ranked().evidence == Evidence.SEEDS
