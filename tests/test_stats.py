import pandas as pd
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


def test_nothing_at_or_below_the_majority_class_is_bold():
    """RTE: 47.3 once stood in bold under a majority class of 52.7."""
    from reports.markdown import score_table

    groups = pd.DataFrame([
        {"task": "rte", "method_label": label, "method": label, "runs": 3, "score_mean": mean,
         "score_std": 0.01, "score_sem": 0.006, "score_ci_low": mean - 0.02, "score_ci_high": mean + 0.02,
         "majority": 0.527, "metric": "accuracy", "reference": False}
        for label, mean in (("lora", 0.473), ("lpt", 0.465))])
    assert "**" not in score_table(groups)
    above = groups.assign(score_mean=[0.60, 0.50], score_ci_low=[0.58, 0.48], score_ci_high=[0.62, 0.52])
    table = score_table(above)
    assert "**60.0 ± 1.0**" in table and "**50.0" not in table
