"""Every split is encoded once per encoding (tokenizer, template, method settings), before any
timed loop, and the encodings are reused across cells, processes and runs through a cache folder:
keyed like a cell id by the code and library versions too, so a commit never reads an old encoding."""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Sequence
from pathlib import Path

from bench.core.encoded import EncodedExample, ExampleEncoder
from bench.core.environment import library_versions
from bench.core.source import code_digest, plugin_code_digest
from bench.core.store import write_atomically
from bench.core.task import Example

_IN_PROCESS: dict[str, tuple[EncodedExample, ...]] = {}
_IN_PROCESS_LIMIT = 16


def examples_fingerprint(examples: Sequence[Example]) -> str:
    digest = hashlib.sha256()
    for example in examples:
        digest.update(repr((example.texts, example.label)).encode())
    return digest.hexdigest()


def encoding_key(encoder: ExampleEncoder, examples: Sequence[Example]) -> str:
    """What an encoding depends on: the encoder's settings, the examples, and the code (PETBench's, and
    the encoder's own file when a plugin defines it) and libraries (the tokenizer's) that compute it."""
    code = code_digest(plugin_code_digest(encoder))
    parts = (encoder.cache_key, examples_fingerprint(examples), code, library_versions())
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def encode_once(encoder: ExampleEncoder, examples: Sequence[Example], *,
                cache_folder: Path | None) -> tuple[EncodedExample, ...]:
    """The encoded examples, from this process's memory, the cache folder, or the encoder."""
    key = encoding_key(encoder, examples)
    if key in _IN_PROCESS:
        return _IN_PROCESS[key]
    path = cache_folder / f"{key}.pkl" if cache_folder is not None else None
    encoded = _read(path)
    if encoded is None:
        encoded = tuple(encoder.encode(examples))
        if path is not None:
            write_atomically(path, pickle.dumps(encoded, protocol=pickle.HIGHEST_PROTOCOL))
    if len(_IN_PROCESS) >= _IN_PROCESS_LIMIT:
        _IN_PROCESS.pop(next(iter(_IN_PROCESS)))
    _IN_PROCESS[key] = encoded
    return encoded


def _read(path: Path | None) -> tuple[EncodedExample, ...] | None:
    if path is None or not path.is_file():
        return None
    try:
        return pickle.loads(path.read_bytes())
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None  # a stale or foreign file: encode again and overwrite it
