"""Prompt-based continued pretraining (`pretrain --pcp`): a teacher trained on the cell's labelled
examples pseudo-labels unlabelled texts; each line is the template with the teacher's word in the slot;
texts equal to a dev or eval text (bench.core.leaks) never enter; the card records teacher, labels,
texts and steps, and the report's MLM-head column reads it back; a teacher that fails is one line."""

import json

import pytest
import torch

from bench.cli.main import main
from bench.core.errors import BenchError
from bench.core.task import filled_template, get_task
from bench.core.unlabelled import read_unlabelled
from bench.training import pcp
from methods.masking import IGNORED, TextBatches, mask_batch
from tests.conftest import ZH_FILLER, ZH_NEGATIVE, ZH_POSITIVE
from tests.helpers import run_tiny, tiny_grid


def _fresh_texts(count: int) -> list[str]:
    words = ZH_FILLER + ZH_POSITIVE + ZH_NEGATIVE
    return ["".join(words[(index * 7 + step * 3) % len(words)] for step in range(5)) + str(index)
            for index in range(count)]


def _unlabelled_file(tmp_path, data_dir) -> tuple[str, list[str]]:
    """40 new texts, then 3 dev_0 and 2 test_public sentences verbatim (FewCLUE's files do the same),
    one test_public sentence with more full stops and one dev_1 sentence (a split the teacher does
    not use) between spaces."""
    folder = data_dir / "fewclue" / "eprstmt"
    def first(name: str, count: int) -> list[str]:
        return [json.loads(line)["sentence"] for line in (folder / name).read_text().splitlines()[:count]]

    near = [first("test_public.json", 3)[-1] + "。。。。", " " + " ".join(first("dev_1.json", 1)[0]) + " "]
    seen = first("dev_0.json", 3) + first("test_public.json", 2) + near
    rows = [{"id": index, "sentence": text} for index, text in enumerate(_fresh_texts(40) + seen)]
    path = tmp_path / "unlabeled.json"
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return str(path), seen


def test_pcp_lines_carry_the_teachers_word_and_never_a_dev_or_eval_text(tmp_path, tiny_model, data_dir,
                                                                        monkeypatch, capsys):
    unlabelled, seen = _unlabelled_file(tmp_path, data_dir)
    taught, staged = [], []
    real_teach, real_pretrain = pcp.teach, pcp.pretrain

    def teach(cell, splits, texts, device):
        taught.append((texts, real_teach(cell, splits, texts, device)))
        return taught[-1][1]

    def pretrain(model, lines, **options):
        staged.append(lines)
        return real_pretrain(model, lines, **options)

    monkeypatch.setattr(pcp, "teach", teach)
    monkeypatch.setattr(pcp, "pretrain", pretrain)
    code = main(["pretrain", "--pcp", "--model", str(tiny_model), "--tasks", "eprstmt", "--split", "0",
                 "--unlabelled", unlabelled, "--data-dir", str(data_dir), "--steps", "4", "--batch-size", "8",
                 "--heldout", "5", "--out", str(tmp_path / "pcp")])
    assert code == 0, capsys.readouterr().err
    [(texts, teacher)], [lines] = taught, staged
    task = get_task("eprstmt")
    assert len(texts) == len(lines) == 40 and not {text for (text,) in texts} & set(seen)
    for (text,), label, line in zip(texts, teacher.labels, lines, strict=True):
        assert line == filled_template(task, (text,), task.verbalizer[label])[0]
        assert line.startswith(task.verbalizer[label] + "满意。")
    card = json.loads((tmp_path / "pcp" / "petbench_model.json").read_text())
    facts = card["facts"]
    assert card["mlm_head_label"] == "PCP: linear_probe, 40 texts, 4 steps"
    assert facts["teacher"] == "linear_probe" and facts["teacher_dev_score"] is not None
    assert facts["dropped_equal_to_dev_or_eval"] == 7 and facts["texts_used"] == 40 and facts["steps"] == 4
    assert sum(facts["pseudo_labels"].values()) == 40
    assert set(facts["pseudo_labels"]) == {"Negative", "Positive"}
    assert ("(47 sampled, 7 of them dropped as equal to a dev or eval text of eprstmt (every split present)"
            in card["mlm_head_detail"])
    grid = tiny_grid(tmp_path / "pcp", tasks=("eprstmt",), methods=("hard_prompt",), shots="default")
    [record] = run_tiny(grid, tmp_path / "run", data_dir)
    from reports import write_reports

    assert record.mlm_head_label == card["mlm_head_label"]
    assert "| continued (PCP: linear_probe, 40 texts, 4 steps) |" in write_reports(tmp_path / "run")


def test_mask_label_word_masks_the_slot_word_in_every_batch(tiny_model):
    from bench.core.loading import load_tokenizer
    from bench.core.models import resolve_model

    tokenizer = load_tokenizer(resolve_model(str(tiny_model)))
    line, span = filled_template(get_task("sst2"), ("the film was moving",), "great")
    texts = TextBatches(tokenizer, [line, line], 64, [span, None])
    ids, special, attention, forced = texts.batch([0, 1])
    inputs, labels = mask_batch(ids, special, tokenizer, 0.0, torch.Generator().manual_seed(0), forced)
    great = tokenizer.convert_tokens_to_ids("great")
    assert forced[0].sum() == 1 and int(ids[0][forced[0]]) == great and not forced[1].any()
    assert int(inputs[0][forced[0]]) == tokenizer.mask_token_id and int(labels[0][forced[0]]) == great
    assert (labels[1] == IGNORED).all() and (labels[0][~forced[0]] == IGNORED).all()


def test_unlabelled_files_read_the_tasks_own_fields(tmp_path):
    pair = tmp_path / "pairs.txt"
    pair.write_text("今天下雨\t明天下雨\n猫\t狗\n", encoding="utf-8")
    assert read_unlabelled(pair, get_task("bustm")) == [("今天下雨", "明天下雨"), ("猫", "狗")]
    rows = tmp_path / "unlabeled.json"
    rows.write_text('{"id": 0, "sentence1": "甲", "sentence2": "乙"}\n{"id": 1, "sentence1": "丙"}\n')
    with pytest.raises(BenchError, match="line 2 has no text in field 'sentence2'"):
        read_unlabelled(rows, get_task("bustm"))
    single = tmp_path / "single.txt"
    single.write_text("只有一句\n", encoding="utf-8")
    with pytest.raises(BenchError, match="line 1 has 1 tab-separated fields, task bustm needs 2"):
        read_unlabelled(single, get_task("bustm"))


def test_pcp_refuses_what_it_cannot_do(capsys, tmp_path, tiny_model, data_dir):
    common = ["pretrain", "--model", str(tiny_model), "--data-dir", str(data_dir), "--out",
              str(tmp_path / "o")]
    assert main([*common, "--tasks", "sst2", "--threshold", "0.5"]) == 2
    assert "--threshold only apply with --pcp" in capsys.readouterr().err
    assert main([*common, "--pcp", "--tasks", "sst2,eprstmt"]) == 2
    assert "exactly one task" in capsys.readouterr().err
    assert main([*common, "--pcp", "--tasks", "sst2", "--teacher", "no_such_method"]) == 2
    assert "unknown method 'no_such_method'" in capsys.readouterr().err
    assert main([*common, "--pcp", "--tasks", "eprstmt", "--split", "0", "--batch-size", "64"]) == 2
    assert "texts are too few for a stage with batch size 64" in capsys.readouterr().err


def test_a_teacher_whose_method_raises_ends_pcp_in_one_line(capsys, tmp_path, tiny_model, data_dir):
    from bench.core.method import METHODS, GradientConfig, register_method

    @register_method("failing_teacher", config=GradientConfig)
    def build_failing_teacher(config, *, model, task, max_length):
        """Fails as it builds."""
        raise RuntimeError("the teacher's weights are missing\nand a second line")

    try:
        code = main(["pretrain", "--pcp", "--model", str(tiny_model), "--tasks", "eprstmt", "--split", "0",
                     "--teacher", "failing_teacher", "--data-dir", str(data_dir), "--steps", "2",
                     "--batch-size", "8", "--heldout", "5", "--out", str(tmp_path / "pcp")])
    finally:
        METHODS.remove("failing_teacher")
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "PCP's teacher failing_teacher failed (RuntimeError: the teacher's weights are missing)" in err
