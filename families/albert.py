"""ALBERT: one group of shared layers applied num_hidden_layers times (each application is a layer
position of its own), behind a projection from the small embedding width; a Linear + tanh pooler."""

from __future__ import annotations

from torch import nn

from bench.core.family import FamilyInfo, ModuleRole, TokenizerKind, register_family
from families.bert_like import TINY_SIZES, BertLikeFamily, FirstToken


def _tiny(vocab_size: int, special: dict) -> object:
    from transformers import AlbertConfig

    return AlbertConfig(vocab_size=vocab_size, pad_token_id=special["pad"], bos_token_id=special["cls"],
                        eos_token_id=special["sep"], embedding_size=32, **TINY_SIZES)


ALBERT_LAYER_MODULES = {
    ModuleRole.QUERY: "attention.query", ModuleRole.KEY: "attention.key", ModuleRole.VALUE: "attention.value",
    ModuleRole.OUTPUT: "attention.dense", ModuleRole.FFN_IN: "ffn", ModuleRole.FFN_OUT: "ffn_output",
    ModuleRole.ATTENTION_NORM: "attention.LayerNorm", ModuleRole.FFN_NORM: "full_layer_layer_norm",
}


class AlbertFamily(BertLikeFamily):
    def blocks(self, encoder: nn.Module) -> list[nn.Module]:
        """Every shared layer of every group once (applied num_hidden_layers times in all)."""
        return [layer for group in encoder.encoder.albert_layer_groups for layer in group.albert_layers]

    def layer_modules(self, encoder: nn.Module) -> list[nn.Module]:
        config, groups = encoder.config, encoder.encoder.albert_layer_groups
        per_group = config.num_hidden_layers / config.num_hidden_groups
        return [groups[int(position / per_group)] for position in range(config.num_hidden_layers)]

    def take_pooler(self, encoder: nn.Module) -> nn.Module | None:
        if encoder.pooler is None:
            return None
        pooler = nn.Sequential(FirstToken(), encoder.pooler, encoder.pooler_activation)
        encoder.pooler, encoder.pooler_activation = None, None
        return pooler

    def attention_shape(self, config) -> tuple[int, int, int]:
        heads = config.num_attention_heads
        return config.num_hidden_layers * config.inner_group_num, heads, config.hidden_size // heads


ALBERT = register_family(AlbertFamily(
    FamilyInfo("albert", ("albert",), TokenizerKind.SENTENCEPIECE,
               checkpoints=("albert/albert-base-v2", "albert/albert-xxlarge-v2",
                            "voidful/albert_chinese_base"),
               notes="FewCLUE's ALBERT baselines; prefixes and LPT's insertion layer count layer "
                     "positions, so the shared layer gets a prefix of its own at each application"),
    _tiny, mlm_head_modules=("predictions",), embed_projection="encoder.embedding_hidden_mapping_in",
    projection_names={"query": "query", "key": "key", "value": "value", "output": "attention.dense"},
    layer_module_paths=ALBERT_LAYER_MODULES))
