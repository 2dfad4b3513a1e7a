"""A protocol as a fragment of a run spec: its tasks, splits, seeds, shots, model, methods, loop
settings, search and selection fill what the spec leaves open; what the spec gives wins (its search
axes and method settings add to the protocol's)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bench.core.errors import BenchError
from bench.core.protocol import PROTOCOLS, ProtocolSpec
from bench.session.spec import RunSpec
from bench.training.settings import TrainConfig


def resolve_protocol(value: str) -> ProtocolSpec:
    """A built-in protocol by name, or the (single) protocol of a file."""
    from bench.session.plugins import load_builtins

    load_builtins()
    if value.endswith((".yaml", ".yml")) or "/" in value:
        from tasks.protocol_files import load_protocol_file

        specs = load_protocol_file(Path(value).expanduser(), register=False)
        if len(specs) != 1:
            raise BenchError(f"protocol file {value} defines {len(specs)} protocols: keep one protocol "
                             f"per file passed to --protocol")
        return specs[0]
    return PROTOCOLS.get(value)


def with_protocol(spec: RunSpec) -> RunSpec:
    """The spec with its protocol's settings wherever the spec gives none (no protocol: unchanged)."""
    if spec.protocol is None:
        return spec
    protocol = resolve_protocol(spec.protocol)
    fields = {field.name for field in dataclasses.fields(TrainConfig)}
    for name, _ in protocol.train:
        if name not in fields:
            raise BenchError(f"protocol {protocol.name} ({protocol.origin}): train.{name} is not a loop "
                             f"setting; they are {', '.join(sorted(fields))}")
    given_train = dict(spec.train)
    selection = getattr(protocol, "selection_text", None)
    return spec.replace(
        tasks=spec.tasks if spec.tasks is not None else protocol.tasks,
        methods=spec.methods if spec.methods is not None else (protocol.methods or None),
        model=spec.model if spec.model is not None else protocol.model,
        split=spec.split if spec.split is not None else protocol.split,
        seeds=spec.seeds if spec.seeds is not None else (tuple(map(str, protocol.seeds)) or None),
        shots=spec.shots if spec.shots is not None else protocol.shots,
        train=(*[(name, value) for name, value in protocol.train if name not in given_train], *spec.train),
        search=(*[f"{axis}={','.join(values)}" for axis, values in protocol.search], *spec.search),
        knobs=(*[f"{target}={value}" for target, value in protocol.knobs], *spec.knobs),
        selection=spec.selection if spec.selection is not None else selection,
    )
