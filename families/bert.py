"""BERT (and checkpoints of its architecture: MiniLM, multilingual-e5, chinese-roberta-wwm-ext, SPLADE)."""

from __future__ import annotations

from bench.core.family import FamilyInfo, TokenizerKind, register_family
from families.bert_like import TINY_SIZES, BertLikeFamily


def _tiny(vocab_size: int, special: dict) -> object:
    from transformers import BertConfig

    return BertConfig(vocab_size=vocab_size, pad_token_id=special["pad"], **TINY_SIZES)


BERT = register_family(BertLikeFamily(
    FamilyInfo("bert", ("bert",), TokenizerKind.WORDPIECE,
               checkpoints=("google-bert/bert-base-uncased", "hfl/chinese-roberta-wwm-ext",
                            "hfl/chinese-macbert-base"),
               notes="the reference family; FewCLUE's chinese_roberta_wwm_ext is a BERT checkpoint "
                     "(model_type bert) despite its name"),
    _tiny))
