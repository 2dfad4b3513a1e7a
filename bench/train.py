"""The one training/evaluation loop shared by every method."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional
from tqdm.auto import tqdm

from bench.batching import evaluation_batches, training_batches
from bench.device import DeviceChoice
from bench.errors import BenchError
from bench.measure import Stopwatch
from bench.metrics import score
from methods.spec import BuiltMethod
from tasks.loader import Example


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation knobs shared by all methods; the learning rate defaults to the method's."""

    epochs: int | None = None  # None: the method's own default
    max_steps: int | None = None
    batch_size: int = 16
    eval_batch_size: int = 64
    learning_rate: float | None = None
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    max_grad_norm: float = 1.0
    max_length: int = 128
    zero_shot: bool = False  # evaluate without any training step
    log_every: int = 10  # steps between reading the loss (a device sync) and checking it is finite
    fused_optimizer: bool = True  # CUDA only: one fused AdamW kernel instead of per-tensor loops
    frozen_bf16: bool = True  # CUDA with bf16 autocast only: store frozen weights in bf16
    compile: bool = False  # torch.compile the training forward (pays a compile at the first steps)
    group_by_length: bool = False  # batches of similar length (less padding), still in random order

    def __post_init__(self) -> None:
        if (self.epochs is not None and self.epochs < 1) or self.batch_size < 1 or self.eval_batch_size < 1:
            raise BenchError("epochs, batch size and eval batch size must be at least 1")
        if self.max_steps is not None and self.max_steps < 1:
            raise BenchError("--max-steps must be at least 1")
        if not 0 <= self.warmup_ratio < 1:
            raise BenchError("warmup ratio must be in [0, 1)")


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


def trainable_parameters(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    return [(name, p) for name, p in model.named_parameters() if p.requires_grad]


def prepare_model(built: BuiltMethod, config: TrainConfig, device: DeviceChoice) -> nn.Module:
    """Move to the device; on CUDA keep frozen weights in bf16 (autocast would cast them to bf16
    at every use anyway: this halves their memory and drops the casts)."""
    model = built.model.to(device.device)
    if config.frozen_bf16 and device.autocast_dtype == torch.bfloat16:
        for parameter in model.parameters():
            if not parameter.requires_grad and parameter.is_floating_point():
                parameter.data = parameter.data.to(torch.bfloat16)
    return torch.compile(model) if config.compile else model


def make_optimizer(model: nn.Module, config: TrainConfig, learning_rate: float,
                   device: DeviceChoice) -> torch.optim.AdamW:
    """AdamW over trainable parameters; biases and LayerNorm weights get no weight decay."""
    decay, no_decay = [], []
    for name, parameter in trainable_parameters(model):
        exempt = parameter.ndim < 2 or "LayerNorm" in name or "layer_norm" in name
        (no_decay if exempt else decay).append(parameter)
    groups = [{"params": decay, "weight_decay": config.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    fused = config.fused_optimizer and device.device.type == "cuda"
    return torch.optim.AdamW(groups, lr=learning_rate, fused=fused or None)


def _linear_schedule(optimizer: torch.optim.Optimizer, total_steps: int,
                     warmup_ratio: float) -> torch.optim.lr_scheduler.LambdaLR:
    warmup = max(1, int(total_steps * warmup_ratio))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """Every tensor of a collated batch on the device (asynchronous copies)."""
    return {key: value.to(device, non_blocking=True) for key, value in batch.items()}


def predict(built: BuiltMethod, examples: Sequence[Example], *, batch_size: int,
            device: DeviceChoice, watch: Stopwatch | None = None) -> list[int]:
    """Label indices for examples; batches are grouped by length and put back in order."""
    built.model.eval()
    predictions = [0] * len(examples)
    with torch.inference_mode():
        for indices in evaluation_batches(examples, batch_size):
            inputs = to_device(built.collate([examples[i] for i in indices]), device.device)
            inputs.pop("labels")
            region = watch.time(len(indices)) if watch else contextlib.nullcontext()
            with region, device.autocast():
                labels = built.model(**inputs).argmax(dim=-1).tolist()
            for index, label in zip(indices, labels, strict=True):
                predictions[index] = label
    return predictions


def train_and_evaluate(built: BuiltMethod, *, train: Sequence[Example], dev: Sequence[Example],
                       evaluation: Sequence[Example], config: TrainConfig, learning_rate: float,
                       device: DeviceChoice, metric: str, seed: int, epochs: int) -> TrainOutcome:
    """Train on train, keep the trainable weights that score best on dev, score on evaluation."""
    model = prepare_model(built, config, device)
    steps_per_epoch = math.ceil(len(train) / config.batch_size)
    total_steps = 0 if config.zero_shot else (config.max_steps or epochs * steps_per_epoch)
    watch = Stopwatch(device.synchronize)

    def dev_score() -> float:
        predictions = predict(built, dev, batch_size=config.eval_batch_size, device=device)
        return score(metric, predictions, [example.label for example in dev])

    best_score, best_step = dev_score(), 0
    best_state = _trainable_state(model)
    if total_steps:
        optimizer = make_optimizer(model, config, learning_rate, device)
        scheduler = _linear_schedule(optimizer, total_steps, config.warmup_ratio)
        generator = torch.Generator().manual_seed(seed)
        step, span_samples = 0, 0
        progress = tqdm(total=total_steps, desc="train", leave=False, unit="step")
        while step < total_steps:
            for indices in training_batches(train, config.batch_size, generator,
                                            group_by_length=config.group_by_length):
                batch = [train[i] for i in indices]
                if step > 0:  # the first step pays for lazy initialisation: warm-up, not throughput
                    watch.start()
                    span_samples += len(batch)
                inputs = to_device(built.collate(batch), device.device)
                loss = train_step(model, inputs, optimizer, config, device)
                scheduler.step()
                step += 1
                progress.update(1)
                end_of_epoch = step % steps_per_epoch == 0 or step == total_steps
                if end_of_epoch or step % config.log_every == 0:
                    progress.set_postfix(loss=f"{_finite(loss):.3f}")
                if end_of_epoch:
                    watch.stop(span_samples)
                    span_samples = 0
                    current = dev_score()
                    if current > best_score:
                        best_score, best_step = current, step
                        best_state = _trainable_state(model)
                if step == total_steps:
                    break
        progress.close()
        _load_trainable_state(model, best_state)
    eval_watch = Stopwatch(device.synchronize)
    predictions = predict(built, evaluation, batch_size=config.eval_batch_size, device=device,
                          watch=eval_watch)
    return TrainOutcome(best_score, tuple(predictions), total_steps, best_step, watch.seconds,
                        watch.samples, eval_watch.seconds, eval_watch.samples)


def _finite(loss: torch.Tensor) -> float:
    value = loss.item()
    if not math.isfinite(value):
        raise FloatingPointError(f"loss is {value}: lower the learning rate")
    return value


def train_step(model: nn.Module, inputs: dict[str, torch.Tensor],
               optimizer: torch.optim.Optimizer, config: TrainConfig, device: DeviceChoice) -> torch.Tensor:
    """One optimiser step on a batch (labels included); returns the detached loss, unsynchronised."""
    model.train()
    labels = inputs.pop("labels")
    with device.autocast():
        logits = model(**inputs)
    loss = functional.cross_entropy(logits.float(), labels)
    loss.backward()
    # the optimiser holds exactly the trainable parameters: no scan of the whole model per step
    parameters = [p for group in optimizer.param_groups for p in group["params"]]
    torch.nn.utils.clip_grad_norm_(parameters, config.max_grad_norm)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.detach()


def _trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in trainable_parameters(model)}


def _load_trainable_state(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    with torch.no_grad():
        for name, parameter in trainable_parameters(model):
            parameter.copy_(state[name])
