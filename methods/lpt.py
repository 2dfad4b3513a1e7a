"""Late Prompt Tuning (Liu et al. 2022): an instance-aware prompt, generated from the hidden
states leaving layer k-1, is inserted at layer k of a frozen backbone. The layers below k run
without autograd, which is where LPT's speed and memory advantage comes from."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

import torch
from torch import nn
from torch.nn import functional

from bench.core.errors import BenchError
from bench.core.family import Capability, LayerStack, family_of
from bench.core.knobs import knob
from bench.core.method import (
    BuiltMethod,
    HeadOrigin,
    MlmHead,
    PerfVariant,
    learning_rate_knob,
    register_method,
)
from bench.core.models import ModelRef, read_model_card
from bench.core.task import TaskSpec
from methods.encoding import TemplateEncoder
from methods.heads import PooledConfig, load_pooled_parts
from methods.mlm import (
    LABEL_WORDS_ONLY_HELP,
    MaskedLMClassifier,
    freeze_backbone_keep_head,
    load_mlm_classifier,
)


class Generator(StrEnum):
    NPG = "npg"  # naive: masked mean -> bottleneck MLP -> L vectors
    MPPG = "mppg"  # adaptive max pooling to L positions, then the MLP per position
    APPG = "appg"  # adaptive average pooling to L positions, then the MLP per position


class LPTHead(StrEnum):
    CLS = "cls"  # a linear classifier on the pooled final states (the pooling knob)
    MASK = "mask"  # the MLM head's label-word scores at the template's [MASK]


@dataclass(frozen=True)
class LPTConfig(PooledConfig):
    learning_rate: float = learning_rate_knob(2e-3)  # chosen on dev only: docs/results/defaults.md
    prompt_length: int = knob(10, "prompt vectors generated per instance", at_least=1)
    layer: int = knob(-1, "insertion layer k (0-based); -1: the middle layer, num_layers // 2", at_least=-1)
    generator: Generator = knob(Generator.NPG, "how the prompt is generated from the states entering layer k")
    bottleneck: int = knob(64, "bottleneck width of the prompt generator", at_least=1)
    head: LPTHead = knob(LPTHead.CLS, "cls: linear classifier on pooled states; mask: MLM head + verbalizer")
    dropout: float = knob(0.1, "dropout before the linear classifier", at_least=0, at_most=0.99)
    label_words_only: bool = knob(True, "head=mask: " + LABEL_WORDS_ONLY_HELP)
    cache_below: bool = knob(False, "keep each example's states entering layer k after their first use "
                                    "(exact: the layers below k are frozen and run without dropout)")


class PromptGenerator(nn.Module):
    """Hidden states (batch, seq, dim) -> prompt (batch, L, dim) through a bottleneck MLP.

    npg: masked mean of the sentence -> down -> tanh -> up to L vectors.
    mppg / appg: adaptive max / average pooling along the sequence to L positions, then the
    bottleneck MLP on each position.
    """

    def __init__(self, kind: Generator, *, width: int, length: int, bottleneck: int) -> None:
        super().__init__()
        self.kind, self.length = kind, length
        self.down = nn.Linear(width, bottleneck)
        self.up = nn.Linear(bottleneck, width * length if kind == Generator.NPG else width)

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        valid = attention_mask.unsqueeze(-1).to(hidden.dtype)
        if self.kind == Generator.NPG:
            pooled = (hidden * valid).sum(1) / valid.sum(1).clamp(min=1)
            return self.up(torch.tanh(self.down(pooled))).view(hidden.shape[0], self.length, -1)
        if self.kind == Generator.MPPG:
            filled = hidden.masked_fill(valid == 0, torch.finfo(hidden.dtype).min)
            pooled = functional.adaptive_max_pool1d(filled.transpose(1, 2), self.length)
        else:
            pooled = functional.adaptive_avg_pool1d((hidden * valid).transpose(1, 2), self.length)
        return self.up(torch.tanh(self.down(pooled.transpose(1, 2))))


class VerbalizerHead(nn.Module):
    """The MLM head's label-word scores at the template's [MASK] tokens."""

    def __init__(self, mlm: MaskedLMClassifier) -> None:
        super().__init__()
        self.mlm = mlm

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor,
                mask_positions: torch.Tensor | None = None) -> torch.Tensor:
        return self.mlm.score_hidden(hidden, mask_positions)


@contextlib.contextmanager
def evaluating(modules: Sequence[nn.Module]) -> Iterator[None]:
    """The modules (and everything inside them) in evaluation mode within the block, restored after:
    a shared layer (ALBERT) keeps its dropout where it also runs above the insertion layer."""
    saved = [(module, module.training) for root in modules for module in root.modules()]
    for module, _ in saved:
        module.training = False
    try:
        yield
    finally:
        for module, mode in saved:
            module.training = mode


class LatePromptModel(nn.Module):
    """The layers below k are a fixed feature extractor: frozen, run without autograd and as in
    evaluation (no dropout), which is also what makes caching their output exact."""

    def __init__(self, encoder: nn.Module, stack: LayerStack, generator: PromptGenerator, head: nn.Module, *,
                 layer: int) -> None:
        super().__init__()
        self.encoder, self.generator, self.head, self.layer = encoder, generator, head, layer
        self.stack = stack
        self.cache: dict[tuple[int, ...], torch.Tensor] | None = None

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                mask_positions: torch.Tensor | None = None, token_type_ids: torch.Tensor | None = None,
                **unused: torch.Tensor) -> torch.Tensor:
        if self.cache is not None:
            hidden = self._cached_layer_input(input_ids, attention_mask, token_type_ids)
        else:
            hidden = self._layer_input(input_ids, attention_mask, token_type_ids)
        return self.from_layer_input(hidden, attention_mask, mask_positions)

    def _layer_input(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                     token_type_ids: torch.Tensor | None) -> torch.Tensor:
        with torch.no_grad(), evaluating(self.stack.modules_below(self.layer)):  # no graph is kept
            embedded = self.stack.embed(input_ids=input_ids, token_type_ids=token_type_ids,
                                        attention_mask=attention_mask)
            return self.stack.run(embedded, attention_mask, stop=self.layer)

    def _cached_layer_input(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                            token_type_ids: torch.Tensor | None) -> torch.Tensor:
        """Rows seen before come from the cache; a batch with any new row is computed and stored."""
        lengths = attention_mask.sum(dim=1).tolist()
        keys = [tuple(row[:length]) for row, length in zip(input_ids.tolist(), lengths, strict=True)]
        if all(key in self.cache for key in keys):
            hidden = torch.zeros((*input_ids.shape, self.stack.width), device=input_ids.device,
                                 dtype=self.cache[keys[0]].dtype)
            for row, key in enumerate(keys):
                hidden[row, : len(key)] = self.cache[key]
            return hidden
        hidden = self._layer_input(input_ids, attention_mask, token_type_ids)
        for row, key in enumerate(keys):
            self.cache[key] = hidden[row, : len(key)].clone()
        return hidden

    def from_layer_input(self, hidden: torch.Tensor, attention_mask: torch.Tensor,
                         mask_positions: torch.Tensor | None) -> torch.Tensor:
        """Generate and insert the prompt after [CLS], run layers k.., drop the prompt positions
        again and apply the head to the states of the input's own tokens."""
        prompt = self.generator(hidden, attention_mask)
        length = prompt.shape[1]
        hidden = torch.cat([hidden[:, :1], prompt.to(hidden.dtype), hidden[:, 1:]], dim=1)
        extended = torch.cat([attention_mask[:, :1], attention_mask.new_ones(len(hidden), length),
                              attention_mask[:, 1:]], dim=1)
        hidden = self.stack.run(hidden, extended, start=self.layer)
        hidden = torch.cat([hidden[:, :1], hidden[:, 1 + length:]], dim=1)
        return self.head(hidden, attention_mask, mask_positions)


def insertion_layer(config: LPTConfig, n_layers: int) -> int:
    layer = n_layers // 2 if config.layer == -1 else config.layer
    if not 0 <= layer < n_layers:
        raise BenchError(f"lpt.layer={config.layer} is outside 0..{n_layers - 1} for this model")
    return layer


@register_method("lpt", config=LPTConfig, needs=(Capability.LAYERS,), perf_variants={
    "lpt_cached": PerfVariant((("cache_below", "true"),),
                              description="LPT once its cache of the states entering layer k is warm")})
def build_lpt(config: LPTConfig, *, model: ModelRef, task: TaskSpec, max_length: int) -> BuiltMethod:
    """Late Prompt Tuning: instance-aware prompt from layer k-1 inserted at layer k, frozen backbone."""
    if config.head == LPTHead.MASK:
        tokenizer, mlm, mlm_head = load_mlm_classifier(model, task, label_words_only=config.label_words_only)
        freeze_backbone_keep_head(mlm, train_head=mlm_head.origin == HeadOrigin.NEW)
        encoder, head = mlm.encoder, VerbalizerHead(mlm)
        inputs = TemplateEncoder(tokenizer, task.template, task.text_fields, n_masks=mlm.verbalizer.n_masks,
                                 max_length=max_length, text_prefix=read_model_card(model).text_prefix)
        new_head = mlm_head.origin == HeadOrigin.NEW
        trains, pooling = ("generator.", *(("head.mlm.head.",) if new_head else ())), ""
    else:
        parts = load_pooled_parts(model, task, pooling=config.pooling, max_length=max_length,
                                  dropout=config.dropout)
        parts.encoder.requires_grad_(False)
        if parts.head.pooler is not None:
            parts.head.pooler.requires_grad_(False)
        encoder, head, inputs, mlm_head = parts.encoder, parts.head, parts.input_encoder, MlmHead()
        trains, pooling = ("generator.", "head.linear."), parts.describe()
    stack = family_of(encoder).layer_stack(encoder)
    layer = insertion_layer(config, stack.n_layers)
    generator = PromptGenerator(config.generator, width=stack.width, length=config.prompt_length,
                                bottleneck=config.bottleneck)
    late_prompt = LatePromptModel(encoder, stack, generator, head, layer=layer)
    if config.cache_below:
        late_prompt.cache = {}
    return BuiltMethod(late_prompt, inputs, trains=trains, mlm_head=mlm_head, pooling=pooling,
                       first_grad_layer=layer, cached_layers=layer if config.cache_below else 0)
