"""Library versions recorded beside every result."""

from __future__ import annotations

import functools
from importlib import metadata

import bench

_LIBRARIES = ("torch", "transformers", "peft", "datasets")


@functools.lru_cache(maxsize=1)
def library_versions() -> str:
    """"torch=2.13.0,transformers=5.23.0,..." for the installed libraries."""
    parts = []
    for name in _LIBRARIES:
        try:
            parts.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name}=missing")
    parts.append(f"petbench={bench.__version__}")
    return ",".join(parts)
