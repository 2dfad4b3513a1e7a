"""The one training/evaluation loop shared by every method. Examples arrive encoded (tokenised once,
before any timed region); batches only gather and pad them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional

from bench.core.device import DeviceChoice, use_compile_cache_of_this_kernel_level
from bench.core.encoded import Batch, EncodedExample, collate
from bench.core.measure import Stopwatch
from bench.core.method import BuiltMethod, StepHooks
from bench.core.metrics import get_metric, score
from bench.core.progress import cell_bar
from bench.training.batching import evaluation_batches, length_sorted_parts, training_batches
from bench.training.settings import (  # noqa: F401  (the loop's settings, re-exported)
    COMPILE_MIN_STEPS,
    CPU_MICRO_BATCHES,
    Toggle,
    TrainConfig,
    settings_on_device,
)


@dataclass(frozen=True)
class EncodedSplits:
    train: tuple[EncodedExample, ...]
    dev: tuple[EncodedExample, ...]
    eval: tuple[EncodedExample, ...]


@dataclass(frozen=True)
class TrainOutcome:
    dev_score: float | None
    eval_predictions: tuple[int, ...]
    steps: int
    best_step: int
    train_seconds: float
    train_samples: int
    eval_seconds: float
    eval_samples: int
    untrained_dev_score: float | None = None  # the dev score before the first step (loop-trained cells)
    dev_seconds: float = 0.0  # every dev evaluation, the untrained start's included
    eval_probabilities: tuple[tuple[float, ...], ...] = ()  # per eval example and class (--log-samples)

    @property
    def never_beat_start(self) -> bool:
        """Trained, yet no epoch's end scored above the untrained start on dev: a learning rate
        too small or too large, most often."""
        return (self.steps > 0 and self.untrained_dev_score is not None and self.dev_score is not None
                and self.dev_score <= self.untrained_dev_score)


def trainable_parameters(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    return [(name, p) for name, p in model.named_parameters() if p.requires_grad]


def should_compile(config: TrainConfig, device: DeviceChoice, total_steps: int) -> bool:
    if config.compile == Toggle.AUTO:
        return device.is_cuda and total_steps >= COMPILE_MIN_STEPS
    return config.compile == Toggle.ON


def pad_multiple(config: TrainConfig, device: DeviceChoice) -> int:
    return settings_on_device(config, cuda=device.is_cuda).pad_to_multiple_of


def micro_batches(config: TrainConfig, device: DeviceChoice) -> int:
    return settings_on_device(config, cuda=device.is_cuda).micro_batches


def prepare_model(built: BuiltMethod, config: TrainConfig, device: DeviceChoice, *,
                  compile_model: bool = False) -> nn.Module:
    """Move to the device; under bf16 autocast keep frozen weights in bf16 (autocast would cast them
    to bf16 at every use anyway: this halves their memory and drops the casts). A module whose own
    parameters are partly trainable (BitFit's frozen weight beside a trained bias) stays fp32: its
    kernel wants one dtype for both."""
    model = built.model.to(device.device)
    if config.frozen_bf16 and device.autocast_dtype == torch.bfloat16:
        for module in model.modules():
            own = list(module.parameters(recurse=False))
            if own and not any(parameter.requires_grad for parameter in own):
                for parameter in own:
                    if parameter.is_floating_point():
                        parameter.data = parameter.data.to(torch.bfloat16)
    if not compile_model:
        return model
    use_compile_cache_of_this_kernel_level()
    return torch.compile(model)


def make_optimizer(model: nn.Module, config: TrainConfig, learning_rate: float, *,
                   factors: Sequence[tuple[str, float]] = ()) -> torch.optim.AdamW:
    """AdamW over trainable parameters; biases and LayerNorm weights get no weight decay; a parameter
    whose name holds one of `factors`' fragments trains at that multiple of the learning rate. Fused (one
    kernel for all tensors) unless switched off: torch has it for both devices choose_device makes."""
    groups: dict[tuple[bool, float], list[nn.Parameter]] = {}
    for name, parameter in trainable_parameters(model):
        exempt = parameter.ndim < 2 or "LayerNorm" in name or "layer_norm" in name
        factor = next((value for fragment, value in factors if fragment in name), 1.0)
        groups.setdefault((exempt, factor), []).append(parameter)
    groups.setdefault((False, 1.0), [])
    groups.setdefault((True, 1.0), [])
    ordered = sorted(groups.items(), key=lambda item: (item[0][1] != 1.0, item[0][1], item[0][0]))
    return torch.optim.AdamW([{"params": params, "weight_decay": 0.0 if exempt else config.weight_decay,
                               "lr": learning_rate * factor} for (exempt, factor), params in ordered],
                             lr=learning_rate, fused=config.fused_optimizer or None)


def linear_schedule(optimizer: torch.optim.Optimizer, total_steps: int,
                     warmup_ratio: float) -> torch.optim.lr_scheduler.LambdaLR:
    warmup = max(1, int(total_steps * warmup_ratio))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def to_device(batch: Batch, device: torch.device) -> Batch:
    """Every tensor of a collated batch on the device (asynchronous copies)."""
    return {key: value.to(device, non_blocking=True) for key, value in batch.items()}


def predict(model: nn.Module, examples: Sequence[EncodedExample], *, batch_size: int, device: DeviceChoice,
            pad_id: int, pad_to: int = 1, watch: Stopwatch | None = None, progress: str = "") -> list[int]:
    """Label indices for encoded examples, in length-sorted batches put back in order; the
    stopwatch (if any) times the whole pass, device synchronised at both ends. `progress` names
    a bar over the examples (none when empty)."""
    return predict_with_probabilities(model, examples, batch_size=batch_size, device=device, pad_id=pad_id,
                                      pad_to=pad_to, watch=watch, progress=progress, keep=False)[0]


def predict_with_probabilities(model: nn.Module, examples: Sequence[EncodedExample], *, batch_size: int,
                               device: DeviceChoice, pad_id: int, pad_to: int = 1,
                               watch: Stopwatch | None = None, progress: str = "",
                               keep: bool = True) -> tuple[list[int], list[tuple[float, ...]]]:
    """predict, and with `keep` each example's class probabilities (a softmax over the labels'
    scores, label words already mapped to their classes) for the per-example log."""
    model.eval()
    predictions = [0] * len(examples)
    probabilities: list[tuple[float, ...]] = [()] * len(examples) if keep else []
    batches = evaluation_batches([len(example.input_ids) for example in examples], batch_size)
    if watch:
        watch.start()
    bar = cell_bar(total=len(examples), desc=progress, unit="ex")
    with torch.inference_mode(), device.autocast(), bar:
        for indices in batches:
            inputs = to_device(collate([examples[i] for i in indices], pad_id, pad_to_multiple_of=pad_to),
                               device.device)
            inputs.pop("labels")
            logits = model(**inputs)
            for index, label in zip(indices, logits.argmax(dim=-1).tolist(), strict=True):
                predictions[index] = label
            if keep:
                for index, row in zip(indices, logits.float().softmax(dim=-1).tolist(), strict=True):
                    probabilities[index] = tuple(row)
            bar.update(len(indices))
    if watch:
        watch.stop(len(examples))
    return predictions, probabilities


def train_and_evaluate(built: BuiltMethod, *, data: EncodedSplits, config: TrainConfig, learning_rate: float,
                       epochs: int, device: DeviceChoice, metric: str, seed: int) -> TrainOutcome:
    """Train on train, keep the trainable weights of the checkpoint (each epoch's end, or every
    eval_every steps) that scores best on dev (the first on ties), score on eval. Only trained
    states compete: the untrained start is scored, to flag a cell that never rose above it, but
    never kept (a zero-shot cell has no other state)."""
    steps_per_epoch, total_steps = planned_steps(len(data.train), batch_size=config.batch_size, epochs=epochs,
                                                 max_steps=config.max_steps, zero_shot=config.zero_shot)
    model = prepare_model(built, config, device, compile_model=should_compile(config, device, total_steps))
    pad_id, pad_to = built.encoder.pad_id, pad_multiple(config, device)
    dev_golds = [example.label for example in data.dev]

    dev_watch = Stopwatch(device.synchronize)

    def dev_score() -> float:
        predictions = predict(model, data.dev, batch_size=config.eval_batch_size, device=device,
                              pad_id=pad_id, pad_to=pad_to, watch=dev_watch, progress="dev")
        return score(metric, predictions, dev_golds)

    watch = Stopwatch(device.synchronize)
    untrained = dev_score()
    best_score, best_step, best_state = untrained, 0, None
    if total_steps:
        optimizer = make_optimizer(model, config, learning_rate, factors=built.learning_rate_factors)
        scheduler = linear_schedule(optimizer, total_steps, config.warmup_ratio)
        hooks = built.step_hooks
        if hooks.start is not None:
            hooks.start(total_steps)
        generator = torch.Generator().manual_seed(seed)
        lengths = [len(example.input_ids) for example in data.train]
        step, span_samples, parts = 0, 0, micro_batches(config, device)
        progress = cell_bar(total=total_steps, desc="train", unit="step")
        while step < total_steps:
            for indices in training_batches(lengths, config.batch_size, generator,
                                            group_by_length=config.group_by_length):
                batch = [to_device(collate([data.train[i] for i in part], pad_id, pad_to_multiple_of=pad_to),
                                   device.device) for part in length_sorted_parts(indices, lengths, parts)]
                if step > 0:  # the first step pays for lazy initialisation: warm-up, not throughput
                    watch.start()
                    span_samples += len(indices)
                loss = train_step(model, batch, optimizer, config, device, hooks=hooks, step=step + 1)
                scheduler.step()
                step += 1
                progress.update(1)
                checkpoint = is_checkpoint(step, total_steps=total_steps, steps_per_epoch=steps_per_epoch,
                                           eval_every=config.eval_every)
                if checkpoint or step % config.log_every == 0:
                    progress.set_postfix(loss=f"{_finite(loss):.3f}")
                if checkpoint:
                    watch.stop(span_samples)
                    span_samples = 0
                    current = dev_score()
                    if best_state is None or get_metric(metric).better(current, best_score):
                        best_score, best_step = current, step
                        best_state = _trainable_state(model)
                if step == total_steps:
                    break
        progress.close()
        _load_trainable_state(model, best_state)
    eval_watch = Stopwatch(device.synchronize)
    predictions, probabilities = predict_with_probabilities(
        model, data.eval, batch_size=config.eval_batch_size, device=device, pad_id=pad_id, pad_to=pad_to,
        watch=eval_watch, progress="eval")
    return TrainOutcome(best_score, tuple(predictions), total_steps, best_step, watch.seconds,
                        watch.samples, eval_watch.seconds, eval_watch.samples, untrained_dev_score=untrained,
                        dev_seconds=dev_watch.seconds, eval_probabilities=tuple(probabilities))


def planned_steps(n_train: int, *, batch_size: int, epochs: int, max_steps: int | None,
                  zero_shot: bool) -> tuple[int, int]:
    """(steps per epoch, optimiser steps in all) of a cell with n_train training examples."""
    steps_per_epoch = max(1, math.ceil(n_train / batch_size))
    return steps_per_epoch, 0 if zero_shot else (max_steps or epochs * steps_per_epoch)


def is_checkpoint(step: int, *, total_steps: int, steps_per_epoch: int, eval_every: int) -> bool:
    """Whether the dev set scores the model after this step: every `eval_every` steps, else at each
    epoch's end; always after the last step."""
    return step % (eval_every or steps_per_epoch) == 0 or step == total_steps


def dev_passes(*, total_steps: int, steps_per_epoch: int, eval_every: int) -> int:
    """How many times a cell scores dev: the untrained start and every checkpoint."""
    return 1 + math.ceil(total_steps / (eval_every or steps_per_epoch))


def _finite(loss: torch.Tensor) -> float:
    value = loss.item()
    if not math.isfinite(value):
        raise FloatingPointError(f"loss is {value}: lower the learning rate")
    return value


NO_HOOKS = StepHooks()


def train_step(model: nn.Module, batch: Batch | Sequence[Batch], optimizer: torch.optim.Optimizer,
               config: TrainConfig, device: DeviceChoice, *, hooks: StepHooks = NO_HOOKS,
               step: int = 0) -> torch.Tensor:
    """One optimiser step on a batch (labels included), or on the parts of one batch: each part's
    summed loss over the whole batch's size is backpropagated, so the gradients add up to the mean
    loss's over the batch. A model with an auxiliary_weight w trains on (1 - w) * that loss + w * its
    auxiliary_loss(). The method's hooks add their penalty to the loss and see the gradients after the
    step (numbered `step`). Returns the detached batch loss, unsynchronised."""
    model.train()
    parts = [batch] if isinstance(batch, dict) else list(batch)
    examples = sum(len(part["labels"]) for part in parts)
    weight = getattr(model, "auxiliary_weight", 0.0)  # a method's auxiliary loss (PET's MLM term)
    total = None
    for inputs in parts:
        labels = inputs.pop("labels")
        with device.autocast():
            logits = model(**inputs)
        if len(parts) == 1:
            loss = functional.cross_entropy(logits.float(), labels)
        else:
            loss = functional.cross_entropy(logits.float(), labels, reduction="sum") / examples
        loss = (1 - weight) * loss if weight else loss
        loss.backward()
        total = loss.detach() if total is None else total + loss.detach()
    if weight:
        with device.autocast():
            auxiliary = weight * model.auxiliary_loss()
        auxiliary.backward()
        total = total + auxiliary.detach()
    if hooks.penalty is not None:
        with device.autocast():
            penalty = hooks.penalty()
        penalty.backward()
        total = total + penalty.detach()
    # the optimiser holds exactly the trainable parameters: no scan of the whole model per step
    parameters = [p for group in optimizer.param_groups for p in group["params"]]
    torch.nn.utils.clip_grad_norm_(parameters, config.max_grad_norm)
    optimizer.step()
    if hooks.after_step is not None:
        hooks.after_step(step)
    optimizer.zero_grad(set_to_none=True)
    return total


def _trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in trainable_parameters(model)}


def _load_trainable_state(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    with torch.no_grad():
        for name, parameter in trainable_parameters(model):
            parameter.copy_(state[name])
