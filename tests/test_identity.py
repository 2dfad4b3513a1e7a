"""Records never pass one run off as another: a cell id holds every setting, the code and the libraries
that can change its number; a run stored again is one run in every report, its newest record."""

import dataclasses
import enum
import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from bench.core import source
from bench.core.device import choose_device
from bench.core.encoded import EncodedExample
from bench.core.environment import library_versions
from bench.core.knobs import identity_fields
from bench.core.method import METHODS
from bench.core.records import CellResult, CellStatus
from bench.core.store import ResultsStore
from bench.core.task import Example
from bench.training.cells import expand_cells
from bench.training.encodings import encode_once
from bench.training.loop import EncodedSplits, TrainConfig, train_and_evaluate
from bench.training.runner import identity
from bench.training.sweep import plan_jobs, run_sweep
from reports import CSV_FILE, HTML_FILE, write_reports
from reports.aggregate import cells_frame, latest_per_run
from tests.helpers import FAST_TRAINING, build, page_data, tiny_grid

ROOT = Path(__file__).resolve().parent.parent
CPU = choose_device("cpu", precision="fp32")
SENTENCES = [Example(("a great and moving film",), 1), Example(("dull , flat and far too long",), 0),
             Example(("loved every minute",), 1), Example(("hated it",), 0)]


def _ids(grid) -> tuple[str, str, str]:
    cell = expand_cells(grid)[0]
    return cell.cell_id(data_fingerprint="d", versions="v"), cell.config_id, cell.selection_id


# --- the code a number comes from -------------------------------------------------------------------


@pytest.fixture
def source_copy(tmp_path) -> Path:
    """PETBench's source, docs, reports and CLI copied, to edit without touching the checkout."""
    ignore = shutil.ignore_patterns("__pycache__")
    for folder in ("bench", "methods", "families", "tasks", "reports"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=ignore)
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    return tmp_path


def _edited(path: Path, text: str = "\n# an edit\n") -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)


@pytest.mark.parametrize("edited", ["methods/lora.py", "bench/training/loop.py", "families/bert_like.py",
                                    "bench/core/metrics.py", "bench/core/data.py", "methods/encoding.py",
                                    "methods/a_new_method.py"])
def test_a_change_to_code_that_computes_numbers_changes_the_code_digest(source_copy, edited):
    before = source.source_digest(source_copy)
    _edited(source_copy / edited)
    assert source.source_digest(source_copy) != before


@pytest.mark.parametrize("edited", ["README.md", "reports/markdown.py", "bench/cli/main.py",
                                    "bench/perf/runner.py", "bench/core/records.py", "bench/core/store.py",
                                    "tasks/definitions/glue.yaml"])
def test_docs_reports_the_cli_and_bookkeeping_leave_the_code_digest_alone(source_copy, edited):
    before = source.source_digest(source_copy)
    _edited(source_copy / edited)
    assert source.source_digest(source_copy) == before  # (a task file is hashed per task instead)


def test_the_bookkeeping_modules_left_out_of_the_digest_exist():
    assert all((ROOT / name).is_file() for name in source.BOOKKEEPING)


def test_the_built_in_code_is_hashed_once_per_process_and_every_cell_id_holds_it(tiny_model, monkeypatch):
    assert source.harness_code_digest() == source.source_digest(source.PACKAGE_ROOT)
    grid = tiny_grid(tiny_model)
    before = _ids(grid)
    monkeypatch.setattr(source, "harness_code_digest", lambda: "a-later-commit")
    after = _ids(grid)
    assert after[0] != before[0]  # the cell trains anew ...
    assert after[1:] == before[1:]  # ... as the same configuration: check compares it with its old self


class _FakeRun:
    """An executor that 'trains' each job to a given score at a given time, without any model."""

    def __init__(self, score: float, finished_at: str) -> None:
        self.score, self.finished_at, self.ran = score, finished_at, []

    def run(self, jobs, on_record) -> None:
        for job in jobs:
            self.ran.append(job.cell_id)
            on_record(CellResult(**identity(job), status=CellStatus.SUCCESS, score=self.score,
                                 accuracy=self.score, dev_score=self.score, majority_score=0.5, n_train=8,
                                 n_eval=60, device="cpu", dtype="fp32", versions=job.versions,
                                 trainable_params=10, total_params=100, finished_at=self.finished_at))


def test_a_commit_that_changes_a_built_in_method_trains_its_done_cells_again(tmp_path, tiny_model, data_dir,
                                                                             monkeypatch):
    grid = tiny_grid(tiny_model, seeds=(1, 2))
    store = ResultsStore(tmp_path)
    first = _FakeRun(0.6, "2026-01-01T00:00:00+00:00")
    run_sweep(plan_jobs(grid, data_dir), store, first)
    again = _FakeRun(0.6, "2026-01-02T00:00:00+00:00")
    summary, _ = run_sweep(plan_jobs(grid, data_dir), store, again)
    assert summary.skipped == 2 and not again.ran  # the same code: true repeats, resumed
    monkeypatch.setattr(source, "harness_code_digest", lambda: "a-commit-that-moves-lora")
    changed = _FakeRun(0.5, "2026-01-03T00:00:00+00:00")
    summary, records = run_sweep(plan_jobs(grid, data_dir), store, changed)
    assert summary.skipped == 0 and len(changed.ran) == 2
    old = {record.config_id: record.code_digest for record in store.load()[:2]}
    assert all(old[record.config_id] != record.code_digest != "" for record in records)


def test_an_edited_plugin_keeps_its_configuration_and_never_reuses_a_cell(tiny_model):
    grid = tiny_grid(tiny_model)
    original = METHODS.get("full_ft")
    ids = []
    for code in ("0123456789", "abcdefabcd"):  # the plugin file's hash before and after an edit
        METHODS._entries["full_ft"] = replace(original, code_digest=code)
        try:
            ids.append((*_ids(grid), expand_cells(grid)[0].code_digest))
        finally:
            METHODS._entries["full_ft"] = original
    (cell_a, config_a, selection_a, code_a), (cell_b, config_b, selection_b, code_b) = ids
    assert cell_a != cell_b and code_a != code_b
    assert (config_a, selection_a) == (config_b, selection_b)  # paired with its baseline, not `new`


def test_a_plugins_encoder_class_is_hashed_by_its_file_and_petbenchs_own_is_not(tmp_path, monkeypatch):
    import importlib.util
    import sys

    from methods.encoding import TemplateEncoder

    assert source.plugin_code_digest(TemplateEncoder) == ""  # in the harness digest
    plugin = tmp_path / "my_encoder.py"
    plugin.write_text("class MyEncoder:\n    pass\n")
    spec = importlib.util.spec_from_file_location("my_encoder_plugin", plugin)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "my_encoder_plugin", module)  # as load_plugin_file registers it
    spec.loader.exec_module(module)
    digest = source.plugin_code_digest(module.MyEncoder())
    assert digest and digest == source.plugin_code_digest(module.MyEncoder)


class _CountingEncoder:
    pad_id = 0
    cache_key = "counting-encoder"

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, examples):
        self.calls += 1
        return [EncodedExample((1, 2), example.label) for example in examples]


def test_encodings_cached_by_other_code_are_encoded_again(tmp_path, monkeypatch):
    examples = [Example(("an encoding cache test",), 1)]
    encoder = _CountingEncoder()
    encode_once(encoder, examples, cache_folder=tmp_path)
    monkeypatch.setattr("bench.training.encodings._IN_PROCESS", {})  # a new process: only the folder
    encode_once(encoder, examples, cache_folder=tmp_path)
    assert encoder.calls == 1
    monkeypatch.setattr(source, "harness_code_digest", lambda: "a-commit-that-changes-encoding")
    encode_once(encoder, examples, cache_folder=tmp_path)
    assert encoder.calls == 2


def test_every_library_that_computes_a_number_is_in_the_versions_of_a_cell_id():
    versions = library_versions()
    for library in ("torch", "transformers", "peft", "datasets", "tokenizers", "numpy", "scipy",
                    "scikit-learn", "sentence-transformers", "setfit"):
        assert f"{library}=" in versions, library


# --- loop switches: neutral only when proven -------------------------------------------------------


def _another(name: str, value):
    """A different value of a loop setting, of its type."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, enum.Enum):
        return next(member for member in type(value) if member != value)
    if isinstance(value, float):
        return value / 2 if value else 0.5
    return (value or 0) + 3


@pytest.mark.parametrize("name", identity_fields(TrainConfig))
def test_every_loop_setting_not_proven_neutral_makes_another_cell(name, tiny_model):
    base = _ids(tiny_grid(tiny_model))
    changed = replace(FAST_TRAINING, **{name: _another(name, getattr(FAST_TRAINING, name))})
    cell, config, _ = _ids(tiny_grid(tiny_model, train=changed))
    assert cell != base[0] and config != base[1]


def _dropout_on(built) -> bool:
    return any(isinstance(module, torch.nn.Dropout) and module.p > 0 for module in built.model.modules())


def _trained(tiny_model, **settings) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    built = build("full_ft", tiny_model)
    assert _dropout_on(built)
    encoded = tuple(built.encoder.encode(SENTENCES))
    torch.manual_seed(1)
    train_and_evaluate(built, data=EncodedSplits(encoded * 4, encoded, encoded),
                       config=TrainConfig(batch_size=4, **settings), learning_rate=1e-2, epochs=1, device=CPU,
                       metric="accuracy", seed=0)
    return {name: p.detach().clone() for name, p in built.model.named_parameters() if p.requires_grad}


def _same(first: dict, second: dict) -> bool:
    return all(torch.equal(first[name], second[name]) for name in first)


@pytest.mark.parametrize("name", identity_fields(TrainConfig, identity=False))
def test_a_switch_left_out_of_cell_ids_trains_bit_identical_weights_with_dropout_on(name, tiny_model):
    default = getattr(TrainConfig(), name)
    reference = _trained(tiny_model)
    for value in {1, _another(name, default)} if isinstance(default, int) else {_another(name, default)}:
        assert _same(_trained(tiny_model, **{name: value}), reference), f"{name}={value} moves the weights"


@pytest.mark.parametrize(("name", "first", "second"), [("micro_batches", 1, 2), ("pad_to_multiple_of", 1, 8),
                                                      ("fused_optimizer", True, False)])
def test_the_same_check_sees_the_switches_that_move_weights_which_is_why_cell_ids_hold_them(
        name, first, second, tiny_model):
    """Dropout draws per part and per padded width, and two AdamW kernels round apart."""
    assert not _same(_trained(tiny_model, **{name: first}), _trained(tiny_model, **{name: second}))


# --- reports: one run, one record ------------------------------------------------------------------


def _record(*, method="lora", seed=1, score=0.6, finished_at="2026-01-01T00:00:00+00:00", config="c-lora",
            cell=None, versions="torch=2.13.0,transformers=5.23.0", code="aaa") -> CellResult:
    return CellResult(
        cell_id=cell or f"sst2/{method}/shots=8/seed={seed}/{config}-{versions[-6:]}-{code}",
        config_id=config, selection_id=config, status=CellStatus.SUCCESS, task="sst2", task_version="1",
        language="en", method=method, method_config=json.dumps({"learning_rate": 1e-3}), model="tiny",
        seed=seed, shots=8, split=None, zero_shot=False, metric="accuracy", versions=versions,
        code_digest=code, device="cpu", dtype="fp32", score=score, accuracy=score, dev_score=score,
        majority_score=0.5, n_train=8, n_eval=60, trainable_params=10, total_params=100,
        train_samples_per_s=10.0, eval_samples_per_s=10.0, peak_memory_bytes=2**20, finished_at=finished_at)


def _write(folder: Path, records: list[CellResult]) -> str:
    store = ResultsStore(folder)
    for record in records:
        store.append(record)
    return write_reports(folder, figures=False)


def _table_rows(markdown: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in markdown.splitlines()
            if line.startswith("|")]


def test_the_newest_record_of_a_run_wins_whatever_order_they_were_stored_in():
    older = _record(score=0.6, cell="a")
    newer = _record(score=0.5, cell="b", finished_at="2026-02-01T00:00:00+00:00")
    for order in ([older, newer], [newer, older]):
        kept = latest_per_run(cells_frame(order))
        assert list(kept["score"]) == [0.5]
    tied = [_record(score=0.6, cell="a"), _record(score=0.7, cell="b")]
    assert list(latest_per_run(cells_frame(tied))["score"]) == [0.7]  # a tie: the one stored last


def test_a_run_stored_again_with_newer_libraries_is_one_run_in_every_report(tmp_path):
    newer = "torch=2.13.0,transformers=5.24.0"
    records = [_record(seed=1, score=0.60), _record(seed=2, score=0.50),
               _record(seed=2, score=0.55, versions=newer, finished_at="2026-01-02T00:00:00+00:00")]
    markdown = _write(tmp_path, records)
    measured = [cells for cells in _table_rows(markdown) if cells[:2] == ["sst2", "lora"]]
    assert [cells[2] for cells in measured] == ["2", "2"]  # runs: the measurements and the time budget
    csv = (tmp_path / CSV_FILE).read_text().splitlines()
    assert len(csv) == 1 + 2  # one row per run
    assert "57.5 ± 3.5" in markdown and "1 superseded record left out" in markdown
    rows = [row for row in page_data((tmp_path / HTML_FILE).read_text())["rows"] if row["kind"] == "measured"]
    assert [(row["method"], row["runs"], row["score"]) for row in rows] == [("lora", 2, 57.5)]
    assert "1 superseded record left out" in (tmp_path / HTML_FILE).read_text()
    assert "1 superseded record left out" in (tmp_path / "report.tex").read_text()
    assert "57.5 \\pm 3.5" in (tmp_path / "report.tex").read_text()


def test_an_edited_plugin_rerun_into_its_folder_tells_one_story_in_every_report(tmp_path, tiny_model,
                                                                               data_dir):
    """The edit scores 7 points lower: report.md, report.tex and report.html all show its newer run."""
    grid = tiny_grid(tiny_model, seeds=(1, 2))
    store = ResultsStore(tmp_path)
    original = METHODS.get("full_ft")
    for code, score, day in (("0123456789", 0.594, "01"), ("abcdefabcd", 0.524, "02")):
        METHODS._entries["full_ft"] = replace(original, code_digest=code)
        try:
            run_sweep(plan_jobs(grid, data_dir), store, _FakeRun(score, f"2026-01-{day}T00:00:00+00:00"))
        finally:
            METHODS._entries["full_ft"] = original
    assert len(store.latest()) == 4
    markdown = write_reports(tmp_path, figures=False)
    table = [line for line in markdown.splitlines() if line.startswith("| full_ft")]
    assert len(table) == 1 and "52.4" in table[0] and "59.4" not in markdown
    assert "2 superseded records left out" in markdown
    latex = (tmp_path / "report.tex").read_text()
    assert "52.4" in latex and "59.4" not in latex
    rows = [row for row in page_data((tmp_path / HTML_FILE).read_text())["rows"] if row["kind"] == "measured"]
    assert [(row["method"], row["runs"], row["score"]) for row in rows] == [("full_ft", 2, 52.4)]


def test_configurations_nothing_recorded_tells_apart_get_distinct_labels_in_every_report(tmp_path):
    """Two configurations of one method, task and model whose recorded settings agree (an edited task
    definition, say) are two rows labelled apart, never one row hiding the other."""
    records = [_record(config="c-one", seed=1, score=0.6), _record(config="c-two", seed=1, score=0.7),
               _record(config="c-one", seed=2, score=0.6), _record(config="c-two", seed=2, score=0.7)]
    markdown = _write(tmp_path, records)
    rows = [row for row in page_data((tmp_path / HTML_FILE).read_text())["rows"] if row["kind"] == "measured"]
    labels = sorted(row["method"] for row in rows)
    assert labels == ["lora [c-one]", "lora [c-two]"]
    assert all(f"| {label}" in markdown for label in labels)


def test_fp32_and_bf16_runs_in_one_folder_are_labelled_by_precision(tmp_path):
    records = [dataclasses.replace(_record(config="c-fp32", seed=1), dtype="fp32"),
               dataclasses.replace(_record(config="c-bf16", seed=1, score=0.7), dtype="bfloat16")]
    markdown = _write(tmp_path, records)
    assert "| lora (dtype=fp32)" in markdown and "| lora (dtype=bfloat16)" in markdown


def test_a_row_whose_runs_come_from_different_code_says_so(tmp_path):
    """A folder re-run in part after a commit: seed 1 from the new code, seed 2 still from the old."""
    records = [_record(seed=1, code="old"), _record(seed=2, code="old"),
               _record(seed=1, code="new", score=0.5, finished_at="2026-01-02T00:00:00+00:00")]
    markdown = _write(tmp_path, records)
    assert "Mixed: lora on sst2 combines runs of 2 versions of the code" in markdown
    assert "Mixed: lora on sst2" in (tmp_path / HTML_FILE).read_text()
    assert "Mixed:" not in _write(tmp_path / "one-code", records[:2])
