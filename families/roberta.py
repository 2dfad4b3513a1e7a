"""RoBERTa: BERT's layers, byte-level BPE, positions offset by the padding index, no token types."""

from __future__ import annotations

from collections.abc import Callable

from bench.core.family import FamilyInfo, TokenizerKind, register_family
from families.bert_like import TINY_SIZES, BertLikeFamily

POSITIONS_AFTER_PADDING = {**TINY_SIZES, "max_position_embeddings": TINY_SIZES["max_position_embeddings"] + 2}


def tiny_roberta_config(config_name: str) -> Callable[[int, dict], object]:
    """The tiny config of a RoBERTa-shaped family (RobertaConfig, XLMRobertaConfig)."""

    def tiny(vocab_size: int, special: dict) -> object:
        import transformers

        return getattr(transformers, config_name)(
            vocab_size=vocab_size, pad_token_id=special["pad"], bos_token_id=special["cls"],
            eos_token_id=special["sep"], type_vocab_size=1, **POSITIONS_AFTER_PADDING)

    return tiny


ROBERTA = register_family(BertLikeFamily(
    FamilyInfo("roberta", ("roberta",), TokenizerKind.BYTE_BPE,
               checkpoints=("FacebookAI/roberta-large", "FacebookAI/roberta-base"),
               notes="LM-BFF's and LPT's model: label words take the leading-space piece (' great' -> "
                     "'Ġgreat')"),
    tiny_roberta_config("RobertaConfig"), mlm_head_modules=("lm_head",), position_offset=2))
