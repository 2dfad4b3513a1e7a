"""P-tuning v1 ("GPT Understands, Too"): pseudo tokens in the template from a prompt encoder,
prediction by the MLM head at [MASK] through the task's verbalizer."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bench.core.family import Capability
from bench.core.knobs import knob
from bench.core.method import (
    BuiltMethod,
    GradientConfig,
    HeadOrigin,
    PerfVariant,
    epochs_knob,
    learning_rate_knob,
    register_method,
)
from bench.core.models import ModelRef, read_model_card
from bench.core.task import TaskSpec
from methods.encoding import TemplateEncoder
from methods.mlm import (
    LABEL_WORDS_ONLY_HELP,
    MaskedLMClassifier,
    freeze_backbone_keep_head,
    load_mlm_classifier,
)
from methods.soft_prompt import PromptEncoder, PromptEncoderKind, place_prompts, template_with_prompts


@dataclass(frozen=True)
class PTuningConfig(GradientConfig):
    learning_rate: float = learning_rate_knob(2e-3)  # chosen on dev only: docs/results/defaults.md
    epochs: int = epochs_knob(30)  # a frozen backbone learns slowly from 100 examples (docs/results)
    prompt_length: int = knob(8, "pseudo tokens, split evenly: before the input and right before [MASK]",
                              at_least=1)
    encoder: PromptEncoderKind = knob(PromptEncoderKind.LSTM, "the prompt encoder (none: the table itself)")
    freeze_backbone: bool = knob(True, "train only the prompt encoder (and a new MLM head)")
    label_words_only: bool = knob(True, LABEL_WORDS_ONLY_HELP)


class PTuningModel(nn.Module):
    def __init__(self, classifier: MaskedLMClassifier, prompt_encoder: PromptEncoder) -> None:
        super().__init__()
        self.classifier = classifier
        self.prompt_encoder = prompt_encoder

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                mask_positions: torch.Tensor, prompt_positions: torch.Tensor) -> torch.Tensor:
        embeddings = self.classifier.encoder.get_input_embeddings()(input_ids)
        embeddings = place_prompts(embeddings, prompt_positions, self.prompt_encoder())
        hidden = self.classifier.encoder(inputs_embeds=embeddings,
                                         attention_mask=attention_mask).last_hidden_state
        return self.classifier.score_hidden(hidden, mask_positions)


@register_method("p_tuning", config=PTuningConfig, peer="peer_p_tuning", needs=(Capability.MLM_HEAD,),
                 perf_variants={
    "p_tuning_mlp": PerfVariant((("encoder", "mlp"), ("prompt_length", "20")), peer="peer_p_tuning",
                                description="p_tuning in its peer's setup: MLP encoder, 20 pseudo tokens")})
def build_p_tuning(config: PTuningConfig, *, model: ModelRef, task: TaskSpec, max_length: int) -> BuiltMethod:
    """P-tuning: LSTM/MLP-encoded pseudo tokens around the input, MLM head + verbalizer."""
    half = config.prompt_length // 2
    template = template_with_prompts(task.template, before_input=config.prompt_length - half,
                                     before_mask=half)
    tokenizer, classifier, head = load_mlm_classifier(model, task, template=template,
                                                      label_words_only=config.label_words_only)
    # a newly initialised head is random: it must train or the verbalizer reads noise
    train_head = head.origin == HeadOrigin.NEW or not config.freeze_backbone
    if config.freeze_backbone:
        freeze_backbone_keep_head(classifier, train_head=train_head)
    width = classifier.encoder.get_input_embeddings().embedding_dim
    prompt_encoder = PromptEncoder(config.prompt_length, width, config.encoder)
    encoder = TemplateEncoder(tokenizer, template, task.text_fields, n_masks=classifier.verbalizer.n_masks,
                              max_length=max_length, text_prefix=read_model_card(model).text_prefix)
    head_parameters = ("classifier.head.",) if train_head else ()
    trains = ("prompt_encoder", *head_parameters) if config.freeze_backbone else ("",)
    return BuiltMethod(PTuningModel(classifier, prompt_encoder), encoder, mlm_head=head, trains=trains)
