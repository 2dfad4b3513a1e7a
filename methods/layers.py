"""Layer-by-layer access to a BERT/RoBERTa-style encoder, for methods that act between layers."""

from __future__ import annotations

import torch
from torch import nn

from bench.errors import BenchError


class EncoderStack(nn.Module):
    """The embeddings and the transformer layers of an encoder, callable over a layer range."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        layers = getattr(getattr(encoder, "encoder", None), "layer", None)
        if not isinstance(layers, nn.ModuleList):
            raise BenchError(f"{type(encoder).__name__} has no encoder.layer list: layer-level "
                             f"methods support BERT/RoBERTa-style encoders")
        self.encoder = encoder
        self.n_layers = len(layers)
        self.width = encoder.config.hidden_size

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.encoder.embeddings(input_ids=input_ids)

    def run(self, hidden: torch.Tensor, attention_mask: torch.Tensor, *, start: int = 0,
            stop: int | None = None) -> torch.Tensor:
        """Apply layers[start:stop] to hidden states under a (batch, seq) padding mask."""
        from transformers.masking_utils import create_bidirectional_mask

        mask = create_bidirectional_mask(config=self.encoder.config, inputs_embeds=hidden,
                                         attention_mask=attention_mask)
        for layer in self.encoder.encoder.layer[start:stop]:
            output = layer(hidden, attention_mask=mask)
            hidden = output[0] if isinstance(output, tuple) else output
        return hidden
