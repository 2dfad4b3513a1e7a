"""RoFormer: BERT's layers with rotary position embeddings applied inside self-attention (eager
attention, not AttentionInterface); Chinese checkpoints use a jieba word pre-tokenizer."""

from __future__ import annotations

import math

import torch
from torch import nn

from bench.core.family import FamilyInfo, TokenizerKind, fix_parameters, register_family
from bench.core.prefixes import mask_with_prefix, next_layer_prefix
from families.bert_like import TINY_SIZES, BertLikeFamily, BertLikeStack, patch_attention


def _tiny(vocab_size: int, special: dict) -> object:
    from transformers import RoFormerConfig

    return RoFormerConfig(vocab_size=vocab_size, pad_token_id=special["pad"], embedding_size=64, **TINY_SIZES)


def prefixed_self_attention(module: nn.Module, original, hidden_states: torch.Tensor, attention_mask=None,
                            sinusoidal_pos=None, *args, **kwargs):
    """RoFormer self-attention over [prefix; input] keys and values: the rotary embedding turns the
    input's queries and keys (and values where the config rotates them) only."""
    prefix = next_layer_prefix(hidden_states.shape[0], hidden_states.dtype)
    if prefix is None:
        return original(hidden_states, attention_mask, sinusoidal_pos, *args, **kwargs)
    shape = (*hidden_states.shape[:-1], -1, module.attention_head_size)
    query, key, value = (projection(hidden_states).view(shape).transpose(1, 2)
                         for projection in (module.query, module.key, module.value))
    if sinusoidal_pos is not None:
        if module.rotary_value:
            query, key, value = module.apply_rotary_position_embeddings(sinusoidal_pos, query, key, value)
        else:
            query, key = module.apply_rotary_position_embeddings(sinusoidal_pos, query, key)
    key, value = torch.cat([prefix[0], key], dim=2), torch.cat([prefix[1], value], dim=2)
    scores = query @ key.transpose(-1, -2) / math.sqrt(module.attention_head_size)
    mask = mask_with_prefix(attention_mask, prefix[0].shape[2])
    if mask is not None:
        scores = (scores.masked_fill(~mask, torch.finfo(scores.dtype).min) if mask.dtype == torch.bool
                  else scores + mask)
    probabilities = module.dropout(nn.functional.softmax(scores, dim=-1))
    context = (probabilities @ value).permute(0, 2, 1, 3)
    context = context.reshape(*hidden_states.shape[:-1], module.all_head_size)
    return context, probabilities


class RoFormerStack(BertLikeStack):
    def context(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> dict:
        context = super().context(hidden, attention_mask)
        positions = self.encoder.encoder.embed_positions(hidden.shape[:-1], 0)[None, None, :, :]
        return {**context, "sinusoidal_pos": positions}


class RoFormerFamily(BertLikeFamily):
    def layer_stack(self, encoder: nn.Module) -> RoFormerStack:
        return RoFormerStack(encoder, layers=self.layer_modules(encoder),
                             embed_projection=self.embed_projection)

    def after_load(self, model: nn.Module) -> None:
        # the sinusoid table is a fixed function of the position: never trained, never counted as trainable
        fix_parameters(model.base_model.encoder.embed_positions)

    def install_prefix_attention(self, encoder: nn.Module) -> None:
        patch_attention(encoder, "RoFormerSelfAttention", prefixed_self_attention)


ROFORMER = register_family(RoFormerFamily(
    FamilyInfo("roformer", ("roformer",), TokenizerKind.WORDPIECE,
               checkpoints=("junnyu/roformer_chinese_base", "junnyu/roformer_v2_chinese_char_base"),
               notes="the Chinese word-level checkpoints' tokenizer needs the rjieba package; prefixes "
                     "get no rotary position"),
    _tiny, embed_projection="embeddings_project", has_pooler=False))
