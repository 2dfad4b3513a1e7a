"""Model FLOPs per training sample and MFU against the device's dense bf16 peak."""

from __future__ import annotations

from torch import nn

# dense bf16 tensor-core peaks (vendor datasheets, SXM parts), matched against the device name
BF16_PEAK_FLOPS = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "L4": 121e12}


def forward_flops_per_sample(config, seq_len: int) -> float:
    """2 FLOPs per multiply-add: the layers' projections plus attention scores and mixing."""
    hidden, layers = config.hidden_size, config.num_hidden_layers
    projections = 2 * seq_len * (4 * hidden * hidden + 2 * hidden * config.intermediate_size)
    attention = 2 * 2 * seq_len * seq_len * hidden
    return layers * (projections + attention)


def train_flops_per_sample(model: nn.Module, config, seq_len: int, *, first_grad_layer: int = 0,
                           first_forward_layer: int = 0) -> float:
    """Forward of the layers that run (all, unless cached states skip the lower ones), plus
    activation gradients for the layers gradients flow through, plus weight gradients for the
    share of layer weights that train (full fine-tuning: 3x forward)."""
    forward = forward_flops_per_sample(config, seq_len)
    layers = config.num_hidden_layers
    forward_share = (layers - first_forward_layer) / layers
    activation_share = (layers - first_grad_layer) / layers
    layer_params = [p for name, p in model.named_parameters() if ".layer." in name]
    total = sum(p.numel() for p in layer_params) or 1
    weight_share = sum(p.numel() for p in layer_params if p.requires_grad) / total
    return forward * (forward_share + activation_share + weight_share)


def peak_flops(device_name: str) -> float | None:
    for key, flops in BF16_PEAK_FLOPS.items():
        if key in device_name:
            return flops
    return None
