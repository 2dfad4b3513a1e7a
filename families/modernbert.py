"""ModernBERT: pre-norm layers with rotary positions, alternating global and local (sliding-window)
attention, a final LayerNorm, a fused Wqkv projection, byte-level BPE, no token types, no pooler."""

from __future__ import annotations

import torch
from torch import nn

from bench.core.family import Capability, FamilyInfo, MlmHeadParts, ModuleRole, TokenizerKind, register_family
from families.bert_like import BertLikeFamily, BertLikeStack


def _tiny(vocab_size: int, special: dict) -> object:
    from transformers import ModernBertConfig

    return ModernBertConfig(vocab_size=vocab_size, pad_token_id=special["pad"], cls_token_id=special["cls"],
                            sep_token_id=special["sep"], bos_token_id=special["cls"],
                            eos_token_id=special["sep"],
                            hidden_size=64, num_hidden_layers=4, num_attention_heads=4, intermediate_size=96,
                            max_position_embeddings=256, global_attn_every_n_layers=2, local_attention=16)


class ModernBertStack(BertLikeStack):
    """Each layer is called with the mask and rotary embedding of its own attention type."""

    def embed(self, *, input_ids: torch.Tensor | None = None, inputs_embeds: torch.Tensor | None = None,
              token_type_ids: torch.Tensor | None = None,
              attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.encoder.embeddings(input_ids=input_ids, inputs_embeds=inputs_embeds)

    def context(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> dict:
        from transformers.masking_utils import (
            create_bidirectional_mask,
            create_bidirectional_sliding_window_mask,
        )

        config = self.encoder.config
        arguments = {"config": config, "inputs_embeds": hidden, "attention_mask": attention_mask}
        masks = {"full_attention": create_bidirectional_mask(**arguments),
                 "sliding_attention": create_bidirectional_sliding_window_mask(**arguments)}
        positions = torch.arange(hidden.shape[1], device=hidden.device).unsqueeze(0)
        rotary = {kind: self.encoder.rotary_emb(hidden, positions, kind) for kind in set(config.layer_types)}
        return {"masks": masks, "rotary": rotary}

    def layer(self, position: int, hidden: torch.Tensor, context: dict) -> torch.Tensor:
        layer = self.layers[position]
        kind = layer.attention_type
        return layer(hidden, attention_mask=context["masks"][kind],
                     position_embeddings=context["rotary"][kind])


class ModernBertFamily(BertLikeFamily):
    def mlm_head(self, masked_lm: nn.Module) -> MlmHeadParts:
        return MlmHeadParts(nn.Sequential(masked_lm.head, masked_lm.decoder), masked_lm.decoder)

    def layer_stack(self, encoder: nn.Module) -> ModernBertStack:
        return ModernBertStack(encoder, layers=list(encoder.layers), token_types=False,
                               final=encoder.final_norm)


MODERNBERT = register_family(ModernBertFamily(
    FamilyInfo("modernbert", ("modernbert",), TokenizerKind.BYTE_BPE,
               checkpoints=("answerdotai/ModernBERT-base", "answerdotai/ModernBERT-large"),
               notes="prefixes enter every layer, local and global (the local window limits only the "
                     "input's own keys); rotary positions act on the input's keys only; LoRA's query/value "
                     "targets map to the fused Wqkv, so LoRA adapts the key projection too",
               lacks={Capability.BIASES: "its projections and norms have no bias terms (bias=False "
                                         "throughout), so only the head would train"}),
    _tiny, layers_path="layers", has_pooler=False, has_token_types=False,
    projection_names={"query": "Wqkv", "key": "Wqkv", "value": "Wqkv", "output": "Wo"},
    layer_module_paths={
        ModuleRole.QUERY: "attn.Wqkv", ModuleRole.KEY: "attn.Wqkv", ModuleRole.VALUE: "attn.Wqkv",
        ModuleRole.OUTPUT: "attn.Wo", ModuleRole.FFN_IN: "mlp.Wi", ModuleRole.FFN_OUT: "mlp.Wo",
        ModuleRole.ATTENTION_NORM: "attn_norm", ModuleRole.FFN_NORM: "mlp_norm"}))
