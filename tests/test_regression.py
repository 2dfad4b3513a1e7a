"""`check` against hand-made result files: drops beyond both the points floor and the noise of what is
compared fail, what the data cannot resolve is inconclusive (never ok), crashed and missing
configurations fail, and cells are matched on their whole configuration, one record per run."""

import json
from dataclasses import replace

import pandas as pd
import pytest

from bench.cli.main import main
from bench.core.records import CellResult, CellStatus
from bench.core.store import ResultsStore
from reports.regression import Tolerances, Verdict, check_against_baseline, environment_differences

SEEDS = (13, 21, 42)
VERSIONS = "torch=2.13.0,transformers=5.23.0,peft=0.21.2,datasets=5.2.0,petbench=0.1.0"


def record(method: str, seed: int, score: float | None, *, speed=100.0, memory=10**9, device="H100",
           epochs=10, versions=VERSIONS, dtype="bfloat16", finished_at="") -> CellResult:
    return CellResult(cell_id=f"{method}/{epochs}/{seed}/{versions}", config_id=f"{method}-{epochs}-{dtype}",
                      status=CellStatus.SUCCESS, task="sst2", task_version="1", language="en", method=method,
                      method_config=json.dumps({"epochs": epochs}), model="m", seed=seed, shots=100,
                      split=None,
                      zero_shot=False, metric="accuracy", score=score, train_samples_per_s=speed,
                      peak_memory_bytes=memory, device=device, versions=versions, dtype=dtype,
                      train_config="{}", finished_at=finished_at)


def results(scores_by_method: dict[str, tuple[float, ...]], **options) -> pd.DataFrame:
    from reports.aggregate import cells_frame

    return cells_frame([record(method, seed, score, **options) for method, scores in scores_by_method.items()
                        for seed, score in zip(SEEDS, scores, strict=True)])


BASELINE = results({"lpt": (0.80, 0.81, 0.79), "lora": (0.85, 0.85, 0.85)})


def verdicts(current: pd.DataFrame, **tolerances) -> dict[tuple[str, str], str]:
    findings = check_against_baseline(current, BASELINE, Tolerances(**tolerances))
    return {(f.method, f.measure): f.verdict for f in findings}


def test_a_planted_three_point_drop_is_a_regression():
    found = verdicts(results({"lpt": (0.77, 0.78, 0.76), "lora": (0.85, 0.85, 0.85)}))
    assert found[("lpt", "score")] == Verdict.REGRESSED and found[("lora", "score")] == Verdict.OK


def test_noise_within_tolerance_passes():
    # paired differences (0, -0.5, 0) points: the one-sided 95% bound of the change, -0.65, stays above -1
    found = verdicts(results({"lpt": (0.80, 0.805, 0.79), "lora": (0.845, 0.85, 0.85)}))
    assert {verdict for (_, measure), verdict in found.items() if measure == "score"} == {Verdict.OK}


def test_noise_the_seeds_cannot_bound_within_the_floor_is_inconclusive_not_ok():
    """Paired differences (-0.5, -1, -1) points: the change's bound, -1.3, reaches past the floor."""
    found = verdicts(results({"lpt": (0.795, 0.80, 0.78), "lora": (0.85, 0.85, 0.85)}))
    assert found[("lpt", "score")] == Verdict.INCONCLUSIVE and found[("lora", "score")] == Verdict.OK


def test_missing_and_new_cells_are_reported():
    found = verdicts(results({"lpt": (0.80, 0.81, 0.79), "mask_pool": (0.7, 0.7, 0.7)}))
    assert found[("lora", "cell")] == Verdict.MISSING and found[("mask_pool", "cell")] == Verdict.NEW


def test_another_configuration_of_a_method_is_new_not_compared():
    found = verdicts(results({"lpt": (0.60, 0.60, 0.60)}, epochs=1))
    assert found[("lpt (epochs=1)", "cell")] == Verdict.NEW
    assert found[("lpt (epochs=10)", "cell")] == Verdict.MISSING
    assert not any(verdict == Verdict.REGRESSED for verdict in found.values())


def test_gpu_throughput_and_memory_are_gated_and_cpu_throughput_only_when_asked():
    slower = results({"lpt": (0.80, 0.81, 0.79), "lora": (0.85, 0.85, 0.85)}, speed=80.0, memory=1.2e9)
    found = verdicts(slower)
    assert found[("lpt", "train samples/s")] == Verdict.REGRESSED
    assert found[("lpt", "peak memory")] == Verdict.REGRESSED
    assert verdicts(slower, throughput=0.25, memory=0.25)[("lpt", "train samples/s")] == Verdict.OK
    elsewhere = verdicts(results({"lpt": (0.80, 0.81, 0.79)}, speed=10.0, device="cpu"))
    assert ("lpt", "train samples/s") not in elsewhere  # another device: not comparable
    cpu_baseline = results({"lpt": (0.80, 0.81, 0.79)}, device="cpu (2 threads)")
    cpu_slower = results({"lpt": (0.80, 0.81, 0.79)}, speed=50.0, device="cpu (2 threads)")
    ungated = {(f.method, f.measure) for f in check_against_baseline(cpu_slower, cpu_baseline, Tolerances())}
    assert ("lpt", "train samples/s") not in ungated
    gated = check_against_baseline(cpu_slower, cpu_baseline, Tolerances(cpu_throughput=0.3))
    assert {(f.measure, f.verdict) for f in gated} >= {("train samples/s", Verdict.REGRESSED)}


def test_check_warns_without_failing_when_library_versions_differ():
    newer = results({"lpt": (0.80, 0.81, 0.79)}, versions=VERSIONS.replace("transformers=5.23.0",
                                                                             "transformers=5.24.0"))
    assert environment_differences(newer, BASELINE) == ["transformers 5.23.0 -> 5.24.0"]
    assert environment_differences(BASELINE, BASELINE) == []
    verdicts_found = {f.verdict for f in check_against_baseline(newer, BASELINE, Tolerances())}
    assert verdicts_found <= {Verdict.OK, Verdict.MISSING}


def test_a_run_in_another_precision_is_another_configuration_and_the_missing_row_says_so():
    """dtype is part of config_id, so it never differs inside a compared pair: the baseline's row is
    missing, and says that the run has it in another precision."""
    in_fp32 = results({"lpt": (0.80, 0.81, 0.79)}, dtype="fp32")
    assert environment_differences(in_fp32, BASELINE) == []
    missing = {f.method.split()[0]: f for f in check_against_baseline(in_fp32, BASELINE, Tolerances())
               if f.verdict == Verdict.MISSING}
    assert "the run has it in fp32, the baseline in bfloat16" in missing["lpt"].comparison
    assert missing["lora"].comparison == "not in the run"


@pytest.mark.parametrize(("scores", "expected_exit", "first_verdict"),
                         [((0.77, 0.78, 0.76), 1, "regressed"), ((0.80, 0.81, 0.79), 0, "ok"),
                          ((0.80, 0.80, 0.80), 3, "inconclusive")])
def test_check_command_exits_1_on_regression_3_when_inconclusive_and_0_otherwise(
        tmp_path, capsys, scores, expected_exit, first_verdict):
    BASELINE.to_csv(tmp_path / "base.csv", index=False)
    store = ResultsStore(tmp_path / "run")
    for method, values in (("lpt", scores), ("lora", (0.85, 0.85, 0.85))):
        for seed, score in zip(SEEDS, values, strict=True):
            store.append(record(method, seed, score))
    assert main(["check", str(tmp_path / "run"), "--baseline", str(tmp_path / "base.csv")]) == expected_exit
    captured = capsys.readouterr()
    assert captured.out.splitlines()[2].startswith(f"| {first_verdict} ")
    assert "warning" not in captured.err


def test_a_stored_baseline_has_its_environment_and_a_run_passes_against_itself(tmp_path, monkeypatch, capsys):
    from reports.baselines import store_baseline

    store = ResultsStore(tmp_path / "run")
    for seed, score in zip(SEEDS, (0.80, 0.81, 0.79), strict=True):
        store.append(record("lpt", seed, score, device="cpu (2 threads)"))
    monkeypatch.chdir(tmp_path)
    assert main(["baseline", "run", "--name", "v1"]) == 0
    environment = json.loads((tmp_path / "baselines" / "v1.json").read_text())
    assert environment["cells"] == 3 and environment["devices"] == ["cpu (2 threads)"]
    assert main(["check", "run", "--baseline", "v1"]) == 0
    assert "0 regressed" in capsys.readouterr().out
    assert store_baseline(tmp_path / "run", "v2", tmp_path / "elsewhere").exists()


def test_compare_reports_the_paired_difference_and_needs_two_seeds_for_an_interval(tmp_path, capsys):
    store = ResultsStore(tmp_path)
    for seed, (a, b) in zip(SEEDS, ((0.80, 0.78), (0.82, 0.79), (0.81, 0.80)), strict=True):
        store.append(record("lpt", seed, a))
        store.append(record("lora", seed, b))
    assert main(["compare", str(tmp_path), "--methods", "lpt,lora"]) == 0
    out = capsys.readouterr().out
    assert "+2.00" in out and "[" in out
    single = ResultsStore(tmp_path / "single")
    single.append(record("lpt", 13, 0.8))
    single.append(record("lora", 13, 0.7))
    assert main(["compare", str(tmp_path / "single"), "--methods", "lpt,lora"]) == 0
    assert "n/a (one shared seed)" in capsys.readouterr().out


@pytest.mark.parametrize(("baseline_records", "message"), [
    ([record("lpt", seed, 0.8, epochs=20) for seed in SEEDS], "have no configuration in common"),
    ([replace(record("lpt", seed, 0.8), status=CellStatus.FAILED) for seed in SEEDS],
     "has no successful cells"),
])
def test_a_check_that_compares_nothing_is_an_error_not_a_pass(tmp_path, capsys, baseline_records, message):
    from reports.aggregate import cells_frame

    cells_frame(baseline_records).to_csv(tmp_path / "base.csv", index=False)
    store = ResultsStore(tmp_path / "run")
    for seed in SEEDS:
        store.append(record("lpt", seed, 0.5))  # a 30-point drop that must not pass silently
    assert main(["check", str(tmp_path / "run"), "--baseline", str(tmp_path / "base.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


def test_a_rerun_of_some_baseline_seeds_is_compared_with_those_seeds_and_says_so():
    """A bit-identical re-run of seed 42 alone once showed -4 points against the 3-seed mean."""
    baseline = results({"lpt": (0.84, 0.80, 0.76)})
    rerun = results({"lpt": (0.84, 0.80, 0.76)})
    rerun = rerun[rerun["seed"] == 42]
    strict = Tolerances(accuracy_points=1.0, accuracy_sems=0)
    [score] = [f for f in check_against_baseline(rerun, baseline, strict) if f.measure == "score"]
    assert score.verdict == Verdict.OK and score.baseline == pytest.approx(0.76)
    assert score.comparison == "paired on the run's seeds (42)"
    [whole] = [f for f in check_against_baseline(baseline, baseline, Tolerances()) if f.measure == "score"]
    assert whole.comparison == "paired (the same seeds and splits)"
    other_seed = results({"lpt": (0.84, 0.80, 0.76)}).assign(seed=lambda frame: frame["seed"] + 1000)
    findings = check_against_baseline(other_seed, baseline, Tolerances())
    unpaired = next(finding for finding in findings if finding.measure == "score")
    assert unpaired.comparison == "Welch: 3 runs vs the baseline's 3, no 2 seeds in common"


def test_baselines_go_to_the_folder_the_user_names(tmp_path, monkeypatch, capsys):
    store = ResultsStore(tmp_path / "run")
    for seed, score in zip(SEEDS, (0.80, 0.81, 0.79), strict=True):
        store.append(record("lpt", seed, score))
    monkeypatch.chdir(tmp_path)
    assert main(["baseline", "run", "--name", "v1", "--baselines-dir", str(tmp_path / "mine")]) == 0
    assert (tmp_path / "mine" / "v1.csv").is_file() and not (tmp_path / "baselines").exists()
    monkeypatch.setenv("PETBENCH_BASELINES", str(tmp_path / "from-env"))
    assert main(["baseline", "run", "--name", "v2"]) == 0
    assert (tmp_path / "from-env" / "v2.csv").is_file()
    assert main(["check", "run", "--baseline", "v2"]) == 0
    assert main(["check", "run", "--baseline", "v1", "--baselines-dir", str(tmp_path / "mine")]) == 0


@pytest.mark.parametrize("config_id", ["0123456789", "1234e56789", "12345e6789"])
def test_a_baseline_whose_config_id_looks_like_a_number_still_matches_its_run(tmp_path, capsys, config_id):
    """config_id is a hex digest: all digits, or digits around one `e`, must not be read as a number."""
    records = [replace(record("lpt", seed, 0.8), config_id=config_id) for seed in SEEDS]
    store = ResultsStore(tmp_path / "run")
    for cell in records:
        store.append(cell)
    from reports.aggregate import cells_frame

    cells_frame(records).to_csv(tmp_path / "base.csv", index=False)
    assert main(["check", str(tmp_path / "run"), "--baseline", str(tmp_path / "base.csv")]) == 0
    assert "0 regressed" in capsys.readouterr().out


def _check(tmp_path, baseline: list[CellResult], run: list[CellResult], *options: str) -> int:
    from reports.aggregate import cells_frame

    cells_frame(baseline).to_csv(tmp_path / "base.csv", index=False)
    store = ResultsStore(tmp_path / "run")
    for cell in run:
        store.append(cell)
    return main(["check", str(tmp_path / "run"), "--baseline", str(tmp_path / "base.csv"), *options])


def _cells(scores_by_method: dict[str, tuple[float | None, ...]], seeds=SEEDS, **options) -> list[CellResult]:
    return [record(method, seed, score, **options) for method, scores in scores_by_method.items()
            for seed, score in zip(seeds, scores, strict=True)]


def test_a_method_whose_every_cell_failed_fails_the_check(tmp_path, capsys):
    """Once: `0 regressed ... 1 missing`, exit 0. A method that crashes is a regression."""
    crashed = [replace(cell, status=CellStatus.FAILED, score=None, error="RuntimeError: CUDA error")
               for cell in _cells({"lora": (0.85, 0.85, 0.85)})]
    code = _check(tmp_path, _cells({"lpt": (0.80, 0.81, 0.79), "lora": (0.85, 0.85, 0.85)}),
                  [*_cells({"lpt": (0.80, 0.81, 0.79)}), *crashed])
    out = capsys.readouterr().out
    assert code == 1
    [failed] = [line for line in out.splitlines() if line.startswith("| failed")]
    assert "lora" in failed and "3 of 3 cells failed (RuntimeError: CUDA error)" in failed
    assert "0 regressed, 1 failed" in out


def test_nan_scores_of_every_cell_are_a_failure_in_one_row_not_a_traceback(tmp_path, capsys):
    code = _check(tmp_path, _cells({"lpt": (0.80, 0.81, 0.79)}), _cells({"lpt": (float("nan"),) * 3}))
    captured = capsys.readouterr()
    assert code == 1 and "Traceback" not in captured.err
    [failed] = [line for line in captured.out.splitlines() if line.startswith("| failed")]
    assert "3 of 3 cells without a finite score" in failed


def test_an_equal_five_point_drop_on_every_seed_is_a_regression_whatever_the_baseline_spread():
    """Once `ok`: the allowance was 2 baseline SEMs (10 points here). The per-seed differences are
    all -5, so they have no spread, and the 1-point floor governs."""
    baseline = results({"linear_probe": (0.70, 0.80, 0.75)})
    run = results({"linear_probe": (0.65, 0.75, 0.70)})
    [score] = [f for f in check_against_baseline(run, baseline, Tolerances()) if f.measure == "score"]
    assert score.verdict == Verdict.REGRESSED and score.comparison == "paired (the same seeds and splits)"
    assert score.allowed == "-1.00 points"


def test_unchanged_code_on_other_seeds_is_inconclusive_with_the_drop_it_could_detect(tmp_path, capsys):
    """Once `regressed 55.2 -> 49.9`: the baseline's tight pair of seeds set the allowance, the run's own
    spread was ignored. Two runs against two others cannot resolve a 5-point drop."""
    code = _check(tmp_path, _cells({"mask_pool": (0.550, 0.554)}, seeds=(21, 87)),
                  _cells({"mask_pool": (0.450, 0.548)}, seeds=(13, 42)))
    out = capsys.readouterr().out
    assert code == 3
    [row] = [line for line in out.splitlines() if line.startswith("| inconclusive")]
    assert "55.2" in row and "49.9" in row and "Welch: 2 runs vs the baseline's 2" in row
    [line] = [line for line in out.splitlines() if line.startswith("inconclusive: mask_pool")]
    assert "run - baseline -5.30 points" in line and "only drops of" in line
    assert not [line for line in out.splitlines() if line.startswith("| ok") and "| score |" in line]
    assert "0 regressed" in out


def test_a_single_run_on_each_side_is_ok_only_when_reproduced_exactly():
    baseline = results({"lpt": (0.80, 0.81, 0.79)})
    lower = check_against_baseline(results({"lpt": (0.79, 0.81, 0.79)}).query("seed == 13"),
                                   baseline.query("seed == 13"), Tolerances())
    [score] = [f for f in lower if f.measure == "score"]
    assert score.verdict == Verdict.INCONCLUSIVE and score.detectable == float("inf")
    same = check_against_baseline(baseline.query("seed == 13"), baseline.query("seed == 13"), Tolerances())
    assert [f.verdict for f in same if f.measure == "score"] == [Verdict.OK]


def test_two_records_of_one_configuration_and_seed_count_once_the_newest(tmp_path, capsys):
    """A re-run under a newer transformers is a new cell id of the same configuration and seed."""
    older = record("lpt", 13, 0.50, finished_at="2026-01-01T10:00:00+00:00")
    newer = record("lpt", 13, 0.80, versions=VERSIONS.replace("transformers=5.23.0", "transformers=5.24.0"),
                   finished_at="2026-01-02T10:00:00+00:00")
    rest = _cells({"lpt": (0.81, 0.79)}, seeds=SEEDS[1:])
    code = _check(tmp_path, _cells({"lpt": (0.80, 0.81, 0.79)}), [newer, older, *rest])
    captured = capsys.readouterr()
    assert code == 0 and "| ok " in captured.out
    [note] = [line for line in captured.err.splitlines() if line.startswith("note:")]
    assert "2 records of lpt on sst2, seed 13" in note and "2026-01-02T10:00:00+00:00" in note
    assert "transformers=5.24.0" in note


def test_a_configuration_the_run_lacks_fails_unless_allowed(tmp_path, capsys):
    baseline = _cells({"lpt": (0.80, 0.81, 0.79), "lora": (0.85, 0.85, 0.85)})
    assert _check(tmp_path, baseline, _cells({"lpt": (0.80, 0.81, 0.79)})) == 1
    assert "--allow-missing" in capsys.readouterr().out
    assert main(["check", str(tmp_path / "run"), "--baseline", str(tmp_path / "base.csv"),
                 "--allow-missing"]) == 0
    assert "1 missing from the run" in capsys.readouterr().out


def test_allow_inconclusive_exits_0_and_still_prints_the_row(tmp_path, capsys):
    code = _check(tmp_path, _cells({"lpt": (0.80, 0.81, 0.79)}), _cells({"lpt": (0.80, 0.80, 0.80)}),
                  "--allow-inconclusive")
    out = capsys.readouterr().out
    assert code == 0 and "| inconclusive" in out and "1 inconclusive" in out
