"""What `check` lets pass: the gate's floors, as plain data (the command line reads the defaults
without loading the analysis)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tolerances:
    accuracy_points: float = 1.0  # the floor: a score drop smaller than this (points, x100) is never gated
    accuracy_sems: float = 2.0  # --against-paper only: standard errors of the run's mean (paper's std)
    throughput: float = 0.15  # relative drop in train samples/s on a GPU (same device only)
    cpu_throughput: float | None = None  # on a CPU; None: reported, not gated (shared cores are noisy)
    memory: float = 0.15  # relative rise in peak memory
