"""The run as a library: a RunSpec (plain data), `run(spec)` (train, store, report; returns the
records and a DataFrame) and `dry_run(spec)` (the plan and its estimate). The command line is
arguments -> RunSpec -> run. Importing this package loads no numeric library."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.session.spec import RunSpec

if TYPE_CHECKING:
    from bench.session.runner import RunResult

__all__ = ["RunResult", "RunSpec", "dry_run", "run"]


def run(spec: RunSpec) -> RunResult:
    """Run the spec's grid (see bench.session.runner.run)."""
    from bench.session.runner import run as run_spec

    return run_spec(spec)


def dry_run(spec: RunSpec) -> list[str]:
    """The spec's plan and estimate, as lines (see bench.session.runner.dry_run)."""
    from bench.session.runner import dry_run as plan

    return plan(spec)


def __getattr__(name: str):
    if name == "RunResult":
        from bench.session.runner import RunResult

        return RunResult
    raise AttributeError(name)
