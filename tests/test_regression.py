"""`check` against hand-made result files: drops beyond tolerance fail, noise passes."""

import pandas as pd
import pytest

from bench.cli import main
from bench.regression import Tolerances, check_against_baseline

SEEDS = (13, 21, 42)


VERSIONS = "torch=2.13.0,transformers=5.23.0,peft=0.21.2,datasets=5.2.0,petbench=0.1.0"


def results(scores_by_method: dict[str, tuple[float, ...]], *, speed=100.0, memory=1e9, device="H100",
            versions=VERSIONS):
    rows = [{"task": "sst2", "method": method, "model": "m", "shots": "100", "status": "success",
             "seed": seed, "score": score, "train_samples_per_s": speed, "peak_memory_bytes": memory,
             "device": device, "versions": versions}
            for method, scores in scores_by_method.items()
            for seed, score in zip(SEEDS, scores, strict=True)]
    return pd.DataFrame(rows)


BASELINE = results({"lpt": (0.80, 0.81, 0.79), "lora": (0.85, 0.85, 0.85)})


def verdicts(current: pd.DataFrame, **tolerances) -> dict[tuple[str, str], str]:
    findings = check_against_baseline(current, BASELINE, Tolerances(**tolerances))
    return {(f.method, f.measure): f.verdict for f in findings}


def test_a_planted_three_point_drop_is_a_regression():
    found = verdicts(results({"lpt": (0.77, 0.78, 0.76), "lora": (0.85, 0.85, 0.85)}))
    assert found[("lpt", "score")] == "regressed" and found[("lora", "score")] == "ok"


def test_noise_within_tolerance_passes():
    # the baseline's spread (sem about 0.58 points) allows max(1, 2 x 0.58) = 1.15 points
    found = verdicts(results({"lpt": (0.795, 0.80, 0.78), "lora": (0.845, 0.85, 0.85)}))
    assert {verdict for (_, measure), verdict in found.items() if measure == "score"} == {"ok"}


def test_missing_and_new_cells_are_reported():
    found = verdicts(results({"lpt": (0.80, 0.81, 0.79), "mask_pool": (0.7, 0.7, 0.7)}))
    assert found[("lora", "cell")] == "missing" and found[("mask_pool", "cell")] == "new"


def test_throughput_drop_counts_only_on_the_same_device_and_memory_rise_is_flagged():
    slower = results({"lpt": (0.80, 0.81, 0.79), "lora": (0.85, 0.85, 0.85)}, speed=80.0, memory=1.2e9)
    found = verdicts(slower)
    assert found[("lpt", "train samples/s")] == "regressed" and found[("lpt", "peak memory")] == "regressed"
    elsewhere = verdicts(results({"lpt": (0.80, 0.81, 0.79)}, speed=10.0, device="cpu"))
    assert ("lpt", "train samples/s") not in elsewhere
    assert verdicts(slower, throughput=0.25, memory=0.25)[("lpt", "train samples/s")] == "ok"


@pytest.mark.parametrize(("scores", "expected_exit"), [((0.77, 0.78, 0.76), 1), ((0.80, 0.80, 0.80), 0)])
def test_check_command_exits_1_on_regression_and_0_otherwise(tmp_path, capsys, scores, expected_exit):
    from bench.results import CellResult, ResultsStore

    BASELINE.to_csv(tmp_path / "base.csv", index=False)
    store = ResultsStore(tmp_path / "run")
    for method, values in (("lpt", scores), ("lora", (0.85, 0.85, 0.85))):
        for seed, score in zip(SEEDS, values, strict=True):
            store.append(CellResult(cell_id=f"{method}/{seed}", status="success", task="sst2",
                                    task_version="1", language="en", method=method, method_config="{}",
                                    model="m", seed=seed,
                                    shots=100, fewclue_split=None, zero_shot=False, metric="accuracy",
                                    score=score, train_samples_per_s=100.0, peak_memory_bytes=10**9,
                                    device="H100", versions=VERSIONS))
    assert main(["check", str(tmp_path / "run"), "--baseline", str(tmp_path / "base.csv")]) == expected_exit
    captured = capsys.readouterr()
    assert ("regressed" in captured.out.splitlines()[2]) == (expected_exit == 1)
    assert "warning" not in captured.err


def test_check_warns_without_failing_when_library_versions_differ():
    from bench.regression import library_differences

    newer = results({"lpt": (0.80, 0.81, 0.79)}, versions=VERSIONS.replace("transformers=5.23.0",
                                                                             "transformers=5.24.0"))
    assert library_differences(newer, BASELINE) == ["transformers 5.23.0 -> 5.24.0"]
    assert library_differences(BASELINE, BASELINE) == []
    assert {f.verdict for f in check_against_baseline(newer, BASELINE, Tolerances())} <= {"ok", "missing"}


def test_check_rejects_a_file_that_is_not_a_results_csv(tmp_path, capsys):
    (tmp_path / "base.csv").write_text("a,b\n1,2\n")
    assert main(["check", str(tmp_path), "--baseline", str(tmp_path / "base.csv")]) == 2
    assert "lacks columns" in capsys.readouterr().err


def test_a_stored_baseline_has_its_environment_and_a_run_passes_against_itself(tmp_path, monkeypatch, capsys):
    import json

    from bench.baselines import store_baseline
    from bench.results import CellResult, ResultsStore

    store = ResultsStore(tmp_path / "run")
    for seed, score in zip(SEEDS, (0.80, 0.81, 0.79), strict=True):
        store.append(CellResult(cell_id=f"lpt/{seed}", status="success", task="sst2", task_version="1",
                                language="en", method="lpt", method_config="{}", model="m", seed=seed,
                                shots=100, fewclue_split=None, zero_shot=False, metric="accuracy",
                                score=score, train_samples_per_s=50.0, peak_memory_bytes=10**8,
                                device="cpu (2 threads)", versions="torch=x"))
    monkeypatch.chdir(tmp_path)
    assert main(["baseline", "run", "--name", "v1"]) == 0
    environment = json.loads((tmp_path / "baselines" / "v1.json").read_text())
    assert environment["cells"] == 3 and environment["devices"] == ["cpu (2 threads)"]
    assert main(["check", "run", "--baseline", "v1"]) == 0
    assert "0 regressed" in capsys.readouterr().out
    path = store_baseline(tmp_path / "run", "v2", tmp_path / "elsewhere")
    assert path.exists()


def test_compare_reports_the_paired_mean_difference_and_its_interval(tmp_path, capsys):
    from bench.results import CellResult, ResultsStore

    store = ResultsStore(tmp_path)
    for method, scores in (("lpt", (0.80, 0.82, 0.84)), ("lora", (0.78, 0.79, 0.80))):
        for seed, score in zip(SEEDS, scores, strict=True):
            store.append(CellResult(cell_id=f"{method}/{seed}", status="success", task="sst2",
                                    task_version="1", language="en", method=method, method_config="{}",
                                    model="m", seed=seed, shots=100, fewclue_split=None, zero_shot=False,
                                    metric="accuracy", score=score))
    assert main(["compare", str(tmp_path), "--methods", "lpt,lora"]) == 0
    out = capsys.readouterr().out
    # differences 2, 3, 4 points: mean 3, t(0.975, 2) x 1 / sqrt(3) = 2.48
    assert "+3.00" in out and "[+0.52, +5.48]" in out and "| sst2 " in out
    assert main(["compare", str(tmp_path), "--methods", "lpt"]) == 2
