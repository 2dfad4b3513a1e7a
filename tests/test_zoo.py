"""The PETuning zoo: each peft-backed method builds exactly peft's own model for the configuration
written out from peft's docs; LoRA+ and AdaLoRA get what they need from the shared loop through
generic hooks; bottleneck adapters start as the pretrained model; each family names its layers'
modules by role; every method's own search space is valid and reachable by name."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from bench.core.device import choose_device
from bench.core.errors import BenchError
from bench.core.family import FAMILIES, ModuleRole
from bench.core.method import METHODS
from bench.core.task import Example
from bench.training.loop import TrainConfig, make_optimizer, train_step
from tests import test_families
from tests.helpers import batch, build, run_tiny, tiny_grid

CPU = choose_device("cpu")
SENTENCES = [Example(("a great and moving film",), 1), Example(("dull , flat and far too long",), 0),
             Example(("loved every minute",), 1), Example(("hated it",), 0)]
# BERT's feed-forward output, not attention.output.dense (which peft's suffix match takes as well)
BERT_FFN_OUT = r".*layer\.\d+\.output\.dense"
BERT_EVERY_MATRIX = (r".*layer\.\d+\.(attention\.self\.(query|key|value)|attention\.output\.dense"
                     r"|intermediate\.dense|output\.dense)")
family_models = test_families.family_models  # the tiny model of every family, built once a session


def _reference(name: str):
    """peft's own configuration of each method at our defaults, written from peft's docs."""
    from peft import (
        AdaLoraConfig,
        BeftConfig,
        IA3Config,
        LNTuningConfig,
        LoHaConfig,
        LoKrConfig,
        LoraConfig,
        OFTConfig,
        VeraConfig,
    )

    lora = {"r": 8, "lora_alpha": 16, "lora_dropout": 0.1, "target_modules": ["query", "value"]}
    return {
        "dora": lambda: LoraConfig(**lora, use_dora=True),
        "rslora": lambda: LoraConfig(**lora, use_rslora=True),
        "lora_init": lambda: LoraConfig(**lora, init_lora_weights="pissa"),
        "lora_plus": lambda: LoraConfig(**lora),
        "adalora": lambda: AdaLoraConfig(target_r=8, init_r=12, lora_alpha=16, lora_dropout=0.1,
                                         total_step=1000, target_modules=BERT_EVERY_MATRIX),
        "ia3": lambda: IA3Config(target_modules=rf".*attention\.self\.(key|value)|{BERT_FFN_OUT}",
                                 feedforward_modules=BERT_FFN_OUT),
        "vera": lambda: VeraConfig(r=256, target_modules=["query", "value"], save_projection=False),
        "loha": lambda: LoHaConfig(r=8, alpha=8, target_modules=["query", "value"]),
        "lokr": lambda: LoKrConfig(r=8, alpha=8, target_modules=["query", "value"]),
        "oft": lambda: OFTConfig(r=0, oft_block_size=32, target_modules=["query", "value"]),
        "ln_tuning": lambda: LNTuningConfig(target_modules=r".*layer\.\d+\.(attention\.)?output\.LayerNorm"),
        "beft": lambda: BeftConfig(),  # peft's own default modules for BERT: the value projections
    }[name]()


PEFT_METHODS = ["adalora", "beft", "dora", "ia3", "ln_tuning", "loha", "lokr", "lora_init", "lora_plus",
                "oft", "rslora", "vera"]


@pytest.mark.parametrize("method", PEFT_METHODS)
def test_our_build_is_pefts_own_model_on_the_same_weights(method, tiny_model):
    from peft import get_peft_model
    from transformers import AutoModel

    torch.manual_seed(0)
    ours = build(method, tiny_model)
    reference = get_peft_model(AutoModel.from_pretrained(tiny_model), _reference(method))
    missing, unexpected = reference.load_state_dict(ours.model.encoder.state_dict(), strict=False)
    assert not unexpected and all("pooler" in name for name in missing), (missing, unexpected)
    inputs = batch(ours, SENTENCES)
    inputs.pop("labels")
    ours.model.eval(), reference.eval()
    with torch.no_grad():
        logits = ours.model(**inputs)
        hidden = reference(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                           token_type_ids=inputs["token_type_ids"]).last_hidden_state
        expected = ours.model.head(hidden, inputs["attention_mask"])
    torch.testing.assert_close(logits, expected, rtol=1e-5, atol=1e-6)


def test_lora_plus_trains_each_parameter_at_the_rate_of_pefts_own_loraplus_optimizer(tiny_model):
    from peft.optimizers import create_loraplus_optimizer

    built = build("lora_plus", tiny_model, lr_ratio="16")
    ours = make_optimizer(built.model, TrainConfig(), 1e-3, factors=built.learning_rate_factors)
    peft = create_loraplus_optimizer(built.model, torch.optim.AdamW, lr=1e-3, loraplus_lr_ratio=16)

    def rates(optimizer: torch.optim.Optimizer) -> dict[int, float]:
        return {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}

    assert rates(ours) == pytest.approx(rates(peft))
    b_rates = [rates(ours)[id(p)] for name, p in built.model.named_parameters() if "lora_B" in name]
    assert b_rates and b_rates == pytest.approx([1.6e-2] * len(b_rates))


def test_adalora_learns_the_cells_step_count_and_prunes_to_its_budget(tiny_model):
    built = build("adalora", tiny_model, rank="2", warmup_share="0.2", final_share="0.3")
    hooks, config = built.step_hooks, TrainConfig(weight_decay=0.0)
    optimizer = make_optimizer(built.model, config, 1e-2)
    hooks.start(10)
    tuner = built.model.encoder.base_model
    schedule = tuner.peft_config["default"]
    assert (schedule.total_step, schedule.tinit, schedule.tfinal) == (10, 2, 3)
    assert tuner.rankallocator.peft_config is schedule
    for step in range(1, 11):
        train_step(built.model, batch(built, SENTENCES), optimizer, config, CPU, hooks=hooks, step=step)
    singular_values = [p for name, p in built.model.named_parameters() if "lora_E" in name]
    kept = sum(int((values != 0).sum()) for values in singular_values)
    assert kept == 2 * len(singular_values)  # the final budget: rank 2 a module on average


@pytest.mark.parametrize("steps", [1, 2, 3])
def test_adalora_runs_cells_too_short_for_its_schedule(tiny_model, steps):
    """A smoke test's one-step cell: the final allocation never comes before an importance update."""
    built = build("adalora", tiny_model)
    hooks, config = built.step_hooks, TrainConfig(weight_decay=0.0)
    optimizer = make_optimizer(built.model, config, 1e-2)
    hooks.start(steps)
    schedule = built.model.encoder.base_model.peft_config["default"]
    assert schedule.tinit + schedule.tfinal <= schedule.total_step - 2
    for step in range(1, steps + 1):
        train_step(built.model, batch(built, SENTENCES), optimizer, config, CPU, hooks=hooks, step=step)


def test_adalora_and_lora_plus_cells_run_in_the_shared_loop(tiny_model, data_dir, tmp_path):
    records = run_tiny(tiny_grid(tiny_model, methods=("adalora", "lora_plus")), tmp_path, data_dir)
    assert [record.succeeded for record in records] == [True, True], [record.error for record in records]


@pytest.mark.parametrize("method", ["houlsby", "pfeiffer"])
def test_bottleneck_adapters_start_as_the_pretrained_encoder(method, tiny_model):
    from methods.bottleneck import BottleneckAdapter

    torch.manual_seed(0)
    adapted = build(method, tiny_model)
    adapters = [module for module in adapted.model.modules() if isinstance(module, BottleneckAdapter)]
    assert len(adapters) == (8 if method == "houlsby" else 4)  # the tiny model's 4 layers
    inputs = batch(adapted, SENTENCES)
    inputs.pop("labels")
    adapted.model.eval()
    with torch.no_grad():
        with_adapters = adapted.model.hidden(inputs["input_ids"], inputs["attention_mask"])
        for adapter in adapters:
            adapter.adapter_up.weight.fill_(0.5)
        moved = adapted.model.hidden(inputs["input_ids"], inputs["attention_mask"])
        for adapter in adapters:
            adapter.forward = adapter.projection.forward
        without = adapted.model.hidden(inputs["input_ids"], inputs["attention_mask"])
    torch.testing.assert_close(with_adapters, without)
    assert not torch.allclose(moved, without)


@pytest.mark.parametrize("family", FAMILIES.names())
def test_every_family_names_its_layers_modules_by_role(family, family_models):
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(family_models(family))
    entry = FAMILIES.get(family)
    layers = len(entry.blocks(encoder))
    for role in ModuleRole:
        names = entry.module_names(encoder, [role])
        kinds = {type(encoder.get_submodule(name)) for name in names}
        assert kinds <= ({nn.LayerNorm} if role.value.endswith("norm") else {nn.Linear}), (role, kinds)
        # one a layer (ModernBERT's first layer has no attention norm)
        assert layers - 1 <= len(names) <= layers, (role, names)
    attention_out = set(entry.module_names(encoder, [ModuleRole.OUTPUT]))
    assert not attention_out & set(entry.module_names(encoder, [ModuleRole.FFN_OUT]))


def test_a_family_without_bias_terms_refuses_bitfit_before_the_first_cell(family_models):
    from bench.core.models import resolve_model
    from bench.training.compatibility import check_model_for_grid, refusals

    assert [(family, method) for family, method, _ in refusals()] == [("modernbert", "bitfit")]
    modernbert = resolve_model(str(family_models("modernbert")))
    refused = "method bitfit cannot run on modernbert models .*no bias terms"
    with pytest.raises(BenchError, match=refused) as error:
        check_model_for_grid(modernbert, ["lora", "bitfit"], max_length=64, zero_shot=False)
    assert "\n" not in str(error.value)


def test_named_search_spaces_give_each_method_its_own_grid():
    from bench.training.cells import check_search_axes
    from bench.training.search_spaces import named_search, search_space_names

    assert search_space_names() == ["default", "lora_family"]
    grid = ["lora", "dora", "ia3", "full_ft"]
    axes = named_search("default", grid)
    assert [axis.target for axis in axes] == ["lora.rank", "dora.rank", "ia3.learning_rate"]
    check_search_axes(axes, grid)
    assert [axis.target for axis in named_search("lora_family", grid)] == ["lora.rank", "dora.rank"]
    with pytest.raises(BenchError, match="no such search space; known: default, lora_family"):
        named_search("lora_famly", grid)
    with pytest.raises(BenchError, match="none of the grid's methods"):
        named_search("lora_family", ["ia3"])


def test_every_new_method_has_a_documented_search_space():
    zoo = {"adalora", "beft", "bitfit", "dora", "houlsby", "ia3", "ln_tuning", "loha", "lokr", "lora",
           "lora_init", "lora_plus", "oft", "pfeiffer", "rslora", "vera"}
    for name in zoo:
        spec = METHODS.get(name)
        assert spec.search_space and all(axis.source for axis in spec.search_space), name


def test_a_search_space_value_its_knob_refuses_fails_at_registration():
    from dataclasses import dataclass

    from bench.core.method import SearchRange, register_method
    from methods.heads import PooledConfig

    @dataclass(frozen=True)
    class Config(PooledConfig):
        pass

    with pytest.raises(BenchError, match="learning_rate=-1.0 is out of range"):
        register_method("bad_space", config=Config,
                        search_space=(SearchRange("learning_rate", ("1e-3", "-1"), "test"),))(print)
    assert "bad_space" not in METHODS
