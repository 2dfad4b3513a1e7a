"""The leak guard (bench.core.leaks): on every path by which unlabelled text enters training (PCP,
hard_prompt's auxiliary texts, `pretrain --text-file`), a text equal to a dev or eval text of the task
once normalised (NFKC, case-folded, no punctuation or whitespace) never trains, and the checkpoint's
card or the cell's record says how many were dropped."""

import dataclasses
import json

import pytest

from bench.cli.main import main
from bench.core.leaks import HeldOut, drop_held_out, guard_unlabelled
from bench.core.task import get_task
from bench.core.unlabelled import read_unlabelled
from bench.training import pretrain as stage
from tests.conftest import ZH_FILLER, ZH_NEGATIVE, ZH_POSITIVE
from tests.helpers import build, choices, run_tiny, tiny_grid


def _fresh(count: int) -> list[str]:
    words = ZH_FILLER + ZH_POSITIVE + ZH_NEGATIVE
    return ["".join(words[(index * 5 + step * 3) % len(words)] for step in range(4)) + f"第{index}"
            for index in range(count)]


def _sentences(data_dir, name: str, count: int) -> list[str]:
    path = data_dir / "fewclue" / "eprstmt" / name
    return [json.loads(line)["sentence"] for line in path.read_text(encoding="utf-8").splitlines()[:count]]


def _variants(data_dir) -> list[str]:
    """Two test_public sentences and a dev_1 one (a split the cell does not run), each with other
    punctuation, spacing or letter width than the file's."""
    first, second = _sentences(data_dir, "test_public.json", 2)
    [dev] = _sentences(data_dir, "dev_1.json", 1)
    return [first + "。。。。。。", " ".join(second) + "！", "「" + dev + "」"]


def test_texts_equal_once_width_case_punctuation_and_whitespace_are_ignored_are_held_out():
    held = HeldOut.of([("还可以。。。。。。。",), ("Great film!",), ("今天下雨", "明天下雨")], "eval text")
    assert held.holds(("还可以。。。。",)) and held.holds(("great   FILM",))
    assert held.holds(("Ｇｒｅａｔ film",)), "full-width letters are NFKC's plain ones"
    assert held.holds(("明天下雨", "猫")), "a pair's sentence seen alone is still seen"
    assert held.holds(("今天下雨 明天下雨",)), "a text file's line holding the whole pair"
    assert not held.holds(("还可以吧",)) and not held.holds(("。。。",)) and not held.holds(("猫", "狗"))
    guarded = drop_held_out([("还可以，，",), ("很好",)], held)
    assert guarded.kept == [("很好",)] and (guarded.read, guarded.dropped) == (2, 1)


@pytest.mark.shared
def test_the_guard_finds_fewclue_eprstmt_unlabelled_rows_that_repeat_a_test_sentence(shared_data_dir):
    """In FewCLUE's eprstmt unlabeled.json, 55 rows repeat a test_public sentence verbatim and 7 more
    once punctuation is ignored (`还可以。。。。` for the test's `还可以。。。。。。。`)."""
    task = get_task("eprstmt")
    folder = shared_data_dir / "fewclue" / "eprstmt"
    rows = read_unlabelled(folder / "unlabeled.json", task)
    tests = read_unlabelled(folder / "test_public.json", task)
    guarded = drop_held_out(rows, HeldOut.of(tests, "test text"))
    verbatim = {text.strip() for (text,) in tests}
    assert sum(text.strip() in verbatim for (text,) in rows) == 55
    assert guarded.dropped == 62 and ("还可以。。。。",) in rows and ("还可以。。。。",) not in guarded.kept


def test_auxiliary_texts_equal_to_a_dev_or_eval_text_never_train_and_the_record_counts_them(
        tmp_path, tiny_model, data_dir):
    texts = tmp_path / "unlabelled.txt"
    first, second, _ = _variants(data_dir)
    texts.write_text("\n".join([*_fresh(20), first, second]) + "\n", encoding="utf-8")
    knobs = {"auxiliary_mlm": "0.25", "auxiliary_texts": str(texts)}
    built = build("hard_prompt", tiny_model, task="eprstmt", **knobs)
    held = HeldOut.of([(text,) for text in _sentences(data_dir, "test_public.json", 2)], "eval text")
    assert guard_unlabelled(built.model, held) == 2 and len(built.model.auxiliary.texts) == 20
    grid = dataclasses.replace(tiny_grid(tiny_model, tasks=("eprstmt",), shots="default"),
                               methods=choices("hard_prompt", hard_prompt=knobs))
    [record] = run_tiny(grid, tmp_path / "run", data_dir)
    assert record.succeeded, record.error
    assert record.unlabelled_dropped == 2


def test_the_auxiliary_loss_draws_no_text_before_the_guard_ran(tmp_path, tiny_model):
    texts = tmp_path / "unlabelled.txt"
    texts.write_text("\n".join(_fresh(4)) + "\n", encoding="utf-8")
    built = build("hard_prompt", tiny_model, task="eprstmt", auxiliary_mlm="0.25", auxiliary_texts=str(texts))
    with pytest.raises(RuntimeError, match="never cleared of the cell's dev and eval texts"):
        built.model.auxiliary_loss()


def test_pretrain_text_file_drops_the_guarded_tasks_dev_and_eval_texts_and_its_card_counts_them(
        tmp_path, tiny_model, data_dir, monkeypatch, capsys):
    texts = tmp_path / "corpus.txt"
    texts.write_text("\n".join([*_fresh(40), *_variants(data_dir)]) + "\n", encoding="utf-8")
    staged = []
    real_pretrain = stage.pretrain

    def pretrain(model, lines, **options):
        staged.append(lines)
        return real_pretrain(model, lines, **options)

    monkeypatch.setattr(stage, "pretrain", pretrain)
    common = ["pretrain", "--model", str(tiny_model), "--text-file", str(texts), "--data-dir", str(data_dir),
              "--steps", "2", "--batch-size", "8", "--heldout", "5"]
    assert main([*common, "--out", str(tmp_path / "unguarded")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--text-file needs --guard-tasks" in err
    assert main([*common, "--guard-tasks", "eprstmt", "--out", str(tmp_path / "stage")]) == 0
    [lines] = staged
    assert lines == _fresh(40)
    card = json.loads((tmp_path / "stage" / "petbench_model.json").read_text())
    assert card["facts"]["dropped_equal_to_dev_or_eval"] == 3 and card["facts"]["texts_read"] == 43
    detail = card["mlm_head_detail"]
    assert "3 of 43 unlabelled texts dropped as equal to a dev or eval text of eprstmt" in detail
