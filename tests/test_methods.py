"""Every method trains exactly what it claims, on BERT- and RoBERTa-shaped tiny models."""

import pytest
import torch

from bench.core.device import choose_device
from bench.core.method import METHODS, HeadOrigin
from bench.core.task import Example, get_task
from bench.training.loop import TrainConfig, make_optimizer, train_step
from tests.helpers import batch, build, run_tiny, tiny_grid

CPU = choose_device("cpu")
SENTENCES = [Example(("a great and moving film",), 1), Example(("dull , flat and far too long",), 0),
             Example(("loved every minute",), 1), Example(("hated it",), 0)]
PAIRS = [Example(("他说明天会下雨", "明天可能下雨"), 0), Example(("今天很热", "今天很冷"), 2),
         Example(("我喜欢猫", "我有一只猫"), 1)]
LOOP_METHODS = [name for name in METHODS.names()
                if METHODS.get(name).training == "loop" and METHODS.get(name).available]


def claimed(name: str, fragments: tuple[str, ...]) -> bool:
    return any(fragment in name for fragment in fragments)


@pytest.fixture(params=["bert", "roberta"])
def any_tiny_model(request, tiny_model, tiny_roberta):
    return tiny_model if request.param == "bert" else tiny_roberta


@pytest.mark.parametrize("method", LOOP_METHODS)
def test_trainable_parameters_are_exactly_the_claimed_ones(method, any_tiny_model):
    built = build(method, any_tiny_model)
    trainable = {name for name, p in built.model.named_parameters() if p.requires_grad}
    expected = {name for name, _ in built.model.named_parameters() if claimed(name, built.trains)}
    assert trainable == expected and trainable


@pytest.mark.parametrize("method", LOOP_METHODS)
def test_optimiser_steps_move_every_trainable_weight_and_no_frozen_one(method, any_tiny_model):
    torch.manual_seed(0)
    built = build(method, any_tiny_model)
    before = {name: p.detach().clone() for name, p in built.model.named_parameters()}
    config = TrainConfig(weight_decay=0.0)
    optimizer = make_optimizer(built.model, config, 1e-2)
    for _ in range(2):  # LoRA's B starts at zero, so A first gets a gradient at the second step
        train_step(built.model, batch(built, SENTENCES), optimizer, config, CPU)
    for name, parameter in built.model.named_parameters():
        if parameter.requires_grad:
            assert not torch.equal(parameter, before[name]), f"{name} did not move"
        else:
            assert torch.equal(parameter, before[name]), f"frozen {name} changed"


@pytest.mark.parametrize("method", [name for name in METHODS.names() if METHODS.get(name).available])
@pytest.mark.parametrize(("task", "examples"), [("sst2", SENTENCES), ("ocnli", PAIRS)])
def test_logits_have_shape_batch_by_labels(method, task, examples, tiny_model):
    built = build(method, tiny_model, task)
    inputs = batch(built, examples)
    labels = inputs.pop("labels")
    built.model.eval()
    with torch.no_grad():
        logits = built.model(**inputs)
    assert logits.shape == (len(examples), get_task(task).n_labels)
    assert torch.equal(labels, torch.tensor([example.label for example in examples]))


def test_a_new_mlm_head_trains_while_a_pretrained_one_stays_frozen(tmp_path, tiny_model):
    from transformers import AutoModel, AutoTokenizer

    AutoModel.from_pretrained(tiny_model).save_pretrained(tmp_path)  # encoder only: no MLM head
    AutoTokenizer.from_pretrained(tiny_model).save_pretrained(tmp_path)
    headless, pretrained = build("p_tuning", tmp_path), build("p_tuning", tiny_model)
    assert (headless.mlm_head.origin, pretrained.mlm_head.origin) == (HeadOrigin.NEW, HeadOrigin.PRETRAINED)
    head_trains = {any(p.requires_grad for n, p in built.model.named_parameters() if ".head." in n)
                   for built in (headless, pretrained)}
    assert head_trains == {True, False}


@pytest.mark.parametrize("method", [name for name in METHODS.names() if METHODS.get(name).available])
def test_reported_trainable_parameter_count_matches_the_module(method, tiny_model, data_dir, tmp_path):
    [record] = run_tiny(tiny_grid(tiny_model, methods=(method,)), tmp_path, data_dir)
    assert record.succeeded, record.error
    built = build(method, tiny_model)
    if built.fit is None:  # a fitted method's head exists only after the fit
        assert record.trainable_params == sum(p.numel() for p in built.model.parameters() if p.requires_grad)
        assert record.total_params == sum(p.numel() for p in built.model.parameters())
    assert 0 < record.trainable_params <= record.total_params


def test_prompt_tuning_vocab_init_starts_from_word_embeddings_and_random_init_does_not(tiny_model):
    def prompt_and_vocabulary(init: str) -> tuple[torch.Tensor, torch.Tensor]:
        peft_model = build("prompt_tuning", tiny_model, init=init).model.encoder
        prompt = peft_model.prompt_encoder["default"].embedding.weight
        return prompt, peft_model.get_input_embeddings().weight

    prompt, vocabulary = prompt_and_vocabulary("vocab")
    assert all((vocabulary == row).all(dim=1).any() for row in prompt)
    prompt, vocabulary = prompt_and_vocabulary("random")
    assert not any((vocabulary == row).all(dim=1).any() for row in prompt)


@pytest.mark.parametrize("method", ["lora", "prompt_tuning"])
def test_peft_backed_methods_build_without_peft_deprecation_warnings(method, tiny_model):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build(method, tiny_model)
    assert not [str(warning.message) for warning in caught if issubclass(warning.category, FutureWarning)]


def test_a_plugin_calling_peft_directly_on_a_loaded_encoder_prints_no_deprecation_warning(tiny_model):
    """An (IA)^3 plugin that calls peft.get_peft_model itself, not the quiet helper, stays quiet too."""
    import warnings

    from peft import IA3Config, get_peft_model

    from bench.core.models import resolve_model
    from methods.heads import Pooling, load_pooled_parts

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parts = load_pooled_parts(resolve_model(str(tiny_model)), get_task("sst2"), pooling=Pooling.CLS,
                                  max_length=16)
        get_peft_model(parts.encoder, IA3Config(target_modules=["key", "value", "intermediate.dense"],
                                                feedforward_modules=["intermediate.dense"]))
    assert not [str(warning.message) for warning in caught if issubclass(warning.category, FutureWarning)]
