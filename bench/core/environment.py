"""Library versions and the PETBench revision recorded beside every result."""

from __future__ import annotations

import functools
import subprocess
from importlib import metadata
from pathlib import Path

import bench

# every library that computes a number of a cell: the versions string is part of every cell id
LIBRARIES = ("torch", "transformers", "peft", "datasets", "tokenizers", "numpy", "scipy", "scikit-learn",
             "sentence-transformers", "setfit")


@functools.lru_cache(maxsize=1)
def library_versions() -> str:
    """"torch=2.13.0,transformers=5.23.0,..." for the libraries that compute numbers ("=missing" for
    one not installed, such as the setfit extra)."""
    parts = []
    for name in LIBRARIES:
        try:
            parts.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name}=missing")
    parts.append(f"petbench={bench.__version__}")
    return ",".join(parts)


@functools.cache
def petbench_revision() -> str:
    """The PETBench commit the code comes from ("a1b2c3d", "+dirty" with uncommitted changes), or
    the installed version where the code is not a git checkout of its own."""
    checkout = Path(bench.__file__).resolve().parent.parent
    if not (checkout / ".git").exists():
        return f"{bench.__version__} (installed)"
    try:
        commit = _git(checkout, "rev-parse", "--short", "HEAD")
        changes = _git(checkout, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return f"{bench.__version__} (git unreadable)"
    return f"{commit}+dirty" if changes else commit


def _git(checkout: Path, *arguments: str) -> str:
    return subprocess.run(["git", "-C", str(checkout), *arguments], capture_output=True, text=True,
                          timeout=10, check=True).stdout.strip()


@functools.cache
def cpu_description() -> str:
    """The CPU model and the kernel level torch runs on it, e.g. "AMD EPYC 7B13 (torch: AVX512)":
    every timing names the CPU it was measured on (AVX2-only machines run about 3x slower)."""
    import platform

    import torch

    name = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    name = name or platform.processor() or platform.machine() or "unknown CPU"
    return f"{name} (torch: {torch.backends.cpu.get_cpu_capability()})"
