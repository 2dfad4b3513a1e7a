"""MASK pooling: hidden states of chosen layers at several [MASK] tokens of the template, pooled
(max / avg / both) into a linear classifier; optional continuous prompt tokens."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bench.models import ModelRef, load_encoder, load_tokenizer
from methods.encoding import TemplateEncoder
from methods.layers import EncoderStack
from methods.mlm import PromptCollator, gather_positions
from methods.soft_prompt import PromptEncoder, place_prompts, template_with_prompts
from methods.spec import BuiltMethod, MethodConfig, register_method
from tasks.spec import TaskSpec

POOLINGS = ("max", "avg", "avg+max")


@dataclass(frozen=True)
class MaskPoolConfig(MethodConfig):
    learning_rate: float = 1e-2
    epochs: int = 30  # a frozen backbone learns slowly from 100 examples (see docs/results)
    n_masks: int = 2
    prompt_length: int = 4  # continuous prompt tokens at the start of the template; 0 for none
    layers: tuple[int, ...] = (-3,)  # indices into hidden_states (0 = embeddings, -1 = last layer)
    pooling: str = "avg+max"  # beat max on the dev split with MiniLM (docs/results/fewshot-small.md)
    freeze_backbone: bool = True
    dropout: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if self.n_masks < 1 or self.prompt_length < 0 or not self.layers:
            raise ValueError("n_masks >= 1, prompt_length >= 0 and at least one layer are required")


def pool(states: torch.Tensor, how: str) -> torch.Tensor:
    """(batch, k, dim) -> (batch, dim), or (batch, 2 * dim) for avg+max."""
    if how == "max":
        return states.max(dim=1).values
    if how == "avg":
        return states.mean(dim=1)
    return torch.cat([states.mean(dim=1), states.max(dim=1).values], dim=-1)


class MaskPoolModel(nn.Module):
    def __init__(self, encoder: nn.Module, config: MaskPoolConfig, n_labels: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.stack = EncoderStack(encoder)
        n_layers = self.stack.n_layers
        # hidden_states indices (0 = embeddings, -1 = last layer) as non-negative positions
        self.positions = tuple(layer if layer >= 0 else n_layers + 1 + layer for layer in config.layers)
        self.pooling = config.pooling
        width = encoder.get_input_embeddings().embedding_dim
        self.prompt = PromptEncoder(config.prompt_length, width) if config.prompt_length else None
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(width * (2 if config.pooling == "avg+max" else 1), n_labels)

    def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, mask_positions: torch.Tensor,
               prompt_positions: torch.Tensor | None = None) -> torch.Tensor:
        embeddings = self.encoder.get_input_embeddings()(input_ids)
        if self.prompt is not None:
            embeddings = place_prompts(embeddings, prompt_positions, self.prompt())
        hidden_states = self.stack.hidden_states(self.stack.embed(inputs_embeds=embeddings), attention_mask,
                                                 up_to=max(self.positions))
        at_masks = [gather_positions(hidden_states[position], mask_positions) for position in self.positions]
        return pool(torch.cat(at_masks, dim=1), self.pooling)

    def forward(self, **inputs: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.pooled(**inputs)))


@register_method("mask_pool", config=MaskPoolConfig)
def build_mask_pool(config: MaskPoolConfig, *, model: ModelRef, task: TaskSpec,
                    max_length: int) -> BuiltMethod:
    """Max/avg pooling of chosen layers' hidden states at m [MASK] tokens, linear classifier."""
    tokenizer = load_tokenizer(model)
    encoder = load_encoder(model)
    n_layers = encoder.config.num_hidden_layers
    if any(not -(n_layers + 1) <= layer <= n_layers for layer in config.layers):
        raise ValueError(f"layers {config.layers} out of range for a {n_layers}-layer model")
    net = MaskPoolModel(encoder, config, task.n_labels)
    if config.freeze_backbone:
        encoder.requires_grad_(False)
    template = template_with_prompts(task.template, before_input=config.prompt_length, before_mask=0)
    collate = PromptCollator(task, TemplateEncoder(tokenizer, template, n_masks=config.n_masks,
                                                   max_length=max_length))
    trains = ("prompt.", "classifier.") if config.freeze_backbone else ("",)
    return BuiltMethod(net, collate, trains=trains)
