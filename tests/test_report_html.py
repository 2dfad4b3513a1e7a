"""report.html, read as text: written beside report.md, self-contained (no network), one leaderboard row
per configuration with its cells, reference and published rows marked, failed cells and the header."""

import dataclasses
import json
import re
from pathlib import Path

import pytest

from bench.core.store import RESULTS_FILE
from reports import HTML_FILE, write_reports
from scripts.html_report_size import synthetic_cell, write_results
from tests.helpers import page_data

# 2 tasks x 3 methods x 5 seeds, the last cell failed
CELLS, TASKS, METHODS = 30, 2, 3
REFERENCE_YAML = """paper: A paper
table: Table 1
model: a-large-model
metric: accuracy
protocol: 16 per class
source: the paper's table
rows:
  - {task: task0, method: method0, name: Their method, value: 91.5, std: 0.4}
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, str]:
    folder = write_results(tmp_path_factory.mktemp("run"), CELLS, tasks=TASKS, methods=METHODS, failed=1)
    references = folder / "published.yaml"
    references.write_text(REFERENCE_YAML, encoding="utf-8")
    write_reports(folder, reference_files=[references], command="run_bench.py report out --references x.yaml")
    return folder, (folder / HTML_FILE).read_text(encoding="utf-8")


def rows_reported(folder: Path, cells: list) -> list[dict]:
    """report.html's leaderboard rows, less the majority class's, for a results folder of these cells."""
    lines = "".join(cell.to_json() + "\n" for cell in cells)
    folder.joinpath(RESULTS_FILE).write_text(lines, encoding="utf-8")
    write_reports(folder)
    rows = page_data((folder / HTML_FILE).read_text(encoding="utf-8"))["rows"]
    return [row for row in rows if row["method"] != "majority class"]


def test_every_report_writes_report_html_beside_report_md(report):
    folder, page = report
    assert (folder / "report.md").exists() and page.startswith("<!doctype html>")


def test_html_report_is_self_contained_with_no_network_reference(report):
    _, page = report
    assert not re.search(r"""<(script|link|img|iframe)[^>]*(src|href)\s*=\s*["']?(https?:)?//""", page, re.I)
    assert "<link" not in page
    assert "Plotly" in page and 'id="datatables-source"' in page  # the libraries travel inside


def test_html_report_has_one_row_per_configuration_with_its_seeds(report):
    rows = [row for row in page_data(report[1])["rows"] if row["kind"] == "measured"]
    assert len(rows) == TASKS * METHODS
    cells_per_row = sorted(len(row["cells"]) for row in rows)
    assert cells_per_row == [4] + [5] * (TASKS * METHODS - 1)  # the failed cell is no row's cell
    first = rows[0]["cells"][0]
    assert set(first) == {"seed", "split", "score", "dev", "best_step", "wall", "cell_id"}


def test_html_report_has_the_majority_class_per_task_as_a_reference_row(report):
    majority = [row for row in page_data(report[1])["rows"] if row["method"] == "majority class"]
    assert [(row["task"], row["kind"], row["score"]) for row in majority] == [
        ("task0", "reference", 50.0), ("task1", "reference", 50.0)]


def test_html_report_marks_published_results_as_their_own_rows(report):
    published = [row for row in page_data(report[1])["rows"] if row["kind"] == "published"]
    assert [(row["task"], row["score"], row["model"]) for row in published] == [
        ("task0", 91.5, "a-large-model")]
    assert published[0]["trainable"] is None  # it measured nothing here


def test_html_report_lists_failed_cells_with_their_errors(report):
    failed = re.search(r'<table class="failed" id="failed">(.*?)</table>', report[1], re.S)
    assert failed and "CUDA out of memory (planted)" in failed[1] and failed[1].count("<tr>") == 2


def test_html_report_header_shows_versions_device_precision_and_command(report):
    header = report[1].split("</header>")[0]
    for text in ("torch=2.13.0", "cpu (2 threads), fp32", "run_bench.py report out --references x.yaml",
                 "30 (1 failed)"):
        assert text in header


def test_text_from_a_record_cannot_end_the_pages_scripts(tmp_path):
    hostile = "</script><script>alert(1)</script>"
    folder = write_results(tmp_path, 1)
    record = dataclasses.replace(synthetic_cell(1, failed=True), error=hostile, cell_id=f"x/{hostile}")
    with open(folder / RESULTS_FILE, "a", encoding="utf-8") as handle:
        handle.write(record.to_json() + "\n")
    write_reports(folder)
    page = (folder / HTML_FILE).read_text(encoding="utf-8")
    assert hostile not in page and "&lt;/script&gt;&lt;script&gt;alert(1)" in page


def test_the_report_command_writes_report_html_naming_the_command(tmp_path):
    from bench.cli.main import main

    folder = write_results(tmp_path / "run", 5)
    assert main(["report", str(folder)]) == 0
    assert f"run_bench.py report {folder}" in (folder / HTML_FILE).read_text(encoding="utf-8")


def test_a_run_writes_report_html_naming_its_command(tmp_path, tiny_model, data_dir):
    from bench.cli.main import main

    arguments = ["--model", str(tiny_model), "--data-dir", str(data_dir), "--methods", "linear_probe",
                 "--max-steps", "1", "--shots", "8", "--max-length", "48", "--executor", "inline",
                 "--out", str(tmp_path)]
    assert main(arguments) == 0
    page = (tmp_path / HTML_FILE).read_text(encoding="utf-8")
    methods = [row["method"] for row in page_data(page)["rows"]]
    assert methods == ["linear_probe", "majority class"] and "run_bench.py --model" in page


def test_a_searched_method_is_one_row_whose_cells_are_the_selected_settings(tmp_path):
    cells = [dataclasses.replace(synthetic_cell(seed), config_id=f"lr{lr}", selection_id="searched",
                                 cell_id=f"lr{lr}/seed{seed}", search=json.dumps({"lr": lr}),
                                 search_index=index, dev_score=0.5 + lr * 100 + seed / 100)
             for seed in range(2) for index, lr in enumerate((1e-4, 1e-3))]
    [row] = rows_reported(tmp_path, cells)
    assert row["selection"] == "best dev over lr"
    assert sorted(cell["cell_id"] for cell in row["cells"]) == ["lr0.001/seed0", "lr0.001/seed1"]


def test_a_reference_method_is_marked_as_a_reference_row(tmp_path):
    from bench.core.method import Role

    cells = [synthetic_cell(0), dataclasses.replace(synthetic_cell(5, tasks=1), role=Role.REFERENCE.value)]
    kinds = {(row["method"], row["kind"]) for row in rows_reported(tmp_path, cells)}
    assert kinds == {("method0", "measured"), ("method1", "reference")}
