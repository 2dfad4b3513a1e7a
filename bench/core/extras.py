"""Optional libraries: the one spelling of how to install an extra, and the one check that a
library a feature needs is importable (without importing it)."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

from bench.core.errors import BenchError

PACKAGE = "petbench"


def install_hint(extra: str) -> str:
    """The command that installs an extra of PETBench."""
    return f"pip install '{PACKAGE}[{extra}]'"


def missing(modules: Sequence[str]) -> tuple[str, ...]:
    """The modules of `modules` that are not installed."""
    return tuple(name for name in modules if importlib.util.find_spec(name) is None)


def require(modules: Sequence[str], *, extra: str, what: str) -> None:
    """A one-line error naming `what` needs the missing modules, and the extra that installs them."""
    absent = missing(modules)
    if absent:
        raise BenchError(f"{what} needs {', '.join(absent)}: {install_hint(extra)}")
