"""A method is a config dataclass (its knobs) plus a builder, registered by name; what it builds is a
model that maps encoded batches to label logits, and the encoder of its inputs."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import torch
from torch import nn

from bench.core.encoded import EncodedExample, ExampleEncoder
from bench.core.errors import BenchError
from bench.core.extras import missing, require
from bench.core.family import Capability
from bench.core.knobs import jsonable, knob, knob_types, parse_knob_value, validate_knobs
from bench.core.registry import Registry
from bench.core.source import plugin_code_digest


class Training(StrEnum):
    """How a method's cells are trained."""

    LOOP = "loop"  # the shared gradient loop (perf can time its step)
    FIT = "fit"  # its own fit, outside the loop (BuiltMethod.fit), then the shared evaluation


class Role(StrEnum):
    """What a method's rows are in a report."""

    METHOD = "method"  # ranked with the others
    REFERENCE = "reference"  # a reference row beside the majority class, not ranked


class HeadOrigin(StrEnum):
    """Where the masked-LM head a prompt method reads came from."""

    PRETRAINED = "pretrained"  # shipped with the checkpoint
    NEW = "new"  # missing from the checkpoint: initialised by the harness and trained in the cell
    CONTINUED = "continued"  # trained by `run_bench.py pretrain` (its source and steps in `detail`)
    NONE = "none"  # the method reads no MLM head


@dataclass(frozen=True)
class MlmHead:
    origin: HeadOrigin = HeadOrigin.NONE
    detail: str = ""  # for a continued head: what it was trained on, how long, from which model
    label: str = ""  # a few words for the report's column: "SPLADE retrieval head", "PCP: ..., 500 steps"

    def __str__(self) -> str:
        return f"{self.origin.value} ({self.detail})" if self.detail else self.origin.value

    @property
    def short(self) -> str:
        """The origin with its label, as the report's MLM-head column shows it."""
        return f"{self.origin.value} ({self.label})" if self.label else self.origin.value


def learning_rate_knob(default: float) -> float:
    """The learning-rate knob with a method's own default (--lr sets it for every method)."""
    return knob(default, "peak learning rate (AdamW, linear warm-up and decay)", above=0)


def epochs_knob(default: int) -> int:
    """The epochs knob with a method's own default (--epochs sets it for every method)."""
    return knob(default, "training epochs; the trainable weights of the best dev epoch are kept", at_least=1)


@dataclass(frozen=True)
class MethodConfig:
    """A method's knobs: subclasses declare them with `knob(default, help, ...)`; the config
    validates itself on creation."""

    def __post_init__(self) -> None:
        validate_knobs(self)

    def knobs(self) -> dict[str, Any]:
        """Every knob as JSON-able values (enums by value, tuples as lists)."""
        return {item.name: jsonable(getattr(self, item.name)) for item in dataclasses.fields(self)}

    def to_json(self) -> str:
        return json.dumps(self.knobs(), sort_keys=True)


@dataclass(frozen=True)
class GradientConfig(MethodConfig):
    """Knobs of a method trained by the shared gradient loop; subclasses change the defaults with
    learning_rate_knob / epochs_knob."""

    learning_rate: float = learning_rate_knob(5e-5)
    epochs: int = epochs_knob(10)


@dataclass(frozen=True)
class FitContext:
    """What a method trained outside the gradient loop (a linear probe, SetFit) is given."""

    train: Sequence[EncodedExample]
    dev: Sequence[EncodedExample]
    train_texts: Sequence[tuple[str, ...]]
    dev_texts: Sequence[tuple[str, ...]]
    metric: Callable[[Sequence[int], Sequence[int]], float]
    device: Any
    seed: int
    batch_size: int


@dataclass(frozen=True)
class FitOutcome:
    dev_score: float
    train_samples: int  # samples the timed part processed (e.g. the embedding pass)
    train_seconds: float


@dataclass(frozen=True)
class StepHooks:
    """What a method does around the shared loop's optimiser steps (AdaLoRA's rank budget); the loop
    calls them and never names a method."""

    start: Callable[[int], None] | None = None  # told the cell's optimiser steps in all, before the first
    penalty: Callable[[], torch.Tensor] | None = None  # a term added to every step's loss (a regulariser)
    after_step: Callable[[int], None] | None = None  # after optimiser step N (from 1), gradients still held


@dataclass
class BuiltMethod:
    """A model whose forward(**batch) returns (batch, n_labels) logits, and the encoder of its inputs.

    Parameters with requires_grad are exactly the ones the method trains; `trains` names them by
    fragments so that tests can check the claim.
    """

    model: nn.Module
    encoder: ExampleEncoder
    trains: tuple[str, ...] = ("",)  # name fragments of the parameters it claims to train; "" = all
    mlm_head: MlmHead = field(default_factory=MlmHead)
    pooling: str = ""  # how a classification head reads the encoder ("" when it has none)
    first_grad_layer: int = 0  # for FLOP counting: no gradient flows below this layer
    cached_layers: int = 0  # for FLOP counting: layers skipped once a hidden-state cache is warm
    fit: Callable[[FitContext], FitOutcome] | None = None  # trained outside the gradient loop
    # (name fragment, factor): a trainable parameter whose name holds the fragment trains at factor x the
    # learning rate (LoRA+'s B matrices); the first matching fragment counts, every other parameter at 1
    learning_rate_factors: tuple[tuple[str, float], ...] = ()
    step_hooks: StepHooks = field(default_factory=StepHooks)


Builder = Callable[..., BuiltMethod]


@dataclass(frozen=True)
class SearchRange:
    """One knob's values in a method's own search space (as --search writes them), and where they
    come from (its paper, peft's docs, or this project's choice and why)."""

    knob: str
    values: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class PerfVariant:
    """A perf row that is this method with some knobs set (e.g. LPT with its cache warm)."""

    knobs: tuple[tuple[str, str], ...]
    peer: str | None = None
    description: str = ""


@dataclass(frozen=True)
class MethodSpec:
    name: str
    config_type: type[MethodConfig]
    build: Builder
    description: str
    peer: str | None = None  # the perf peer (plain PyTorch + peft) this method is compared with
    perf_variants: Mapping[str, PerfVariant] = field(default_factory=dict)
    requires: tuple[str, ...] = ()  # importable packages it needs (from an extra)
    extra: str = ""  # the pip extra that provides them
    training: Training = Training.LOOP
    role: Role = Role.METHOD
    zero_shot: bool = False  # has a zero-shot form: meaningful predictions before any training
    needs: tuple[Capability, ...] = ()  # what it needs of the model's encoder family
    fp32_only: bool = False  # runs in fp32 whatever the precision (its cells' dtype is fp32)
    code_digest: str = ""  # a plugin builder's file hash (in its cells' ids, as the harness's source is)
    search_space: tuple[SearchRange, ...] = ()  # its own small grid (`--search default`)
    search_groups: tuple[str, ...] = ()  # named search spaces it belongs to besides default (lora_family)

    def make_config(self, overrides: Mapping[str, Any] | None = None) -> MethodConfig:
        """The default config with knob overrides (command-line strings or stored JSON values)."""
        types = knob_types(self.config_type)
        values: dict[str, Any] = {}
        for knob_name, value in (overrides or {}).items():
            if knob_name not in types:
                raise BenchError(f"method {self.name} has no knob {knob_name!r}; knobs: {sorted(types)}")
            values[knob_name] = parse_knob_value(self.name, knob_name, value, types[knob_name])
        try:
            return self.config_type(**values)
        except BenchError as error:
            raise BenchError(f"method {self.name}: {error}") from error
        except (TypeError, ValueError) as error:
            raise BenchError(f"bad config for method {self.name}: {error}") from error

    @property
    def missing_packages(self) -> tuple[str, ...]:
        return missing(self.requires)

    @property
    def available(self) -> bool:
        return not self.missing_packages

    def require_available(self) -> None:
        require(self.requires, extra=self.extra or self.name, what=f"method {self.name}")


METHODS: Registry[MethodSpec] = Registry("method")


def register_method(name: str, *, config: type[MethodConfig], peer: str | None = None,
                    perf_variants: Mapping[str, PerfVariant] | None = None, requires: tuple[str, ...] = (),
                    extra: str = "", training: Training = Training.LOOP, role: Role = Role.METHOD,
                    zero_shot: bool = False, needs: tuple[Capability, ...] = (),
                    fp32_only: bool = False, search_space: tuple[SearchRange, ...] = (),
                    search_groups: tuple[str, ...] = ()) -> Callable[[Builder], Builder]:
    """Decorator: register builder(config, *, model, task, max_length) -> BuiltMethod under a name.
    The first line of the builder's docstring is the method's description."""

    def register(build: Builder) -> Builder:
        description = (build.__doc__ or "").strip().splitlines()[0] if build.__doc__ else ""
        spec = MethodSpec(name, config, build, description, peer, dict(perf_variants or {}), requires, extra,
                          training, role, zero_shot, needs, fp32_only, plugin_code_digest(build),
                          tuple(search_space), tuple(search_groups))
        _check_search_space(spec)
        METHODS.add(name, spec)
        return build

    return register


def get_method(name: str) -> MethodSpec:
    return METHODS.get(name)


def _check_search_space(spec: MethodSpec) -> None:
    """Every value of a method's own search space is a valid setting of its knob (checked once, at
    registration, so that `--search default` never fails mid-sweep)."""
    for axis in spec.search_space:
        if not axis.values or len(set(axis.values)) != len(axis.values):
            raise BenchError(f"method {spec.name}: search space of {axis.knob} must list distinct values")
        for value in axis.values:
            spec.make_config({axis.knob: value})
