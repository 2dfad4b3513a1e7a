"""`check --against-paper` on hand-made records: a run is judged only against numbers published for its
shots, a --search only by its dev-selected cells, doubtful scores are flagged, and a published-results
file with a NaN or a key given twice is refused in one line."""

import json

import pytest

from bench.cli.main import main
from bench.core.errors import BenchError
from bench.core.records import CellResult, CellStatus
from bench.core.store import ResultsStore
from reports.references import load_references

SPLITS = ("0", "1", "2", "3", "4")


def cell(score: float | None, split: str, *, shots: int | None = None, method: str = "full_ft", lr: str = "",
         dev: float = 0.5, majority: float = 0.5, stalled: bool = False, eval_limit: int = 0,
         status: CellStatus = CellStatus.SUCCESS) -> CellResult:
    search = json.dumps({"lr": lr}) if lr else ""
    return CellResult(cell_id=f"{method}/{shots}/{lr}/{split}", config_id=f"{method}-{shots}-{lr}",
                      status=status, task="eprstmt", task_version="1", language="zh", method=method,
                      method_config="{}", model="tiny", seed=42, shots=shots, split=split, zero_shot=False,
                      metric="accuracy",
                      selection_id=f"{method}-{shots}" if lr else "", search=search,
                      search_index=["1e-3", "1e-2"].index(lr) if lr else 0, score=score, dev_score=dev,
                      majority_score=majority, never_beat_start=stalled,
                      train_config=json.dumps({"eval_limit": eval_limit}), finished_at="2026-01-01T00:00:00")


def reference_file(tmp_path, value: float, *, shots: str | None = "full", extra: str = "") -> str:
    path = tmp_path / "mine.yaml"
    said = f"shots: {shots}\n" if shots else ""
    path.write_text(f"paper: Mine\ntable: T1\nmodel: tiny\nmetric: accuracy\nprotocol: none\nsource: notes\n"
                    f"{said}rows:\n  - {{task: eprstmt, method: full_ft, name: Ours, "
                    f"value: {value}{extra}}}\n",
                    encoding="utf-8")
    return str(path)


def check(tmp_path, cells, *options: str) -> int:
    store = ResultsStore(tmp_path / "run")
    for record in cells:
        store.append(record)
    return main(["check", str(tmp_path / "run"), "--against-paper", *options])


def ours(out: str) -> str:
    [line] = [line for line in out.splitlines() if "Ours: Mine" in line]
    return line


def test_a_run_at_other_shots_is_not_judged_against_the_papers_numbers_without_a_word(tmp_path, capsys):
    """FewCLUE's built-in numbers are for the official splits' whole training sets."""
    eight = [cell(0.50, split, shots=8) for split in SPLITS]
    assert check(tmp_path, eight) == 2
    err = capsys.readouterr().err
    assert "ran shots 8; FineTuning (FewCLUE (Xu et al., 2021)) is for shots full: not judged" in err
    assert err.splitlines()[-1].startswith("error: ") and "at other shots" in err.splitlines()[-1]
    assert main(["check", str(tmp_path / "run"), "--against-paper",
                 "--references", reference_file(tmp_path, 50.0, shots="8")]) == 0
    assert "| within " in ours(capsys.readouterr().out)


def test_a_file_that_does_not_say_its_shots_is_compared_and_flagged(tmp_path, capsys):
    unsaid = reference_file(tmp_path, 74.0, shots=None)
    check(tmp_path, [cell(0.74, split) for split in SPLITS], "--references", unsaid)
    assert "the paper does not say its shots" in ours(capsys.readouterr().out)


def test_a_search_is_judged_by_its_dev_selected_cells_only(tmp_path, capsys):
    """lr=1e-2 scores 95 on eval but loses on dev: the paper is compared with lr=1e-3's 60."""
    grid = [cell(0.60, split, lr="1e-3", dev=0.9) for split in SPLITS]
    grid += [cell(0.95, split, lr="1e-2", dev=0.5) for split in SPLITS]
    assert check(tmp_path, grid, "--references", reference_file(tmp_path, 80.0)) == 1
    line = ours(capsys.readouterr().out)
    assert "| below " in line and "full_ft (selected on dev over lr)" in line and "| 60.0 " in line


@pytest.mark.parametrize(("options", "flag"), [
    ({"majority": 0.75}, "at or below the majority class (75.0)"),
    ({"stalled": True}, "5 of 5 cells never beat their untrained start"),
    ({"eval_limit": 32}, "scored on an --eval-limit sample of 32 examples"),
])
def test_doubtful_scores_are_flagged(tmp_path, capsys, options, flag):
    """Flagged, not failed: within the paper's number is what was measured, and the flag says how little
    that may mean."""
    assert check(tmp_path, [cell(0.74, split, **options) for split in SPLITS],
                 "--references", reference_file(tmp_path, 74.0)) == 0
    out = capsys.readouterr().out
    assert flag in ours(out) and "| within " in ours(out) and "flagged: " in out


@pytest.mark.parametrize(("lr", "label"), [("", "full_ft"), ("1e-3", "full_ft (selected on dev over lr)")])
def test_failed_cells_with_a_published_result_fail_the_paper_check(tmp_path, capsys, lr, label):
    cells = [cell(None, split, lr=lr, status=CellStatus.FAILED) for split in SPLITS]
    assert check(tmp_path, cells, "--references", reference_file(tmp_path, 74.0)) == 1
    assert f"failed: {label} on eprstmt: 5 cell(s) without a score" in capsys.readouterr().out


@pytest.mark.parametrize(("extra", "message"), [
    ("", "finite numbers (found nan)"),
    (", value: 75.0", "the key 'value' is given twice"),
])
def test_a_published_value_that_is_nan_or_given_twice_is_refused_in_one_line(tmp_path, capsys, extra,
                                                                             message):
    value = ".nan" if not extra else "74.0"
    path = reference_file(tmp_path, value, extra=extra)
    with pytest.raises(BenchError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_references([path])
    assert check(tmp_path, [cell(0.74, split) for split in SPLITS], "--references", path) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_a_value_given_twice_in_block_style_is_refused_too(tmp_path):
    path = tmp_path / "block.yaml"
    path.write_text("paper: p\ntable: t\nmodel: m\nmetric: accuracy\nprotocol: x\nsource: s\nrows:\n"
                    "  - task: eprstmt\n    method: full_ft\n    name: n\n    value: 70\n    value: 80\n",
                    encoding="utf-8")
    with pytest.raises(BenchError, match="given twice"):
        load_references([path])
