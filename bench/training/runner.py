"""Runs one cell where it is sent (this process, a child process, a Ray worker): seed, build, encode,
train (or fit), evaluate, measure, and return its record. Any exception becomes a failed record."""

from __future__ import annotations

import dataclasses
import gc
import json
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import torch

from bench.core.device import DeviceChoice
from bench.core.environment import cpu_description, library_versions, petbench_revision
from bench.core.errors import BenchError, one_line
from bench.core.leaks import cell_held_out, guard_unlabelled
from bench.core.loading import model_family
from bench.core.measure import PeakMemory, RunningCells, Stopwatch
from bench.core.method import BuiltMethod, FitContext, GradientConfig, MethodConfig, Training, get_method
from bench.core.metrics import score
from bench.core.models import cache_dir
from bench.core.progress import show_cell_bars
from bench.core.records import CellResult, CellStatus
from bench.core.samples import make_samples, samples_path, write_samples
from bench.core.splits import CellSplits, majority_label
from bench.training.cells import CellSpec
from bench.training.encodings import encode_once
from bench.training.loop import (
    EncodedSplits,
    TrainConfig,
    TrainOutcome,
    pad_multiple,
    predict_with_probabilities,
    train_and_evaluate,
)


@dataclass(frozen=True)
class CellJob:
    """A cell with its examples and identity, ready to run anywhere (plain, picklable data)."""

    cell: CellSpec
    cell_id: str
    splits: CellSplits
    data_source: str
    data_fingerprint: str
    versions: str


@dataclass(frozen=True)
class WorkerSettings:
    """How a worker process runs its cells (where and in which precision is the cell's own runtime)."""

    threads: int | None = None  # CPU threads for the cell's process (None: torch's default)
    progress_bars: bool = True  # the cell's own bars (train steps, dev and final evaluation)
    samples_dir: str | None = None  # --log-samples: where each cell writes its per-example outputs
    # tells this run's cells from other sweeps' on the machine (records count both: cells_of_sweep)
    sweep: str = field(default_factory=lambda: uuid.uuid4().hex[:12])


def identity(job: CellJob) -> dict:
    """The record fields that say what ran, known before the cell starts."""
    cell, knobs = job.cell, dict(job.cell.knobs)
    return dict(cell_id=job.cell_id, config_id=cell.config_id, **identity_labels(job),
                code_digest=cell.code_digest, task=cell.task.name, task_version=cell.task.version,
                language=cell.task.language,
                method=cell.method, role=get_method(cell.method).role.value, method_config=_json(knobs),
                model=cell.model.display_name,
                model_fingerprint=cell.model.fingerprint, family=_family_name(cell), seed=cell.seed,
                shots=cell.shots, split=cell.split, selection_protocol=cell.selection.text, fold=cell.fold,
                zero_shot=cell.train.zero_shot, metric=cell.task.metric,
                learning_rate=knobs.get("learning_rate", 0.0), epochs=knobs.get("epochs", 0),
                train_config=_json(dataclasses.asdict(cell.train)), data_source=job.data_source,
                data_fingerprint=job.data_fingerprint)


def identity_labels(job: CellJob) -> dict:
    """The record fields that place a cell in its grid without changing what it computes."""
    cell = job.cell
    return dict(selection_id=cell.selection_id, search=_json(dict(cell.search)) if cell.search else "",
                search_index=cell.search_index)


def _family_name(cell: CellSpec) -> str:
    """The model's encoder family, "" where its config cannot be read (the record says why it failed)."""
    try:
        return model_family(cell.model).info.name
    except BenchError:
        return ""


def failed_record(job: CellJob, error: str, *, wall_seconds: float = 0.0) -> CellResult:
    """The record of a cell that never reported back (its process died, its worker was lost)."""
    return CellResult(**identity(job), versions=job.versions, status=CellStatus.FAILED, error=error,
                      wall_seconds=wall_seconds, finished_at=_now())


def run_job(job: CellJob, settings: WorkerSettings = WorkerSettings(), *,
            dispatched_at: float | None = None) -> CellResult:
    """Train and evaluate one cell; any exception becomes a failed record, not a crash.
    `dispatched_at` (time.time() when the driver handed the cell over) times the start-up."""
    started = time.perf_counter()
    start_up = max(0.0, time.time() - dispatched_at) if dispatched_at is not None else 0.0
    if settings.threads:
        torch.set_num_threads(settings.threads)
    show_cell_bars(settings.progress_bars)
    try:
        device = job.cell.runtime.choose()  # as planned: fp32 and bf16 cells are different cells
    except BenchError as error:
        return failed_record(job, one_line(error), wall_seconds=time.perf_counter() - started)
    # the worker's own environment (on a cluster it may differ from the driver's)
    environment = dict(device=device.name, cpu=cpu_description(), dtype=device.dtype_name,
                       threads=torch.get_num_threads(),
                       versions=library_versions(), petbench_revision=petbench_revision())
    with RunningCells(sweep=settings.sweep) as running:
        try:
            measured = _measure(job, device, running, settings.samples_dir)
            status, error = CellStatus.SUCCESS, ""
        except Exception as failure:  # noqa: BLE001  (a failing cell must not stop the sweep)
            measured, status, error = {}, CellStatus.FAILED, one_line(failure)
        finally:
            gc.collect()
            if device.is_cuda:
                torch.cuda.empty_cache()
    return CellResult(**identity(job), **(environment | measured), status=status, error=error,
                      cells_on_machine=running.most, cells_of_sweep=running.most_of_sweep,
                      seconds_start=start_up,
                      wall_seconds=start_up + time.perf_counter() - started, finished_at=_now())


def _measure(job: CellJob, device: DeviceChoice, running: RunningCells,
             samples_dir: str | None = None) -> dict:
    from transformers import set_seed

    cell, splits = job.cell, job.splits
    config = cell.method_config()
    set_seed(cell.seed)
    clock = time.perf_counter
    with PeakMemory(device.device) as memory:
        began = clock()
        built, unlabelled_dropped = _build(cell, config, splits)
        built_at = clock()
        encoded = _encode(built, loop_view(cell, splits))
        encoded_at = clock()
        running.sample()
        outcome = _train(built, cell, config, encoded, splits, device)
        trained_at = clock()
        running.sample()
    if samples_dir is not None:
        log_samples(job, outcome, Path(samples_dir))
    golds = [example.label for example in splits.eval]
    majority = [majority_label(splits.train)] * len(golds)
    parameters = list(built.model.parameters())
    held_out = cell.selection.selects  # under `none` the loop's "dev" was the training pool: no dev score
    return dict(
        score=score(cell.task.metric, outcome.eval_predictions, golds),
        accuracy=score("accuracy", outcome.eval_predictions, golds),
        dev_score=outcome.dev_score if held_out else None,
        majority_score=score(cell.task.metric, majority, golds),
        untrained_dev_score=outcome.untrained_dev_score if held_out else None,
        never_beat_start=outcome.never_beat_start and held_out,
        n_train=len(splits.train), n_dev=len(splits.dev), n_eval=len(splits.eval),
        steps=outcome.steps, best_step=outcome.best_step,
        train_samples_per_s=_rate(outcome.train_samples, outcome.train_seconds),
        eval_samples_per_s=_rate(outcome.eval_samples, outcome.eval_seconds),
        peak_memory_bytes=memory.peak_bytes, memory_kind=memory.kind,
        trainable_params=sum(p.numel() for p in parameters if p.requires_grad),
        total_params=sum(p.numel() for p in parameters), mlm_head=built.mlm_head.origin.value,
        mlm_head_detail=built.mlm_head.detail, mlm_head_label=built.mlm_head.label, pooling=built.pooling,
        unlabelled_dropped=unlabelled_dropped,
        dtype=device.dtype_name,
        seconds_load=built_at - began, seconds_encode=encoded_at - built_at,
        seconds_train=max(0.0, trained_at - encoded_at - outcome.dev_seconds - outcome.eval_seconds),
        seconds_dev=outcome.dev_seconds, seconds_eval=outcome.eval_seconds,
    )


def _build(cell: CellSpec, config: MethodConfig, splits: CellSplits) -> tuple[BuiltMethod, int | None]:
    """The cell's method, its trains claim checked and its unlabelled texts (if any) cleared of the
    cell's dev and eval texts; with how many texts the guard dropped."""
    built = get_method(cell.method).build(config, model=cell.model, task=cell.task,
                                          max_length=cell.train.max_length)
    check_trains_claim(cell.method, built)
    return built, guard_unlabelled(built.model, cell_held_out(splits))


def log_samples(job: CellJob, outcome: TrainOutcome, samples_dir: Path) -> None:
    """Write the cell's per-example outputs; a failure to write them costs a warning, not the cell."""
    samples = make_samples(job.splits.eval, outcome.eval_predictions, outcome.eval_probabilities,
                           job.cell.task.labels)
    try:
        write_samples(samples_path(samples_dir, job.cell_id), samples)
    except OSError as error:
        print(f"warning: could not write the samples of {job.cell_id} to {samples_dir} ({error.strerror})",
              file=sys.stderr)


def check_trains_claim(method: str, built: BuiltMethod) -> None:
    """The parameters that will receive gradients are exactly the ones the method claims to train
    (`trains` name fragments; parameters a family fixes for good are never claimed)."""
    from bench.core.family import is_fixed

    def claimed(name: str) -> bool:
        return any(fragment in name for fragment in built.trains)

    parameters = list(built.model.named_parameters())
    unclaimed = [name for name, p in parameters if p.requires_grad and not claimed(name)]
    frozen = [name for name, p in parameters if not p.requires_grad and claimed(name) and not is_fixed(p)]
    if unclaimed or frozen:
        shown = (f"trains {unclaimed[:3]} without claiming them" if unclaimed
                 else f"claims {frozen[:3]} but they are frozen")
        raise BenchError(f"method {method} {shown}: make its trains= fragments and requires_grad agree")


def _encode(built: BuiltMethod, splits: CellSplits) -> EncodedSplits:
    folder = cache_dir() / "encodings"
    return EncodedSplits(*(encode_once(built.encoder, examples, cache_folder=folder)
                           for examples in (splits.train, splits.dev, splits.eval)))


# `none` keeps the last step: with checkpoints this far apart the loop's only one is the final step
LAST_STEP_ONLY = 2**31


def loop_view(cell: CellSpec, splits: CellSplits) -> CellSplits:
    """The examples the loop (or a fit) sees. The `none` protocol has no dev set: the training pool
    stands in for it (scored, never recorded as a dev score; loop_settings keeps it from choosing)."""
    return splits if cell.selection.selects else CellSplits(splits.train, splits.train, splits.eval)


def loop_settings(cell: CellSpec) -> TrainConfig:
    """The cell's loop settings; under `none` the last step is the only checkpoint: nothing selected."""
    if cell.selection.selects:
        return cell.train
    return dataclasses.replace(cell.train, eval_every=LAST_STEP_ONLY)


def _train(built: BuiltMethod, cell: CellSpec, config: MethodConfig, encoded: EncodedSplits,
           splits: CellSplits, device: DeviceChoice) -> TrainOutcome:
    """The shared gradient loop, or the method's own fit (then the shared evaluation)."""
    metric = cell.task.metric
    splits = loop_view(cell, splits)
    if get_method(cell.method).training == Training.LOOP or cell.train.zero_shot:
        if not isinstance(config, GradientConfig):
            raise BenchError(f"method {cell.method} returns no fit and its config is no GradientConfig: "
                             f"derive the config from GradientConfig (learning_rate, epochs)")
        return train_and_evaluate(built, data=encoded, config=loop_settings(cell),
                                  learning_rate=config.learning_rate, epochs=config.epochs, device=device,
                                  metric=metric, seed=cell.seed)
    context = FitContext(train=encoded.train, dev=encoded.dev, train_texts=[e.texts for e in splits.train],
                         dev_texts=[e.texts for e in splits.dev], metric=lambda p, g: score(metric, p, g),
                         device=device, seed=cell.seed, batch_size=cell.train.eval_batch_size)
    if built.fit is None:
        raise BenchError(f"method {cell.method} is registered as trained by its own fit, but its builder "
                         f"returned no fit: set BuiltMethod.fit, or register it with training=Training.LOOP")
    fitted = built.fit(context)
    watch = Stopwatch(device.synchronize)
    model = built.model.to(device.device)
    predictions, probabilities = predict_with_probabilities(
        model, encoded.eval, batch_size=cell.train.eval_batch_size, device=device,
        pad_id=built.encoder.pad_id, pad_to=pad_multiple(cell.train, device), watch=watch, progress="eval")
    return TrainOutcome(fitted.dev_score, tuple(predictions), 0, 0, fitted.train_seconds,
                        fitted.train_samples, watch.seconds, watch.samples,
                        eval_probabilities=tuple(probabilities))


def _rate(samples: int, seconds: float) -> float | None:
    return samples / seconds if seconds > 0 and samples else None


def _json(values: dict) -> str:
    return json.dumps(values, sort_keys=True, default=str)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def trained_method(cell: CellSpec, splits: CellSplits,
                   device: DeviceChoice) -> tuple[BuiltMethod, TrainOutcome]:
    """Build, encode and train (or fit) a cell's method as a sweep cell does, and keep the trained
    method (PCP's teacher then labels texts with it)."""
    from transformers import set_seed

    config = cell.method_config()
    set_seed(cell.seed)
    built, _ = _build(cell, config, splits)
    return built, _train(built, cell, config, _encode(built, loop_view(cell, splits)), splits, device)
