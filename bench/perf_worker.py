"""Measures one method (or peer) on a random-weight model in this process; bench.perf runs it in
a fresh child process per method so that one method's allocations cannot hide another's."""

from __future__ import annotations

from dataclasses import dataclass
from multiprocessing.connection import Connection

import torch

from bench.device import DeviceChoice, choose_device
from bench.environment import library_versions
from bench.errors import one_line
from bench.flops import peak_flops, train_flops_per_sample
from bench.measure import PeakMemory, Stopwatch
from bench.models import ModelRef, load_config
from bench.peers import PEER_LENGTH, PEER_OF, build_peer, plain_train_step
from bench.train import TrainConfig, make_optimizer, prepare_model, to_device, train_step
from tasks.loader import Example
from tasks.spec import TaskSpec

PERF_TASK = TaskSpec(name="perf", language="en", text_fields=("sentence",), labels=("0", "1"),
                     verbalizer=("w7", "w8"), template="{sentence} w9 [MASK] .", train=None, eval=None)

# perf rows that are a method with knobs set: name -> (method, knob overrides)
PERF_VARIANTS = {
    "lpt_cached": ("lpt", {"cache_below": "true"}),  # once the cache of states entering layer k is warm
    "p_tuning_mlp": ("p_tuning", {"encoder": "mlp", "prompt_length": str(PEER_LENGTH)}),  # the peer's setup
}


@dataclass(frozen=True)
class PerfRequest:
    method: str
    model_dir: str
    model_name: str
    batch_size: int
    seq_len: int
    steps: int
    warmup: int
    device: str
    speed_features: bool = True
    compile: bool = False


@dataclass(frozen=True)
class PerfResult:
    method: str
    reference: str  # the peer this method is compared with ("" for none)
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


def synthetic_examples(batch_size: int, seq_len: int) -> list[Example]:
    """Sentences long enough that every encoding is truncated to exactly seq_len tokens."""
    return [Example((" ".join(f"w{10 + (i * 7 + j) % 900}" for j in range(seq_len)),), i % 2)
            for i in range(batch_size)]


def _build(request: PerfRequest, ref: ModelRef, device: DeviceChoice, config: TrainConfig):
    """(model, batch on device, training step function) for one of our methods or a peer."""
    from bench.models import load_tokenizer
    from methods import get_method
    from methods.encoding import PlainEncoder

    examples = synthetic_examples(request.batch_size, request.seq_len)
    if request.method.startswith("peer_"):
        model = build_peer(request.method, ref, PERF_TASK.n_labels).to(device.device)
        batch = PlainEncoder(load_tokenizer(ref), request.seq_len)(examples)
        step = plain_train_step(model, device)
        return model, to_device(batch, device.device), lambda inputs: step(dict(inputs))
    method, knobs = PERF_VARIANTS.get(request.method, (request.method, {}))
    spec = get_method(method)
    built = spec.build(spec.make_config(knobs), model=ref, task=PERF_TASK, max_length=request.seq_len)
    model = prepare_model(built, config, device)
    optimizer = make_optimizer(model, config, 1e-5, device)
    return model, to_device(built.collate(examples), device.device), lambda inputs: train_step(
        model, dict(inputs), optimizer, config, device)


def _timed(function, calls: int, device: DeviceChoice) -> float:
    """Seconds for `calls` calls, the device synchronised at both ends (the loop's stopwatch)."""
    watch = Stopwatch(device.synchronize)
    watch.start()
    for _ in range(calls):
        function()
    watch.stop(calls)
    return watch.seconds


def measure(request: PerfRequest) -> PerfResult:
    device = choose_device(request.device)
    ref = ModelRef(request.model_dir, request.model_name, random_init=True)
    config = TrainConfig(fused_optimizer=request.speed_features, frozen_bf16=request.speed_features,
                         compile=request.compile)
    torch.manual_seed(0)
    with PeakMemory(device.device) as memory:
        model, batch, step = _build(request, ref, device, config)
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
    flops = train_flops_per_sample(model, load_config(ref), request.seq_len,
                                   first_grad_layer=getattr(model, "first_grad_layer", 0),
                                   first_forward_layer=getattr(model, "first_forward_layer", 0))
    peak = peak_flops(device.name) if device.device.type == "cuda" else None
    return PerfResult(
        method=request.method, reference=PEER_OF.get(request.method, ""), status="success",
        train_samples_per_s=train_rate,
        infer_samples_per_s=request.batch_size * request.steps / infer_seconds,
        peak_memory_bytes=memory.peak_bytes, memory_kind=memory.kind,
        trainable_params=sum(p.numel() for p in model.parameters() if p.requires_grad),
        total_params=sum(p.numel() for p in model.parameters()), train_flops_per_sample=flops,
        mfu=flops * train_rate / peak if peak else None, device=device.name, dtype=device.dtype_name,
        versions=library_versions())


def measure_in_child(request: PerfRequest, connection: Connection) -> None:
    """Child-process entry point: send the row back, a failure included."""
    try:
        result = measure(request)
    except Exception as failure:  # noqa: BLE001  (reported to the parent as a failed row)
        result = PerfResult(method=request.method, reference=PEER_OF.get(request.method, ""),
                            status="failed", error=one_line(failure))
    connection.send(result)
    connection.close()
