"""The masked-LM stage (continued pre-training) for checkpoints without a usable MLM head: train the
head (and the top layers, or everything) on unlabelled task texts, optionally wrapped in the task's
template, and write a checkpoint whose card says where its head came from. Safe to interrupt: the
state is saved every few hundred steps and a re-run with the same settings resumes from it."""

from __future__ import annotations

import math
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from bench.core.device import DeviceChoice
from bench.core.errors import BenchError
from bench.core.loading import load_masked_lm, load_tokenizer
from bench.core.method import HeadOrigin
from bench.core.models import ModelCard, ModelRef, read_model_card, sentence_pooling, write_model_card
from bench.training.loop import TrainConfig, linear_schedule, make_optimizer, to_device
from bench.training.stage_config import PretrainConfig, layers  # noqa: F401
from methods.masking import IGNORED, Span, TextBatches, mask_batch, masked_positions_loss
from methods.mlm import split_masked_lm

STATE_FILE = ".pretrain-state.pt"


@dataclass(frozen=True)
class StageNote:
    """What a caller (PCP) adds to the checkpoint's card: a short label for the report's MLM-head
    column, a sentence for its note, and structured facts."""

    label: str = ""
    detail: str = ""
    facts: tuple[tuple[str, object], ...] = ()


def set_trainable(model: nn.Module, trains: str) -> None:
    """Freeze what the stage does not train; the decoder stays tied to the (frozen) word embeddings."""
    top = layers(trains)
    if top is None:
        model.requires_grad_(True)
        return
    model.requires_grad_(False)
    split_masked_lm(model)[1].requires_grad_(True)
    model.get_input_embeddings().requires_grad_(False)
    stack = model.base_model.encoder.layer
    if top > len(stack):
        raise BenchError(f"--trains top:{top}, but the model has {len(stack)} layers")
    for layer in stack[len(stack) - top:] if top else []:
        layer.requires_grad_(True)


@dataclass(frozen=True)
class PretrainOutcome:
    folder: Path
    steps: int
    heldout_loss_before: float
    heldout_loss_after: float
    resumed_from: int


def masked_lm_loss(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The masked-LM loss with the head applied only at the masked positions. The model's own
    forward projects every position onto the vocabulary: with multilingual-e5-small's 250k pieces
    that is 4 GB of logits per batch of 32 x 128 and made a CPU step 30 s."""
    return masked_positions_loss(*split_masked_lm(model), batch)


def heldout_loss(model: nn.Module, data: TextBatches, config: PretrainConfig, device: DeviceChoice) -> float:
    """Mean MLM loss on the held-out texts under one fixed masking (the same before and after)."""
    generator = torch.Generator().manual_seed(config.seed + 1)
    model.eval()
    total, count = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(data), config.batch_size):
            ids, special, attention, forced = data.batch(range(start, min(start + config.batch_size,
                                                                          len(data))))
            inputs, labels = mask_batch(ids, special, data.tokenizer, config.mask_probability, generator,
                                        forced)
            masked = int((labels != IGNORED).sum())
            if masked:
                batch = to_device({"input_ids": inputs, "attention_mask": attention, "labels": labels},
                                  device.device)
                with device.autocast():
                    total += float(masked_lm_loss(model, batch)) * masked
                count += masked
    return total / max(count, 1)


def pretrain(model_ref: ModelRef, texts: Sequence[str], *, source: str, out: Path, config: PretrainConfig,
             device: DeviceChoice, forced: Sequence[Span] = (),
             note: StageNote = StageNote()) -> PretrainOutcome:
    """Run (or resume) the stage and write the checkpoint folder with its card; `forced` holds, per
    text, a character span masked in every batch (PCP's label word with --mask-label-word)."""
    tokenizer = load_tokenizer(model_ref)
    if tokenizer.mask_token_id is None:
        raise BenchError(f"{model_ref.display_name}'s tokenizer has no mask token: it cannot be "
                         f"pre-trained as a masked LM")
    heldout, train = _split(tokenizer, texts, forced, config)
    torch.manual_seed(config.seed)  # a new head's initialisation
    model, _ = load_masked_lm(model_ref)
    model.to(device.device)
    set_trainable(model, config.trains)
    loop = TrainConfig()  # the shared loop's optimiser, schedule and clipping
    optimizer = make_optimizer(model, loop, config.learning_rate)
    scheduler = linear_schedule(optimizer, config.steps, loop.warmup_ratio)
    signature = config.signature(model_ref, texts, forced)
    state = _load_state(out, signature)
    if state:
        model.load_state_dict(state["model"], strict=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["dropout_rng"])
    before = state["heldout_before"] if state else heldout_loss(model, heldout, config, device)
    resumed_from = state["step"] if state else 0

    def save(step: int) -> None:
        _save_state(out, signature, model, optimizer, scheduler, step, before)

    steps = _train_steps(model, train, optimizer, scheduler, first_step=resumed_from, config=config,
                         device=device, save=save)
    after = heldout_loss(model, heldout, config, device)
    _write_checkpoint(model, tokenizer, model_ref, out, source=source, config=config, losses=(before, after),
                      note=note)
    (out / STATE_FILE).unlink(missing_ok=True)
    return PretrainOutcome(out, steps, before, after, resumed_from)


def heldout_count(texts: int, config: PretrainConfig) -> int:
    """How many of the texts are held out; a one-line error when too few remain to train on."""
    count = min(config.heldout, texts // 5)
    if count < 1 or texts - count < config.batch_size:
        raise BenchError(f"{texts} texts are too few for a stage with batch size {config.batch_size}: "
                         f"add texts (more tasks, --text-file, --unlabelled) or lower --batch-size")
    return count


def _split(tokenizer, texts: Sequence[str], forced: Sequence[Span],
           config: PretrainConfig) -> tuple[TextBatches, TextBatches]:
    """(held-out texts, training texts), split by the seed (each text keeps its forced span)."""
    order = list(range(len(texts)))
    random.Random(config.seed).shuffle(order)
    count = heldout_count(len(texts), config)
    def part(indices: Sequence[int]) -> TextBatches:
        spans = [forced[i] for i in indices] if forced else []
        return TextBatches(tokenizer, [texts[i] for i in indices], config.max_length, spans)

    return part(order[:count]), part(order[count:])


def _train_steps(model: nn.Module, train: TextBatches, optimizer, scheduler, *, first_step: int,
                 config: PretrainConfig, device: DeviceChoice, save) -> int:
    """Optimiser steps from first_step up to config.steps. Each epoch's order and each step's masking
    derive from the seed and the step number alone, so a resumed stage draws the same batches."""
    step, order, order_epoch = first_step, [], -1
    progress = tqdm(total=config.steps, initial=step, desc="pretrain", unit="step")
    per_epoch = len(train) // config.batch_size
    parameters = [p for group in optimizer.param_groups for p in group["params"]]
    while step < config.steps:
        epoch, position = divmod(step, per_epoch)
        if epoch != order_epoch:
            shuffle = torch.Generator().manual_seed(config.seed + epoch)
            order, order_epoch = torch.randperm(len(train), generator=shuffle).tolist(), epoch
        first = position * config.batch_size
        ids, special, attention, forced = train.batch(order[first : first + config.batch_size])
        masking = torch.Generator().manual_seed(config.seed * 1_000_003 + step)
        inputs, labels = mask_batch(ids, special, train.tokenizer, config.mask_probability, masking, forced)
        model.train()
        batch = {"input_ids": inputs, "attention_mask": attention, "labels": labels}
        with device.autocast():
            loss = masked_lm_loss(model, to_device(batch, device.device))
        loss_value = float(loss.detach())
        if not math.isfinite(loss_value):
            raise FloatingPointError(f"MLM loss is {loss_value} at step {step}: lower --lr")
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, TrainConfig().max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        scheduler.step()
        step += 1
        progress.update(1)
        progress.set_postfix(loss=f"{loss_value:.3f}")
        if step % config.save_every == 0 and step < config.steps:
            save(step)
    progress.close()
    return step


def _save_state(out: Path, signature: str, model: nn.Module, optimizer, scheduler, step: int,
                before: float) -> None:
    out.mkdir(parents=True, exist_ok=True)
    trainable = {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}
    temporary = out / f"{STATE_FILE}.{os.getpid()}.tmp"
    torch.save({"signature": signature, "model": trainable, "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "step": step, "dropout_rng": torch.get_rng_state(),
                "heldout_before": before}, temporary)
    os.replace(temporary, out / STATE_FILE)


def _load_state(out: Path, signature: str) -> dict | None:
    path = out / STATE_FILE
    if not path.is_file():
        return None
    state = torch.load(path, weights_only=False)
    if state.get("signature") != signature:
        raise BenchError(f"{out} holds the state of a pretrain run with other settings or texts: remove "
                         f"{path} to start over, or pick another --out")
    return state


def _write_checkpoint(model: nn.Module, tokenizer, source_model: ModelRef, out: Path, *, source: str,
                      config: PretrainConfig, losses: tuple[float, float], note: StageNote) -> None:
    """The model with its head, the tokenizer, and a card saying how the head was made."""
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    inherited = read_model_card(source_model)
    detail = (f"{config.steps} masked-LM steps ({config.trains}, lr {config.learning_rate:g}, batch "
              f"{config.batch_size}) on {source}, from {source_model.display_name}; held-out MLM loss "
              f"{losses[0]:.2f} -> {losses[1]:.2f}{'; ' + note.detail if note.detail else ''}")
    write_model_card(out, ModelCard(mlm_head_origin=HeadOrigin.CONTINUED.value, mlm_head_detail=detail,
                                    mlm_head_label=note.label, facts=dict(note.facts),
                                    pooling=inherited.pooling or sentence_pooling(source_model),
                                    text_prefix=inherited.text_prefix, source=source_model.display_name))
