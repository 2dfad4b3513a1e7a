"""The rows of a perf table, read from the method registry: every method (that trains in the shared
loop), the perf variants it declares, and the peers the methods name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.core.errors import BenchError
from bench.core.method import METHODS, Training, get_method
from bench.perf.peers import PEERS


@dataclass(frozen=True)
class PerfRow:
    name: str
    method: str | None  # None for a peer
    knobs: tuple[tuple[str, str], ...] = ()
    reference: str = ""  # the peer this row is compared with ("" for none)


def all_rows() -> list[PerfRow]:
    rows = []
    for name in METHODS.names():
        spec = METHODS.get(name)
        if not spec.available or spec.training != Training.LOOP:
            continue
        rows.append(PerfRow(name, name, (), spec.peer or ""))
        rows += [PerfRow(variant, name, tuple(details.knobs), details.peer or "")
                 for variant, details in spec.perf_variants.items()]
    return rows + [PerfRow(peer, None) for peer in PEERS]


def select_rows(names: str | Sequence[str]) -> list[PerfRow]:
    """'all', or the named rows (methods, variants, peers), in the order given."""
    rows = all_rows()
    if names == "all":
        return rows
    if not names:
        raise BenchError("--methods is empty: name perf rows, or 'all'")
    by_name = {row.name: row for row in rows}
    selected = []
    for name in names:
        if name not in by_name:
            get_method(name)  # an unknown name: the registry's error with suggestions
            raise BenchError(f"method {name} has no perf row (it trains outside the shared loop); "
                             f"rows: {', '.join(by_name)}")
        selected.append(by_name[name])
    return selected
