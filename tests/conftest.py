"""Shared fixtures: a tiny randomly initialised BERT (no downloads) and the shared data root."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest

from tasks import TASKS
from tasks.loader import resolve_data_dir

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _vocabulary(data_dir: Path | None) -> list[str]:
    """Special tokens, every character of the task records, and frequent words of the data."""
    words: collections.Counter[str] = collections.Counter()
    for name in TASKS:
        task = TASKS.get(name)
        for text in (*task.verbalizer, task.template):
            words.update(text.lower().split())
            words.update(text)
    if data_dir is not None:
        with open(data_dir / "glue/sst2/train.tsv", encoding="utf-8") as lines:
            for _, line in zip(range(3000), lines, strict=False):
                words.update(line.lower().split())
        for task in ("eprstmt", "bustm", "ocnli", "tnews"):
            for line in (data_dir / f"fewclue/{task}/train_0.json").read_text(encoding="utf-8").splitlines():
                words.update("".join(str(v) for v in json.loads(line).values()))
    frequent = [word for word, _ in words.most_common(3000) if word.strip() and word not in SPECIAL_TOKENS]
    return SPECIAL_TOKENS + sorted(set(frequent))


def _save_tiny_model(folder: Path, vocabulary: list[str], architecture: str) -> Path:
    from transformers import BertConfig, BertForMaskedLM, BertTokenizer, RobertaConfig, RobertaForMaskedLM

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = BertTokenizer(vocab={token: index for index, token in enumerate(vocabulary)})
    sizes = dict(vocab_size=len(vocabulary), hidden_size=32, num_hidden_layers=4,
                 num_attention_heads=2, intermediate_size=48, max_position_embeddings=256,
                 pad_token_id=0)
    if architecture == "roberta":
        config = RobertaConfig(**{**sizes, "max_position_embeddings": 258}, bos_token_id=2,
                               eos_token_id=3)
        model = RobertaForMaskedLM(config)
    else:
        model = BertForMaskedLM(BertConfig(**sizes))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def data_dir() -> Path:
    found = resolve_data_dir(None)
    if found is None:
        pytest.skip("the shared data folder (../shared/data or $PETBENCH_DATA_DIR) is not present")
    return found


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """A 4-layer, 32-wide BERT with random weights and a WordPiece vocabulary of the data."""
    return _save_tiny_model(tmp_path_factory.mktemp("tiny-bert"), _vocabulary(data_dir), "bert")


@pytest.fixture(scope="session")
def tiny_roberta(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """A RoBERTa-shaped tiny model (learned absolute positions offset by padding, no token types)."""
    return _save_tiny_model(tmp_path_factory.mktemp("tiny-roberta"), _vocabulary(data_dir), "roberta")
