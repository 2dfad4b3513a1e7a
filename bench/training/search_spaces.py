"""Named search spaces: `--search default` runs every method of the grid over its own small grid (its
registration's `search_space`), `--search lora_family` only the LoRA variants' (a method's
`search_groups`); a method outside the named space runs its defaults. Each becomes METHOD.KNOB axes,
which apply to their own method only, so one method's grid never crosses another's."""

from __future__ import annotations

from collections.abc import Sequence

from bench.core.errors import BenchError
from bench.core.method import METHODS, get_method
from bench.training.cells import SearchAxis

DEFAULT_SPACE = "default"


def search_space_names() -> list[str]:
    """`default` and every group a registered method's search space belongs to."""
    groups = {group for name in METHODS for group in get_method(name).search_groups}
    return [DEFAULT_SPACE, *sorted(groups)]


def named_search(name: str, method_names: Sequence[str]) -> tuple[SearchAxis, ...]:
    """The METHOD.KNOB axes of the named space for the grid's methods, in the grid's order; a one-line
    error for an unknown name or a space none of the grid's methods has."""
    known = search_space_names()
    if name not in known:
        raise BenchError(f"--search {name}: no such search space; known: {', '.join(known)} (or KNOB=V1,V2)")
    axes = []
    for method in method_names:
        spec = get_method(method)
        if name == DEFAULT_SPACE or name in spec.search_groups:
            axes += [SearchAxis(f"{method}.{grid.knob}", grid.values) for grid in spec.search_space]
    if not axes:
        members = [method for method in METHODS if get_method(method).search_space
                   and (name == DEFAULT_SPACE or name in get_method(method).search_groups)]
        raise BenchError(f"--search {name}: none of the grid's methods ({', '.join(method_names)}) has a "
                         f"search space there; methods with one: {', '.join(members) or 'none'}")
    return tuple(axes)


def describe_search_space(method: str) -> list[str]:
    """A method's own grid, one line per knob with its values and where they come from."""
    return [f"{grid.knob}: {', '.join(grid.values)} ({grid.source})"
            for grid in get_method(method).search_space]
