"""Layer-by-layer access to a BERT/RoBERTa-style encoder, for methods that act between layers."""

from __future__ import annotations

import torch
from torch import nn

from bench.core.errors import BenchError


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

    def embed(self, input_ids: torch.Tensor | None = None, inputs_embeds: torch.Tensor | None = None,
              token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Embedding-layer output (positions, token types, LayerNorm) for ids or word vectors."""
        return self.encoder.embeddings(input_ids=input_ids, inputs_embeds=inputs_embeds,
                                       token_type_ids=token_type_ids)

    def hidden_states(self, hidden: torch.Tensor, attention_mask: torch.Tensor, *,
                      up_to: int) -> list[torch.Tensor]:
        """[embedding output, layer 1 output, ..., layer up_to output]: the layers above are
        never run, which is what skipping unused top layers saves."""
        mask = self._layer_mask(hidden, attention_mask)
        states = [hidden]
        for layer in self.encoder.encoder.layer[:up_to]:
            states.append(self._run_layer(layer, states[-1], mask))
        return states

    def run(self, hidden: torch.Tensor, attention_mask: torch.Tensor, *, start: int = 0,
            stop: int | None = None) -> torch.Tensor:
        """Apply layers[start:stop] to hidden states under a (batch, seq) padding mask."""
        mask = self._layer_mask(hidden, attention_mask)
        for layer in self.encoder.encoder.layer[start:stop]:
            hidden = self._run_layer(layer, hidden, mask)
        return hidden

    def _layer_mask(self, hidden: torch.Tensor, attention_mask: torch.Tensor):
        """The padding mask in the form the model's attention implementation expects."""
        from transformers.masking_utils import create_bidirectional_mask

        return create_bidirectional_mask(config=self.encoder.config, inputs_embeds=hidden,
                                         attention_mask=attention_mask)

    @staticmethod
    def _run_layer(layer: nn.Module, hidden: torch.Tensor, mask) -> torch.Tensor:
        output = layer(hidden, attention_mask=mask)
        return output[0] if isinstance(output, tuple) else output
