"""ELECTRA: BERT's layers behind a projection from the (smaller) embedding width; generator
checkpoints carry an MLM head, discriminator checkpoints do not."""

from __future__ import annotations

from bench.core.family import FamilyInfo, TokenizerKind, register_family
from families.bert_like import TINY_SIZES, BertLikeFamily


def _tiny(vocab_size: int, special: dict) -> object:
    from transformers import ElectraConfig

    return ElectraConfig(vocab_size=vocab_size, pad_token_id=special["pad"], embedding_size=32, **TINY_SIZES)


class ElectraFamily(BertLikeFamily):
    def checkpoint_facts(self, config, location: str) -> tuple[str, ...]:
        architectures = getattr(config, "architectures", None) or []
        if any("ForPreTraining" in name or "Discriminator" in name for name in architectures):
            return ("ELECTRA discriminator checkpoint: it has no MLM head (prompt methods start a new one, "
                    "which must train)",)
        return ()


ELECTRA = register_family(ElectraFamily(
    FamilyInfo("electra", ("electra",), TokenizerKind.WORDPIECE,
               checkpoints=("google/electra-base-discriminator", "google/electra-large-discriminator",
                            "hfl/chinese-electra-180g-base-discriminator"),
               notes="discriminator checkpoints (the ones people fine-tune) have no MLM head: prompt "
                     "methods start a new head (MLM head: new); generator checkpoints have one"),
    _tiny, mlm_head_modules=("generator_predictions", "generator_lm_head"),
    embed_projection="embeddings_project", has_pooler=False))
