"""Paper-ready static output: report.tex (booktabs, mean ± std, the best per column in bold, the
majority class and reference rows in a block of their own) and every figure as PNG and SVG, titled,
with error bars from the seeds' spread on the throughput chart too."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree

import pytest

from bench.core.records import CellResult, CellStatus
from bench.core.store import ResultsStore
from reports import REPORT_FILE, write_reports
from reports.latex import LATEX_FILE, escape

SEEDS = (13, 21, 42)
SCORES = {"full_ft": (0.80, 0.82, 0.84), "lora": (0.70, 0.71, 0.72), "linear_probe": (0.65, 0.66, 0.67)}


def record(method: str, seed: int, score: float, speed: float) -> CellResult:
    return CellResult(cell_id=f"{method}/{seed}", config_id=method, status=CellStatus.SUCCESS, task="sst2",
                      task_version="1", language="en", method=method, method_config=json.dumps({}),
                      model="tiny_bert", seed=seed, shots=100, split=None, zero_shot=False, metric="accuracy",
                      score=score, majority_score=0.5, train_samples_per_s=speed, peak_memory_bytes=2**30,
                      trainable_params=1000 if method != "full_ft" else 10**6, total_params=10**6,
                      role="reference" if method == "linear_probe" else "method", train_config="{}",
                      device="cpu", dtype="float32")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("paper")
    store = ResultsStore(out)
    for method, scores in SCORES.items():
        for seed, score in zip(SEEDS, scores, strict=True):
            store.append(record(method, seed, score, speed=100.0 + seed))
    write_reports(out)
    return out


def test_the_latex_table_is_booktabs_with_mean_and_std_and_the_best_in_bold(written):
    tex = (written / LATEX_FILE).read_text()
    assert r"\toprule" in tex and r"\bottomrule" in tex and r"\begin{tabular}{lc}" in tex
    assert r"full\_ft & $\mathbf{82.0 \pm 2.0}$ \\" in tex  # the best of its column
    assert r"lora & $71.0 \pm 1.0$ \\" in tex
    assert r"Method & sst2 (accuracy) \\" in tex and r"tiny\_bert" in tex


def test_the_majority_class_and_reference_rows_stand_apart_below_the_methods(written):
    body = (written / LATEX_FILE).read_text().split(r"\toprule")[1].split(r"\bottomrule")[0]
    header, methods, apart = body.split(r"\midrule")
    assert "full" in methods and "lora" in methods and "majority" not in methods and "probe" not in methods
    assert r"majority class & $50.0$ \\" in apart
    assert r"linear\_probe (reference) & $66.0 \pm 1.0$ \\" in apart  # never bold: not ranked


def test_latex_special_characters_are_escaped():
    assert escape("lora (rank=4, 50%_a&b)") == r"lora (rank=4, 50\%\_a\&b)"


@pytest.mark.parametrize(("name", "title"), [("accuracy_vs_params", "Score vs trainable parameters"),
                                             ("accuracy_vs_memory", "Score vs peak memory"),
                                             ("train_throughput", "Training throughput per method")])
def test_every_figure_is_a_titled_png_and_svg_linked_from_the_report(written, name, title):
    assert (written / f"{name}.png").stat().st_size > 0
    svg = (written / f"{name}.svg").read_text()
    ElementTree.fromstring(svg)  # well-formed
    assert title in svg and "Date" not in svg
    assert f"![{title}]({name}.png) ([SVG]({name}.svg))" in (written / REPORT_FILE).read_text()


def test_the_throughput_chart_has_error_bars_from_the_seeds(written):
    svg = (written / "train_throughput.svg").read_text()
    assert "LineCollection" in svg  # the error bars
    assert "mean ± std over seeds" in svg
