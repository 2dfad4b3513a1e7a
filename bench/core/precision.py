"""What a user may ask of the device and the precision (plain names, importable without torch);
bench.core.device resolves them on the machine at hand."""

from __future__ import annotations

from enum import StrEnum


class Device(StrEnum):
    """What --device asks for; a DeviceChoice is CPU or CUDA."""

    AUTO = "auto"  # CUDA when a GPU is visible, else the CPU
    CPU = "cpu"
    CUDA = "cuda"


class Precision(StrEnum):
    AUTO = "auto"  # bf16 autocast on CUDA and on CPUs with bf16 instructions, else fp32
    FP32 = "fp32"
    BF16 = "bf16"  # bf16 autocast (on a CPU without native bf16 it is emulated: same numbers, slower)


DEVICE_HELP = "auto: CUDA when a GPU is visible, else the CPU"
PRECISION_HELP = ("auto: bf16 autocast on CUDA and on CPUs with native bf16 instructions (AVX512-BF16, AMX), "
                  "fp32 on other CPUs (forced bf16 on such a CPU is emulated: the same numbers, slower); "
                  "the record's dtype says which")
