"""The masked-LM stage writes a checkpoint whose card the harness reads back; it resumes exactly
after an interruption; the fill-mask probe reads either mask spelling."""

import json

import pytest
import torch

from bench.cli.main import main
from bench.core.device import choose_device
from bench.core.errors import BenchError
from bench.core.method import HeadOrigin
from bench.core.models import resolve_model, with_fingerprint
from bench.training import pretrain as stage
from tests.helpers import run_tiny, tiny_grid

CPU = choose_device("cpu")
TEXTS = [f"the film was {word} and the story was {other} ." for word in ("good", "bad", "dull", "great")
         for other in ("long", "moving", "flat", "fine", "superb", "awful")] * 3


def _config(**values) -> stage.PretrainConfig:
    return stage.PretrainConfig(**{"trains": "all", "steps": 10, "batch_size": 8, "learning_rate": 1e-3,
                                   "heldout": 12, "save_every": 4, **values})


def _trained(folder) -> dict[str, torch.Tensor]:
    from transformers import AutoModelForMaskedLM

    return dict(AutoModelForMaskedLM.from_pretrained(folder).state_dict())


def test_the_stage_lowers_the_heldout_loss_and_its_card_says_continued(tmp_path, tiny_model):
    model = with_fingerprint(resolve_model(str(tiny_model)))
    outcome = stage.pretrain(model, TEXTS, source="demo texts", out=tmp_path / "stage",
                             config=_config(steps=30), device=CPU)
    assert outcome.steps == 30 and outcome.heldout_loss_after < outcome.heldout_loss_before
    card = json.loads((tmp_path / "stage" / "petbench_model.json").read_text())
    assert card["mlm_head_origin"] == "continued" and "30 masked-LM steps (all" in card["mlm_head_detail"]
    assert "demo texts" in card["mlm_head_detail"] and not (tmp_path / "stage" / stage.STATE_FILE).exists()


def test_an_interrupted_stage_resumes_to_the_same_weights(tmp_path, tiny_model, monkeypatch):
    model = with_fingerprint(resolve_model(str(tiny_model)))
    straight = stage.pretrain(model, TEXTS, source="t", out=tmp_path / "straight", config=_config(),
                              device=CPU)
    real_write = stage._write_checkpoint

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(stage, "_write_checkpoint", interrupted)
    with pytest.raises(KeyboardInterrupt):
        stage.pretrain(model, TEXTS, source="t", out=tmp_path / "resumed", config=_config(), device=CPU)
    assert (tmp_path / "resumed" / stage.STATE_FILE).is_file()  # saved at step 8
    monkeypatch.setattr(stage, "_write_checkpoint", real_write)
    resumed = stage.pretrain(model, TEXTS, source="t", out=tmp_path / "resumed", config=_config(), device=CPU)
    assert resumed.resumed_from == 8 and resumed.steps == straight.steps == 10
    first, second = _trained(straight.folder), _trained(resumed.folder)
    assert all(torch.allclose(first[name], second[name], atol=1e-6) for name in first)
    (tmp_path / "elsewhere").mkdir()
    torch.save({"signature": "another run"}, tmp_path / "elsewhere" / stage.STATE_FILE)
    with pytest.raises(BenchError, match="other settings"):
        stage.pretrain(model, TEXTS, source="t", out=tmp_path / "elsewhere", config=_config(), device=CPU)


def test_cells_on_a_stage_checkpoint_report_a_continued_head(tmp_path, tiny_model, data_dir, capsys):
    code = main(["pretrain", "--model", str(tiny_model), "--tasks", "sst2", "--template", "--data-dir",
                 str(data_dir), "--steps", "4", "--batch-size", "8", "--heldout", "20", "--out",
                 str(tmp_path / "stage")])
    assert code == 0, capsys.readouterr().err
    card = (tmp_path / "stage" / "petbench_model.json").read_text()
    assert "sst2 train texts (240) wrapped in their templates" in card
    [record] = run_tiny(tiny_grid(tmp_path / "stage", methods=("hard_prompt",)), tmp_path / "run", data_dir)
    assert record.mlm_head == HeadOrigin.CONTINUED and "4 masked-LM steps" in record.mlm_head_detail
    from reports import write_reports

    assert "`continued`, trained by `run_bench.py pretrain`" in write_reports(tmp_path / "run")


def test_the_stage_refuses_what_it_cannot_do(capsys, tmp_path, tiny_model, data_dir):
    common = ["pretrain", "--model", str(tiny_model), "--data-dir", str(data_dir), "--out",
              str(tmp_path / "o")]
    assert main([*common]) == 2 and "no texts" in capsys.readouterr().err
    assert main([*common, "--tasks", "sst2", "--trains", "top:0"]) == 2
    assert "use head, top:K" in capsys.readouterr().err
    assert main([*common, "--tasks", "sst2", "--trains", "top:9", "--steps", "1"]) == 2
    assert "the model has 4 layers" in capsys.readouterr().err


@pytest.mark.parametrize("spelling", ["[MASK]", "<mask>"])
def test_the_probe_prints_the_top_words_at_each_mask_whichever_spelling(capsys, tiny_model, spelling):
    assert main(["probe", "--model", str(tiny_model), "--top-k", "3", f"the film was {spelling} ."]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "MLM head: pretrained" and out[1] == "the film was [MASK] ."
    assert out[2].startswith("  mask 1: ") and out[2].count("|") == 2


def test_the_stage_loss_over_masked_positions_equals_the_models_own_loss():
    import torch
    from transformers import BertConfig, BertForMaskedLM

    from bench.training.pretrain import masked_lm_loss

    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32)
    model = BertForMaskedLM(config).eval()
    ids = torch.randint(5, 50, (3, 7))
    labels = torch.full_like(ids, -100)
    labels[0, 2], labels[1, 5], labels[2, 0] = 7, 9, 11
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}
    assert torch.allclose(masked_lm_loss(model, batch), model(**batch).loss, atol=1e-6)
