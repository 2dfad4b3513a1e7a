"""Which methods run on which encoder families, and what a checkpoint's family says about a grid,
checked before the first cell trains."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from bench.core.errors import BenchError
from bench.core.family import FAMILIES, Capability, refusal
from bench.core.loading import checkpoint_facts, load_config, load_tokenizer, model_family
from bench.core.method import METHODS, get_method
from bench.core.models import ModelRef
from bench.core.task import TaskData


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
    _check_weight_files(model)
    prompt_methods = [method for method in methods if Capability.MLM_HEAD in get_method(method).needs]
    if prompt_methods:
        tokenizer = load_tokenizer(model)
        if tokenizer.mask_token is None or tokenizer.mask_token_id is None:
            raise BenchError(f"the tokenizer of {model.display_name} has no mask token, which "
                             f"{', '.join(prompt_methods)} read label words at: use a masked-LM checkpoint "
                             f"or drop them from --methods")
    limit = family.max_positions(load_config(model))
    if limit is not None and max_length > limit:
        raise BenchError(f"--max-length {max_length} is longer than the {limit} positions of "
                         f"{model.display_name}: pass --max-length {limit} or less")
    if zero_shot and prompt_methods:
        for fact in checkpoint_facts(model):
            print(f"warning: zero-shot prompt scores on {model.display_name}: {fact}", file=sys.stderr)


def _check_weight_files(model: ModelRef) -> None:
    """A local folder's safetensors files open (a truncated download fails here once, not in every cell)."""
    if not model.is_local:
        return
    from safetensors import safe_open

    for path in sorted(Path(model.location).glob("*.safetensors")):
        try:
            with safe_open(str(path), framework="pt") as weights:
                weights.keys()
        except Exception as error:  # noqa: BLE001  (safetensors raises its own error types)
            raise BenchError(f"{path} cannot be read ({type(error).__name__}: {str(error)[:80]}); the file "
                             f"is damaged or incomplete: download or save the model again") from error


def check_tokenizer_covers(model: ModelRef, data: TaskData, where: str, *, sample: int = 200) -> None:
    """The model's tokenizer knows the task's text: a folder without its tokenizer files gets a stub
    vocabulary that turns every word into the unknown token, and would train at chance, silently."""
    tokenizer = load_tokenizer(model)
    unknown = tokenizer.unk_token_id
    if unknown is None:
        return
    texts = [" ".join(example.texts) for example in data.train[:sample]]
    ids = [token for row in tokenizer(texts, add_special_tokens=False)["input_ids"] for token in row]
    share = sum(token == unknown for token in ids) / max(1, len(ids))
    if share > 0.5:
        raise BenchError(f"the tokenizer of {model.display_name} turns {share:.0%} of {where}'s tokens "
                         f"into {tokenizer.unk_token}: the model folder lacks its own tokenizer files, or "
                         f"the model does not cover the task's language")
