"""XLM-RoBERTa: RoBERTa's layers with a SentencePiece (Unigram) vocabulary of 250k pieces."""

from __future__ import annotations

from bench.core.family import FamilyInfo, TokenizerKind, register_family
from families.bert_like import BertLikeFamily
from families.roberta import tiny_roberta_config

XLM_ROBERTA = register_family(BertLikeFamily(
    FamilyInfo("xlm_roberta", ("xlm-roberta",), TokenizerKind.SENTENCEPIECE,
               checkpoints=("FacebookAI/xlm-roberta-base", "FacebookAI/xlm-roberta-large"),
               notes="multilingual; the MLM head is pretrained, so zero-shot PET reads real label-word "
                     "scores"),
    tiny_roberta_config("XLMRobertaConfig"), mlm_head_modules=("lm_head",), position_offset=2))
