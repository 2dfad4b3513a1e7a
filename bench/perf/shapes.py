"""Named model shapes for weight-free perf runs: a config.json and a synthetic tokenizer."""

from __future__ import annotations

import json
from pathlib import Path

from bench.core.errors import BenchError
from bench.core.models import ModelRef
from bench.core.task import TaskSpec

_BERT = {"model_type": "bert", "vocab_size": 30522, "max_position_embeddings": 512, "type_vocab_size": 2,
         "pad_token_id": 0}
_ROBERTA = {"model_type": "roberta", "vocab_size": 50265, "max_position_embeddings": 514,
            "type_vocab_size": 1, "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2,
            "layer_norm_eps": 1e-5}


def _size(hidden: int, layers: int, heads: int) -> dict:
    return {"hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads,
            "intermediate_size": 4 * hidden}


SHAPES: dict[str, dict] = {
    "bert-tiny": {**_BERT, **_size(128, 2, 2)},
    "bert-small": {**_BERT, **_size(512, 4, 8)},
    "bert-base": {**_BERT, **_size(768, 12, 12)},
    "bert-large": {**_BERT, **_size(1024, 24, 16)},
    "roberta-base": {**_ROBERTA, **_size(768, 12, 12)},
    "roberta-large": {**_ROBERTA, **_size(1024, 24, 16)},
}
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def shape_config(shape: str) -> dict:
    """The config of a named shape, or of a local config.json (a file or a model folder)."""
    if shape in SHAPES:
        return dict(SHAPES[shape])
    path = Path(shape).expanduser()
    path = path / "config.json" if path.is_dir() else path
    if not path.is_file():
        raise BenchError(f"unknown shape {shape!r}: use one of {sorted(SHAPES)} or a config.json path")
    return json.loads(path.read_text(encoding="utf-8"))


def synthetic_word(index: int) -> str:
    """The synthetic vocabulary's word at an id; ids from len(SPECIAL_TOKENS) + 1 up are never
    taken by a special token, whichever id [PAD] has."""
    return f"w{index}"


def perf_task() -> TaskSpec:
    """A two-label task whose label words and template words are synthetic-vocabulary words."""
    first_free = len(SPECIAL_TOKENS) + 1
    labels = (synthetic_word(first_free), synthetic_word(first_free + 1))
    template = "{sentence} " + synthetic_word(first_free + 2) + " [MASK] ."
    return TaskSpec(name="perf", language="en", text_fields=("sentence",), labels=("0", "1"),
                    verbalizer=labels, template=template, train=None, eval=None)


def synthetic_vocabulary(config: dict) -> list[str]:
    """Words w0..wN, with the special tokens at the lowest free ids and [PAD] at pad_token_id."""
    vocabulary = [synthetic_word(i) for i in range(config["vocab_size"])]
    pad_id = config.get("pad_token_id") or 0
    vocabulary[pad_id] = "[PAD]"
    free = (i for i in range(len(vocabulary)) if i != pad_id)
    for token in SPECIAL_TOKENS[1:]:
        vocabulary[next(free)] = token
    return vocabulary


def materialise_shape(shape: str, folder: Path) -> ModelRef:
    """Write config.json and a WordPiece tokenizer; the model is built with random weights."""
    from transformers import AutoConfig, BertTokenizer

    config = shape_config(shape)
    folder.mkdir(parents=True, exist_ok=True)
    values = {key: value for key, value in config.items() if key != "model_type"}
    AutoConfig.for_model(config["model_type"], **values).save_pretrained(folder)
    vocabulary = synthetic_vocabulary(config)
    BertTokenizer(vocab={token: index for index, token in enumerate(vocabulary)},
                  do_lower_case=False).save_pretrained(folder)
    name = shape if shape in SHAPES else Path(shape).stem
    return ModelRef(str(folder), f"{name} (random init)", random_init=True)
