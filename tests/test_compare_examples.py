"""`compare` on the examples two methods share: each example counts once however many seeds scored
it, so repeating a seed changes neither the exact test nor the bootstrap interval (pooling the seeds'
pairs as independent took p from 0.24 to 0.002 by repeating one seed five times)."""

import json

import pytest
from scipy import stats

from bench.cli.main import main
from bench.core.records import CellResult, CellStatus
from bench.core.samples import SAMPLES_DIR, Sample, samples_path, write_samples
from bench.core.store import ResultsStore
from reports.example_tests import example_test, sign_flip_p

# 100 examples: 12 only the first method gets right, 6 only the second, 60 both, 22 neither
ONE_SEED = {index: pair for index, pair in enumerate(
    [(True, False)] * 12 + [(False, True)] * 6 + [(True, True)] * 60 + [(False, False)] * 22)}


def test_with_one_seed_the_test_is_mcnemars_exact_test():
    result = example_test([ONE_SEED])
    assert (result.examples, result.runs, result.first_only, result.second_only) == (100, 1, 12, 6)
    assert result.p_value == pytest.approx(stats.binomtest(12, 18, 0.5).pvalue)
    assert sign_flip_p([1] * 10 + [-1] * 2) == pytest.approx(2 * (1 + 12 + 66) / 2**12)
    assert sign_flip_p([0, 0]) == 1.0


def test_repeating_a_seed_changes_neither_the_p_value_nor_the_interval():
    once, five = example_test([ONE_SEED]), example_test([ONE_SEED] * 5)
    assert five.p_value == pytest.approx(once.p_value) and once.p_value > 0.2
    assert stats.binomtest(60, 90, 0.5).pvalue < 0.005  # what pooling the five copies would have said
    assert (five.ci_low, five.ci_high) == pytest.approx((once.ci_low, once.ci_high))
    assert once.ci_low < 0.06 < once.ci_high  # the observed difference, 12 - 6 out of 100


def test_seeds_that_agree_on_other_examples_add_evidence():
    shifted = {index: ONE_SEED[(index + 50) % 100] for index in range(100)}
    assert example_test([ONE_SEED, shifted]).p_value < example_test([ONE_SEED]).p_value


def test_examples_split_over_seeds_keep_each_seeds_outcomes_together():
    """An example right for the first method on one seed and for the second on another is a tie."""
    mixed = example_test([{0: (True, False), 1: (True, False)}, {0: (False, True), 1: (True, False)}])
    assert mixed.p_value == pytest.approx(sign_flip_p([0, 2]))


def _logged(out, method: str, seed: int, right: list[bool]) -> CellResult:
    record = CellResult(cell_id=f"sst2/{method}/seed={seed}", config_id=method, status=CellStatus.SUCCESS,
                        task="sst2", task_version="1", language="en", method=method, method_config="{}",
                        model="m", seed=seed, shots=100, split=None, zero_shot=False, metric="accuracy",
                        score=sum(right) / len(right), train_config=json.dumps({}))
    samples = [Sample(index, f"id{index}", "1", "1" if correct else "0", {"0": 0.0, "1": 1.0})
               for index, correct in enumerate(right)]
    write_samples(samples_path(out / SAMPLES_DIR, record.cell_id), samples)
    return record


def test_compare_prints_the_same_p_for_a_seed_run_once_or_five_times(tmp_path, capsys):
    first = [pair[0] for pair in ONE_SEED.values()]
    second = [pair[1] for pair in ONE_SEED.values()]
    printed = {}
    for copies in (1, 5):
        out = tmp_path / str(copies)
        store = ResultsStore(out)
        for seed in range(1, copies + 1):  # seeds whose cells happen to score every example alike
            store.append(_logged(out, "lpt", seed, first))
            store.append(_logged(out, "lora", seed, second))
        assert main(["compare", str(out), "--methods", "lpt,lora"]) == 0
        [row] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| sst2")]
        printed[copies] = [cell.strip() for cell in row.strip("|").split("|")]
    assert printed[1][-1] == printed[5][-1] == f"{stats.binomtest(12, 18, 0.5).pvalue:.3g}"
    assert printed[1][-2] == printed[5][-2]  # the bootstrap interval over examples
    assert printed[1][-3] == "100 (12 / 6)" and printed[5][-3] == "100 x 5 runs (60 / 30)"
