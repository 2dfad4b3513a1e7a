"""Shared fixtures. Fast tests need nothing outside the repository: a tiny randomly initialised
BERT / RoBERTa whose vocabulary the fixture writes, and a synthetic data root in the shared layout.
Tests over the real ../shared data are marked `shared` and skip when it is absent."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from bench.core.data import resolve_data_dir
from bench.core.task import TASKS
from bench.session.plugins import load_builtins

load_builtins()

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
POSITIVE = ["great", "good", "wonderful", "loved", "superb", "moving", "fine", "charming"]
NEGATIVE = ["bad", "dull", "terrible", "boring", "awful", "hated", "flat", "tedious"]
FILLER = ["the", "film", "movie", "was", "a", "and", "it", "story", "acting", "plot", "long", "far", "too",
          "every", "minute", "an", "of", "with", "its", "this", "is", "quite", "really"]
ZH_POSITIVE = ["很好", "喜欢", "满意", "不错", "漂亮"]
ZH_NEGATIVE = ["很差", "失望", "难用", "退货", "糟糕"]
ZH_FILLER = ["这个", "东西", "质量", "手机", "衣服", "快递", "我", "的", "了", "是", "今天", "明天", "下雨",
             "猫"]


def _vocabulary() -> list[str]:
    """Special tokens, every character and word of the task records and the synthetic data."""
    words: set[str] = set()
    for name in TASKS:
        task = TASKS.get(name)
        for text in (*task.verbalizer, task.template):
            words.update(text.lower().split())
            words.update(text)
    for word in [*POSITIVE, *NEGATIVE, *FILLER, "hated", "fine", "far", "minute", "loved", "dull", "flat"]:
        words.add(word)
    for word in [*ZH_POSITIVE, *ZH_NEGATIVE, *ZH_FILLER]:
        words.update(word)
    examples = Path(__file__).resolve().parent.parent / "examples" / "tasks" / "reviews.tsv"
    for line in examples.read_text(encoding="utf-8").splitlines()[1:]:  # the example task's own words
        words.update(line.split("\t")[-1].replace(",", " ").split())
    words.update("abcdefghijklmnopqrstuvwxyz0123456789.,!?;:'\"()-")
    return SPECIAL_TOKENS + sorted(word for word in words if word.strip() and word not in SPECIAL_TOKENS)


def save_tiny_model(folder: Path, architecture: str = "bert", *, with_mlm_head: bool = True) -> Path:
    """A 4-layer, 32-wide model with seeded random weights (the same in every test session) and the
    fixture's WordPiece vocabulary."""
    import torch
    from transformers import (
        BertConfig,
        BertForMaskedLM,
        BertModel,
        BertTokenizer,
        RobertaConfig,
        RobertaForMaskedLM,
    )

    folder.mkdir(parents=True, exist_ok=True)
    vocabulary = _vocabulary()
    tokenizer = BertTokenizer(vocab={token: index for index, token in enumerate(vocabulary)})
    sizes = dict(vocab_size=len(vocabulary), hidden_size=32, num_hidden_layers=4, num_attention_heads=2,
                 intermediate_size=48, max_position_embeddings=256, pad_token_id=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        if architecture == "roberta":
            config = RobertaConfig(**{**sizes, "max_position_embeddings": 258}, bos_token_id=2,
                                   eos_token_id=3)
            model = RobertaForMaskedLM(config)
        else:
            model = BertForMaskedLM(BertConfig(**sizes)) if with_mlm_head else BertModel(BertConfig(**sizes))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _sentiment_sentence(rng: random.Random, label: int, positive: list[str], negative: list[str],
                        filler: list[str], joiner: str) -> str:
    opinion = positive if label else negative
    words = rng.sample(filler, rng.randint(3, 8)) + rng.sample(opinion, rng.randint(1, 2))
    rng.shuffle(words)
    return joiner.join(words)


def write_synthetic_data(root: Path, *, seed: int = 0) -> Path:
    """sst2 (glue/sst2 train/dev TSV) and eprstmt / ocnli (FewCLUE JSON lines, splits 0 and 1) with
    learnable labels, in the shared layout."""
    rng = random.Random(seed)
    sst2 = root / "glue" / "sst2"
    sst2.mkdir(parents=True)
    for name, rows, header in (("train.tsv", 240, "label\tsentence"), ("dev.tsv", 60, "label\tcontent")):
        lines = [header]
        for _ in range(rows):
            label = rng.randint(0, 1)
            lines.append(f"{label}\t{_sentiment_sentence(rng, label, POSITIVE, NEGATIVE, FILLER, ' ')}")
        (sst2 / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    for split, rows in (("train_0", 32), ("dev_0", 32), ("train_1", 32), ("dev_1", 32), ("test_public", 80)):
        _write_jsonl(root / "fewclue" / "eprstmt" / f"{split}.json", [
            {"id": index, "label": "Positive" if label else "Negative",
             "sentence": _sentiment_sentence(rng, label, ZH_POSITIVE, ZH_NEGATIVE, ZH_FILLER, "")}
            for index, label in enumerate(rng.randint(0, 1) for _ in range(rows))])
        labels = ["entailment", "neutral", "contradiction"]
        _write_jsonl(root / "fewclue" / "ocnli" / f"{split}.json", [
            {"sentence1": "".join(rng.sample(ZH_FILLER, 4)), "sentence2": "".join(rng.sample(ZH_FILLER, 3)),
             "label": labels[index % 3]} for index in range(rows)])
    return root


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Encodings and converted models go to a temporary cache, never the user's."""
    folder = tmp_path_factory.mktemp("petbench-cache")
    os.environ["PETBENCH_CACHE"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic data root: the shared layout, tiny learnable splits, no ../shared needed."""
    return write_synthetic_data(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The real datasets (../shared/data or $PETBENCH_DATA_DIR); tests using it are marked `shared`."""
    found = resolve_data_dir(None)
    if found is None:
        pytest.skip("the shared data folder (../shared/data or $PETBENCH_DATA_DIR) is not present")
    return found


@pytest.fixture(params=["fp32", "bf16"])
def precision(request: pytest.FixtureRequest) -> str:
    """A precision-sensitive test runs under both precisions on every machine: fp32, and forced bf16
    autocast (native on AVX512-BF16/AMX CPUs, emulated elsewhere), whatever `auto` means here."""
    return request.param


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_roberta(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """RoBERTa-shaped: learned absolute positions offset by padding, no token types."""
    return save_tiny_model(tmp_path_factory.mktemp("tiny-roberta"), "roberta")
