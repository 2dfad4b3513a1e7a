"""The report writer as a sink: while the run goes on it rewrites the reports' tables after a stored
cell (so a user can read them mid-way, figures left for the end); when the run ends it writes the
final reports once (results.csv, report.md with its figures, report.tex, report.html)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.core.records import CellResult
from bench.core.sinks import SinkClosing, SinkContext, register_sink
from bench.core.store import RESULTS_FILE
from reports.writer import write_report_files

# the share of the run's wall time the mid-run rewrites may take: a rewrite (under a second without
# the figures) after every cell of seconds-long cells would slow the run down for little gain
SHARE = 0.2


@register_sink("report", always=True)
@dataclass
class ReportSink:
    """After each stored cell, rewrite the tables unless the last rewrite took more than `share` of the
    time since it began, and never after the run's last cell (the final report follows at once)."""

    context: SinkContext
    share: float = SHARE
    _cells: int | None = field(default=None, repr=False)
    _seen: int = field(default=0, repr=False)
    _last_start: float | None = field(default=None, repr=False)
    _last_cost: float = field(default=0.0, repr=False)

    def start(self, cells: int) -> None:
        self._cells, self._seen = cells, 0

    def record(self, record: CellResult) -> None:
        self._seen += 1
        if self._cells is not None and self._seen >= self._cells:
            return  # the last cell: close writes the final report
        now = time.perf_counter()
        if self._last_start is not None and self._last_cost > self.share * (now - self._last_start):
            return  # the next cell's record (or the final report) brings it up to date
        write_report_files(self.context.out_dir, reference_files=self.context.reference_files,
                           command=self.context.command, figures=False)
        self._last_start, self._last_cost = now, time.perf_counter() - now

    def close(self) -> SinkClosing:
        return write_final_reports(self.context.out_dir, reference_files=self.context.reference_files,
                                   command=self.context.command)


def write_final_reports(out: Path, *, reference_files=(), command: str = "",
                        nothing_stored_is_ok: bool = True) -> SinkClosing:
    """The reports of a stored run (nothing when no record was stored, unless nothing_stored_is_ok is
    False: then that is a one-line BenchError). When the disk refuses them
    (full, read-only) one line on stderr says so and where the records are: each file is replaced whole
    or left as it was."""
    if nothing_stored_is_ok and not (out / RESULTS_FILE).exists():
        return SinkClosing()
    try:
        written = write_report_files(out, reference_files=reference_files, command=command)
    except OSError as error:
        print(f"error: could not write the reports in {out} ({error.strerror or error}); the stored records "
              f"are in {out / RESULTS_FILE}: free space, then run `run_bench.py report {out}`",
              file=sys.stderr)
        return SinkClosing(ok=False)
    return SinkClosing(text=written.markdown, files=written.files)
