"""Which methods run on which encoder families, and what a checkpoint's family says about a grid,
checked before the first cell trains."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from bench.core.errors import BenchError
from bench.core.family import FAMILIES, Capability, refusal
from bench.core.loading import checkpoint_facts, load_config, model_family
from bench.core.method import METHODS, get_method
from bench.core.models import ModelRef


def refusals() -> list[tuple[str, str, str]]:
    """(family, method, why) for every registered combination refused before the first cell."""
    found = []
    for family in FAMILIES:
        for method in METHODS:
            reason = refusal(FAMILIES.get(family), get_method(method).needs)
            if reason:
                found.append((family, method, reason))
    return found


def check_model_for_grid(model: ModelRef, methods: Sequence[str], *, max_length: int,
                         zero_shot: bool) -> None:
    """One-line errors for a model no registered family serves, a method its family cannot run, or an
    input longer than its positions; a warning for checkpoint facts that make zero-shot scores noise."""
    family = model_family(model)
    for method in methods:
        reason = refusal(family, get_method(method).needs)
        if reason:
            raise BenchError(f"method {method} cannot run on {family.info.name} models "
                             f"({model.display_name}): {reason}; drop it from --methods "
                             f"(`run_bench.py list --families` shows what runs where)")
    limit = family.max_positions(load_config(model))
    if limit is not None and max_length > limit:
        raise BenchError(f"--max-length {max_length} is longer than the {limit} positions of "
                         f"{model.display_name}: pass --max-length {limit} or less")
    if zero_shot and any(Capability.MLM_HEAD in get_method(method).needs for method in methods):
        for fact in checkpoint_facts(model):
            print(f"warning: zero-shot prompt scores on {model.display_name}: {fact}", file=sys.stderr)
