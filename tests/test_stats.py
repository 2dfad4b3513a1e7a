import pytest

from reports.stats import Summary, best_within_interval, paired_difference, summarize


def test_summary_has_sample_std_and_a_t_interval():
    summary = summarize([0.80, 0.82, 0.84])
    assert summary.mean == pytest.approx(0.82) and summary.std == pytest.approx(0.02)
    # t(0.975, df=2) = 4.3027; sem = 0.02 / sqrt(3)
    assert summary.ci_high - summary.mean == pytest.approx(4.3027 * 0.02 / 3**0.5, rel=1e-4)
    assert summarize([0.5]) == Summary(1, 0.5, 0.0, 0.0, 0.5, 0.5)


def test_best_is_not_bolded_alone_when_others_are_inside_its_interval():
    wide = {"a": summarize([0.80, 0.85, 0.90]), "b": summarize([0.83, 0.84, 0.85]),
            "c": summarize([0.50, 0.51, 0.52])}
    assert best_within_interval(wide) == {"a", "b"}
    tight = {"a": summarize([0.90, 0.90, 0.91]), "b": summarize([0.80, 0.81, 0.80])}
    assert best_within_interval(tight) == {"a"}


def test_paired_difference_uses_shared_seeds_only():
    summary, seeds = paired_difference({1: 0.8, 2: 0.9, 3: 0.7}, {1: 0.7, 2: 0.8, 4: 0.1})
    assert seeds == [1, 2] and summary.mean == pytest.approx(0.1)
    with pytest.raises(ValueError):
        paired_difference({1: 0.8}, {2: 0.8})
