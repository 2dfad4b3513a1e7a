"""Loads tokenizers and backbones for a ModelRef with one-line errors; random-init references (perf
shapes) build the architecture from config.json instead of reading weights."""

from __future__ import annotations

import functools
import warnings

from bench.core.errors import BenchError
from bench.core.family import EncoderFamily, family_for_config
from bench.core.method import HeadOrigin, MlmHead
from bench.core.models import ModelRef, read_model_card

# peft 0.21 asks transformers 5 for the deprecated `is_gradient_checkpointing`: the call is peft's, not
# the user's to change, so neither a built-in nor a plugin calling peft directly should print it
_PEFT_DEPRECATION = ".*is_gradient_checkpointing.*"


def _quiet_transformers() -> None:
    import transformers

    warnings.filterwarnings("ignore", message=_PEFT_DEPRECATION, category=FutureWarning)

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def get_peft_model_quietly(model, peft_config):
    """peft.get_peft_model without the FutureWarning that peft 0.21 triggers in transformers 5."""
    from peft import get_peft_model

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_PEFT_DEPRECATION, category=FutureWarning)
        return get_peft_model(model, peft_config)


def _load(loader, ref: ModelRef, **kwargs):
    """from_pretrained with a one-line error: tokenizers, configs and pretrained weights."""
    _quiet_transformers()
    try:
        return loader.from_pretrained(ref.location, **kwargs)
    except (OSError, ValueError) as error:  # ValueError: a config.json transformers cannot read
        raise BenchError(f"cannot load model {ref.location!r} ({str(error).splitlines()[0][:120]}); "
                         f"pass a local folder with --model, or go online for hub ids") from error


def _load_with_info(loader, ref: ModelRef, **kwargs):
    """(model, names of parameters the checkpoint did not provide)."""
    if not ref.random_init:
        model, info = _load(loader, ref, output_loading_info=True, **kwargs)
        return model, set(info["missing_keys"])
    from transformers import AutoConfig

    model = loader.from_config(_load(AutoConfig, ref), **kwargs)
    return model, {name for name, _ in model.named_parameters()}


@functools.lru_cache(maxsize=8)
def load_tokenizer(ref: ModelRef):
    from transformers import AutoTokenizer

    return _load(AutoTokenizer, ref)


@functools.lru_cache(maxsize=8)
def load_config(ref: ModelRef):
    from transformers import AutoConfig

    return _load(AutoConfig, ref)


def model_family(ref: ModelRef) -> EncoderFamily:
    """The encoder family of the model's config (a one-line error for an unknown model_type)."""
    return family_for_config(load_config(ref))


def checkpoint_facts(ref: ModelRef) -> tuple[str, ...]:
    """What the family knows of this checkpoint that changes what a number means."""
    return model_family(ref).checkpoint_facts(load_config(ref), ref.location)


def load_masked_lm(ref: ModelRef):
    """The *ForMaskedLM model and where its head came from: pretrained, continued (a `pretrain`
    output, its card says how) or new (missing from the checkpoint: initialised here, must train)."""
    from transformers import AutoModelForMaskedLM

    model, missing = _load_with_info(AutoModelForMaskedLM, ref)
    model_family(ref).after_load(model)
    head_missing = any(not key.startswith(model.base_model_prefix) for key in missing)
    facts = "; ".join(checkpoint_facts(ref))
    if head_missing:
        return model, MlmHead(HeadOrigin.NEW, facts)
    card = read_model_card(ref)
    if card.mlm_head_origin == HeadOrigin.CONTINUED:
        return model, MlmHead(HeadOrigin.CONTINUED, card.mlm_head_detail, card.mlm_head_label)
    detail = "; ".join(part for part in (card.mlm_head_detail, facts) if part)
    return model, MlmHead(HeadOrigin.PRETRAINED, detail, card.mlm_head_label)


def load_encoder(ref: ModelRef, *, with_pooler: bool = False):
    """The bare encoder, and whether its pooler came with trained weights (False when asked for none)."""
    from transformers import AutoModel

    builds_pooler = model_family(ref).loads_pooler(load_config(ref))
    options = {"add_pooling_layer": with_pooler} if builds_pooler else {}
    with_pooler = with_pooler and builds_pooler
    model, missing = _load_with_info(AutoModel, ref, **options)
    model_family(ref).after_load(model)
    pretrained_pooler = with_pooler and not any("pooler" in key for key in missing)
    return model, pretrained_pooler


def load_sequence_classifier(ref: ModelRef, n_labels: int):
    """AutoModelForSequenceClassification (used by the perf peers, as a user would write them)."""
    from transformers import AutoModelForSequenceClassification

    if ref.random_init:
        from transformers import AutoConfig

        return AutoModelForSequenceClassification.from_config(_load(AutoConfig, ref, num_labels=n_labels))
    return _load(AutoModelForSequenceClassification, ref, num_labels=n_labels)
