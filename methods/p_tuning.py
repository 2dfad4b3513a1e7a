"""P-tuning v1 ("GPT Understands, Too"): pseudo tokens in the template from a prompt encoder,
prediction by the MLM head at [MASK] through the task's verbalizer."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bench.models import ModelRef
from methods.encoding import TemplateEncoder
from methods.mlm import MaskedLMClassifier, PromptCollator, freeze_backbone_keep_head, load_mlm_classifier
from methods.soft_prompt import PROMPT_ENCODERS, PromptEncoder, place_prompts, template_with_prompts
from methods.spec import BuiltMethod, MethodConfig, register_method
from tasks.spec import TaskSpec


@dataclass(frozen=True)
class PTuningConfig(MethodConfig):
    learning_rate: float = 5e-3
    epochs: int = 30  # a frozen backbone learns slowly from 100 examples (see docs/results)
    prompt_length: int = 8  # split evenly: before the input, and right before [MASK]
    encoder: str = "lstm"
    freeze_backbone: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.encoder not in PROMPT_ENCODERS[:2]:
            raise ValueError(f"encoder must be lstm or mlp, got {self.encoder!r}")
        if self.prompt_length < 1:
            raise ValueError("prompt_length must be at least 1")


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


@register_method("p_tuning", config=PTuningConfig)
def build_p_tuning(config: PTuningConfig, *, model: ModelRef, task: TaskSpec, max_length: int) -> BuiltMethod:
    """P-tuning: LSTM/MLP-encoded pseudo tokens around the input, MLM head + verbalizer."""
    tokenizer, classifier, head_pretrained = load_mlm_classifier(model, task)
    # a newly initialised head is random: it must train or the verbalizer reads noise
    train_head = not head_pretrained or not config.freeze_backbone
    if config.freeze_backbone:
        freeze_backbone_keep_head(classifier, train_head=train_head)
    width = classifier.encoder.get_input_embeddings().embedding_dim
    prompt_encoder = PromptEncoder(config.prompt_length, width, config.encoder)
    half = config.prompt_length // 2
    template = template_with_prompts(task.template, before_input=config.prompt_length - half,
                                     before_mask=half)
    encoder = TemplateEncoder(tokenizer, template, n_masks=classifier.verbalizer.n_masks,
                              max_length=max_length)
    head = ("head.",) if train_head else ()
    trains = ("prompt_encoder", *head) if config.freeze_backbone else ("",)
    return BuiltMethod(PTuningModel(classifier, prompt_encoder), PromptCollator(task, encoder),
                       mlm_head="pretrained" if head_pretrained else "new", trains=trains)
