"""`run --dry-run`: what a sweep would do, before it trains anything: its cells, how many are already
done, and how long the rest should take on this machine, from a per-method cost model fitted to the
records of earlier cells (seconds per training example seen, per evaluated example, and a fixed part
per cell), matched on method, model, device, CPU, precision and threads."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from bench.core.records import CellResult
from bench.training.loop import dev_passes, planned_steps
from bench.training.runner import CellJob, loop_settings, loop_view

T = TypeVar("T")

HISTORY_FILE = "cell-history.jsonl"  # in the cache folder: every cell this machine ran, its costs
# each method's cost model fitted to measured records (scripts/derive_prior_costs.py names their source):
# the order of side-by-side cells on a machine with no history of its own
PRIOR_COSTS_FILE = Path(__file__).with_name("prior_costs.json")


@dataclass(frozen=True)
class Work:
    """What a cell computes, in the units its cost scales with."""

    train_examples: int  # examples through the training step (or the fit), all epochs
    eval_examples: int  # dev passes (the untrained start and each epoch's end) plus the final eval


def _work(*, n_train: int, n_dev: int, n_eval: int, epochs: int, max_steps: int | None, batch_size: int,
          zero_shot: bool, eval_every: int) -> Work:
    steps_per_epoch, steps = planned_steps(n_train, batch_size=batch_size, epochs=epochs, max_steps=max_steps,
                                           zero_shot=zero_shot)
    passes = dev_passes(total_steps=steps, steps_per_epoch=steps_per_epoch, eval_every=eval_every)
    return Work(train_examples=steps * batch_size, eval_examples=n_dev * passes + n_eval)


def job_work(job: CellJob) -> Work:
    """What a job will compute, with the dev set and checkpoints its loop sees (under the `none`
    selection protocol: the training pool, scored at the start and the last step)."""
    cell, splits = job.cell, loop_view(job.cell, job.splits)
    return _work(n_train=len(splits.train), n_dev=len(splits.dev), n_eval=len(splits.eval),
                 epochs=int(dict(cell.knobs).get("epochs", 1)), max_steps=cell.train.max_steps,
                 batch_size=cell.train.batch_size, zero_shot=cell.train.zero_shot,
                 eval_every=loop_settings(cell).eval_every)


def record_work(record: CellResult) -> Work:
    """What an earlier cell computed, from the loop settings its record stores (any version's)."""
    train = json.loads(record.train_config) if record.train_config else {}
    return _work(n_train=record.n_train, n_dev=record.n_dev, n_eval=record.n_eval, epochs=record.epochs or 1,
                 max_steps=train.get("max_steps"), batch_size=train.get("batch_size", 16),
                 zero_shot=record.zero_shot, eval_every=train.get("eval_every", 0))


@dataclass(frozen=True)
class CostModel:
    """Seconds per training example, per evaluated example, and fixed seconds per cell (medians)."""

    per_train_example: float
    per_eval_example: float
    fixed: float
    cells: int  # the earlier cells it was fitted to

    def seconds(self, work: Work) -> float:
        return (self.fixed + work.train_examples * self.per_train_example
                + work.eval_examples * self.per_eval_example)


def _key(method: str, model: str, device: str, cpu: str, dtype: str) -> tuple[str, ...]:
    return method, model, device, cpu, dtype


def fit_costs(records: Iterable[CellResult]) -> dict[tuple[str, ...], CostModel]:
    """One cost model per (method, model, device, CPU, precision), from successful timed records."""
    samples: dict[tuple[str, ...], list[tuple[float, float, float]]] = {}
    for record in records:
        if not record.succeeded or record.wall_seconds <= 0:
            continue
        work = record_work(record)
        train = record.seconds_train / work.train_examples if work.train_examples else 0.0
        evaluation = (record.seconds_dev + record.seconds_eval) / max(1, work.eval_examples)
        fixed = record.seconds_load + record.seconds_encode + min(record.seconds_start, 1.0)
        key = _key(record.method, record.model, record.device, record.cpu, record.dtype)
        samples.setdefault(key, []).append((train, evaluation, fixed))
    return {key: CostModel(statistics.median(s[0] for s in rows), statistics.median(s[1] for s in rows),
                           statistics.median(s[2] for s in rows), len(rows))
            for key, rows in samples.items()}


def job_estimate(costs: dict[tuple[str, ...], CostModel], environment: tuple[str, str, str], *,
                 priors: dict[str, CostModel] | None = None) -> Callable[[CellJob], float | None]:
    """A job's estimated seconds on this machine (device, cpu, dtype) from its earlier cells of the
    job's method and model; without any, from the method's prior (if `priors` are given), scaled by
    how this machine's history compares with the priors; else None."""
    device, cpu, dtype = environment
    priors = priors or {}
    here = {key[0]: model for key, model in costs.items() if key[2:] == (device, cpu, dtype)}
    scale = _prior_scale(here, priors)

    def estimate(job: CellJob) -> float | None:
        model = costs.get(_key(job.cell.method, job.cell.model.display_name, device, cpu, dtype))
        if model is not None:
            return model.seconds(job_work(job))
        prior = priors.get(job.cell.method)
        return None if prior is None else scale * prior.seconds(job_work(job))

    return estimate


def _prior_scale(here: dict[str, CostModel], priors: dict[str, CostModel]) -> float:
    """This machine's cost over the priors' for the methods that have both (1 without any)."""
    work = Work(train_examples=1000, eval_examples=1000)
    ratios = [here[method].seconds(work) / priors[method].seconds(work) for method in here
              if method in priors and priors[method].seconds(work) > 0]
    return statistics.median(ratios) if ratios else 1.0


def prior_costs(path: Path = PRIOR_COSTS_FILE) -> dict[str, CostModel]:
    """Each method's shipped prior cost model (empty where the file is absent or unreadable)."""
    try:
        methods = json.loads(path.read_text(encoding="utf-8"))["methods"]
        return {name: CostModel(per_train_example=float(values["per_train_example"]),
                                per_eval_example=float(values["per_eval_example"]),
                                fixed=float(values["fixed"]), cells=int(values["cells"]))
                for name, values in methods.items()}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def longest_first(jobs: Sequence[T], estimate: Callable[[T], float | None]) -> list[T]:
    """Jobs for cells side by side, longest estimate first, so that no long cell starts last and runs
    alone at the end; jobs without an estimate (a method with neither history nor prior) go first
    (they may be long), each group otherwise in grid order."""
    estimates = [estimate(job) for job in jobs]
    order = sorted(range(len(jobs)), key=lambda i: (estimates[i] is not None, -(estimates[i] or 0.0), i))
    return [jobs[i] for i in order]


def remember(record: CellResult, cache: Path) -> None:
    """Add a finished cell to this machine's history (best effort: the store holds the record)."""
    try:
        cache.mkdir(parents=True, exist_ok=True)
        with open(cache / HISTORY_FILE, "a", encoding="utf-8") as handle:
            handle.write(record.to_json() + "\n")
    except OSError:
        pass


def load_history(cache: Path) -> list[CellResult]:
    """The machine's earlier cells; unreadable lines are skipped (it only feeds estimates)."""
    records = []
    try:
        lines = (cache / HISTORY_FILE).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            records.append(CellResult.from_dict(json.loads(line)))
        except (ValueError, TypeError, KeyError):
            continue
    return records


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else (f"{minutes} min {rest} s" if minutes else f"{rest} s")


def _folds_text(jobs: Sequence[CellJob]) -> str:
    """', K folds (protocol)' when the cells train on a protocol's K cuts of the labelled pool."""
    folds = {job.cell.fold for job in jobs} - {None}
    if not folds:
        return ""
    protocols = ", ".join(dict.fromkeys(job.cell.selection.text for job in jobs if job.cell.fold is not None))
    return f", {len(folds)} fold(s) ({protocols})"


def describe_plan(jobs: Sequence[CellJob], done: set[str], history: Sequence[CellResult], *, out: Path,
                  environment: tuple[str, str, str], at_once: int) -> list[str]:
    """The dry run's lines: the grid's size, what is done, and the estimate for the rest.
    `environment` is (device, cpu, dtype) as this machine's records would name them."""
    unique = {job.cell_id: job for job in jobs}
    todo = [job for cell_id, job in unique.items() if cell_id not in done]
    first = jobs[0].cell if jobs else None
    tasks = {(job.cell.task.name, job.cell.split) for job in jobs}
    lines = [f"plan: {len(unique)} cells ({len({job.cell.task.name for job in jobs})} task(s), {len(tasks)} "
             f"task split(s), {len({job.cell.method for job in jobs})} method(s), "
             f"{len({job.cell.search_index for job in jobs})} search point(s), "
             f"{len({job.cell.seed for job in jobs})} seed(s){_folds_text(jobs)}); {len(unique) - len(todo)} "
             f"already done in {out}, {len(todo)} to run"]
    for name in dict.fromkeys(job.cell.task.name for job in jobs):
        of_task = [job for job in jobs if job.cell.task.name == name]
        splits = list(dict.fromkeys(job.cell.split for job in of_task if job.cell.split is not None))
        sizes = sorted({(len(job.splits.train), len(job.splits.dev), len(job.splits.eval))
                        for job in of_task})
        shown = ", ".join(f"{train} train / {dev} dev / {evaluated} eval" for train, dev, evaluated in sizes)
        where = f" ({len(splits)} split(s): {', '.join(splits)})" if splits else ""
        lines.append(f"data: {name}{where}: {shown} examples a cell, from {of_task[0].data_source}")
    if first is not None:
        lines.append(f"model: {first.model.display_name} ({first.model.location})")
    estimate = job_estimate(fit_costs(history), environment)
    _, cpu, dtype = environment
    known, unknown, total = 0, set(), 0.0
    for job in todo:
        seconds = estimate(job)
        if seconds is None:
            unknown.add(job.cell.method)
            continue
        known += 1
        total += seconds
    if not todo:
        lines.append("estimate: nothing to run")
    elif known:
        lines.append(f"estimate: {_duration(total / max(1, at_once))} for the {known} cell(s) with earlier "
                     f"records of their method and model on {cpu}, {dtype} ({at_once} at a time; a cost "
                     f"model per method: seconds per training and per evaluated example, from this machine's "
                     f"history and {out})")
    if unknown:
        lines.append(f"estimate: none for {', '.join(sorted(unknown))}: no earlier cell of it on this model, "
                     f"device and CPU; run one (e.g. --seeds 1 --max-steps 20) and dry-run again")
    return lines
