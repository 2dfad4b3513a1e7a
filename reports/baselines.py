"""Named baselines: a run's successful cells stored as NAME.csv with its environment, in the baselines
folder (--baselines-dir, $PETBENCH_BASELINES, else ./baselines)."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

from bench.core.errors import BenchError
from bench.core.store import ResultsStore, write_atomically
from reports.aggregate import cells_frame

BASELINES_ENV = "PETBENCH_BASELINES"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def baselines_dir(option: str | None = None) -> Path:
    """--baselines-dir, else $PETBENCH_BASELINES, else ./baselines (a folder of the project the user
    works in, meant to be committed beside it)."""
    return Path(option or os.environ.get(BASELINES_ENV) or "baselines").expanduser()


def resolve_baseline(value: str, directory: Path | None = None) -> Path:
    """A path to a CSV as given, or the name of a stored baseline."""
    path = Path(value).expanduser()
    if path.suffix == ".csv" or path.exists():
        return path
    return (directory or baselines_dir()) / f"{value}.csv"


def store_baseline(out_dir: Path, name: str, directory: Path | None = None) -> Path:
    """Write NAME.csv (successful cells) and NAME.json (where and with what it was measured)."""
    if not _NAME.match(name):
        raise BenchError(f"baseline name {name!r} must be letters, digits, '.', '_' or '-'")
    records = [record for record in ResultsStore(out_dir).latest() if record.succeeded]
    if not records:
        raise BenchError(f"no successful cells in {out_dir}: run a sweep before storing a baseline")
    frame = cells_frame(records)
    directory = directory or baselines_dir()
    path = directory / f"{name}.csv"
    write_atomically(path, frame.to_csv(index=False))
    environment = {"name": name, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                   "source": str(out_dir), "cells": len(frame),
                   "devices": sorted(set(frame["device"])), "models": sorted(set(frame["model"])),
                   "versions": sorted(set(frame["versions"]))}
    write_atomically(directory / f"{name}.json", json.dumps(environment, indent=2) + "\n")
    return path
