"""The papers' numbers beside ours: published results as data, printed beside the measured rows of a
matching task and method, with their model named and marked when it is not the run's."""

import pytest

from bench.cli.main import main
from reports.references import load_references


def _run(tmp_path, tiny_model, data_dir, *extra: str) -> str:
    args = ["--model", str(tiny_model), "--data-dir", str(data_dir), "--methods", "full_ft", "--seeds", "1",
            "--max-steps", "2", "--batch-size", "4", "--max-length", "32", "--device", "cpu",
            "--executor", "inline", "--out", str(tmp_path), *extra]
    assert main(args) == 0
    return (tmp_path / "report.md").read_text()


def test_the_built_in_sets_hold_fewclues_published_baselines_with_their_sources():
    references = load_references()
    pet = {r.task: (r.value, r.std) for r in references if r.name == "PET" and r.std is not None}
    assert pet["eprstmt"] == (86.66, 1.02) and pet["bustm"] == (56.04, 4.98) and len(pet) == 8
    assert all(r.source and r.model == "chinese_roberta_wwm_ext" for r in references)


def test_published_rows_stand_beside_a_matching_run_and_name_a_different_model(tmp_path, tiny_model,
                                                                               data_dir):
    report = _run(tmp_path, tiny_model, data_dir, "--tasks", "eprstmt", "--split", "0")
    published = ("| FineTuning (published, beside full_ft: FewCLUE (Xu et al., 2021); "
                 "chinese_roberta_wwm_ext, different model) | 73.7 |")
    assert published in {" ".join(line.split()) for line in report.splitlines()}  # alignment aside
    assert "Published: FewCLUE (Xu et al., 2021), README results table" in report
    assert "PET (published" not in report  # hard_prompt did not run


def test_no_published_row_where_no_task_and_method_match(tmp_path, tiny_model, data_dir):
    assert "(published" not in _run(tmp_path, tiny_model, data_dir, "--tasks", "sst2", "--shots", "8")


def test_a_users_reference_file_loads_from_a_path_and_a_bad_one_fails_before_any_cell(
        capsys, tmp_path, tiny_model, data_dir):
    mine = tmp_path / "mine.yaml"
    mine.write_text(f"paper: My paper\ntable: Table 1\nmodel: {tiny_model.name}\nmetric: accuracy\n"
                    f"protocol: none\nsource: my notes\nrows:\n"
                    f"  - {{task: sst2, method: full_ft, name: FT, value: 51.5, std: 0.5}}\n",
                    encoding="utf-8")
    report = _run(tmp_path / "run", tiny_model, data_dir, "--tasks", "sst2", "--shots", "8",
                  "--references", str(mine))
    assert f"| FT (published, beside full_ft: My paper; {tiny_model.name}) | 51.5 ± 0.5" in report
    broken = tmp_path / "broken.yaml"
    broken.write_text("paper: x\nrows: []\n", encoding="utf-8")
    assert main(["--model", str(tiny_model), "--data-dir", str(data_dir), "--references", str(broken),
                 "--out", str(tmp_path / "never")]) == 2
    assert "reference file" in capsys.readouterr().err and not (tmp_path / "never").exists()


@pytest.mark.parametrize("row", ["{task: sst2, method: full_ft, value: 1}", "{task: sst2, method: full_ft, "
                                                                            "name: FT, value: high}"])
def test_a_malformed_reference_row_is_a_one_line_error(tmp_path, row):
    from bench.core.errors import BenchError

    path = tmp_path / "bad.yaml"
    path.write_text(f"paper: p\ntable: t\nmodel: m\nmetric: accuracy\nprotocol: x\nsource: s\n"
                    f"rows:\n  - {row}\n", encoding="utf-8")
    with pytest.raises(BenchError, match="row 1"):
        load_references([path])
