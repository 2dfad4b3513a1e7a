"""Prompt-based continued pretraining (PCP; Shi & Lipani, NeurIPS 2023): a teacher method trained on a
cell's labelled examples pseudo-labels the task's unlabelled texts; each text is written into the
task's template with its pseudo-label's word in the slot, and the masked-LM stage trains on those
lines with ordinary random masking, so the head learns what goes in the slot."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from bench.core.device import DeviceChoice
from bench.core.errors import BenchError, one_line
from bench.core.leaks import Guarded, HeldOut, Texts, drop_held_out, require_some
from bench.core.method import BuiltMethod, get_method
from bench.core.models import ModelRef
from bench.core.splits import CellSplits, make_splits, resolve_shots
from bench.core.task import Example, TaskData, TaskSpec, filled_template
from bench.training.cells import CellSpec, method_choice
from bench.training.loop import TrainConfig, predict_with_probabilities
from bench.training.pretrain import PretrainConfig, PretrainOutcome, StageNote, heldout_count, pretrain
from bench.training.runner import trained_method
from bench.training.stage_config import PcpConfig


@dataclass(frozen=True)
class Teacher:
    """The teacher's pseudo-labels and probabilities on the texts, and its scores."""

    labels: tuple[int, ...]
    confidences: tuple[float, ...]
    dev_score: float | None
    n_train: int


def check_teacher(config: PcpConfig, task: TaskSpec) -> None:
    """One-line errors before any training: an unknown or unavailable teacher, bad shots."""
    get_method(config.teacher).require_available()
    resolve_shots(config.shots, task)


def label_probabilities(built: BuiltMethod, texts: Sequence[Texts], *, device: DeviceChoice,
                        batch_size: int) -> torch.Tensor:
    """(texts, labels) probabilities of the trained method, from the loop's own evaluation pass."""
    encoded = built.encoder.encode([Example(tuple(fields), 0) for fields in texts])
    model = built.model.to(device.device)
    _, probabilities = predict_with_probabilities(model, encoded, batch_size=batch_size, device=device,
                                                  pad_id=built.encoder.pad_id, progress="pseudo-label")
    return torch.tensor(probabilities)


def teach(cell: CellSpec, splits: CellSplits, texts: Sequence[Texts], device: DeviceChoice) -> Teacher:
    """Train the teacher cell as the sweep would, then label the texts."""
    built, outcome = trained_method(cell, splits, device)
    probabilities = label_probabilities(built, texts, device=device, batch_size=cell.train.eval_batch_size)
    confidences, labels = probabilities.max(dim=-1)
    return Teacher(tuple(labels.tolist()), tuple(confidences.tolist()), outcome.dev_score, len(splits.train))


def teacher_cell(task: TaskSpec, model: ModelRef, split: str | None, config: PcpConfig) -> CellSpec:
    """The teacher as a sweep cell: its method's defaults, the loop's defaults, the seed's examples."""
    choice = method_choice(config.teacher)
    return CellSpec(task, choice.name, choice.knobs, model, config.teacher_seed,
                    resolve_shots(config.shots, task), split, TrainConfig())


def pseudo_lines(task: TaskSpec, texts: Sequence[Texts],
                 labels: Sequence[int]) -> tuple[list[str], list[tuple[int, int]]]:
    """Each text in the template with its pseudo-label's word in the slot, and the word's span."""
    filled = [filled_template(task, tuple(fields), task.verbalizer[label])
              for fields, label in zip(texts, labels, strict=True)]
    return [line for line, _ in filled], [span for _, span in filled]


def run_pcp(model: ModelRef, task: TaskSpec, data: TaskData, texts: Sequence[Texts], *, source: str,
            split: str | None, held_out: HeldOut, out: Path, stage: PretrainConfig, config: PcpConfig,
            device: DeviceChoice) -> PretrainOutcome:
    """Teacher, pseudo-labelled template lines, then the masked-LM stage; the card records it all.
    Texts the leak guard finds among `held_out` never reach the teacher or the stage."""
    check_teacher(config, task)
    cell = teacher_cell(task, model, split, config)
    splits = make_splits(data, shots=cell.shots, seed=cell.seed)
    sampled = list(texts)
    if 0 < config.max_texts < len(sampled):
        sampled = random.Random(config.teacher_seed).sample(sampled, config.max_texts)
    guarded = drop_held_out(sampled, held_out)
    require_some(guarded, source)
    kept = guarded.kept
    heldout_count(len(kept), stage)  # too few texts is an error before the teacher trains
    teacher = _taught(cell, splits, kept, device)
    chosen = [i for i, confidence in enumerate(teacher.confidences) if confidence >= config.threshold]
    if len(chosen) < stage.batch_size:
        raise BenchError(f"{len(chosen)} texts reach the threshold {config.threshold}: lower --threshold")
    labels = [teacher.labels[i] for i in chosen]
    lines, spans = pseudo_lines(task, [kept[i] for i in chosen], labels)
    facts = _facts(task, split, cell, teacher, config, stage, read=len(texts), guarded=guarded, labels=labels)
    note = StageNote(label=f"PCP: {config.teacher}, {len(lines):,} texts, {stage.steps} steps",
                     detail=_detail(facts), facts=tuple(facts.items()))
    where = f"{source} in the template with {config.teacher}'s pseudo-label words"
    return pretrain(model, lines, source=where, out=out, config=stage, device=device,
                    forced=spans if config.mask_label_word else (), note=note)


def _taught(cell: CellSpec, splits: CellSplits, texts: Sequence[Texts], device: DeviceChoice) -> Teacher:
    """The teacher, or one line on why it failed: it is a cell like any other, whose failure the
    sweep would record in one line."""
    try:
        return teach(cell, splits, texts, device)
    except BenchError:
        raise
    except Exception as failure:  # noqa: BLE001  (any failure of the teacher's method: said in one line)
        raise BenchError(f"PCP's teacher {cell.method} failed ({one_line(failure)}): pick another --teacher "
                         f"or fix the method") from failure


def _facts(task: TaskSpec, split: str | None, cell: CellSpec, teacher: Teacher, config: PcpConfig,
           stage: PretrainConfig, *, read: int, guarded: Guarded, labels: Sequence[int]) -> dict:
    sampled, dropped = guarded.read, guarded.dropped
    counts = Counter(labels)
    return {"stage": "pcp", "task": task.name, "split": split, "teacher": config.teacher,
            "teacher_knobs": dict(cell.knobs), "teacher_seed": cell.seed, "teacher_train_examples":
            teacher.n_train, "teacher_dev_score": teacher.dev_score, "texts_read": read,
            "texts_sampled": sampled, "dropped_equal_to_dev_or_eval": dropped,
            "guarded_against": guarded.against,
            "below_threshold": sampled - dropped - len(labels), "threshold": config.threshold,
            "texts_used": len(labels), "pseudo_labels": {task.labels[label]: counts[label]
                                                         for label in range(task.n_labels)},
            "mask_label_word": config.mask_label_word, "steps": stage.steps}


def _detail(facts: dict) -> str:
    """The card's sentence on how PCP made the lines."""
    shares = ", ".join(f"{label} {count / max(facts['texts_used'], 1):.0%}"
                       for label, count in facts["pseudo_labels"].items())
    dev = facts["teacher_dev_score"]
    split = f" split {facts['split']}" if facts["split"] is not None else ""
    masked = "masked in every batch" if facts["mask_label_word"] else "masked at random like any token"
    return (f"PCP: teacher {facts['teacher']} (dev {'-' if dev is None else f'{100 * dev:.1f}'}) trained "
            f"on {facts['teacher_train_examples']} labelled examples of {facts['task']}{split} (seed "
            f"{facts['teacher_seed']}); {facts['texts_used']} of {facts['texts_read']} unlabelled texts "
            f"used ({facts['texts_sampled']} sampled, {facts['dropped_equal_to_dev_or_eval']} of them "
            f"dropped as equal to a {facts['guarded_against']}, "
            f"{facts['below_threshold']} below the threshold {facts['threshold']:g}); pseudo-labels "
            f"{shares}; the label word {masked}")
