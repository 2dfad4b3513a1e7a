"""Scoring labels with a masked-LM head at [MASK] positions through a task's verbalizer."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import torch
from torch import nn
from torch.nn import functional

from bench.core.encoded import EncodedExample
from bench.core.family import family_of
from bench.core.loading import load_masked_lm, load_tokenizer
from bench.core.method import MlmHead
from bench.core.models import ModelRef
from bench.core.task import TaskSpec
from methods.encoding import mask_context, require_mask_token, verbalizer_token_ids


def split_masked_lm(model: nn.Module) -> tuple[nn.Module, nn.Module]:
    """(encoder, head) of a *ForMaskedLM model, as its family says, so the head runs on mask
    positions only."""
    return model.base_model, family_of(model).mlm_head(model).head


LABEL_WORDS_ONLY_HELP = ("the MLM head computes the logits of the label words only, never the whole "
                         "vocabulary (the same loss and predictions when every label word has the same "
                         "number of tokens, else it falls back); off: log-softmax over the whole vocabulary")


class VerbalizerScores(nn.Module):
    """Label score = mean log-probability of the label word's tokens, each at its own [MASK].

    With reads_label_words the incoming logits cover only `words` (the label words' tokens) and the
    score is the mean logit: it differs from the mean log-probability by the log-partition over the
    vocabulary, the same for every label when every label word has the same number of tokens, so the
    cross-entropy over labels and the argmax are unchanged."""

    def __init__(self, token_ids: Sequence[Sequence[int]], *, label_words_only: bool = False) -> None:
        super().__init__()
        n_masks = max(len(ids) for ids in token_ids)
        self.reads_label_words = label_words_only and len({len(ids) for ids in token_ids}) == 1
        self.words = sorted({token for ids in token_ids for token in ids})
        column = {token: index for index, token in enumerate(self.words)}
        padded = torch.zeros((len(token_ids), n_masks), dtype=torch.long)
        weights = torch.zeros((len(token_ids), n_masks))
        for label, ids in enumerate(token_ids):
            columns = [column[token] for token in ids] if self.reads_label_words else list(ids)
            padded[label, : len(ids)] = torch.tensor(columns)
            weights[label, : len(ids)] = 1.0 / len(ids)
        self.register_buffer("token_ids", padded.T.contiguous(), persistent=False)  # (masks, labels)
        self.register_buffer("weights", weights.T.contiguous(), persistent=False)
        self.n_masks = n_masks

    def forward(self, mask_logits: torch.Tensor) -> torch.Tensor:
        """mask_logits (batch, masks, vocab), or (batch, masks, words) when reading label words."""
        scores = mask_logits.float()
        if not self.reads_label_words:
            scores = functional.log_softmax(scores, dim=-1)
        index = self.token_ids.unsqueeze(0).expand(mask_logits.shape[0], -1, -1)
        return (scores.gather(2, index) * self.weights).sum(dim=1)  # (batch, labels)


class LabelWordDecoder(nn.Module):
    """The MLM head's output layer cut to the label words' rows: (..., width) -> (..., words). The
    weight and bias stay the decoder's own parameters (tied to the input embeddings where the model
    ties them), so what trains is unchanged."""

    def __init__(self, decoder: nn.Module, words: Sequence[int]) -> None:
        super().__init__()
        self.decoder = decoder
        self.register_buffer("rows", torch.tensor(list(words), dtype=torch.long), persistent=False)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        bias = None if self.decoder.bias is None else self.decoder.bias[self.rows]
        return functional.linear(hidden, self.decoder.weight[self.rows], bias)


def _cut_decoder_to_label_words(head: nn.Module, decoder: nn.Module | None, words: Sequence[int]) -> bool:
    """Swap the head's output layer for its label-word rows; False where the head has no such layer."""
    weight = getattr(decoder, "weight", None)
    if not isinstance(weight, torch.Tensor) or weight.dim() != 2:
        return False
    for module in head.modules():
        for attribute, child in module.named_children():
            if child is decoder:
                setattr(module, attribute, LabelWordDecoder(decoder, words))
                return True
    return False


def gather_positions(hidden: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """hidden (batch, seq, dim) at positions (batch, k) -> (batch, k, dim)."""
    return hidden.gather(1, positions.unsqueeze(-1).expand(-1, -1, hidden.shape[-1]))


class Calibration(StrEnum):
    """Contextual calibration of the label-word scores (Zhao et al. 2021)."""

    NONE = "none"
    EMPTY = "empty"  # divide out the label distribution the head gives the template with empty fields


CALIBRATION_HELP = ("contextual calibration at scoring time (zero-shot and after training): empty = divide "
                    "the label-word probabilities by those the head gives the template with empty text "
                    "fields (a content-free input), so the head's prior over label words drops out")


def calibrated(scores: torch.Tensor, content_free: torch.Tensor) -> torch.Tensor:
    """Log of p(label | input) / p(label | content-free input), each normalised over the labels."""
    prior = functional.log_softmax(content_free.float(), dim=-1)
    return functional.log_softmax(scores.float(), dim=-1) - prior


class MaskedLMClassifier(nn.Module):
    """Encoder + MLM head applied only at the mask positions, read out through a verbalizer; with a
    content-free input set, scores in eval mode are calibrated against it (training sees raw scores)."""

    def __init__(self, masked_lm: nn.Module, token_ids: Sequence[Sequence[int]], *,
                 label_words_only: bool = False) -> None:
        super().__init__()
        parts = family_of(masked_lm).mlm_head(masked_lm)
        self.encoder, self.head = masked_lm.base_model, parts.head
        verbalizer = VerbalizerScores(token_ids, label_words_only=label_words_only)
        if verbalizer.reads_label_words and not _cut_decoder_to_label_words(
                self.head, parts.decoder, verbalizer.words):
            verbalizer = VerbalizerScores(token_ids)
        self.verbalizer = verbalizer
        self.content_free: EncodedExample | None = None
        self.auxiliary: nn.Module | None = None  # PET's auxiliary MLM term (methods.auxiliary_mlm)
        self.auxiliary_weight = 0.0  # the loop trains on (1 - w) * task loss + w * auxiliary_loss()

    def auxiliary_loss(self) -> torch.Tensor:
        """The auxiliary MLM loss of the encoder and head on the next batch of unlabelled texts."""
        return self.auxiliary.loss(self.encoder, self.head)

    def calibrate_with(self, content_free: EncodedExample) -> None:
        """Score against this content-free input from now on (eval mode only)."""
        self.content_free = content_free

    def score_hidden(self, hidden: torch.Tensor, mask_positions: torch.Tensor) -> torch.Tensor:
        return self.verbalizer(self.head(gather_positions(hidden, mask_positions)))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                mask_positions: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        scores = self.score_hidden(hidden, mask_positions)
        if self.training or self.content_free is None:
            return scores
        # the current head's prior: recomputed at every scoring pass, as training moves it
        ids = torch.tensor([self.content_free.input_ids], device=input_ids.device)
        positions = torch.tensor([self.content_free.mask_positions], device=input_ids.device)
        hidden = self.encoder(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
        return calibrated(scores, self.score_hidden(hidden, positions))


def freeze_backbone_keep_head(classifier: MaskedLMClassifier, *, train_head: bool) -> None:
    """Freeze the encoder; the MLM head trains only if asked (a tied decoder stays frozen)."""
    classifier.encoder.requires_grad_(False)
    classifier.head.requires_grad_(train_head)
    classifier.encoder.get_input_embeddings().requires_grad_(False)


def load_mlm_classifier(model: ModelRef, task: TaskSpec, *, template: str | None = None,
                        label_words_only: bool = False) -> tuple[object, MaskedLMClassifier, MlmHead]:
    """(tokenizer, MLM classifier over the task's verbalizer, where its head came from); label words
    are spelt as they follow the template text before [MASK]."""
    tokenizer = load_tokenizer(model)
    require_mask_token(tokenizer)
    masked_lm, head = load_masked_lm(model)
    context = mask_context(template or task.template)
    token_ids = verbalizer_token_ids(tokenizer, task.verbalizer, context=context)
    return tokenizer, MaskedLMClassifier(masked_lm, token_ids, label_words_only=label_words_only), head
