"""The papers' numbers beside ours: published results as data, printed beside the measured rows of a
matching task and method, with their model named and marked when it is not the run's."""

import csv
import re
from pathlib import Path

import pytest

from bench.cli.main import main
from bench.core.errors import BenchError
from bench.session import RunSpec, run
from reports.references import load_references
from tests.helpers import tiny_spec


def _run(tmp_path, tiny_model, data_dir, **fields) -> str:
    spec = tiny_spec(tiny_model, data_dir, tmp_path, seeds="1", device="cpu", shots=fields.pop("shots", None),
                     train={"max_steps": "2", "max_length": "32"}, **fields)
    assert run(spec).exit_code == 0
    return (tmp_path / "report.md").read_text()


def test_the_built_in_sets_hold_fewclues_published_baselines_with_their_sources():
    references = load_references()
    pet = {r.task: (r.value, r.std) for r in references if r.name == "PET" and r.std is not None}
    assert pet["eprstmt"] == (86.66, 1.02) and pet["bustm"] == (56.04, 4.98) and len(pet) == 8
    fewclue = [r for r in references if r.protocol == "fewclue"]
    assert all(r.source and r.model == "chinese_roberta_wwm_ext" for r in fewclue)


def test_the_fewclue_results_page_prints_the_published_rows_of_the_built_in_sets_with_their_sources():
    """docs/results/fewclue.md types no published number of its own: each "published" row is a
    built-in set's rows (rounded as the page prints scores), and its marker cites that set's source."""
    page = (Path(__file__).resolve().parent.parent / "docs" / "results" / "fewclue.md").read_text()
    header = re.search(r"^\| method \| (.+) \| avg \|$", page, re.M).group(1).split(" | ")
    notes = {marker: " ".join(text.split()) for marker, text in
             re.findall(r"^- \[(\w)\] (.+?)(?=^- \[|^$)", page, re.M | re.S)}
    rows = re.findall(r"^\| (\w+) \(published \[(\w)\]\) \| (.+) \|$", page, re.M)
    assert len(rows) == 4
    references = load_references()
    for name, marker, cells in rows:
        cited = [r for r in references if r.name == name and r.source in notes[marker] and r.task in header]
        assert {r.source for r in cited} == {cited[0].source} and len(cited) == len(header), (name, marker)
        values = [next(r.value for r in cited if r.task == task) for task in header]
        printed = [f"{value:.1f}" for value in values] + [f"{sum(values) / len(values):.1f}"]
        assert cells.split(" | ") == printed, (name, marker)


def test_the_built_in_sets_hold_lm_bffs_prompt_based_fine_tuning_on_sst2():
    lm_bff = [r for r in load_references() if r.protocol == "lm_bff"]
    assert [(r.task, r.method, r.value, r.std, r.model) for r in lm_bff] == [
        ("lmbff_sst2", "hard_prompt", 92.7, 0.9, "roberta-large")]


def test_published_rows_stand_beside_a_matching_run_and_name_a_different_model(tmp_path, tiny_model,
                                                                               data_dir):
    report = _run(tmp_path, tiny_model, data_dir, tasks="eprstmt", split="0")
    published = ("| FineTuning (published, beside full_ft: FewCLUE (Xu et al., 2021); "
                 "chinese_roberta_wwm_ext, different model) | 73.7 |")
    assert published in {" ".join(line.split()) for line in report.splitlines()}  # alignment aside
    assert "Published: FewCLUE (Xu et al., 2021), README results table" in report
    assert "PET (published" not in report  # hard_prompt did not run


def test_no_published_row_where_no_task_and_method_match(tmp_path, tiny_model, data_dir):
    assert "(published" not in _run(tmp_path, tiny_model, data_dir, tasks="sst2", shots="8")


def test_a_users_reference_file_loads_from_a_path_and_a_bad_one_fails_before_any_cell(
        tmp_path, tiny_model, data_dir):
    mine = tmp_path / "mine.yaml"
    mine.write_text(f"paper: My paper\ntable: Table 1\nmodel: {tiny_model.name}\nmetric: accuracy\n"
                    f"protocol: none\nsource: my notes\nrows:\n"
                    f"  - {{task: sst2, method: full_ft, name: FT, value: 51.5, std: 0.5}}\n",
                    encoding="utf-8")
    report = _run(tmp_path / "run", tiny_model, data_dir, tasks="sst2", shots="8", references=str(mine))
    assert f"| FT (published, beside full_ft: My paper; {tiny_model.name}) | 51.5 ± 0.5" in report
    broken = tmp_path / "broken.yaml"
    broken.write_text("paper: x\nrows: []\n", encoding="utf-8")
    with pytest.raises(BenchError, match="reference file"):
        run(RunSpec(model=str(tiny_model), data_dir=str(data_dir), references=str(broken),
                    out=str(tmp_path / "never")))
    assert not (tmp_path / "never").exists()


@pytest.mark.parametrize("row", ["{task: sst2, method: full_ft, value: 1}", "{task: sst2, method: full_ft, "
                                                                            "name: FT, value: high}"])
def test_a_malformed_reference_row_is_a_one_line_error(tmp_path, row):
    from bench.core.errors import BenchError

    path = tmp_path / "bad.yaml"
    path.write_text(f"paper: p\ntable: t\nmodel: m\nmetric: accuracy\nprotocol: x\nsource: s\n"
                    f"rows:\n  - {row}\n", encoding="utf-8")
    with pytest.raises(BenchError, match="row 1"):
        load_references([path])


def _reference_file(tmp_path, value: float, std: float | None = None):
    path = tmp_path / "mine.yaml"
    spread = f", std: {std}" if std else ""
    row = f"{{task: eprstmt, method: full_ft, name: Ours, value: {value}{spread}}}"
    path.write_text(f"paper: My paper\ntable: T1\nmodel: tiny\nmetric: accuracy\nprotocol: fewclue\n"
                    f"source: my draft\nrows:\n  - {row}\n", encoding="utf-8")
    return path


def test_check_against_the_paper_fails_a_run_far_below_the_published_number(tmp_path, tiny_model, data_dir,
                                                                           capsys):
    out = tmp_path / "run"
    _run(out, tiny_model, data_dir, tasks="eprstmt", split="0")
    capsys.readouterr()
    assert main(["check", str(out), "--against-paper"]) == 1  # FewCLUE's 73.7, a tiny random model
    printed = capsys.readouterr().out
    published_as = "FineTuning: FewCLUE (Xu et al., 2021); chinese_roberta_wwm_ext, different model"
    assert "73.7" in printed and published_as in printed
    assert printed.splitlines()[2].startswith("| below ") and "1 below the paper" in printed
    assert "with a different model than the paper's" in printed


def test_check_against_the_paper_passes_within_the_tolerance_and_says_how_far(tmp_path, tiny_model, data_dir,
                                                                            capsys):
    out = tmp_path / "run"
    _run(out, tiny_model, data_dir, tasks="eprstmt", split="0")
    with open(out / "results.csv", newline="", encoding="utf-8") as handle:
        score = 100 * float(next(csv.DictReader(handle))["score"])
    capsys.readouterr()
    mine = _reference_file(tmp_path, round(score + 0.5, 2))  # half a point above the run: within 1 point
    code = main(["check", str(out), "--against-paper", "--references", str(mine), "--accuracy-points", "1"])
    printed = capsys.readouterr().out
    ours = [line for line in printed.splitlines() if "Ours: My paper" in line]
    assert len(ours) == 1 and "| within " in ours[0] and "-0.5" in ours[0]
    assert code == 1  # FewCLUE's own 73.7 stays among the references, and the run is far below it
    higher = _reference_file(tmp_path, round(score - 5, 2))
    main(["compare", str(out), "--against-paper", "--references", str(higher)])
    ours = [line for line in capsys.readouterr().out.splitlines() if "Ours: My paper" in line]
    assert len(ours) == 1 and "| above " in ours[0] and "+5.0" in ours[0]


def test_against_the_paper_with_no_published_task_and_method_is_one_line(tmp_path, tiny_model, data_dir,
                                                                         capsys):
    out = tmp_path / "run"
    _run(out, tiny_model, data_dir)  # sst2: no published row
    capsys.readouterr()
    assert main(["check", str(out), "--against-paper"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "no configuration" in error and "--references" in error
