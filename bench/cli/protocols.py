"""`run --protocol NAME|FILE`: a protocol is a set of run options; options given on the command line
win over the protocol's (give --model or --methods to run it on yours)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from bench.core.errors import BenchError
from bench.core.protocol import PROTOCOLS, ProtocolSpec

PROTOCOL_OPTION = "--protocol"


def resolve_protocol(value: str) -> ProtocolSpec:
    """A built-in protocol by name, or the (single) protocol of a file."""
    from bench.cli.plugins import load_builtins

    load_builtins()
    if value.endswith((".yaml", ".yml")) or "/" in value:
        from tasks.protocol_files import load_protocol_file

        specs = load_protocol_file(Path(value).expanduser(), register=False)
        if len(specs) != 1:
            raise BenchError(f"protocol file {value} defines {len(specs)} protocols: keep one protocol "
                             f"per file passed to --protocol")
        return specs[0]
    return PROTOCOLS.get(value)


def protocol_arguments(spec: ProtocolSpec) -> list[str]:
    """The run options a protocol stands for, checked against the loop's settings."""
    from bench.training.loop import TrainConfig

    fields = {field.name for field in dataclasses.fields(TrainConfig)}
    arguments = ["--tasks", ",".join(spec.tasks)]
    if spec.methods:
        arguments += ["--methods", ",".join(spec.methods)]
    if spec.model:
        arguments += ["--model", spec.model]
    if spec.split:
        arguments += ["--split", spec.split]
    if spec.seeds:
        arguments += ["--seeds", ",".join(str(seed) for seed in spec.seeds)]
    if spec.shots:
        arguments += ["--shots", spec.shots]
    for name, value in spec.train:
        if name not in fields:
            raise BenchError(f"protocol {spec.name} ({spec.origin}): train.{name} is not a loop setting; "
                             f"they are {', '.join(sorted(fields))}")
        arguments += [f"--{name.replace('_', '-')}", value]
    for axis, values in spec.search:
        arguments += ["--search", f"{axis}={','.join(values)}"]
    for target, value in spec.knobs:
        arguments += ["--set", f"{target}={value}"]
    return arguments


def expand_protocol(argv: Sequence[str]) -> list[str]:
    """`run --protocol X OPTIONS` as `run <X's options> --protocol X OPTIONS`: the later options win
    (repeatable ones, --search and --set, add to the protocol's)."""
    argv = list(argv)
    for index, token in enumerate(argv):
        if token == PROTOCOL_OPTION and index + 1 < len(argv):
            value, rest = argv[index + 1], argv[:index] + argv[index + 2:]
            break
        if token.startswith(PROTOCOL_OPTION + "="):
            value, rest = token.split("=", 1)[1], argv[:index] + argv[index + 1:]
            break
    else:
        return argv
    return [rest[0], *protocol_arguments(resolve_protocol(value)), PROTOCOL_OPTION, value, *rest[1:]]
