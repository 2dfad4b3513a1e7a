"""The command line: one-line errors for bad input, custom task files, the report command."""

import pytest

from bench.cli import main


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


FAST = ("--max-steps", "1", "--batch-size", "4", "--shots", "8", "--max-length", "48")


@pytest.mark.parametrize(("args", "expected"), [
    (("--tasks", "sst3"), "unknown task 'sst3': did you mean 'sst2'?"),
    (("--methods", "ful_ft"), "unknown method 'ful_ft': did you mean 'full_ft'?"),
    (("--model", "./no/such/model"), "does not exist"),
    (("--data-dir", "/no/such/dir"), "data directory /no/such/dir does not exist"),
    (("--set", "full_ft.warp=1"), "method full_ft has no knob 'warp'"),
    (("--set", "full_ft.learning_rate=fast"), "expected float"),
    (("--seeds", "a,b"), "must be comma-separated integers"),
    (("--shots", "-3"), "is not a positive number"),
    (("--task-file", "/no/such/task.yaml"), "task file /no/such/task.yaml not found"),
])
def test_bad_input_gives_one_line_error_and_exit_2(capsys, tmp_path, args, expected):
    code, _, err = run_cli(capsys, *FAST, "--out", str(tmp_path), *args)
    assert code == 2
    assert expected in err and err.startswith("error: ") and err.count("\n") == 1


def test_malformed_task_file_is_a_one_line_error(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "--task-file", str(bad), "--out", str(tmp_path))
    assert code == 2 and "is not valid YAML" in err and err.count("\n") == 1
    bad.write_text("name: t\nlabels: [a]\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "--task-file", str(bad), "--out", str(tmp_path))
    assert code == 2 and "missing ['train', 'eval'" in err


def test_custom_task_file_runs_without_code(capsys, tmp_path, tiny_model):
    rows = "\n".join(f"{label}\t{text}" for label, text in
                     [("pos", "a great film"), ("neg", "a dull film"), ("pos", "loved it"),
                      ("neg", "hated it")] * 6)
    (tmp_path / "reviews.tsv").write_text("verdict\ttext\n" + rows + "\n", encoding="utf-8")
    (tmp_path / "task.toml").write_text(
        'name = "my_reviews"\ntrain = "reviews.tsv"\neval = "reviews.tsv"\nformat = "tsv"\n'
        'text_fields = ["text"]\nlabel_field = "verdict"\nlabels = ["neg", "pos"]\n'
        'verbalizer = ["bad", "great"]\ntemplate = "{text} It was [MASK] ."\ndefault_shots = 8\n',
        encoding="utf-8")
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, "--task-file", str(tmp_path / "task.toml"), "--model",
                                str(tiny_model), "--methods", "full_ft,hard_prompt", "--out", str(out),
                                "--max-steps", "1", "--batch-size", "4")
    assert code == 0, err
    assert "my_reviews (accuracy)" in stdout and "hard_prompt" in stdout
    assert (out / "results.csv").exists() and (out / "report.md").exists()


def test_report_command_rewrites_reports_and_fails_cleanly_without_results(capsys, tmp_path):
    code, _, err = run_cli(capsys, "report", str(tmp_path))
    assert code == 2 and "no results in" in err


def test_list_shows_tasks_and_methods(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0 and "eprstmt" in out and "hard_prompt" in out
