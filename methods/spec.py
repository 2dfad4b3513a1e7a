"""A method is a config dataclass (its knobs) plus a builder, registered by name."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from bench.errors import BenchError
from bench.registry import Registry
from tasks.loader import Example

Batch = dict[str, torch.Tensor]


@dataclass(frozen=True)
class MethodConfig:
    """Knobs every method has; subclasses add their own with defaults."""

    learning_rate: float = 5e-5
    epochs: int = 10  # the training budget this method needs by default; --epochs overrides

    def __post_init__(self) -> None:
        if self.learning_rate <= 0:
            raise BenchError(f"learning_rate must be positive, got {self.learning_rate}")
        if self.epochs < 1:
            raise BenchError(f"epochs must be at least 1, got {self.epochs}")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


@dataclass
class BuiltMethod:
    """A model whose forward(**inputs) returns (batch, n_labels) logits, and its batch collator.

    The collator turns examples into the model's inputs plus "labels"; parameters with
    requires_grad are exactly the ones the method trains.
    """

    model: nn.Module
    collate: Callable[[Sequence[Example]], Batch]
    mlm_head: str = "none"  # "pretrained", "new" (initialised here and trained) or "none"
    trains: tuple[str, ...] = ("",)  # name fragments of the parameters it claims to train; "" = all


Builder = Callable[..., BuiltMethod]


@dataclass(frozen=True)
class MethodSpec:
    name: str
    config_type: type[MethodConfig]
    build: Builder
    description: str

    def make_config(self, overrides: dict[str, str] | None = None) -> MethodConfig:
        """The default config with knob overrides given as strings (from the command line)."""
        fields = {field.name: field for field in dataclasses.fields(self.config_type)}
        values: dict[str, Any] = {}
        for knob, text in (overrides or {}).items():
            if knob not in fields:
                raise BenchError(f"method {self.name} has no knob {knob!r}; knobs: {sorted(fields)}")
            values[knob] = _parse_knob(self.name, knob, text, fields[knob].default)
        try:
            return self.config_type(**values)
        except (TypeError, ValueError) as error:
            raise BenchError(f"bad config for method {self.name}: {error}") from error


def _parse_knob(method: str, knob: str, text: str, default: Any) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = text
    if isinstance(default, bool) and isinstance(value, str) and value.lower() in ("true", "false"):
        value = value.lower() == "true"
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if isinstance(default, tuple) and isinstance(value, list | int):
        value = tuple(value) if isinstance(value, list) else (value,)
    if default is not None and not isinstance(value, type(default)):
        raise BenchError(f"{method}.{knob}={text!r}: expected {type(default).__name__} "
                         f"like {default!r}")
    return value


METHODS: Registry[MethodSpec] = Registry("method")


def register_method(name: str, *, config: type[MethodConfig]) -> Callable[[Builder], Builder]:
    """Decorator: register a builder(config, *, model, task, max_length) under a method name."""

    def register(build: Builder) -> Builder:
        description = (build.__doc__ or "").strip().splitlines()[0] if build.__doc__ else ""
        METHODS.add(name, MethodSpec(name, config, build, description))
        return build

    return register


def get_method(name: str) -> MethodSpec:
    return METHODS.get(name)


class LogitsOf(nn.Module):
    """Wraps a Hugging Face classifier so that forward returns the logits tensor."""

    def __init__(self, classifier: nn.Module) -> None:
        super().__init__()
        self.classifier = classifier

    def forward(self, **inputs: torch.Tensor) -> torch.Tensor:
        return self.classifier(**inputs).logits
