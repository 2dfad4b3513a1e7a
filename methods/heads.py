"""The classification head shared by every method that reads an encoder into a linear classifier:
which pooling it uses ([CLS], mean over tokens, or the template's [MASK]) and how the default is
chosen from the checkpoint."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import torch
from torch import nn

from bench.core.errors import BenchError
from bench.core.family import family_of
from bench.core.knobs import knob
from bench.core.loading import load_encoder, load_tokenizer
from bench.core.method import GradientConfig
from bench.core.models import ModelRef, read_model_card, sentence_pooling
from bench.core.task import TaskSpec
from methods.encoding import PlainEncoder, TemplateEncoder


class Pooling(StrEnum):
    AUTO = "auto"  # from the checkpoint: see resolve_pooling
    CLS = "cls"
    MEAN = "mean"
    MASK = "mask"


POOLING_HELP = ("how the head reads the encoder: cls ([CLS], through the checkpoint's pooler when it has "
                "trained pooler weights), mean (over tokens), mask (the task template's [MASK]); auto: mean "
                "for sentence encoders and checkpoints without trained pooler weights, else cls")


@dataclass(frozen=True)
class PooledConfig(GradientConfig):
    """Knobs of a method whose classifier reads pooled hidden states."""

    pooling: Pooling = knob(Pooling.AUTO, POOLING_HELP)


def resolve_pooling(choice: Pooling, model: ModelRef, *, pretrained_pooler: bool) -> Pooling:
    """AUTO becomes what the checkpoint was trained to be read by: its card's or sentence-transformers'
    declared pooling, else cls when it has trained pooler weights, else mean."""
    if choice != Pooling.AUTO:
        return choice
    declared = read_model_card(model).pooling or sentence_pooling(model)
    if declared in (Pooling.CLS, Pooling.MEAN):
        return Pooling(declared)
    return Pooling.CLS if pretrained_pooler else Pooling.MEAN


class PooledHead(nn.Module):
    """Pooled hidden state -> (optional pretrained pooler) -> dropout -> linear."""

    def __init__(self, width: int, n_labels: int, pooling: Pooling, *, pooler: nn.Module | None = None,
                 dropout: float = 0.1, normalize: bool = False) -> None:
        super().__init__()
        self.pooling, self.pooler, self.normalize = pooling, pooler, normalize
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(width, n_labels)

    def features(self, hidden: torch.Tensor, attention_mask: torch.Tensor,
                 mask_positions: torch.Tensor | None = None) -> torch.Tensor:
        """(batch, width) from hidden states (batch, seq, width) aligned with attention_mask."""
        if self.pooling == Pooling.MEAN:
            valid = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * valid).sum(1) / valid.sum(1).clamp(min=1)
        elif self.pooling == Pooling.MASK:
            if mask_positions is None:
                raise BenchError("mask pooling needs the task template's [MASK] position")
            index = mask_positions[:, :1].unsqueeze(-1).expand(-1, -1, hidden.shape[-1])
            pooled = hidden.gather(1, index).squeeze(1)
        else:
            pooled = self.pooler(hidden) if self.pooler is not None else hidden[:, 0]
        if self.normalize:
            pooled = nn.functional.normalize(pooled.float(), dim=-1).to(pooled.dtype)
        return pooled

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor,
                mask_positions: torch.Tensor | None = None) -> torch.Tensor:
        return self.linear(self.dropout(self.features(hidden, attention_mask, mask_positions)))


class EncoderClassifier(nn.Module):
    """An encoder (maybe wrapped by peft or carrying prefixes) read by a PooledHead. Hidden states
    are re-aligned with the input when the encoder prepended virtual tokens (prompt tuning)."""

    def __init__(self, encoder: nn.Module, head: PooledHead, *, token_types: bool = True) -> None:
        super().__init__()
        self.encoder, self.head = encoder, head
        # False where the encoder ignores them (peft prompt learning) or its family has none
        self.token_types = token_types and family_of(encoder).token_types(encoder.config)

    def hidden(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
               token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        extra = {"token_type_ids": token_type_ids} if token_type_ids is not None and self.token_types else {}
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
        return hidden[:, -input_ids.shape[1]:]

    def features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                 token_type_ids: torch.Tensor | None = None,
                 mask_positions: torch.Tensor | None = None) -> torch.Tensor:
        return self.head.features(self.hidden(input_ids, attention_mask, token_type_ids), attention_mask,
                                  mask_positions)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None = None,
                mask_positions: torch.Tensor | None = None) -> torch.Tensor:
        hidden = self.hidden(input_ids, attention_mask, token_type_ids)
        return self.head(hidden, attention_mask, mask_positions)


@dataclass
class PooledParts:
    """A loaded encoder with the head, input encoder and pooling a classification method needs."""

    encoder: nn.Module
    head: PooledHead
    input_encoder: PlainEncoder | TemplateEncoder
    pooling: Pooling

    def describe(self) -> str:
        pooler = " through the pretrained pooler" if self.head.pooler is not None else ""
        return f"{self.pooling.value}{pooler}"


def load_pooled_parts(model: ModelRef, task: TaskSpec, *, pooling: Pooling, max_length: int,
                      dropout: float = 0.1, normalize: bool = False) -> PooledParts:
    """The bare encoder (its pooler moved into the head when cls pooling reads it), the head, and
    inputs encoded plainly or, for mask pooling, through the task's template."""
    encoder, pretrained_pooler = load_encoder(model, with_pooler=True)
    chosen = resolve_pooling(pooling, model, pretrained_pooler=pretrained_pooler)
    pooler = family_of(encoder).take_pooler(encoder)  # never run by the encoder: the head decides
    pooler = pooler if chosen == Pooling.CLS and pretrained_pooler else None
    width = encoder.config.hidden_size
    head = PooledHead(width, task.n_labels, chosen, pooler=pooler, dropout=dropout, normalize=normalize)
    # as Hugging Face initialises its classification heads
    nn.init.normal_(head.linear.weight, std=getattr(encoder.config, "initializer_range", 0.02))
    nn.init.zeros_(head.linear.bias)
    tokenizer, prefix = load_tokenizer(model), read_model_card(model).text_prefix
    if chosen == Pooling.MASK:
        inputs = TemplateEncoder(tokenizer, task.template, task.text_fields, n_masks=1, max_length=max_length,
                                 text_prefix=prefix)
    else:
        inputs = PlainEncoder(tokenizer, max_length, text_prefix=prefix)
    return PooledParts(encoder, head, inputs, chosen)
