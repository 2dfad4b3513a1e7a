"""The registry of report renderers: each writes one file of a run's reports from the report model.
The built-ins are results.csv, report.md, report.tex and report.html; a plugin adds one with
`register_renderer` (one file), and every report written afterwards includes it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.core.registry import Registry
from reports.model import ReportModel


@dataclass(frozen=True)
class RendererSpec:
    name: str
    file: str  # the file it writes in the run's folder
    render: Callable[[ReportModel], str | None]  # the file's text; None: nothing to write for this run
    order: int = 100  # lower first (report.md is returned to the caller, so it is the one to read)


RENDERERS: Registry[RendererSpec] = Registry("report renderer")


def register_renderer(name: str, *, file: str, order: int = 100):
    """Decorator: register render(model) -> text (or None to write nothing) as the writer of `file`."""

    def register(render: Callable[[ReportModel], str | None]):
        RENDERERS.add(name, RendererSpec(name, file, render, order))
        return render

    return register


def renderers_in_order() -> list[RendererSpec]:
    return sorted((RENDERERS.get(name) for name in RENDERERS), key=lambda spec: (spec.order, spec.name))
