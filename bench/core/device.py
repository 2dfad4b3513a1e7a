"""The one place that chooses the device and the autocast dtype."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from bench.core.errors import BenchError


@dataclass(frozen=True)
class DeviceChoice:
    device: torch.device
    autocast_dtype: torch.dtype | None  # None: full fp32

    @property
    def dtype_name(self) -> str:
        return "fp32" if self.autocast_dtype is None else str(self.autocast_dtype).removeprefix("torch.")

    @property
    def name(self) -> str:
        if self.device.type == "cuda":
            return torch.cuda.get_device_name(self.device)
        return f"cpu ({torch.get_num_threads()} threads)"

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def choose_device(requested: str = "auto", *, bf16: bool = True) -> DeviceChoice:
    """cuda with bf16 autocast when available (or asked for), else CPU in fp32."""
    if requested not in ("auto", "cpu", "cuda"):
        raise BenchError(f"unknown device {requested!r}: use auto, cpu or cuda")
    if requested == "cuda" and not torch.cuda.is_available():
        raise BenchError("--device cuda was asked for but no CUDA GPU is visible; use --device cpu")
    if requested != "cpu" and torch.cuda.is_available():
        return DeviceChoice(torch.device("cuda"), torch.bfloat16 if bf16 else None)
    return DeviceChoice(torch.device("cpu"), None)
