"""--log-samples: each cell's eval examples (id, gold, prediction, class probabilities) in a gzip'd
file named by its cell id, without changing the cell id; `compare` then adds an exact McNemar test
on the examples two methods share (reports.example_tests; with one seed, McNemar's own)."""

from __future__ import annotations

import math

import pytest

from bench.cli.main import main
from bench.core.errors import BenchError
from bench.core.samples import SAMPLES_DIR, read_samples, samples_path
from bench.core.store import ResultsStore
from bench.session import RunSpec, run
from reports import HTML_FILE
from reports.example_tests import example_test
from tests.helpers import page_data, tiny_spec


@pytest.fixture(scope="module")
def logged_run(tmp_path_factory, tiny_model, data_dir):
    out = tmp_path_factory.mktemp("samples")
    spec = tiny_spec(tiny_model, data_dir, out, methods="full_ft,lora")
    assert run(spec.replace(log_samples=True)).exit_code == 0
    return out, spec


def test_every_cell_writes_its_examples_and_they_reproduce_its_accuracy(logged_run):
    out, _ = logged_run
    records = ResultsStore(out).latest()
    assert len(records) == 2
    for record in records:
        samples = read_samples(samples_path(out / SAMPLES_DIR, record.cell_id))
        assert len(samples) == record.n_eval and [s.index for s in samples] == list(range(record.n_eval))
        assert sum(s.correct for s in samples) / len(samples) == pytest.approx(record.accuracy)
        for sample in samples:
            assert set(sample.probabilities) == {"0", "1"} and {sample.gold, sample.prediction} <= {"0", "1"}
            assert math.isclose(sum(sample.probabilities.values()), 1.0, abs_tol=1e-4)
            assert sample.prediction == max(sample.probabilities, key=sample.probabilities.get)
    ids = [[s.id for s in read_samples(samples_path(out / SAMPLES_DIR, r.cell_id))] for r in records]
    assert ids[0] == ids[1]  # the same examples, in the same order, for both methods


def test_report_html_lists_each_cells_wrong_examples_with_their_text(logged_run):
    out, _ = logged_run
    rows = [row for row in page_data((out / HTML_FILE).read_text(encoding="utf-8"))["rows"] if row["cells"]]
    assert {row["method_name"] for row in rows} == {"full_ft", "lora"}
    for row in rows:
        (cell,) = row["cells"]
        samples = read_samples(samples_path(out / SAMPLES_DIR, cell["cell_id"]))
        wrong = [sample for sample in samples if not sample.correct]
        assert (cell["errors"]["wrong"], cell["errors"]["total"]) == (len(wrong), len(samples))
        assert {(e["text"], e["gold"], e["prediction"]) for e in cell["errors"]["examples"]} <= \
            {(s.text, s.gold, s.prediction) for s in wrong}
        assert all(example["text"] for example in cell["errors"]["examples"])


def test_logging_samples_does_not_change_the_cell_id(logged_run):
    _, spec = logged_run
    result = run(spec)  # the same cells without --log-samples: already done
    assert result.exit_code == 0
    assert "0 succeeded, 0 failed, 2 skipped as already done" in result.summary


def test_compare_adds_an_exact_mcnemar_test_on_the_shared_examples(capsys, logged_run):
    out, _ = logged_run
    first, second = sorted(ResultsStore(out).latest(), key=lambda record: record.method)
    right = [[s.correct for s in read_samples(samples_path(out / SAMPLES_DIR, r.cell_id))]
             for r in (first, second)]
    expected = example_test([dict(enumerate(zip(*right, strict=True)))])
    capsys.readouterr()
    assert main(["compare", str(out), "--methods", "full_ft,lora"]) == 0
    table = capsys.readouterr().out
    assert "McNemar exact p" in table
    assert f"{expected.examples} ({expected.first_only} / {expected.second_only})" in table
    assert f"{expected.p_value:.3g}" in table


def test_mcnemar_counts_only_the_discordant_pairs():
    pairs = [(True, False)] * 10 + [(False, True)] * 2 + [(True, True)] * 50 + [(False, False)] * 7
    result = example_test([dict(enumerate(pairs))])
    assert (result.examples, result.first_only, result.second_only) == (69, 10, 2)
    assert result.p_value == pytest.approx(2 * (1 + 12 + 66) / 2**12)  # two-sided binomial, n=12, k<=2
    assert example_test([{0: (True, True), 1: (False, False)}]).p_value == 1.0


def test_log_samples_on_ray_is_refused_before_any_cell(tmp_path, tiny_model, data_dir):
    with pytest.raises(BenchError, match="--log-samples writes from each cell's own process"):
        run(RunSpec(model=str(tiny_model), data_dir=str(data_dir), methods="full_ft", executor="ray",
                    log_samples=True, out=str(tmp_path / "out")))
    assert not (tmp_path / "out" / "results.jsonl").exists()
