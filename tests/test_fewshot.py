from collections import Counter

import pytest

from bench.core.fewshot import allocate_quotas, stratified_sample

LABELS = [0] * 600 + [1] * 300 + [2] * 100  # 60% / 30% / 10%


def test_fewshot_sample_is_stratified_by_label_proportions():
    chosen = stratified_sample(LABELS, 100, seed=13)
    assert len(chosen) == len(set(chosen)) == 100
    assert Counter(LABELS[i] for i in chosen) == {0: 60, 1: 30, 2: 10}


def test_fewshot_sample_is_deterministic_for_a_seed_and_differs_across_seeds():
    assert stratified_sample(LABELS, 100, seed=21) == stratified_sample(LABELS, 100, seed=21)
    assert set(stratified_sample(LABELS, 100, seed=21)) != set(stratified_sample(LABELS, 100, seed=42))


def test_every_label_gets_an_example_when_n_allows():
    quotas = allocate_quotas(5, {0: 1000, 1: 3, 2: 2})
    assert sum(quotas.values()) == 5 and min(quotas.values()) >= 1


@pytest.mark.parametrize("n", [1, 7, 33, 99, 999, 1000, 5000])
def test_quotas_sum_to_n_and_never_exceed_a_label_count(n):
    counts = {0: 600, 1: 300, 2: 100}
    quotas = allocate_quotas(n, counts)
    assert sum(quotas.values()) == min(n, 1000)
    assert all(quotas[label] <= counts[label] for label in counts)
