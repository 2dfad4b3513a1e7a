"""`check` and `compare` against planted faults a reviewer found: runs the baseline lacks, scores out
of their metric's range, seeds stored as floats, unusable baselines, duplicate records whatever their
order or offsets, malformed inputs; each either judged by the rule or refused in one line."""

import math
from dataclasses import replace

import pytest

from bench.cli.main import main
from reports.aggregate import cells_frame, latest_per_run
from reports.gate import Pairing, Verdict, judge_score
from reports.regression import Tolerances, check_against_baseline
from tests.test_regression import _cells, _check, record


def test_runs_the_baseline_lacks_are_judged_too_so_a_paired_seed_cannot_hide_them():
    baseline = {("13", "-"): 0.80, ("21", "-"): 0.81, ("87", "-"): 0.79}
    run = {("13", "-"): 0.80, ("21", "-"): 0.81, ("1", "-"): 0.50, ("2", "-"): 0.52, ("3", "-"): 0.51}
    judged = judge_score(run, baseline, floor=0.01)
    assert judged.pairing == Pairing.WELCH and judged.verdict == Verdict.REGRESSED


def test_a_score_outside_its_metrics_range_is_no_score_and_fails_the_check(tmp_path, capsys):
    baseline = _cells({"lora": (0.80, 0.81, 0.79)})
    as_percent = [replace(cell, score=100 * cell.score) for cell in baseline]
    assert _check(tmp_path, baseline, as_percent) == 1
    assert "failed" in capsys.readouterr().out


def test_a_negative_matthews_correlation_is_a_score():
    cells = [replace(record("lora", seed, -0.3 + seed / 1000), metric="matthews") for seed in (13, 21, 42)]
    findings = check_against_baseline(cells_frame(cells), cells_frame(cells), Tolerances())
    assert {(f.measure, f.verdict) for f in findings if f.measure == "score"} == {("score", Verdict.OK)}


def test_seeds_stored_as_floats_pair_with_the_same_seeds_as_integers(tmp_path, capsys):
    baseline = _cells({"lora": (0.80, 0.81, 0.79)})
    _check(tmp_path, baseline, baseline)  # writes the run folder
    frame = cells_frame(baseline).assign(seed=lambda f: f["seed"].astype(float))
    frame.to_csv(tmp_path / "floats.csv", index=False)
    capsys.readouterr()
    code = main(["check", str(tmp_path / "run"), "--baseline", str(tmp_path / "floats.csv")])
    assert code == 0 and "paired (the same seeds and splits)" in capsys.readouterr().out


def test_a_baseline_record_without_a_seed_is_one_line_not_a_traceback(tmp_path, capsys):
    baseline = _cells({"lora": (0.80, 0.81, 0.79)})
    _check(tmp_path, baseline, baseline)
    frame = cells_frame(baseline)
    frame.loc[0, "seed"] = None
    frame.to_csv(tmp_path / "seedless.csv", index=False)
    capsys.readouterr()
    code = main(["check", str(tmp_path / "run"), "--baseline", str(tmp_path / "seedless.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "record without a seed" in err and "Traceback" not in err


def test_a_baseline_configuration_without_a_usable_score_is_inconclusive_not_new(tmp_path, capsys):
    baseline = _cells({"lora": (math.nan, math.nan, math.nan), "lpt": (0.8, 0.8, 0.8)})
    run = _cells({"lora": (0.80, 0.81, 0.79), "lpt": (0.8, 0.8, 0.8)})
    assert _check(tmp_path, baseline, run) == 3
    assert "the baseline has no usable score of it" in capsys.readouterr().out


def test_the_newest_record_of_a_run_wins_whatever_order_or_offset_it_was_stored_in():
    older = record("lora", 13, 0.80, finished_at="2027-01-01T15:00:00+00:00")
    newer = replace(record("lora", 13, 0.60), finished_at="2027-01-01T14:30:00-01:00")  # 15:30 UTC
    untimed = replace(record("lora", 13, 0.90), finished_at="")
    kept = latest_per_run(cells_frame([newer, older, untimed]))
    assert kept["score"].tolist() == [0.60]


def test_compare_counts_only_cells_with_a_score(tmp_path, capsys):
    from bench.core.store import ResultsStore

    store = ResultsStore(tmp_path)
    for cell in [*_cells({"lora": (0.80, 0.81, math.nan)}), *_cells({"lpt": (0.70, 0.71, 0.72)})]:
        store.append(cell)
    assert main(["compare", str(tmp_path), "--methods", "lora,lpt"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| sst2"))
    assert row.split("|")[4].strip() == "2"  # two paired runs: the NaN cell is none


def test_a_reference_file_giving_one_method_two_numbers_is_refused(tmp_path):
    from bench.core.errors import BenchError
    from reports.references import load_references

    path = tmp_path / "refs.yaml"
    path.write_text("paper: P\ntable: T\nmodel: m\nmetric: accuracy\nprotocol: x\nsource: s\nrows:\n"
                    "  - {task: sst2, method: lora, name: LoRA, value: 70.0}\n"
                    "  - {task: sst2, method: lora, name: LoRA, value: 95.0}\n", encoding="utf-8")
    with pytest.raises(BenchError, match="rows 1 and 2 both give LoRA"):
        load_references([path])


def test_a_malformed_option_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["check", "runs/x", "--baseline", "b.csv", "--accuracy-points", "abc"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and len(err.strip().splitlines()) == 1 and "--accuracy-points" in err


def test_the_newest_record_of_a_cell_counts_whatever_order_it_was_stored_in(tmp_path):
    """The store's latest record of a cell is its newest by time, for check as for every report."""
    from bench.cli.analysis import _records_frame
    from bench.core.store import ResultsStore

    store = ResultsStore(tmp_path)
    store.append(record("lora", 13, 0.60, finished_at="2027-01-02T00:00:00+00:00"))
    store.append(record("lora", 13, 0.80, finished_at="2027-01-01T00:00:00+00:00"))
    store.append(record("lpt", 13, 0.70, finished_at="2027-01-01T00:00:00+00:00"))
    store.append(record("lpt", 13, 0.75, finished_at=""))  # no time: older than any timed record
    assert sorted(r.score for r in store.latest()) == [0.60, 0.70]
    assert sorted(_records_frame(str(tmp_path))["score"]) == [0.60, 0.70]
