"""Measures one perf row (a method, a variant or a peer) on a random-weight model in this process;
bench.perf.runner runs each row in a fresh child process so that one row's allocations cannot hide
another's."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch

from bench.core.device import DeviceChoice, choose_device
from bench.core.encoded import collate
from bench.core.environment import library_versions
from bench.core.errors import one_line
from bench.core.leaks import HeldOut, guard_unlabelled
from bench.core.loading import load_config, load_tokenizer
from bench.core.measure import PeakMemory, Stopwatch
from bench.core.method import get_method
from bench.core.models import ModelRef
from bench.core.task import Example
from bench.perf.flops import peak_flops, train_flops_per_sample
from bench.perf.peers import build_peer, plain_train_step
from bench.perf.rows import PerfRow
from bench.perf.shapes import perf_task, synthetic_word
from bench.training.loop import Toggle, TrainConfig, make_optimizer, prepare_model, to_device, train_step


@dataclass(frozen=True)
class PerfRequest:
    row: PerfRow
    model_dir: str
    model_name: str
    batch_size: int
    seq_len: int
    steps: int
    warmup: int
    device: str
    precision: str = "auto"
    speed_features: bool = True
    compile: bool = False


@dataclass(frozen=True)
class PerfResult:
    method: str
    reference: str  # the peer this row is compared with ("" for none)
    status: str
    train_samples_per_s: float = 0.0
    infer_samples_per_s: float = 0.0
    peak_memory_bytes: int = 0
    memory_kind: str = ""
    trainable_params: int = 0
    total_params: int = 0
    train_flops_per_sample: float = 0.0
    mfu: float | None = None
    device: str = ""
    dtype: str = ""
    versions: str = ""
    error: str = ""
    rounds: int = 1  # measurements combined into this result (perf --repeats)
    train_spread: float | None = None  # (max - min) / median of the rounds' train samples/s


def synthetic_examples(batch_size: int, seq_len: int) -> list[Example]:
    """Sentences long enough that every encoding is truncated to exactly seq_len tokens."""
    return [Example((" ".join(synthetic_word(10 + (i * 7 + j) % 900) for j in range(seq_len)),), i % 2)
            for i in range(batch_size)]


def _build(request: PerfRequest, ref: ModelRef, device: DeviceChoice, config: TrainConfig):
    """(model, batch on device, training step function, FLOP layers) for a method row or a peer."""
    from methods.encoding import PlainEncoder

    examples = synthetic_examples(request.batch_size, request.seq_len)
    task = perf_task()
    if request.row.method is None:
        model = build_peer(request.row.name, ref, task.n_labels).to(device.device)
        encoder = PlainEncoder(load_tokenizer(ref), request.seq_len)
        step = plain_train_step(model, device)
        batch = to_device(collate(encoder.encode(examples), encoder.pad_id), device.device)
        return model, batch, lambda inputs: step(dict(inputs)), (0, 0)
    spec = get_method(request.row.method)
    config_of_row = spec.make_config(dict(request.row.knobs))
    built = spec.build(config_of_row, model=ref, task=task, max_length=request.seq_len)
    guard_unlabelled(built.model, HeldOut.of((), "synthetic perf text"))  # perf scores nothing: no leak
    model = prepare_model(built, config, device, compile_model=config.compile == Toggle.ON)
    optimizer = make_optimizer(model, config, 1e-5, factors=built.learning_rate_factors)
    batch = to_device(collate(built.encoder.encode(examples), built.encoder.pad_id), device.device)
    hooks = built.step_hooks  # as the loop runs them (AdaLoRA: its penalty and rank allocation every step)
    if hooks.start is not None:
        hooks.start(request.warmup + request.steps)
    steps = itertools.count(1)

    def step(inputs):
        return train_step(model, dict(inputs), optimizer, config, device, hooks=hooks, step=next(steps))

    return model, batch, step, (built.first_grad_layer, built.cached_layers)


def _timed(function, calls: int, device: DeviceChoice) -> float:
    """Seconds for `calls` calls, the device synchronised at both ends (the loop's stopwatch)."""
    watch = Stopwatch(device.synchronize)
    watch.start()
    for _ in range(calls):
        function()
    watch.stop(calls)
    return watch.seconds


def measure(request: PerfRequest) -> PerfResult:
    device = choose_device(request.device, precision=request.precision)
    ref = ModelRef(request.model_dir, request.model_name, random_init=True)
    config = TrainConfig(fused_optimizer=request.speed_features, frozen_bf16=request.speed_features,
                         compile=Toggle.ON if request.compile else Toggle.OFF)
    torch.manual_seed(0)
    with PeakMemory(device.device) as memory:
        model, batch, step, (first_grad_layer, cached_layers) = _build(request, ref, device, config)
        _timed(lambda: step(batch), request.warmup, device)
        train_seconds = _timed(lambda: step(batch), request.steps, device)
    inputs = {key: value for key, value in batch.items() if key != "labels"}
    model.eval()

    def infer() -> None:
        with torch.inference_mode(), device.autocast():
            model(**inputs)

    _timed(infer, request.warmup, device)
    infer_seconds = _timed(infer, request.steps, device)
    train_rate = request.batch_size * request.steps / train_seconds
    # the cache fills during warm-up: timed steps run only the layers from k up
    skipped = cached_layers if request.warmup else 0
    flops = train_flops_per_sample(model, load_config(ref), request.seq_len,
                                   first_grad_layer=first_grad_layer, first_forward_layer=skipped)
    peak = peak_flops(device.name) if device.is_cuda else None
    return PerfResult(
        method=request.row.name, reference=request.row.reference, status="success",
        train_samples_per_s=train_rate,
        infer_samples_per_s=request.batch_size * request.steps / infer_seconds,
        peak_memory_bytes=memory.peak_bytes, memory_kind=memory.kind,
        trainable_params=sum(p.numel() for p in model.parameters() if p.requires_grad),
        total_params=sum(p.numel() for p in model.parameters()), train_flops_per_sample=flops,
        mfu=flops * train_rate / peak if peak else None, device=device.name, dtype=device.dtype_name,
        versions=library_versions())


def measure_row(setup, request: PerfRequest) -> PerfResult:
    """Child-process entry point: register the plugins, measure; a failure becomes a failed row."""
    try:
        setup()
        return measure(request)
    except Exception as failure:  # noqa: BLE001  (reported to the parent as a failed row)
        return PerfResult(method=request.row.name, reference=request.row.reference, status="failed",
                          error=one_line(failure))
