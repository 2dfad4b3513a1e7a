"""The command line: a battery of bad inputs (one line, exit 2, nothing written), exit codes, the
summary line, task files without code, and the report and list commands."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest

from bench.cli.main import main
from bench.core.store import ResultsStore

FAST = ("--max-steps", "1", "--batch-size", "4", "--shots", "8", "--max-length", "48", "--executor", "inline")


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def snapshot(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, tiny_model, data_dir) -> Path:
    """An output folder holding one finished run, which no bad command may touch."""
    out = tmp_path_factory.mktemp("finished")
    assert main(["--model", str(tiny_model), "--data-dir", str(data_dir), "--methods", "full_ft", *FAST,
                 "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bad-files")
    (folder / "broken.py").write_text("def oops(:\n", encoding="utf-8")
    (folder / "raises.py").write_text("raise RuntimeError('plugin bug')\n", encoding="utf-8")
    (folder / "unclosed.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    (folder / "missing.yaml").write_text("name: t\nlabels: [a]\n", encoding="utf-8")
    base = ('name: {name}\ntrain: d.tsv\neval: d.tsv\ntext_fields: [text]\nlabels: [neg, pos]\n'
            'verbalizer: [bad, great]\n')
    template = 'template: "{text} [MASK]"\n'
    (folder / "unknown_key.yaml").write_text(base.format(name="t1") + template + "colour: red\n")
    (folder / "bad_metric.yaml").write_text(base.format(name="t2") + template + "metric: bleu\n")
    (folder / "no_mask.yaml").write_text(base.format(name="t3") + 'template: "{text} It was ."\n')
    (folder / "bad_label.yaml").write_text(base.format(name="t4") + 'template: "{text} It was [MASK] ."\n'
                                           'label_field: verdict\ndefault_shots: 2\n')
    (folder / "d.tsv").write_text("verdict\ttext\npos\tfine\nmeh\tso so\nneg\tawful\n", encoding="utf-8")
    (folder / "duplicate_key.yaml").write_text(base.format(name="t5") + template + "labels: [pos, neg]\n")
    good_rows = 'template: "{text} It was [MASK] ."\nlabel_field: verdict\n'
    (folder / "empty_text.yaml").write_text(base.format(name="t6").replace("d.tsv", "empty.tsv") + good_rows)
    (folder / "empty.tsv").write_text("verdict\ttext\npos\tfine\nneg\t \n", encoding="utf-8")
    (folder / "latin1.yaml").write_text(base.format(name="t7").replace("d.tsv", "latin1.tsv") + good_rows)
    (folder / "latin1.tsv").write_bytes("verdict\ttext\npos\tcaf\xe9 cr\xe8me\n".encode("latin-1"))
    (folder / "bad_encoding.yaml").write_text(base.format(name="t8") + good_rows + "encoding: klingon\n")
    (folder / "latin1_task.yaml").write_bytes((base.format(name="t9") + good_rows + "description: caf\xe9\n")
                                              .encode("latin-1"))
    (folder / "not_results.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (folder / "empty").mkdir()
    return folder


# (command, arguments, expected text of the one-line error); {out} is the finished run's folder,
# {files} the folder of bad files; run commands also get the tiny model and the synthetic data
BATTERY = [
    ("run", ["--tasks", "sst3"], "unknown task 'sst3': did you mean 'sst2'?"),
    ("run", ["--tasks", ""], "--tasks is empty"),
    ("run", ["--methods", "ful_ft"], "unknown method 'ful_ft': did you mean 'full_ft'?"),
    ("run", ["--methods", ","], "--methods is empty"),
    ("run", ["--model", "./no/such/model"], "does not exist"),
    ("run", ["--model", "nobody/no-such-model"], "not in the Hugging Face cache, and the hub is unreachable"),
    ("run", ["--data-dir", "/no/such/dir"], "data directory /no/such/dir does not exist"),
    ("run", ["--set", "full_ft.warp=1"], "method full_ft has no knob 'warp'"),
    ("run", ["--set", "full_ft.learning_rate=fast"], "expected float"),
    ("run", ["--set", "lora"], "must look like METHOD.KNOB=VALUE"),
    ("run", ["--methods", "lora", "--set", "lora.rank=-1"], "rank=-1 is out of range"),
    ("run", ["--methods", "lpt", "--set", "lpt.generator=xyz"], "expected npg | mppg | appg"),
    ("run", ["--methods", "lora", "--set", "prefix_tuning.prefix_length=5"], "not in the grid"),
    ("run", ["--methods", "lora", "--set", "lora.learning_rate=1e-3", "--lr", "2e-3"], "disagree"),
    ("run", ["--lr", "0"], "learning_rate=0.0 is out of range"),
    ("run", ["--lr", "-1"], "is out of range"),
    ("run", ["--epochs", "0"], "epochs=0 is out of range"),
    ("run", ["--seeds", "a,b"], "must be comma-separated integers"),
    ("run", ["--seeds", ""], "must list distinct non-negative integers"),
    ("run", ["--seeds", "-1"], "must list distinct non-negative integers"),
    ("run", ["--seeds", "1,1"], "must list distinct non-negative integers"),
    ("run", ["--shots", "-3"], "is not a positive number"),
    ("run", ["--shots", "200"], "--shots 200 needs 400 training examples"),
    ("run", ["--max-length", "0"], "--max-length=0 is out of range"),
    ("run", ["--batch-size", "0"], "--batch-size=0 is out of range"),
    ("run", ["--warmup-ratio", "2"], "--warmup-ratio=2.0 is out of range"),
    ("run", ["--split", "0"], "none of the tasks (sst2) has official splits"),
    ("run", ["--tasks", "eprstmt", "--split", "7"], "'7' is not one of them"),
    ("run", ["--search", "nothing=1,2"], "--search nothing"),
    ("run", ["--search", "lr="], "must look like KNOB=V1,V2"),
    ("run", ["--methods", "full_ft", "--search", "lora.rank=4,8"], "method lora is not in the grid"),
    ("run", ["--retries", "2"], "apply to --executor ray only"),
    ("run", ["--plugin", "/no/such/plugin.py"], "plugin /no/such/plugin.py not found"),
    ("run", ["--plugin", "{files}/broken.py"], "failed to load (SyntaxError"),
    ("run", ["--plugin", "{files}/raises.py"], "failed to load (RuntimeError: plugin bug)"),
    ("run", ["--task-file", "/no/such/task.yaml"], "task file /no/such/task.yaml not found"),
    ("run", ["--task-file", "{files}/unclosed.yaml"], "is not valid YAML"),
    ("run", ["--task-file", "{files}/missing.yaml"], "missing ['train', 'eval'"),
    ("run", ["--task-file", "{files}/unknown_key.yaml"], "unknown keys ['colour']"),
    ("run", ["--task-file", "{files}/bad_metric.yaml"], "'bleu' is not a registered metric"),
    ("run", ["--task-file", "{files}/no_mask.yaml"], "exactly one [MASK] slot"),
    ("run", ["--task-file", "{files}/bad_label.yaml"], "row 2 has label 'meh'"),
    ("run", ["--task-file", "{files}/duplicate_key.yaml"], "the key 'labels' is given twice"),
    ("run", ["--task-file", "{files}/empty_text.yaml"], "row 2 has an empty 'text'"),
    ("run", ["--task-file", "{files}/latin1.yaml"], "latin1.tsv is not utf-8"),
    ("run", ["--task-file", "{files}/bad_encoding.yaml"], "unknown encoding 'klingon'"),
    ("run", ["--task-file", "{files}/latin1_task.yaml"], "latin1_task.yaml is not UTF-8"),
    ("run", ["--lr", "inf"], "learning_rate=inf is not a finite number"),
    ("run", ["--seeds", "4294967296"], "a seed must be below 2**32"),
    ("run", ["--shots", "1"], "--shots 1 is fewer than the 2 labels"),
    ("run", ["--zero-shot", "--methods", "lora"], "lora has no zero-shot form"),
    ("run", ["--search", "lr=1e-3,0.001"], "lr=0.001 is the same setting as lr=1e-3"),
    ("report", ["{files}/empty"], "no results in"),
    ("check", ["{out}", "--baseline", "/no/such.csv"], "baseline /no/such.csv not found"),
    ("check", ["{out}", "--baseline", "{files}/not_results.csv"], "lacks columns"),
    ("check", ["{files}/empty", "--baseline", "{out}/results.csv"], "no results in"),
    ("check", ["{out}", "--baseline", "{out}/results.csv", "--memory", "-1"],
     "--memory must be a finite number, 0 or more"),
    ("check", ["{out}", "--baseline", "{out}/results.csv", "--accuracy-points", "nan"],
     "--accuracy-points must be a finite number"),
    ("baseline", ["{out}", "--name", "bad name!"], "baseline name 'bad name!'"),
    ("baseline", ["{files}/empty", "--name", "x"], "no successful cells"),
    ("compare", ["{out}", "--methods", "full_ft"], "exactly two different methods"),
    ("compare", ["{out}", "--methods", "full_ft,lora"], "no task where full_ft and lora share a seed"),
    ("perf", ["--shape", "gpt-17"], "unknown shape 'gpt-17'"),
    ("perf", ["--methods", "nope"], "unknown method 'nope'"),
    ("perf", ["--batch-size", "0"], "--batch-size=0 is out of range"),
    ("list", ["--method", "nope"], "unknown method 'nope'"),
]


@pytest.mark.parametrize(("command", "arguments", "expected"), BATTERY,
                         ids=[f"{command}:{expected[:40]}" for command, _, expected in BATTERY])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(capsys, monkeypatch, tmp_path, finished_run,
                                                           bad_files, tiny_model, data_dir, command,
                                                           arguments, expected):
    monkeypatch.chdir(tmp_path)  # baselines/ would be written here
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # as here and in CI: no hub
    arguments = [argument.format(out=finished_run, files=bad_files) for argument in arguments]
    if command == "run":
        arguments = ["--model", str(tiny_model), "--data-dir", str(data_dir), *FAST, *arguments,
                     "--out", str(finished_run)]
    before, before_here = snapshot(finished_run), snapshot(tmp_path)
    code, _, err = run_cli(capsys, command, *arguments)
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and expected in err, err
    assert snapshot(finished_run) == before and snapshot(tmp_path) == before_here


def test_the_battery_covers_every_command_and_task_files():
    commands = {command for command, _, _ in BATTERY}
    assert commands == {"run", "report", "check", "baseline", "compare", "perf", "list"}
    assert len(BATTERY) >= 30
    assert sum("--task-file" in arguments for _, arguments, _ in BATTERY) >= 5


def test_a_sweep_exits_0_with_a_summary_line_and_1_when_a_cell_failed(capsys, tmp_path, tiny_model, data_dir):
    common = ["--model", str(tiny_model), "--data-dir", str(data_dir), *FAST, "--out", str(tmp_path)]
    code, out, _ = run_cli(capsys, *common, "--methods", "full_ft,lora")
    assert code == 0 and out.strip().splitlines()[-1] == "2 succeeded, 0 failed, 0 skipped as already done"
    code, out, _ = run_cli(capsys, *common, "--methods", "full_ft,lora")
    assert code == 0 and out.strip().splitlines()[-1] == "0 succeeded, 0 failed, 2 skipped as already done"
    # a layer index that this 4-layer model lacks fails inside the cell: recorded, reported, exit 1
    code, out, _ = run_cli(capsys, *common, "--methods", "full_ft,lpt", "--set", "lpt.layer=9")
    assert code == 1 and out.strip().splitlines()[-1] == "0 succeeded, 1 failed, 1 skipped as already done"
    report = (tmp_path / "report.md").read_text()
    assert "## Failed cells" in report and "lpt.layer=9 is outside" in report


def test_the_closing_line_names_only_the_reports_a_run_wrote(capsys, tmp_path, tiny_model, data_dir):
    common = ["--model", str(tiny_model), "--data-dir", str(data_dir), *FAST, "--out", str(tmp_path)]
    code, out, _ = run_cli(capsys, *common, "--methods", "lpt", "--set", "lpt.layer=9")  # every cell fails
    wrote = next(line for line in out.splitlines() if line.startswith("wrote "))
    assert code == 1 and "report.tex" not in wrote and not (tmp_path / "report.tex").exists()
    code, out, _ = run_cli(capsys, *common, "--methods", "full_ft")
    wrote = next(line for line in out.splitlines() if line.startswith("wrote "))
    assert code == 0 and "report.tex" in wrote and (tmp_path / "report.tex").exists()


def test_output_files_get_the_users_normal_mode(capsys, tmp_path, tiny_model, data_dir):
    code, _, _ = run_cli(capsys, "--model", str(tiny_model), "--data-dir", str(data_dir), *FAST, "--methods",
                         "full_ft", "--out", str(tmp_path))
    assert code == 0
    for name in ("results.jsonl", "results.csv", "report.md"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode & 0o044 == 0o044, f"{name} has mode {oct(mode)}"  # group and others may read


def test_task_files_register_their_tasks_and_tasks_names_exactly_what_runs(capsys, tmp_path, tiny_model,
                                                                            data_dir):
    rows = "\n".join(f"{label}\t{text}" for label, text in
                     [("pos", "a great film"), ("neg", "a dull film"), ("pos", "loved it"),
                      ("neg", "hated it")] * 6)
    (tmp_path / "reviews.tsv").write_text("verdict\ttext\n" + rows + "\n", encoding="utf-8")
    (tmp_path / "task.toml").write_text(
        'name = "my_reviews"\ntrain = "reviews.tsv"\neval = "reviews.tsv"\nformat = "tsv"\n'
        'text_fields = ["text"]\nlabel_field = "verdict"\nlabels = ["neg", "pos"]\n'
        'verbalizer = ["bad", "great"]\ntemplate = "{text} It was [MASK] ."\ndefault_shots = 8\n',
        encoding="utf-8")
    common = ["--model", str(tiny_model), "--data-dir", str(data_dir), *FAST[:2], "--batch-size", "4",
              "--executor", "inline", "--task-file", str(tmp_path / "task.toml")]
    code, stdout, err = run_cli(capsys, *common, "--methods", "full_ft,hard_prompt", "--out",
                                str(tmp_path / "a"))
    assert code == 0, err
    assert "my_reviews (accuracy)" in stdout and "hard_prompt" in stdout and "sst2 (accuracy)" not in stdout
    code, stdout, err = run_cli(capsys, *common, "--tasks", "sst2", "--methods", "full_ft", "--out",
                                str(tmp_path / "b"), "--shots", "8")
    assert code == 0, err
    assert "my_reviews (accuracy)" not in stdout and "sst2 (accuracy)" in stdout
    code, stdout, err = run_cli(capsys, *common, "--tasks", "sst2,my_reviews", "--methods", "full_ft",
                                "--out", str(tmp_path / "c"), "--shots", "8")
    assert code == 0, err
    assert "my_reviews (accuracy)" in stdout and "sst2 (accuracy)" in stdout


def test_report_command_rewrites_the_report(capsys, finished_run):
    before = (finished_run / "report.md").read_text()
    (finished_run / "report.md").write_text("stale: written by hand\n")  # a rewrite replaces it ...
    (finished_run / "results.csv").unlink()  # ... and writes what is missing
    code, out, _ = run_cli(capsys, "report", str(finished_run))
    after = (finished_run / "report.md").read_text()
    assert code == 0 and "stale" not in after and after.strip() == before.strip() == out.strip()
    stored = ResultsStore(finished_run).latest()
    assert (finished_run / "results.csv").read_text().count("\n") == 1 + len(stored)


def test_list_shows_tasks_methods_and_a_methods_knobs(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0 and "eprstmt" in out and "hard_prompt" in out and "lmbff_sst2" in out
    code, out, _ = run_cli(capsys, "list", "--method", "lora")
    assert code == 0 and "rank (int, default 8): rank r of the low-rank update" in out


@pytest.mark.parametrize("command", ["run", "report", "check", "baseline", "compare", "perf", "list",
                                     "pretrain", "probe"])
def test_every_commands_help_prints(capsys, command):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_the_readme_method_table_is_the_generated_one():
    from reports.methods_table import BEGIN, END, methods_table

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert BEGIN in readme and END in readme, "README lacks the generated method table"
    start, end = readme.index(BEGIN), readme.index(END) + len(END)
    assert readme[start:end] == methods_table(), "run `run_bench.py list --markdown` and paste it into README"


def test_two_configurations_of_a_method_are_two_report_rows_labelled_by_what_differs(capsys, tmp_path,
                                                                                    tiny_model, data_dir):
    common = ["--model", str(tiny_model), "--data-dir", str(data_dir), "--methods", "lora", "--shots", "8",
              "--batch-size", "4", "--executor", "inline", "--out", str(tmp_path)]
    assert main([*common, "--epochs", "1"]) == 0 and main([*common, "--epochs", "3"]) == 0
    report = (tmp_path / "report.md").read_text()
    assert "| lora (epochs=1)" in report and "| lora (epochs=3)" in report


def test_rerunning_a_subset_of_a_baselines_cells_passes_check(capsys, monkeypatch, tmp_path, tiny_model,
                                                            data_dir):
    monkeypatch.chdir(tmp_path)
    common = ["--model", str(tiny_model), "--data-dir", str(data_dir), "--shots", "8", "--batch-size", "4",
              "--max-steps", "3", "--seeds", "1,2"]  # two seeds: a drop on both is resolved, one seed is not
    assert main([*common, "--methods", "lora,prompt_tuning", "--out", "both"]) == 0
    assert main(["baseline", "both", "--name", "two-methods"]) == 0
    assert main([*common, "--methods", "prompt_tuning", "--out", "one"]) == 0
    capsys.readouterr()
    assert main(["check", "one", "--baseline", "two-methods"]) == 1  # lora is missing from the run ...
    assert main(["check", "one", "--baseline", "two-methods", "--allow-missing"]) == 0  # ... on purpose
    out = capsys.readouterr().out
    assert "0 regressed" in out and "1 missing from the run" in out

    store = tmp_path / "one" / "results.jsonl"
    records = [json.loads(line) for line in store.read_text().splitlines()]
    for record in records:  # a planted 5-point accuracy drop in the re-run cell
        record["score"] = record["accuracy"] = record["score"] - 0.05
    store.write_text("".join(json.dumps(record) + "\n" for record in records))
    assert main(["check", "one", "--baseline", "two-methods", "--allow-missing"]) == 1
    regressed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| regressed")]
    assert len(regressed) == 1 and "prompt_tuning" in regressed[0] and "score" in regressed[0]


@pytest.mark.parametrize(("out", "expected"), [("{files}/d.tsv", "is a file: pass a folder"),
                                                ("/proc/1/petbench-out", "is not writable")])
def test_an_output_folder_that_cannot_take_records_is_refused_before_the_first_cell(
        capsys, bad_files, tiny_model, data_dir, out, expected):
    out = out.format(files=bad_files)
    before = snapshot(bad_files)
    code, _, err = run_cli(capsys, "--model", str(tiny_model), "--data-dir", str(data_dir), *FAST,
                           "--out", out)
    assert code == 2 and err.count("\n") == 1 and expected in err
    assert snapshot(bad_files) == before


def test_an_out_path_with_a_tilde_goes_to_the_home_folder(capsys, monkeypatch, tmp_path, tiny_model,
                                                          data_dir):
    import matplotlib

    monkeypatch.setenv("MPLCONFIGDIR", matplotlib.get_cachedir())  # else a new HOME rebuilds its font cache
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    code, _, _ = run_cli(capsys, "--model", str(tiny_model), "--data-dir", str(data_dir), *FAST,
                         "--out=~/x")
    assert code == 0 and (tmp_path / "home" / "x" / "results.jsonl").is_file()
    assert not (tmp_path / "~").exists()


def test_a_record_the_results_folder_refuses_is_kept_in_a_side_file(monkeypatch, tmp_path, capsys):
    from bench.core.records import CellResult, CellStatus
    from bench.core.store import ResultsStore
    from bench.training import sweep

    record = CellResult(cell_id="c", config_id="c", status=CellStatus.SUCCESS, task="t", task_version="1",
                        language="en", method="m", method_config="{}", model="x", seed=1, shots=1, split=None,
                        zero_shot=False, metric="accuracy")

    def disk_full(self, record):
        raise OSError(28, "No space left on device")

    class OneRecord:
        def run(self, jobs, on_record):
            on_record(record)

    monkeypatch.setattr(ResultsStore, "append", disk_full)
    monkeypatch.setattr(sweep.tempfile, "gettempdir", lambda: str(tmp_path))
    summary, records = sweep.run_sweep([], ResultsStore(tmp_path / "out"), OneRecord())
    assert records == [record] and summary.succeeded == 1
    assert "No space left on device" in capsys.readouterr().err
    kept = (tmp_path / "petbench-unsaved-records.jsonl").read_text().splitlines()
    assert [CellResult.from_dict(json.loads(line)) for line in kept] == [record]


def test_list_task_shows_the_definition_and_an_example_as_the_model_sees_it(capsys, tiny_model, data_dir):
    code, out, err = run_cli(capsys, "list", "--task", "sst2", "--model", str(tiny_model), "--data-dir",
                             str(data_dir))
    assert code == 0, err
    assert "template '{sentence} It was [MASK] .'" in out and "labels and label words: 0 -> 'terrible'" in out
    assert "as hard_prompt on tiny-bert0 feeds it" in out and "[MASK] at positions" in out
