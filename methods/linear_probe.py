"""The cheapest baseline a reader tries first: scikit-learn's logistic regression on the frozen
encoder's pooled, L2-normalised embeddings, its regularisation chosen on the cell's dev split."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import partial

import numpy as np
import torch
from torch import nn

from bench.core.encoded import EncodedExample, collate
from bench.core.knobs import knob
from bench.core.method import (
    BuiltMethod,
    FitContext,
    FitOutcome,
    MethodConfig,
    Role,
    Training,
    register_method,
)
from bench.core.models import ModelRef
from bench.core.task import TaskSpec
from methods.heads import POOLING_HELP, EncoderClassifier, Pooling, load_pooled_parts

UNSEEN_LABEL_BIAS = -1e4  # a label absent from the train split is never predicted


class SelectBy(StrEnum):
    LOG_LOSS = "log_loss"  # smooth: the task metric of 100 dev examples ties between many C
    METRIC = "metric"  # the task's metric on dev


@dataclass(frozen=True)
class LinearProbeConfig(MethodConfig):
    pooling: Pooling = knob(Pooling.AUTO, POOLING_HELP)
    normalize: bool = knob(True, "L2-normalise the pooled embeddings")
    c_grid: tuple[float, ...] = knob((0.01, 0.1, 1.0, 10.0, 100.0),
                                     "inverse regularisation strengths C tried on the dev split")
    select_by: SelectBy = knob(SelectBy.LOG_LOSS, "dev criterion that picks C (ties: the smaller C)")
    max_iter: int = knob(2000, "iterations of the logistic-regression solver", at_least=1)


def embed(model: EncoderClassifier, encoded: Sequence[EncodedExample], *, batch_size: int, device,
          pad_id: int) -> np.ndarray:
    """The pooled features the classifier's linear layer reads, in the examples' order."""
    model.to(device.device).eval()
    features = []
    with torch.inference_mode(), device.autocast():
        for start in range(0, len(encoded), batch_size):
            batch = {key: value.to(device.device) for key, value in
                     collate(encoded[start : start + batch_size], pad_id).items() if key != "labels"}
            features.append(model.features(**batch).float().cpu())
    return torch.cat(features).numpy()


def load_logistic_regression(linear: nn.Linear, estimator) -> None:
    """Copy a fitted scikit-learn logistic regression into a linear layer over all the task's labels
    (binary: the positive class's logit against 0)."""
    weight = torch.zeros_like(linear.weight)
    bias = torch.full_like(linear.bias, UNSEEN_LABEL_BIAS)
    coefficients = torch.as_tensor(estimator.coef_, dtype=weight.dtype)
    intercepts = torch.as_tensor(estimator.intercept_, dtype=weight.dtype)
    classes = [int(label) for label in estimator.classes_]
    if len(classes) == 2:
        weight[classes[1]], bias[classes[1]] = coefficients[0], intercepts[0]
        bias[classes[0]] = 0.0
    else:
        for row, label in enumerate(classes):
            weight[label], bias[label] = coefficients[row], intercepts[row]
    with torch.no_grad():
        linear.weight.copy_(weight)
        linear.bias.copy_(bias)


def log_likelihood(estimator, features: np.ndarray, labels: Sequence[int]) -> float:
    """Mean log-probability of the true labels (a label the train split lacks counts as 1e-15)."""
    probabilities = np.full((len(labels), int(max(max(labels), *estimator.classes_)) + 1), 1e-15)
    probabilities[:, estimator.classes_] = np.clip(estimator.predict_proba(features), 1e-15, 1.0)
    return float(np.mean(np.log(probabilities[np.arange(len(labels)), labels])))


def fit_probe(model: EncoderClassifier, config: LinearProbeConfig, pad_id: int,
              context: FitContext) -> FitOutcome:
    """Embed train and dev once (the timed part), fit one logistic regression per C, keep the best
    on dev (the smallest C on ties: the most regularised)."""
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    train = embed(model, context.train, batch_size=context.batch_size, device=context.device, pad_id=pad_id)
    dev = embed(model, context.dev, batch_size=context.batch_size, device=context.device, pad_id=pad_id)
    context.device.synchronize()
    seconds = time.perf_counter() - started
    train_labels = [example.label for example in context.train]
    dev_labels = [example.label for example in context.dev]
    best_criterion, best, best_score = -np.inf, None, 0.0
    for c in sorted(config.c_grid):
        estimator = LogisticRegression(C=c, max_iter=config.max_iter).fit(train, train_labels)
        dev_score = context.metric(estimator.predict(dev).tolist(), dev_labels)
        by_metric = config.select_by == SelectBy.METRIC
        criterion = dev_score if by_metric else log_likelihood(estimator, dev, dev_labels)
        if criterion > best_criterion:
            best_criterion, best, best_score = criterion, estimator, dev_score
    load_logistic_regression(model.head.linear, best)
    return FitOutcome(dev_score=best_score, train_samples=len(train) + len(dev), train_seconds=seconds)


@register_method("linear_probe", config=LinearProbeConfig, training=Training.FIT, role=Role.REFERENCE)
def build_linear_probe(config: LinearProbeConfig, *, model: ModelRef, task: TaskSpec,
                       max_length: int) -> BuiltMethod:
    """Linear probe: logistic regression on the frozen encoder's pooled embeddings, C chosen on dev."""
    parts = load_pooled_parts(model, task, pooling=config.pooling, max_length=max_length, dropout=0.0,
                              normalize=config.normalize)
    parts.encoder.requires_grad_(False)
    if parts.head.pooler is not None:
        parts.head.pooler.requires_grad_(False)
    classifier = EncoderClassifier(parts.encoder, parts.head)
    fit = partial(fit_probe, classifier, config, parts.input_encoder.pad_id)
    return BuiltMethod(classifier, parts.input_encoder, trains=("head.linear.",), pooling=parts.describe(),
                       fit=fit)
