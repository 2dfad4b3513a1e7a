"""The common base of the family entries: a BERT-shaped encoder (embeddings, a list of layers, each
called as layer(hidden, attention_mask=mask), attention through transformers' AttentionInterface).
A family differs in a few declared facts (where its layers and MLM head are, whether it has a pooler
and token types); families that differ in how a layer is called override `layer_stack`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from bench.core.errors import BenchError
from bench.core.family import FamilyInfo, MlmHeadParts, ModuleRole
from bench.core.prefixes import use_interface_prefix_attention

BERT_PROJECTIONS = {"query": "query", "key": "key", "value": "value", "output": "attention.output.dense"}
# each role's module inside one BERT layer (encoder.layer.N)
BERT_LAYER_MODULES = {
    ModuleRole.QUERY: "attention.self.query", ModuleRole.KEY: "attention.self.key",
    ModuleRole.VALUE: "attention.self.value", ModuleRole.OUTPUT: "attention.output.dense",
    ModuleRole.FFN_IN: "intermediate.dense", ModuleRole.FFN_OUT: "output.dense",
    ModuleRole.ATTENTION_NORM: "attention.output.LayerNorm", ModuleRole.FFN_NORM: "output.LayerNorm",
}


def attribute(root: nn.Module, path: str) -> nn.Module | None:
    """root.a.b for path "a.b", None where a step is missing or None."""
    node: nn.Module | None = root
    for name in path.split("."):
        node = getattr(node, name, None)
        if node is None:
            return None
    return node


class FirstToken(nn.Module):
    """(batch, seq, width) -> (batch, width): the [CLS] state, for poolers that expect it."""

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden[:, 0]


def run_layer(layer: nn.Module, hidden: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    output = layer(hidden, *args, **kwargs)
    return output[0] if isinstance(output, tuple) else output


class BertLikeStack:
    """Layer-by-layer access to a BERT-shaped encoder (see bench.core.family.LayerStack)."""

    def __init__(self, encoder: nn.Module, *, layers: Sequence[nn.Module], embed_projection: str = "",
                 token_types: bool = True, final: nn.Module | None = None) -> None:
        self.encoder, self.layers = encoder, list(layers)
        self.n_layers, self.width = len(self.layers), encoder.config.hidden_size
        self.projection = attribute(encoder, embed_projection) if embed_projection else None
        self.token_types, self.final = token_types, final

    def embed(self, *, input_ids: torch.Tensor | None = None, inputs_embeds: torch.Tensor | None = None,
              token_type_ids: torch.Tensor | None = None,
              attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        extra = {"token_type_ids": token_type_ids} if self.token_types and token_type_ids is not None else {}
        hidden = self.encoder.embeddings(input_ids=input_ids, inputs_embeds=inputs_embeds, **extra)
        return self.projection(hidden) if self.projection is not None else hidden

    def context(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> dict:
        """Keyword arguments every layer takes for this batch (the mask in the model's form)."""
        from transformers.masking_utils import create_bidirectional_mask

        return {"attention_mask": create_bidirectional_mask(config=self.encoder.config, inputs_embeds=hidden,
                                                            attention_mask=attention_mask)}

    def layer(self, position: int, hidden: torch.Tensor, context: dict) -> torch.Tensor:
        return run_layer(self.layers[position], hidden, **context)

    def finish(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.final(hidden) if self.final is not None else hidden

    def run(self, hidden: torch.Tensor, attention_mask: torch.Tensor, *, start: int = 0,
            stop: int | None = None) -> torch.Tensor:
        stop = self.n_layers if stop is None else stop
        context = self.context(hidden, attention_mask)
        for position in range(start, stop):
            hidden = self.layer(position, hidden, context)
        return self.finish(hidden) if stop == self.n_layers else hidden

    def hidden_states(self, hidden: torch.Tensor, attention_mask: torch.Tensor, *,
                      up_to: int) -> list[torch.Tensor]:
        context = self.context(hidden, attention_mask)
        states = [hidden]
        for position in range(up_to):
            states.append(self.layer(position, states[-1], context))
        if up_to == self.n_layers:
            states[-1] = self.finish(states[-1])
        return states

    def modules_below(self, layer: int) -> list[nn.Module]:
        below = [self.encoder.embeddings, *self.layers[:layer]]
        return [*below, self.projection] if self.projection is not None else below


def _default_projections() -> Mapping[str, str]:
    return BERT_PROJECTIONS


def _bert_layer_modules() -> Mapping[ModuleRole, str]:
    return BERT_LAYER_MODULES


@dataclass(frozen=True)
class BertLikeFamily:
    """A family entry for BERT-shaped encoders; the fields are what such families differ in."""

    info: FamilyInfo
    tiny_config: Callable[[int, Mapping[str, int]], object]  # (vocab size, special ids) -> a tiny config
    mlm_head_modules: tuple[str, ...] = ("cls",)  # the masked LM's head modules, applied in order
    layers_path: str = "encoder.layer"
    embed_projection: str = ""  # a projection from embedding width to hidden width, where there is one
    has_pooler: bool = True
    has_token_types: bool = True
    position_offset: int = 0  # position-table rows the input cannot use (RoBERTa: padding_idx + 1)
    projection_names: Mapping[str, str] = field(default_factory=_default_projections)
    # each ModuleRole's module, as a path inside one of the family's layers (`blocks`)
    layer_module_paths: Mapping[ModuleRole, str] = field(default_factory=_bert_layer_modules)

    def mlm_head(self, masked_lm: nn.Module) -> MlmHeadParts:
        modules = [getattr(masked_lm, name) for name in self.mlm_head_modules]
        head = modules[0] if len(modules) == 1 else nn.Sequential(*modules)
        return MlmHeadParts(head, masked_lm.get_output_embeddings())

    def after_load(self, model: nn.Module) -> None:
        pass

    def loads_pooler(self, config) -> bool:
        return self.has_pooler

    def take_pooler(self, encoder: nn.Module) -> nn.Module | None:
        pooler = getattr(encoder, "pooler", None)
        encoder.pooler = None
        return pooler

    def token_types(self, config) -> bool:
        return self.has_token_types

    def max_positions(self, config) -> int | None:
        return config.max_position_embeddings - self.position_offset

    def layer_modules(self, encoder: nn.Module) -> list[nn.Module]:
        return list(attribute(encoder, self.layers_path))

    def layer_stack(self, encoder: nn.Module) -> BertLikeStack:
        return BertLikeStack(encoder, layers=self.layer_modules(encoder),
                             embed_projection=self.embed_projection, token_types=self.has_token_types)

    def attention_shape(self, config) -> tuple[int, int, int]:
        heads = config.num_attention_heads
        return config.num_hidden_layers, heads, config.hidden_size // heads

    def install_prefix_attention(self, encoder: nn.Module) -> None:
        use_interface_prefix_attention(encoder)

    def projections(self, names: Sequence[str]) -> list[str]:
        return list(dict.fromkeys(self.projection_names.get(name, name) for name in names))

    def blocks(self, encoder: nn.Module) -> list[nn.Module]:
        """The distinct layers that `layer_module_paths` are relative to (a shared layer once)."""
        return list(dict.fromkeys(self.layer_modules(encoder)))

    def module_names(self, encoder: nn.Module, roles: Sequence[ModuleRole]) -> list[str]:
        missing = [role.value for role in roles if role not in self.layer_module_paths]
        if missing:
            raise BenchError(f"encoder family {self.info.name} names no module for {', '.join(missing)}: add "
                             f"it to the family's layer_module_paths")
        where = {id(module): name for name, module in encoder.named_modules()}
        names = []
        for block in self.blocks(encoder):
            for role in roles:
                path = self.layer_module_paths[role]
                module = attribute(block, path)
                if module is not None and next(module.parameters(), None) is not None:
                    names.append(f"{where[id(block)]}.{path}")
        return list(dict.fromkeys(names))

    def checkpoint_facts(self, config, location: str) -> tuple[str, ...]:
        return ()

    def tiny_masked_lm(self, vocab_size: int, special_ids: Mapping[str, int]) -> nn.Module:
        from transformers import AutoModelForMaskedLM

        return AutoModelForMaskedLM.from_config(self.tiny_config(vocab_size, special_ids))


TINY_SIZES = dict(hidden_size=64, num_hidden_layers=4, num_attention_heads=4, intermediate_size=96,
                  max_position_embeddings=256)


def patch_attention(encoder: nn.Module, class_name: str, prefixed_forward: Callable) -> None:
    """Route every `class_name` module's forward through prefixed_forward(module, original, ...), for
    families whose attention does not go through AttentionInterface. Patching twice is a no-op."""
    import functools

    for module in encoder.modules():
        if type(module).__name__ == class_name and not getattr(module, "_petbench_prefixed", False):
            module.forward = functools.partial(prefixed_forward, module, module.forward)
            module._petbench_prefixed = True
