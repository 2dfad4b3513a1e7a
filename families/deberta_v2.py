"""DeBERTa-v2 and v3 (the v3 checkpoints use this class): disentangled attention with relative
positions (not AttentionInterface), embeddings that zero padded positions, no pooler in the bare
model, SentencePiece vocabularies."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional

from bench.core.family import FamilyInfo, MlmHeadParts, ModuleRole, TokenizerKind, register_family
from bench.core.prefixes import mask_with_prefix, next_layer_prefix
from families.bert_like import BERT_LAYER_MODULES, TINY_SIZES, BertLikeFamily, BertLikeStack, patch_attention

V3_HEAD_FACT = ("DeBERTa-v3 checkpoint: its MLM-head weights give random fill-mask output (transformers "
                "issues #15216, #18143, #22790), so zero-shot prompt scores read noise")


def _tiny(vocab_size: int, special: dict) -> object:
    from transformers import DebertaV2Config

    return DebertaV2Config(vocab_size=vocab_size, pad_token_id=special["pad"], relative_attention=True,
                           pos_att_type=["p2c", "c2p"], position_biased_input=False, position_buckets=32,
                           max_relative_positions=-1, norm_rel_ebd="layer_norm", share_att_key=True,
                           type_vocab_size=0, legacy=True, **TINY_SIZES)


class TiedDecoder(nn.Module):
    """The output layer of DeBERTa's non-legacy MLM head: the word embeddings, transposed, plus a bias."""

    def __init__(self, embeddings: nn.Embedding, bias: nn.Parameter) -> None:
        super().__init__()
        self.embeddings, self.bias = embeddings, bias

    @property
    def weight(self) -> torch.Tensor:
        return self.embeddings.weight

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return functional.linear(hidden, self.weight, self.bias)


class NonLegacyHead(nn.Module):
    def __init__(self, lm_head: nn.Module, decoder: TiedDecoder) -> None:
        super().__init__()
        self.lm_head, self.decoder = lm_head, decoder

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        head = self.lm_head
        return self.decoder(head.LayerNorm(head.transform_act_fn(head.dense(hidden))))


def prefixed_disentangled_attention(module: nn.Module, original, hidden_states: torch.Tensor, attention_mask,
                                    output_attentions: bool = False, query_states=None, relative_pos=None,
                                    rel_embeddings=None):
    """Disentangled attention over [prefix; input] keys, as the adapters library does it: the content
    score covers every key, the relative-position terms (c2p, p2c) are the model's own over the input
    keys and zero over the prefix positions."""
    prefix = next_layer_prefix(hidden_states.shape[0], hidden_states.dtype)
    if prefix is None:
        return original(hidden_states, attention_mask, output_attentions, query_states, relative_pos,
                        rel_embeddings)
    heads = module.num_attention_heads
    queries = module.transpose_for_scores(module.query_proj(
        hidden_states if query_states is None else query_states), heads)
    keys = module.transpose_for_scores(module.key_proj(hidden_states), heads)
    values = module.transpose_for_scores(module.value_proj(hidden_states), heads)
    factor = 1 + ("c2p" in module.pos_att_type) + ("p2c" in module.pos_att_type)
    scale = math.sqrt(queries.shape[-1] * factor)
    scores = queries @ keys.transpose(-1, -2) / scale
    if module.relative_attention:
        scores = scores + module.disentangled_attention_bias(queries, keys, relative_pos,
                                                             module.pos_dropout(rel_embeddings), factor)
    prefix_keys, prefix_values = (part.flatten(0, 1) for part in prefix)  # (batch * heads, prefix, head dim)
    scores = torch.cat([queries @ prefix_keys.transpose(-1, -2) / scale, scores], dim=-1)
    scores = scores.view(-1, heads, *scores.shape[1:])
    mask = mask_with_prefix(attention_mask.bool(), prefix_keys.shape[1])
    scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    probabilities = module.dropout(functional.softmax(scores, dim=-1))
    context = probabilities.flatten(0, 1) @ torch.cat([prefix_values, values], dim=1)
    context = context.view(-1, heads, *context.shape[1:]).permute(0, 2, 1, 3).flatten(2)
    return context, (probabilities if output_attentions else None)


class DebertaV2Stack(BertLikeStack):
    """Layers take the relative positions and embeddings; the optional convolution follows layer 0."""

    def embed(self, *, input_ids: torch.Tensor | None = None, inputs_embeds: torch.Tensor | None = None,
              token_type_ids: torch.Tensor | None = None,
              attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.encoder.embeddings(input_ids=input_ids, inputs_embeds=inputs_embeds,
                                       token_type_ids=token_type_ids, mask=attention_mask)

    def context(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> dict:
        encoder = self.encoder.encoder
        return {"attention_mask": encoder.get_attention_mask(attention_mask), "input_mask": attention_mask,
                "relative_pos": encoder.get_rel_pos(hidden), "rel_embeddings": encoder.get_rel_embedding()}

    def layer(self, position: int, hidden: torch.Tensor, context: dict) -> torch.Tensor:
        output = self.layers[position](hidden, context["attention_mask"],
                                       relative_pos=context["relative_pos"],
                                       rel_embeddings=context["rel_embeddings"])[0]
        conv = self.encoder.encoder.conv
        if position == 0 and conv is not None:
            output = conv(hidden, output, context["input_mask"])
        return output


class DebertaV2Family(BertLikeFamily):
    def mlm_head(self, masked_lm: nn.Module) -> MlmHeadParts:
        if masked_lm.legacy:
            return MlmHeadParts(masked_lm.cls, masked_lm.cls.predictions.decoder)
        lm_head = masked_lm.lm_predictions.lm_head
        decoder = TiedDecoder(masked_lm.deberta.embeddings.word_embeddings, lm_head.bias)
        return MlmHeadParts(NonLegacyHead(lm_head, decoder), decoder)

    def max_positions(self, config) -> int | None:
        # relative positions only (v3): longer inputs share the farthest position bucket
        return config.max_position_embeddings if config.position_biased_input else None

    def layer_stack(self, encoder: nn.Module) -> DebertaV2Stack:
        return DebertaV2Stack(encoder, layers=self.layer_modules(encoder))

    def attention_shape(self, config) -> tuple[int, int, int]:
        heads = config.num_attention_heads
        head_dim = getattr(config, "attention_head_size", config.hidden_size // heads)
        return config.num_hidden_layers, heads, head_dim

    def install_prefix_attention(self, encoder: nn.Module) -> None:
        patch_attention(encoder, "DisentangledSelfAttention", prefixed_disentangled_attention)

    def checkpoint_facts(self, config, location: str) -> tuple[str, ...]:
        return (V3_HEAD_FACT,) if is_deberta_v3(config, location) else ()


def is_deberta_v3(config, location: str) -> bool:
    """v3 checkpoints: named so on the hub, or v3's shape (relative positions in 256 buckets, no
    absolute positions, no convolution, the 128k English or 251k multilingual vocabulary)."""
    if "deberta-v3" in location.lower():
        return True
    return (not config.position_biased_input and getattr(config, "position_buckets", -1) == 256
            and not getattr(config, "conv_kernel_size", 0) and config.vocab_size in (128100, 251000))


DEBERTA_V2 = register_family(DebertaV2Family(
    FamilyInfo("deberta_v2", ("deberta-v2",), TokenizerKind.SENTENCEPIECE,
               checkpoints=("microsoft/deberta-v3-base", "microsoft/deberta-v3-large",
                            "microsoft/mdeberta-v3-base", "microsoft/deberta-v2-xlarge"),
               notes="P-tuning v2's best rows; classification-head methods are the ones to use on v3, "
                     "whose MLM head gives random fill-mask output (hard_prompt must train it; zero-shot "
                     "PET warns); prefixes get no relative-position terms"),
    _tiny, projection_names={"query": "query_proj", "key": "key_proj", "value": "value_proj",
                             "output": "attention.output.dense"}, has_pooler=False,
    layer_module_paths={**BERT_LAYER_MODULES, ModuleRole.QUERY: "attention.self.query_proj",
                        ModuleRole.KEY: "attention.self.key_proj",
                        ModuleRole.VALUE: "attention.self.value_proj"}))
