"""Which code computed a number: one digest of PETBench's own source that can change a number, taken
once per process, and the digest of a user plugin's file. Both enter cell ids and cache keys, so a
commit or an edited plugin that changes a computation never passes an old run off as a new one."""

from __future__ import annotations

import functools
import hashlib
import inspect
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent  # the folder holding bench/, methods/, ...
# the packages a cell's number comes from: the loop, methods, families, task loading, encodings, metrics
NUMERIC_PACKAGES = ("bench/core", "bench/training", "tasks", "methods", "families")
# modules of those packages that only store, show or schedule records: no number depends on them
BOOKKEEPING = frozenset({"bench/core/errors.py", "bench/core/progress.py", "bench/core/records.py",
                         "bench/core/store.py", "bench/training/plan.py"})


def source_digest(root: Path) -> str:
    """A hash of every Python file of the numeric packages under `root`, bookkeeping modules aside.
    Task definitions (YAML) are hashed per task instead, and docs, reports and the CLI never are."""
    digest = hashlib.sha256()
    for package in NUMERIC_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            name = path.relative_to(root).as_posix()
            if name in BOOKKEEPING or "__pycache__" in path.parts:
                continue
            digest.update(f"{name}\0".encode())
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()[:12]


@functools.cache
def harness_code_digest() -> str:
    """The digest of this installation's own numeric source (a checkout or an installed wheel)."""
    return source_digest(PACKAGE_ROOT)


def is_harness_file(path: Path) -> bool:
    """Whether a file is part of the source harness_code_digest covers."""
    if not path.is_relative_to(PACKAGE_ROOT):
        return False
    name = path.relative_to(PACKAGE_ROOT).as_posix()
    return any(name.startswith(f"{package}/") for package in NUMERIC_PACKAGES)


def plugin_code_digest(defined: object) -> str:
    """A hash of the file defining a plugin's function or class (a builder, an encoder), so that an
    edited plugin never reuses its earlier code's cells; "" for PETBench's own code, which
    harness_code_digest covers."""
    source = _source_file(defined)
    if source is None or is_harness_file(source) or not source.is_file():
        return ""
    return hashlib.sha1(source.read_bytes()).hexdigest()[:10]


def _source_file(defined: object) -> Path | None:
    for target in (defined, type(defined)):  # a function or class, else an instance's class
        try:
            return Path(inspect.getsourcefile(target) or "").resolve()
        except TypeError:  # an instance has no source file of its own, a builtin none at all
            continue
    return None


def code_digest(*plugin_digests: str) -> str:
    """The code identity of a cell: PETBench's numeric source and the plugin files it runs."""
    parts = [harness_code_digest(), *(digest for digest in plugin_digests if digest)]
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:12]
