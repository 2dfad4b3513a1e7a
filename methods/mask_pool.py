"""MASK pooling: hidden states of chosen layers at several [MASK] tokens of the template, pooled
(max / avg / both) into a linear classifier; optional continuous prompt tokens."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import torch
from torch import nn

from bench.core.errors import BenchError
from bench.core.family import Capability, family_of
from bench.core.knobs import knob
from bench.core.loading import load_encoder, load_tokenizer
from bench.core.method import BuiltMethod, GradientConfig, epochs_knob, learning_rate_knob, register_method
from bench.core.models import ModelRef, read_model_card
from bench.core.task import TaskSpec
from methods.encoding import TemplateEncoder
from methods.mlm import gather_positions
from methods.soft_prompt import PromptEncoder, place_prompts, template_with_prompts


class MaskPooling(StrEnum):
    MAX = "max"
    AVG = "avg"
    AVG_MAX = "avg+max"  # both, concatenated


@dataclass(frozen=True)
class MaskPoolConfig(GradientConfig):
    learning_rate: float = learning_rate_knob(3e-2)  # chosen on dev only: docs/results/defaults.md
    epochs: int = epochs_knob(30)  # a frozen backbone learns slowly from 100 examples (docs/results)
    n_masks: int = knob(2, "[MASK] tokens in the template's mask slot", at_least=1)
    prompt_length: int = knob(4, "continuous prompt tokens at the start of the template; 0 for none",
                              at_least=0)
    layers: tuple[int, ...] = knob((-3,), "hidden_states indices to pool (0 = embeddings, -1 = last layer)")
    mask_pooling: MaskPooling = knob(MaskPooling.AVG_MAX, "how the states at the masks and layers are "
                                                          "combined (avg+max beat max on the dev split)")
    freeze_backbone: bool = knob(True, "train only the prompt tokens and the classifier")
    dropout: float = knob(0.1, "dropout before the linear classifier", at_least=0, at_most=0.99)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.layers:
            raise BenchError("mask_pool.layers must name at least one layer")


def pool(states: torch.Tensor, how: str) -> torch.Tensor:
    """(batch, k, dim) -> (batch, dim), or (batch, 2 * dim) for avg+max."""
    if how == MaskPooling.MAX:
        return states.max(dim=1).values
    if how == MaskPooling.AVG:
        return states.mean(dim=1)
    return torch.cat([states.mean(dim=1), states.max(dim=1).values], dim=-1)


class MaskPoolModel(nn.Module):
    def __init__(self, encoder: nn.Module, config: MaskPoolConfig, n_labels: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.stack = family_of(encoder).layer_stack(encoder)
        n_layers = self.stack.n_layers
        # hidden_states indices (0 = embeddings, -1 = last layer) as non-negative positions
        self.positions = tuple(layer if layer >= 0 else n_layers + 1 + layer for layer in config.layers)
        self.pooling = config.mask_pooling
        # the prompt sits at the input embeddings, below ALBERT's and ELECTRA's projection
        embedding_width = encoder.get_input_embeddings().embedding_dim
        self.prompt = PromptEncoder(config.prompt_length, embedding_width) if config.prompt_length else None
        self.dropout = nn.Dropout(config.dropout)
        width = self.stack.width * (2 if self.pooling == MaskPooling.AVG_MAX else 1)
        self.classifier = nn.Linear(width, n_labels)

    def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, mask_positions: torch.Tensor,
               prompt_positions: torch.Tensor | None = None, **unused: torch.Tensor) -> torch.Tensor:
        embeddings = self.encoder.get_input_embeddings()(input_ids)
        if self.prompt is not None:
            embeddings = place_prompts(embeddings, prompt_positions, self.prompt())
        embedded = self.stack.embed(inputs_embeds=embeddings, attention_mask=attention_mask)
        hidden_states = self.stack.hidden_states(embedded, attention_mask, up_to=max(self.positions))
        at_masks = [gather_positions(hidden_states[position], mask_positions) for position in self.positions]
        return pool(torch.cat(at_masks, dim=1), self.pooling)

    def forward(self, **inputs: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.pooled(**inputs)))


@register_method("mask_pool", config=MaskPoolConfig, needs=(Capability.LAYERS,))
def build_mask_pool(config: MaskPoolConfig, *, model: ModelRef, task: TaskSpec,
                    max_length: int) -> BuiltMethod:
    """Max/avg pooling of chosen layers' hidden states at m [MASK] tokens, linear classifier."""
    tokenizer = load_tokenizer(model)
    encoder, _ = load_encoder(model)
    n_layers = family_of(encoder).layer_stack(encoder).n_layers
    if any(not -(n_layers + 1) <= layer <= n_layers for layer in config.layers):
        raise BenchError(f"mask_pool.layers={list(config.layers)} is out of range for a {n_layers}-layer "
                         f"model")
    net = MaskPoolModel(encoder, config, task.n_labels)
    if config.freeze_backbone:
        encoder.requires_grad_(False)
    template = template_with_prompts(task.template, before_input=config.prompt_length, before_mask=0)
    inputs = TemplateEncoder(tokenizer, template, task.text_fields, n_masks=config.n_masks,
                             max_length=max_length, text_prefix=read_model_card(model).text_prefix)
    trains = ("prompt.", "classifier.") if config.freeze_backbone else ("",)
    return BuiltMethod(net, inputs, trains=trains, pooling=f"mask ({config.mask_pooling.value})")
