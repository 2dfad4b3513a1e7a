"""RoBERTa: BERT's layers, byte-level BPE, positions offset by the padding index, no token types."""

from __future__ import annotations

from bench.core.family import FamilyInfo, TokenizerKind, register_family
from families.bert_like import TINY_SIZES, BertLikeFamily

POSITIONS_AFTER_PADDING = {**TINY_SIZES, "max_position_embeddings": TINY_SIZES["max_position_embeddings"] + 2}


def _tiny(vocab_size: int, special: dict) -> object:
    from transformers import RobertaConfig

    return RobertaConfig(vocab_size=vocab_size, pad_token_id=special["pad"], bos_token_id=special["cls"],
                         eos_token_id=special["sep"], type_vocab_size=1,
                         **POSITIONS_AFTER_PADDING)


ROBERTA = register_family(BertLikeFamily(
    FamilyInfo("roberta", ("roberta",), TokenizerKind.BYTE_BPE,
               checkpoints=("FacebookAI/roberta-large", "FacebookAI/roberta-base"),
               notes="LM-BFF's and LPT's model: label words take the leading-space piece (' great' -> "
                     "'Ġgreat')"),
    _tiny, mlm_head_modules=("lm_head",), position_offset=2))
