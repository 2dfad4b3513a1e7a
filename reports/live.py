"""The reports rewritten while a sweep runs, so that a user can read them mid-way."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.core.records import CellResult
from reports import write_reports

# the share of the sweep's wall time the rewrites may take: a rewrite (under a second without the
# figures) after every cell of seconds-long cells would slow the sweep down for little gain
SHARE = 0.2


@dataclass
class LiveReport:
    """A sweep listener: after each stored cell, rewrite the reports' tables (the figures wait for the
    final report), unless the last rewrite took more than `share` of the time since it began."""

    out_dir: Path
    reference_files: Sequence[Path] = ()
    command: str = ""  # the sweep's command line, for report.html's header
    share: float = SHARE
    name: str = "rewriting the report"
    _last_start: float | None = field(default=None, repr=False)
    _last_cost: float = field(default=0.0, repr=False)

    def __call__(self, record: CellResult) -> None:
        now = time.perf_counter()
        if self._last_start is not None and self._last_cost > self.share * (now - self._last_start):
            return  # the next cell's record (or the final report) brings it up to date
        write_reports(self.out_dir, reference_files=self.reference_files, command=self.command,
                      figures=False)
        self._last_start, self._last_cost = now, time.perf_counter() - now
