"""ERNIE (Baidu, as ported to transformers): BERT's layers, optional task-type embeddings."""

from __future__ import annotations

from bench.core.family import FamilyInfo, TokenizerKind, register_family
from families.bert_like import TINY_SIZES, BertLikeFamily


def _tiny(vocab_size: int, special: dict) -> object:
    from transformers import ErnieConfig

    return ErnieConfig(vocab_size=vocab_size, pad_token_id=special["pad"], **TINY_SIZES)


ERNIE = register_family(BertLikeFamily(
    FamilyInfo("ernie", ("ernie",), TokenizerKind.WORDPIECE,
               checkpoints=("nghuyong/ernie-3.0-base-zh", "nghuyong/ernie-3.0-medium-zh"),
               notes="Chinese WordPiece; task-type ids are left at their default"),
    _tiny))
