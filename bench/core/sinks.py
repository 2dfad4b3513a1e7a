"""Result sinks: where a run's records go as they arrive. Each sink is opened before the first cell,
is handed every stored record, and is closed when the run ends. The report writer is one (always
opened); trackers such as MLflow and W&B are others (`--log-to`); a plugin file adds one with
`register_sink`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bench.core.errors import BenchError, one_line
from bench.core.extras import require
from bench.core.records import CellResult
from bench.core.registry import Registry


@dataclass(frozen=True)
class SinkContext:
    """What a sink knows of the run: its output folder (local stores go under it), the name its
    records are grouped by, the published results to set beside them and the command that ran."""

    out_dir: Path
    name: str
    reference_files: tuple[Path, ...] = ()
    command: str = ""

    @classmethod
    def for_out(cls, out_dir: Path, **options) -> SinkContext:
        resolved = Path(out_dir).resolve()
        return cls(resolved, resolved.name, **options)


@dataclass(frozen=True)
class SinkClosing:
    """What a sink reports when it closes: False when it could not write what it owes (the run then
    exits 1), a text to show the user, and the files it wrote."""

    ok: bool = True
    text: str = ""
    files: tuple[Path, ...] = ()


class Sink(Protocol):
    def start(self, cells: int) -> None:
        """The run is about to train this many cells."""

    def record(self, record: CellResult) -> None:
        """A cell's record, already safe in the results store."""

    def close(self) -> SinkClosing | None:
        """The run has ended (also after an interruption)."""


@dataclass(frozen=True)
class SinkSpec:
    """A registered sink: how to open it, the libraries it needs (with the extra that installs them),
    and whether every run opens it (the report) or only those that name it (`--log-to`)."""

    name: str
    open: Callable[[SinkContext], Sink]
    requires: tuple[str, ...] = ()
    extra: str = ""
    always: bool = False

    def require_available(self) -> None:
        require(self.requires, extra=self.extra or self.name, what=f"--log-to {self.name}")


SINKS: Registry[SinkSpec] = Registry("result sink")


def register_sink(name: str, *, requires: tuple[str, ...] | str = (), extra: str = "", always: bool = False):
    """Decorator: register a class (or function) taking a SinkContext and returning a Sink."""
    needs = (requires,) if isinstance(requires, str) else tuple(requires)

    def register(opener: Callable[[SinkContext], Sink]):
        SINKS.add(name, SinkSpec(name, opener, needs, extra, always))
        return opener

    return register


def sink_names(value: str | None) -> tuple[str, ...]:
    """The sinks a run opens: every always-on one, then the comma-separated names asked for, each
    registered and with its libraries installed (checked before any cell)."""
    asked = tuple(dict.fromkeys(part.strip() for part in (value or "").split(",") if part.strip()))
    for name in asked:
        SINKS.get(name).require_available()
    always = tuple(name for name in SINKS.names() if SINKS.get(name).always)
    return tuple(dict.fromkeys([*always, *asked]))


@dataclass(frozen=True)
class OpenSink:
    """An opened sink under the name its warnings use."""

    name: str
    sink: Sink

    def start(self, cells: int) -> None:
        self.sink.start(cells)

    def record(self, record: CellResult) -> None:
        self.sink.record(record)

    def close(self) -> SinkClosing | None:
        return self.sink.close()


def open_sinks(names: Sequence[str], context: SinkContext) -> list[OpenSink]:
    """Open each sink; one that cannot start (a bad tracking URI) fails before any cell trains."""
    opened = []
    for name in names:
        label = name if SINKS.get(name).always else f"--log-to {name}"
        try:
            opened.append(OpenSink(label, SINKS.get(name).open(context)))
        except BenchError:
            raise
        except Exception as error:  # noqa: BLE001  (a tracker's own failure, shown in one line)
            raise BenchError(f"{label} could not start ({one_line(error)})") from error
    return opened


def close_sinks(opened: Sequence[OpenSink]) -> list[SinkClosing]:
    """Close every sink; one that fails to close costs a warning, not the others."""
    closings = []
    for entry in opened:
        try:
            closing = entry.close()
        except Exception as error:  # noqa: BLE001
            print(f"warning: {entry.name} did not close cleanly ({one_line(error)})", file=sys.stderr)
            continue
        if closing is not None:
            closings.append(closing)
    return closings


@dataclass(frozen=True)
class CallbackSink:
    """A function of each record as a sink (tests, notebooks)."""

    callback: Callable[[CellResult], None]

    def start(self, cells: int) -> None:
        pass

    def record(self, record: CellResult) -> None:
        self.callback(record)

    def close(self) -> None:
        return None
