"""The reviewer's first baselines (a linear probe, SetFit) and the pooling a classification head uses."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.cli.main import main
from bench.core.device import choose_device
from bench.core.errors import BenchError
from bench.core.method import FitContext
from bench.core.metrics import score
from bench.session import RunSpec, run
from methods.heads import Pooling
from tests.helpers import batch, build, run_tiny, tiny_grid
from tests.test_methods import SENTENCES

CPU = choose_device("cpu")


def _fit(built, train, dev):
    encoded_train, encoded_dev = built.encoder.encode(train), built.encoder.encode(dev)
    context = FitContext(train=encoded_train, dev=encoded_dev, train_texts=[e.texts for e in train],
                         dev_texts=[e.texts for e in dev], metric=lambda p, g: score("accuracy", p, g),
                         device=CPU, seed=0, batch_size=8)
    return built.fit(context)


@pytest.mark.parametrize("select_by", ["metric", "log_loss"])
def test_the_linear_probe_keeps_the_best_dev_c_and_its_layer_predicts_as_sklearn_does(tiny_model, select_by):
    from sklearn.linear_model import LogisticRegression

    from methods.linear_probe import embed, log_likelihood

    built = build("linear_probe", tiny_model, c_grid="[0.01, 1, 100]", select_by=select_by)
    train, dev = SENTENCES * 3, SENTENCES
    outcome = _fit(built, train, dev)
    assert outcome.train_samples == len(train) + len(dev) and outcome.train_seconds > 0
    features = embed(built.model, built.encoder.encode(train), batch_size=8, device=CPU, pad_id=0)
    dev_features = embed(built.model, built.encoder.encode(dev), batch_size=8, device=CPU, pad_id=0)
    labels, dev_labels = [example.label for example in train], [example.label for example in dev]
    fitted = {c: LogisticRegression(C=c, max_iter=2000).fit(features, labels) for c in (0.01, 1, 100)}
    def criterion_of(model) -> float:
        if select_by == "metric":
            return score("accuracy", model.predict(dev_features).tolist(), dev_labels)
        return log_likelihood(model, dev_features, dev_labels)

    criterion = {c: criterion_of(model) for c, model in fitted.items()}
    chosen = min(c for c, value in criterion.items() if value == max(criterion.values()))
    assert outcome.dev_score == score("accuracy", fitted[chosen].predict(dev_features).tolist(), dev_labels)
    inputs = batch(built, dev)
    inputs.pop("labels")
    with torch.no_grad():
        ours = built.model.eval()(**inputs).argmax(-1).numpy()
    assert np.array_equal(ours, fitted[chosen].predict(dev_features))


def test_a_linear_probe_cell_records_the_classifiers_parameters_and_sits_in_the_report(tmp_path, tiny_model,
                                                                                       data_dir):
    from reports import write_reports

    [probe, full] = run_tiny(tiny_grid(tiny_model, methods=("linear_probe", "full_ft")), tmp_path, data_dir)
    assert probe.succeeded, probe.error
    width, labels = 32, 2
    assert probe.trainable_params == width * labels + labels and probe.steps == 0
    assert probe.train_samples_per_s > 0 and probe.pooling == "mean"
    report = write_reports(tmp_path)
    assert "| linear_probe (reference)" in report and "| majority class (reference)" in report


def test_setfit_is_listed_as_unavailable_and_refused_before_the_first_cell_without_its_extra(
        capsys, monkeypatch, tmp_path, tiny_model, data_dir):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *rest: None if name == "setfit" else real(name, *rest))
    assert main(["list"]) == 0
    assert "[unavailable: pip install 'petbench[setfit]']" in capsys.readouterr().out
    needs = re.escape("method setfit needs setfit: pip install 'petbench[setfit]'")
    with pytest.raises(BenchError, match=needs):
        run(RunSpec(model=str(tiny_model), data_dir=str(data_dir), methods="setfit,lora",
                    out=str(tmp_path / "out")))
    assert not (tmp_path / "out").exists()


def test_a_setfit_cell_runs_and_the_loop_predicts_what_setfit_predicts(tmp_path, tiny_model, data_dir):
    pytest.importorskip("setfit")
    built = build("setfit", tiny_model, pair_iterations="2", batch_size="4")
    train = SENTENCES * 2
    outcome = _fit(built, train, SENTENCES)
    assert 0 <= outcome.dev_score <= 1 and outcome.train_samples == 2 * 2 * len(train)
    inputs = batch(built, SENTENCES)
    golds = inputs.pop("labels").tolist()
    with torch.no_grad():
        ours = built.model.eval()(**inputs).argmax(-1).tolist()
    assert score("accuracy", ours, golds) == outcome.dev_score  # the loop predicts what SetFit predicts
    [record] = run_tiny(tiny_grid(tiny_model, methods=("setfit",)), tmp_path, data_dir)
    assert record.succeeded, record.error
    assert record.trainable_params == record.total_params > 0


def test_setfit_training_prints_no_logs_of_its_own_into_the_run_output(tiny_model, capsys, recwarn):
    pytest.importorskip("setfit")
    _fit(build("setfit", tiny_model, pair_iterations="2", batch_size="4"), SENTENCES * 2, SENTENCES)
    printed = capsys.readouterr()
    assert "loss" not in printed.out
    for noise in ("Running training", "Map", "LOAD REPORT"):
        assert noise not in printed.err
    assert not [str(warning.message) for warning in recwarn if "pin_memory" in str(warning.message)]


def _bert_model_folder(tmp_path: Path, tiny_model: Path, *, pooler: bool,
                       sentence_pooling: str | None) -> Path:
    from transformers import AutoTokenizer, BertModel

    encoder = BertModel.from_pretrained(tiny_model, add_pooling_layer=pooler)
    encoder.save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(tiny_model).save_pretrained(tmp_path)
    if sentence_pooling:
        (tmp_path / "modules.json").write_text("[]")
        (tmp_path / "1_Pooling").mkdir()
        (tmp_path / "1_Pooling" / "config.json").write_text(
            json.dumps({f"pooling_mode_{sentence_pooling}_tokens" if sentence_pooling == "mean"
                        else "pooling_mode_cls_token": True}))
    return tmp_path


@pytest.mark.parametrize(("pooler", "sentence_pooling", "expected"), [
    (False, None, "mean"),  # no pooler weights (both offline encoders): mean
    (True, None, "cls through the pretrained pooler"),  # trained pooler weights: cls through them
    (True, "mean", "mean"),  # a sentence encoder says how it is read, whatever weights it ships
])
def test_the_default_pooling_comes_from_the_checkpoint(tmp_path, tiny_model, pooler, sentence_pooling,
                                                      expected):
    folder = _bert_model_folder(tmp_path, tiny_model, pooler=pooler, sentence_pooling=sentence_pooling)
    for method in ("full_ft", "lora"):
        assert build(method, folder).pooling == expected


@pytest.mark.parametrize("pooling", list(Pooling))
def test_every_pooling_choice_runs_and_the_record_says_which_ran(pooling, tmp_path, tiny_model, data_dir):
    grid = tiny_grid(tiny_model, methods=("full_ft",))
    from dataclasses import replace

    from bench.training.cells import method_choice

    grid = replace(grid, methods=(method_choice("full_ft", {"pooling": pooling.value}),))
    [record] = run_tiny(grid, tmp_path, data_dir)
    assert record.succeeded, record.error
    assert record.pooling == ("mean" if pooling == Pooling.AUTO else pooling.value)


def test_mean_pooling_reads_only_real_tokens_and_mask_pooling_the_mask(tiny_model):
    built = build("full_ft", tiny_model, pooling="mean")
    hidden = torch.arange(24, dtype=torch.float).view(2, 3, 4)
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    torch.testing.assert_close(built.model.head.features(hidden, mask)[0], hidden[0, :2].mean(0))
    masked = build("full_ft", tiny_model, pooling="mask")
    assert masked.encoder.n_masks == 1 and "[MASK]" in masked.encoder.template
    features = masked.model.head.features(hidden, mask, torch.tensor([[2], [1]]))
    torch.testing.assert_close(features, torch.stack([hidden[0, 2], hidden[1, 1]]))
