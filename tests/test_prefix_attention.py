"""Prefix methods survive the rename of the cache argument (past_key_values -> cache in 5.24)."""

import pytest
import torch

from bench.core.prefixes import active_prefixes, use_interface_prefix_attention
from bench.perf.peers import cache_argument, expose_past_key_values
from methods.prefix_attention import PrefixEncoder

PREFIX = 3


def _tiny_encoder(architecture: str):
    from transformers import BertConfig, BertModel, RobertaConfig, RobertaModel

    sizes = dict(vocab_size=60, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                 intermediate_size=48, max_position_embeddings=40)
    torch.manual_seed(0)
    if architecture == "roberta":
        return RobertaModel(RobertaConfig(**sizes, pad_token_id=1), add_pooling_layer=False).eval()
    return BertModel(BertConfig(**sizes), add_pooling_layer=False).eval()


@pytest.mark.parametrize("architecture", ["bert", "roberta"])
def test_injected_prefixes_equal_the_models_own_cache_argument(architecture):
    """Our attention hook computes what the installed transformers computes when the same prefixes
    arrive as past keys/values through its forward (under whichever name it takes)."""
    from transformers import DynamicCache

    encoder = _tiny_encoder(architecture)
    input_ids = torch.tensor([[5, 6, 7, 8, 9], [5, 10, 11, 1, 1]])
    attention_mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    positions = torch.arange(2, 7).expand(2, 5)  # RoBERTa's positions start after the pad id
    prefixes = PrefixEncoder(length=PREFIX, n_layers=2, n_heads=2, head_dim=16, projection_hidden=8)
    keys, values = prefixes()
    cache = DynamicCache(config=encoder.config)
    for layer in range(2):
        cache.update(keys[layer].expand(2, -1, -1, -1), values[layer].expand(2, -1, -1, -1), layer)
    with torch.no_grad():
        with_prefix_mask = torch.cat([torch.ones(2, PREFIX, dtype=torch.long), attention_mask], 1)
        reference = encoder(input_ids=input_ids, position_ids=positions, attention_mask=with_prefix_mask,
                            **{cache_argument(encoder): cache}).last_hidden_state
        plain = encoder(input_ids=input_ids, attention_mask=attention_mask,
                        position_ids=positions).last_hidden_state
        use_interface_prefix_attention(encoder)
        with active_prefixes(keys, values):
            injected = encoder(input_ids=input_ids, attention_mask=attention_mask,
                               position_ids=positions).last_hidden_state
        unprefixed = encoder(input_ids=input_ids, attention_mask=attention_mask,
                             position_ids=positions).last_hidden_state
    valid = attention_mask.bool()
    torch.testing.assert_close(injected[valid], reference[valid], rtol=1e-5, atol=1e-5)
    assert not torch.allclose(injected[valid], plain[valid], atol=1e-3)
    torch.testing.assert_close(unprefixed, plain)  # outside active_prefixes: plain attention


def test_prefix_encoder_shapes_with_and_without_the_projection():
    for hidden in (None, 8):
        keys, values = PrefixEncoder(length=4, n_layers=3, n_heads=2, head_dim=5, projection_hidden=hidden)()
        assert keys.shape == values.shape == (3, 2, 4, 5)


class _RenamedBackbone(torch.nn.Module):
    def forward(self, input_ids=None, cache=None, **kwargs):
        return {"cache": cache}


class _OldBackbone(torch.nn.Module):
    def forward(self, input_ids=None, past_key_values=None, **kwargs):
        return {"cache": past_key_values}


class _Classifier(torch.nn.Module):
    def __init__(self, backbone: torch.nn.Module) -> None:
        super().__init__()
        self.base_model = backbone

    def forward(self, input_ids=None, **kwargs):
        return self.base_model(input_ids=input_ids, **kwargs)


@pytest.mark.parametrize("backbone", [_RenamedBackbone, _OldBackbone])
def test_the_peft_peer_hands_prefixes_on_under_either_argument_name(backbone):
    import inspect

    classifier = _Classifier(backbone())
    expose_past_key_values(classifier)
    assert "past_key_values" in inspect.signature(classifier.forward).parameters
    assert classifier(input_ids=1, past_key_values="prefix") == {"cache": "prefix"}
