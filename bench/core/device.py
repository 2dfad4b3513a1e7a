"""The one place that chooses the device and the autocast dtype."""

from __future__ import annotations

import contextlib
import getpass
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from bench.core.errors import BenchError
from bench.core.precision import Device, Precision


@dataclass(frozen=True)
class DeviceChoice:
    device: torch.device
    autocast_dtype: torch.dtype | None  # None: full fp32

    @property
    def is_cuda(self) -> bool:
        return self.device.type == Device.CUDA

    @property
    def dtype_name(self) -> str:
        return "fp32" if self.autocast_dtype is None else str(self.autocast_dtype).removeprefix("torch.")

    @property
    def name(self) -> str:
        if self.is_cuda:
            return torch.cuda.get_device_name(self.device)
        return f"cpu ({torch.get_num_threads()} threads)"

    def in_fp32(self) -> DeviceChoice:
        return DeviceChoice(self.device, None)

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def synchronize(self) -> None:
        if self.is_cuda:
            torch.cuda.synchronize(self.device)


# oneDNN ISA caps (ONEDNN_MAX_CPU_ISA) below which its bf16 kernels are emulated, not native
_ISAS_WITHOUT_BF16 = ("sse41", "avx", "avx2", "avx2_vnni", "avx2_vnni_2", "avx512_core", "avx512_core_vnni")


def cpu_has_bf16() -> bool:
    """Native bf16 matrix instructions (AVX512-BF16 or AMX) that this process may use: oneDNN's bf16
    kernels beat fp32 there. ATEN_CPU_CAPABILITY=avx2 or ONEDNN_MAX_CPU_ISA=AVX2 turn them off, so an
    AMX machine can run as an AVX2-only one would."""
    try:
        hardware = bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
        kernels = torch.backends.cpu.get_cpu_capability().upper().startswith("AVX512")
    except (AttributeError, RuntimeError):
        return False
    isa_cap = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().lower()
    return hardware and kernels and isa_cap not in _ISAS_WITHOUT_BF16


def cpu_kernel_level() -> str:
    """The CPU kernels this process runs: torch's level and oneDNN's cap ("avx512-native", "avx2-avx2")."""
    isa_cap = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().lower() or "native"
    return f"{torch.backends.cpu.get_cpu_capability().lower()}-{isa_cap}"


# the user's own compiled-kernel cache, as the process started (torch fills the variable in itself)
_USERS_COMPILE_CACHE = os.environ.get("TORCHINDUCTOR_CACHE_DIR")


def use_compile_cache_of_this_kernel_level(users: str | None = _USERS_COMPILE_CACHE) -> None:
    """torch's compiled-kernel cache does not tell the CPU kernel levels apart: kernels an AVX-512 run
    built, reused under ATEN_CPU_CAPABILITY=avx2, trained to NaN on an AMX Xeon. One cache per level
    (under the temporary folder), unless the user named one (`users`)."""
    if users:
        return
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no name for this uid (a container): the uid itself
        user = str(os.getuid())
    folder = Path(tempfile.gettempdir()) / f"petbench-inductor-{user}-{cpu_kernel_level()}"
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(folder)


@dataclass(frozen=True)
class Runtime:
    """Where and in which precision cells run, resolved before the first cell: part of every cell's
    identity, so fp32 and bf16 runs are never taken for repeats of each other."""

    device: Device = Device.CPU  # CPU or CUDA, never AUTO: resolved
    dtype: Precision = Precision.FP32  # FP32 or BF16 (autocast), never AUTO: resolved

    @classmethod
    def resolve(cls, requested: Device | str = Device.AUTO, *, precision: Precision | str = Precision.AUTO,
                gpus_elsewhere: bool = False) -> Runtime:
        """What `choose_device` picks here (a one-line error for a missing GPU or bf16). With
        gpus_elsewhere (cells that reserve GPUs on a cluster) auto means CUDA whatever this machine has."""
        if gpus_elsewhere and requested == Device.AUTO:
            return cls(Device.CUDA, Precision.FP32 if precision == Precision.FP32 else Precision.BF16)
        chosen = choose_device(requested, precision=precision)
        dtype = Precision.FP32 if chosen.autocast_dtype is None else Precision.BF16
        return cls(Device(chosen.device.type), dtype)

    def in_fp32(self) -> Runtime:
        return Runtime(self.device, Precision.FP32)

    def choose(self) -> DeviceChoice:
        """This runtime on the machine at hand (a one-line error where it cannot run here)."""
        return choose_device(self.device, precision=self.dtype)


def choose_device(requested: Device | str = Device.AUTO, *,
                  precision: Precision | str = Precision.AUTO) -> DeviceChoice:
    """cuda when available (or asked for), else CPU; bf16 autocast on CUDA and on CPUs with native
    bf16, fp32 on other CPUs, unless the precision says otherwise."""
    if requested not in tuple(Device):
        raise BenchError(f"unknown device {requested!r}: use auto, cpu or cuda")
    requested = Device(requested)
    if requested == Device.CUDA and not torch.cuda.is_available():
        raise BenchError("--device cuda was asked for but no CUDA GPU is visible; use --device cpu")
    precision = Precision(precision)
    if requested != Device.CPU and torch.cuda.is_available():
        return DeviceChoice(torch.device("cuda"), None if precision == Precision.FP32 else torch.bfloat16)
    bf16 = precision == Precision.BF16 or (precision == Precision.AUTO and cpu_has_bf16())
    return DeviceChoice(torch.device("cpu"), torch.bfloat16 if bf16 else None)
