"""Late Prompt Tuning (Liu et al. 2022): an instance-aware prompt, generated from the hidden
states leaving layer k-1, is inserted at layer k of a frozen backbone. The layers below k run
without autograd, which is where LPT's speed and memory advantage comes from."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional

from bench.models import ModelRef
from methods.encoding import PlainEncoder, TemplateEncoder
from methods.layers import EncoderStack
from methods.mlm import MaskedLMClassifier, PromptCollator, freeze_backbone_keep_head, load_mlm_classifier
from methods.spec import BuiltMethod, MethodConfig, register_method
from tasks.spec import TaskSpec

GENERATORS = ("npg", "mppg", "appg")
HEADS = ("cls", "mask")


@dataclass(frozen=True)
class LPTConfig(MethodConfig):
    learning_rate: float = 5e-3
    prompt_length: int = 10
    layer: int = -1  # insertion layer k (0-based); -1: the middle layer, num_layers // 2
    generator: str = "npg"
    bottleneck: int = 64
    head: str = "cls"
    dropout: float = 0.1
    cache_below: bool = False  # keep each training example's states entering layer k after first use

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.generator not in GENERATORS:
            raise ValueError(f"generator must be one of {GENERATORS}, got {self.generator!r}")
        if self.head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {self.head!r}")
        if self.prompt_length < 1 or self.bottleneck < 1:
            raise ValueError("prompt_length and bottleneck must be at least 1")


class PromptGenerator(nn.Module):
    """Hidden states (batch, seq, dim) -> prompt (batch, L, dim) through a bottleneck MLP.

    npg: masked mean of the sentence -> down -> tanh -> up to L vectors.
    mppg / appg: adaptive max / average pooling along the sequence to L positions, then the
    bottleneck MLP on each position.
    """

    def __init__(self, kind: str, *, width: int, length: int, bottleneck: int) -> None:
        super().__init__()
        self.kind, self.length = kind, length
        self.down = nn.Linear(width, bottleneck)
        self.up = nn.Linear(bottleneck, width * length if kind == "npg" else width)

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        valid = attention_mask.unsqueeze(-1).to(hidden.dtype)
        if self.kind == "npg":
            pooled = (hidden * valid).sum(1) / valid.sum(1).clamp(min=1)
            return self.up(torch.tanh(self.down(pooled))).view(hidden.shape[0], self.length, -1)
        if self.kind == "mppg":
            filled = hidden.masked_fill(valid == 0, torch.finfo(hidden.dtype).min)
            pooled = functional.adaptive_max_pool1d(filled.transpose(1, 2), self.length)
        else:
            pooled = functional.adaptive_avg_pool1d((hidden * valid).transpose(1, 2), self.length)
        return self.up(torch.tanh(self.down(pooled.transpose(1, 2))))


class ClsHead(nn.Module):
    """A linear classifier on the final [CLS] state."""

    def __init__(self, width: int, n_labels: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(width, n_labels)

    def forward(self, hidden: torch.Tensor, mask_positions: torch.Tensor | None) -> torch.Tensor:
        return self.linear(self.dropout(hidden[:, 0]))


class VerbalizerHead(nn.Module):
    """The MLM head's label-word scores at the template's [MASK] tokens."""

    def __init__(self, mlm: MaskedLMClassifier) -> None:
        super().__init__()
        self.mlm = mlm

    def forward(self, hidden: torch.Tensor, mask_positions: torch.Tensor | None) -> torch.Tensor:
        return self.mlm.score_hidden(hidden, mask_positions)


class LatePromptModel(nn.Module):
    def __init__(self, stack: EncoderStack, generator: PromptGenerator, head: ClsHead | VerbalizerHead, *,
                 layer: int) -> None:
        super().__init__()
        self.stack, self.generator, self.head, self.layer = stack, generator, head, layer
        self.first_grad_layer = layer  # for FLOP counting: no gradient flows below it
        self.cache: dict[tuple[int, ...], torch.Tensor] | None = None

    @property
    def first_forward_layer(self) -> int:
        """For FLOP counting: once the cache holds a batch, training runs only layers k.. ."""
        return self.layer if self.cache else 0

    def train(self, mode: bool = True) -> LatePromptModel:
        """The frozen layers below k always run as in evaluation (no dropout): they are a fixed
        feature extractor, which is also what makes caching their output exact."""
        super().train(mode)
        self.stack.encoder.embeddings.eval()
        for layer in self.stack.encoder.encoder.layer[: self.layer]:
            layer.eval()
        return self

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                mask_positions: torch.Tensor | None = None, **unused: torch.Tensor) -> torch.Tensor:
        if self.cache is not None and self.training:
            hidden = self._cached_layer_input(input_ids, attention_mask)
        else:
            hidden = self._layer_input(input_ids, attention_mask)
        return self.from_layer_input(hidden, attention_mask, mask_positions)

    def _layer_input(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():  # layers below k: no graph is kept
            return self.stack.run(self.stack.embed(input_ids), attention_mask, stop=self.layer)

    def _cached_layer_input(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Rows seen before come from the cache; a batch with any new row is computed and stored."""
        lengths = attention_mask.sum(dim=1).tolist()
        keys = [tuple(row[:length]) for row, length in zip(input_ids.tolist(), lengths, strict=True)]
        if all(key in self.cache for key in keys):
            hidden = torch.zeros((*input_ids.shape, self.stack.width), device=input_ids.device,
                                 dtype=self.cache[keys[0]].dtype)
            for row, key in enumerate(keys):
                hidden[row, : len(key)] = self.cache[key]
            return hidden
        hidden = self._layer_input(input_ids, attention_mask)
        for row, key in enumerate(keys):
            self.cache[key] = hidden[row, : len(key)].clone()
        return hidden

    def from_layer_input(self, hidden: torch.Tensor, attention_mask: torch.Tensor,
                         mask_positions: torch.Tensor | None) -> torch.Tensor:
        """Generate and insert the prompt after [CLS], run layers k.. and apply the head."""
        prompt = self.generator(hidden, attention_mask)
        length = prompt.shape[1]
        hidden = torch.cat([hidden[:, :1], prompt.to(hidden.dtype), hidden[:, 1:]], dim=1)
        attention_mask = torch.cat([attention_mask[:, :1], attention_mask.new_ones(len(hidden), length),
                                    attention_mask[:, 1:]], dim=1)
        hidden = self.stack.run(hidden, attention_mask, start=self.layer)
        return self.head(hidden, None if mask_positions is None else mask_positions + length)


def insertion_layer(config: LPTConfig, n_layers: int) -> int:
    layer = n_layers // 2 if config.layer == -1 else config.layer
    if not 0 <= layer < n_layers:
        raise ValueError(f"layer {config.layer} is outside 0..{n_layers - 1}")
    return layer


@register_method("lpt", config=LPTConfig)
def build_lpt(config: LPTConfig, *, model: ModelRef, task: TaskSpec, max_length: int) -> BuiltMethod:
    """Late Prompt Tuning: instance-aware prompt from layer k-1 inserted at layer k, frozen backbone."""
    tokenizer, mlm, head_pretrained = load_mlm_classifier(model, task)
    freeze_backbone_keep_head(mlm, train_head=config.head == "mask" and not head_pretrained)
    stack = EncoderStack(mlm.encoder)
    generator = PromptGenerator(config.generator, width=stack.width, length=config.prompt_length,
                                bottleneck=config.bottleneck)
    if config.head == "mask":
        head = VerbalizerHead(mlm)
        template = TemplateEncoder(tokenizer, task.template, n_masks=mlm.verbalizer.n_masks,
                                   max_length=max_length)
        collate = PromptCollator(task, template)
        trains = ("generator.", *(() if head_pretrained else ("head.mlm.head.",)))
        mlm_head = "pretrained" if head_pretrained else "new"
    else:
        head = ClsHead(stack.width, task.n_labels, config.dropout)
        collate, trains, mlm_head = PlainEncoder(tokenizer, max_length), ("generator.", "head."), "none"
    late_prompt = LatePromptModel(stack, generator, head, layer=insertion_layer(config, stack.n_layers))
    if config.cache_below:
        late_prompt.cache = {}
    return BuiltMethod(late_prompt, collate, trains=trains, mlm_head=mlm_head)
