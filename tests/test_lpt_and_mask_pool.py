"""Method-specific claims: LPT keeps no graph below layer k; mask_pool pools exactly the masks."""

import pytest
import torch

from methods.mask_pool import MaskPoolModel
from tests.helpers import batch, build
from tests.test_methods import SENTENCES


def _layer_inputs(built) -> list[torch.Tensor]:
    """Run one batch in training mode, recording the hidden states entering each layer."""
    seen: list[torch.Tensor] = []
    layers = built.model.stack.encoder.encoder.layer
    handles = [layer.register_forward_pre_hook(lambda _m, args: seen.append(args[0])) for layer in layers]
    inputs = batch(built, SENTENCES)
    inputs.pop("labels")
    built.model.train()
    logits = built.model(**inputs)
    for handle in handles:
        handle.remove()
    return seen, inputs, logits


@pytest.mark.parametrize("generator", ["npg", "mppg", "appg"])
@pytest.mark.parametrize("head", ["cls", "mask"])
def test_lpt_keeps_no_autograd_graph_below_the_insertion_layer(tiny_model, generator, head):
    built = build("lpt", tiny_model, generator=generator, head=head, layer="2")
    seen, _, logits = _layer_inputs(built)
    assert [h.requires_grad for h in seen] == [False, False, True, True]  # 4 layers, k = 2
    assert logits.requires_grad


@pytest.mark.parametrize(("layer", "length"), [(1, 3), (3, 7)])
def test_lpt_prompt_lengthens_the_sequence_only_from_layer_k_on(tiny_model, layer, length):
    built = build("lpt", tiny_model, layer=str(layer), prompt_length=str(length))
    seen, inputs, _ = _layer_inputs(built)
    width = inputs["input_ids"].shape[1]
    assert [h.shape[1] for h in seen] == [width if i < layer else width + length for i in range(4)]


def test_lpt_default_layer_is_the_middle_one(tiny_model):
    assert build("lpt", tiny_model).model.layer == 2


def test_mask_pool_pools_exactly_the_mask_tokens(tiny_model):
    built = build("mask_pool", tiny_model, n_masks="3", prompt_length="2", layers="[-2, -3]",
                  mask_pooling="max")
    inputs = batch(built, SENTENCES)
    mask_id = built.encoder.tokenizer.mask_token_id
    positions = inputs["mask_positions"]
    assert positions.shape == (len(SENTENCES), 3)
    assert torch.all(inputs["input_ids"].gather(1, positions) == mask_id)
    # the prompt slots hold the mask id too, but are not pooled
    assert not set(positions.flatten().tolist()) & set(inputs["prompt_positions"].flatten().tolist())
    model: MaskPoolModel = built.model.eval()
    inputs.pop("labels")
    with torch.no_grad():
        pooled = model.pooled(**inputs)
        embeddings = model.encoder.get_input_embeddings()(inputs["input_ids"])
        from methods.soft_prompt import place_prompts

        embeddings = place_prompts(embeddings, inputs["prompt_positions"], model.prompt())
        states = model.encoder(inputs_embeds=embeddings, attention_mask=inputs["attention_mask"],
                               output_hidden_states=True).hidden_states
    rows = torch.arange(len(SENTENCES)).unsqueeze(1)
    expected = torch.cat([states[-2][rows, positions], states[-3][rows, positions]], dim=1).max(dim=1).values
    torch.testing.assert_close(pooled, expected)


def test_mask_pool_avg_plus_max_doubles_the_classifier_input(tiny_model):
    single = build("mask_pool", tiny_model, mask_pooling="max").model.classifier.in_features
    double = build("mask_pool", tiny_model, mask_pooling="avg+max").model.classifier.in_features
    assert double == 2 * single == 64
