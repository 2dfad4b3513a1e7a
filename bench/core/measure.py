"""Peak memory and timing: CUDA peak allocated on GPU, peak RSS growth on CPU."""

from __future__ import annotations

import os
import resource
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from bench.core.device import Device
from bench.core.processes import process_alive

_PROC_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kib(key: str) -> int | None:
    try:
        for line in _PROC_STATUS.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Linux resets VmHWM (the RSS high-water mark) when "5" is written to clear_refs."""
    try:
        with open(_CLEAR_REFS, "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


@dataclass
class PeakMemory:
    """Context manager: peak_bytes is GPU max allocated, or CPU peak RSS above the start."""

    device: torch.device
    peak_bytes: int = 0
    kind: str = ""
    _start_rss: int = field(default=0, repr=False)
    _hwm_reset: bool = field(default=False, repr=False)

    def __enter__(self) -> PeakMemory:
        if self.device.type == Device.CUDA:
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.kind = "cuda_max_allocated"
        else:
            self._hwm_reset = _reset_peak_rss()
            self._start_rss = (_status_kib("VmRSS") or 0) * 1024
            self.kind = "cpu_peak_rss_growth" if self._hwm_reset else "cpu_max_rss_growth"
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.device.type == Device.CUDA:
            torch.cuda.synchronize(self.device)
            self.peak_bytes = int(torch.cuda.max_memory_allocated(self.device))
            return
        if self._hwm_reset:
            peak = (_status_kib("VmHWM") or 0) * 1024
        else:  # lifetime maximum: growth only shows when this cell sets a new high
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self.peak_bytes = max(0, peak - self._start_rss)


@dataclass
class Stopwatch:
    """Accumulates seconds and samples over timed regions, synchronising the device first."""

    sync: object
    seconds: float = 0.0
    samples: int = 0

    _started: float | None = field(default=None, repr=False)

    def start(self) -> None:
        """Open a span of several timed calls (one device sync here and one at stop)."""
        if self._started is None:
            self.sync()
            self._started = time.perf_counter()

    def stop(self, samples: int) -> None:
        if self._started is not None:
            self.sync()
            self.seconds += time.perf_counter() - self._started
            self.samples += samples
            self._started = None



class RunningCells:
    """Marks this process as running a cell (a file named by its pid, holding its sweep's token, in a
    folder shared by every PETBench process on the machine) and keeps the most live cells seen at
    each sample: on the machine, whichever executor or sweep started them (what its throughput
    shared the cores with), and of this cell's own sweep."""

    def __init__(self, folder: Path | None = None, *, sweep: str = "") -> None:
        self.folder = folder or Path(tempfile.gettempdir()) / "petbench-running-cells"
        self.sweep = sweep
        self.most = 1
        self.most_of_sweep = 1

    def __enter__(self) -> RunningCells:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / str(os.getpid())).write_text(self.sweep, encoding="utf-8")
        self.sample()
        return self

    def sample(self) -> None:
        on_machine, of_sweep = self._live()
        self.most = max(self.most, on_machine)
        self.most_of_sweep = max(self.most_of_sweep, of_sweep)

    def __exit__(self, *exc_info: object) -> None:
        self.sample()
        (self.folder / str(os.getpid())).unlink(missing_ok=True)

    def _live(self) -> tuple[int, int]:
        live = of_sweep = 0
        for marker in self.folder.iterdir():
            if marker.name.isdigit() and process_alive(int(marker.name)):
                live += 1
                of_sweep += self.sweep != "" and _read(marker) == self.sweep
            else:
                marker.unlink(missing_ok=True)  # a process that died without cleaning up
        return live, max(of_sweep, 1)


def _read(marker: Path) -> str:
    try:
        return marker.read_text(encoding="utf-8")
    except OSError:  # removed between the listing and the read: its cell has ended
        return ""
