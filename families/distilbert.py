"""DistilBERT: 6 BERT-like blocks under `transformer.layer`, no token types, no pooler."""

from __future__ import annotations

from bench.core.family import FamilyInfo, ModuleRole, TokenizerKind, register_family
from families.bert_like import BertLikeFamily


def _tiny(vocab_size: int, special: dict) -> object:
    from transformers import DistilBertConfig

    return DistilBertConfig(vocab_size=vocab_size, pad_token_id=special["pad"], dim=64, n_layers=4, n_heads=4,
                            hidden_dim=96, max_position_embeddings=256)


DISTILBERT = register_family(BertLikeFamily(
    FamilyInfo("distilbert", ("distilbert",), TokenizerKind.WORDPIECE,
               checkpoints=("distilbert/distilbert-base-uncased",
                            "distilbert/distilbert-base-multilingual-cased"),
               notes="a pretrained MLM head ships with the base checkpoints"),
    _tiny, mlm_head_modules=("vocab_transform", "activation", "vocab_layer_norm", "vocab_projector"),
    layers_path="transformer.layer", has_pooler=False, has_token_types=False,
    projection_names={"query": "q_lin", "key": "k_lin", "value": "v_lin", "output": "out_lin"},
    layer_module_paths={
        ModuleRole.QUERY: "attention.q_lin", ModuleRole.KEY: "attention.k_lin",
        ModuleRole.VALUE: "attention.v_lin", ModuleRole.OUTPUT: "attention.out_lin",
        ModuleRole.FFN_IN: "ffn.lin1", ModuleRole.FFN_OUT: "ffn.lin2",
        ModuleRole.ATTENTION_NORM: "sa_layer_norm", ModuleRole.FFN_NORM: "output_layer_norm"}))
