"""XLM-RoBERTa: RoBERTa's layers with a SentencePiece (Unigram) vocabulary of 250k pieces."""

from __future__ import annotations

from bench.core.family import FamilyInfo, TokenizerKind, register_family
from families.bert_like import TINY_SIZES, BertLikeFamily

POSITIONS_AFTER_PADDING = {**TINY_SIZES, "max_position_embeddings": TINY_SIZES["max_position_embeddings"] + 2}


def _tiny(vocab_size: int, special: dict) -> object:
    from transformers import XLMRobertaConfig

    return XLMRobertaConfig(vocab_size=vocab_size, pad_token_id=special["pad"], bos_token_id=special["cls"],
                            eos_token_id=special["sep"], type_vocab_size=1,
                            **POSITIONS_AFTER_PADDING)


XLM_ROBERTA = register_family(BertLikeFamily(
    FamilyInfo("xlm_roberta", ("xlm-roberta",), TokenizerKind.SENTENCEPIECE,
               checkpoints=("FacebookAI/xlm-roberta-base", "FacebookAI/xlm-roberta-large"),
               notes="multilingual; the MLM head is pretrained, so zero-shot PET reads real label-word "
                     "scores"),
    _tiny, mlm_head_modules=("lm_head",), position_offset=2))
