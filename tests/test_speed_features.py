"""Every speed feature has an off switch and gives the same results (or within bf16 tolerance)."""


import os

import pytest
import torch

from bench.core.device import DeviceChoice, choose_device
from bench.training.loop import (
    COMPILE_MIN_STEPS,
    EncodedSplits,
    Toggle,
    TrainConfig,
    make_optimizer,
    pad_multiple,
    prepare_model,
    should_compile,
    train_and_evaluate,
)
from tests.helpers import batch, build
from tests.test_methods import SENTENCES

CPU = choose_device("cpu", precision="fp32")  # exact comparisons: no bf16 autocast
CUDA_LIKE = DeviceChoice(torch.device("cuda"), torch.bfloat16)  # only its type is read here


def _seeded_build(method, model, **knobs):
    torch.manual_seed(0)
    return build(method, model, **knobs)


def _splits(built) -> EncodedSplits:
    encoded = tuple(built.encoder.encode(SENTENCES))
    return EncodedSplits(encoded * 4, encoded, encoded)


def _train(built, **config):
    torch.manual_seed(1)
    outcome = train_and_evaluate(built, data=_splits(built), config=TrainConfig(batch_size=4, **config),
                                 learning_rate=1e-2, epochs=3, device=CPU, metric="accuracy", seed=0)
    trained = {name: p.detach().clone() for name, p in built.model.named_parameters() if p.requires_grad}
    return outcome, trained


def test_lpt_hidden_state_cache_gives_the_same_training_and_skips_the_lower_layers(tiny_model):
    _, without = _train(_seeded_build("lpt", tiny_model))
    cached = _seeded_build("lpt", tiny_model, cache_below="true")
    calls = []
    cached.model.stack.encoder.encoder.layer[0].register_forward_hook(lambda *args: calls.append(1))
    _, with_cache = _train(cached)
    assert len(cached.model.cache) == len(SENTENCES)
    first_dev_pass = _evaluation_batches(cached)
    assert len(calls) == len(first_dev_pass)  # it fills the cache; training, dev and eval then reuse it
    for name in without:
        torch.testing.assert_close(with_cache[name], without[name], rtol=1e-4, atol=1e-5)


def test_reading_the_loss_every_step_or_every_ten_gives_identical_results(tiny_model):
    every_step, weights_a = _train(_seeded_build("p_tuning_v2", tiny_model), log_every=1)
    every_ten, weights_b = _train(_seeded_build("p_tuning_v2", tiny_model), log_every=10)
    assert every_step.eval_predictions == every_ten.eval_predictions
    assert all(torch.equal(weights_a[name], weights_b[name]) for name in weights_a)


def test_fused_adamw_on_the_cpu_trains_the_same_weights_as_the_per_tensor_loop(tiny_model):
    from bench.training.loop import make_optimizer

    fused_model = _seeded_build("full_ft", tiny_model).model
    assert make_optimizer(fused_model, TrainConfig(), 1e-3).defaults["fused"]
    assert not make_optimizer(fused_model, TrainConfig(fused_optimizer=False), 1e-3).defaults["fused"]
    fused, fused_weights = _train(_seeded_build("full_ft", tiny_model), fused_optimizer=True)
    looped, looped_weights = _train(_seeded_build("full_ft", tiny_model), fused_optimizer=False)
    assert fused.eval_predictions == looped.eval_predictions and fused.best_step == looped.best_step
    # rounding differs between the two kernels; Adam's normalisation scales it up where a gradient
    # is near zero, so the bound is well below a step (lr 1e-2) but above float epsilon
    for name in looped_weights:
        torch.testing.assert_close(fused_weights[name], looped_weights[name], rtol=1e-3, atol=1e-4)


LABEL_WORD_METHODS = [("hard_prompt", {}), ("p_tuning", {}), ("lpt", {"head": "mask"})]


@pytest.mark.parametrize(("method", "knobs"), LABEL_WORD_METHODS)
def test_label_word_logits_give_the_loss_and_predictions_of_the_whole_vocabulary(method, knobs, tiny_model):
    from torch.nn import functional

    from methods.mlm import VerbalizerScores

    cut = _seeded_build(method, tiny_model, **knobs)
    whole = _seeded_build(method, tiny_model, label_words_only="false", **knobs)
    widths = []
    verbalizer = next(module for module in cut.model.modules() if isinstance(module, VerbalizerScores))
    verbalizer.register_forward_pre_hook(lambda module, args: widths.append(args[0].shape[-1]))
    inputs = batch(cut, SENTENCES)
    labels = inputs.pop("labels")
    cut.model.eval(), whole.model.eval()
    with torch.no_grad():
        cut_scores, whole_scores = cut.model(**inputs), whole.model(**inputs)
    assert widths == [len(verbalizer.words)] and len(verbalizer.words) < 100  # never the vocabulary
    # the scores differ by one log-partition per example: the same softmax over labels
    torch.testing.assert_close(cut_scores.log_softmax(-1), whole_scores.log_softmax(-1), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(functional.cross_entropy(cut_scores, labels),
                               functional.cross_entropy(whole_scores, labels), rtol=1e-5, atol=1e-6)
    cut_outcome, cut_weights = _train(_seeded_build(method, tiny_model, **knobs))
    whole_outcome, whole_weights = _train(_seeded_build(method, tiny_model, label_words_only="false",
                                                        **knobs))
    assert cut_outcome.eval_predictions == whole_outcome.eval_predictions
    assert cut_weights.keys() == whole_weights.keys()
    # the same gradients up to rounding; vocabulary rows the loss does not read get exactly zero
    # here and rounding noise there, which Adam's normalisation scales up to ~lr-sized steps
    for name in whole_weights:
        torch.testing.assert_close(cut_weights[name], whole_weights[name], rtol=1e-3, atol=2e-4)


def test_label_words_of_different_token_counts_fall_back_to_the_whole_vocabulary():
    from methods.mlm import VerbalizerScores

    assert VerbalizerScores([[5], [6]], label_words_only=True).reads_label_words
    assert not VerbalizerScores([[5], [6, 7]], label_words_only=True).reads_label_words
    assert not VerbalizerScores([[5], [6]], label_words_only=False).reads_label_words


def test_frozen_weights_in_bf16_match_fp32_within_bf16_tolerance(tiny_model):
    autocast_cpu = DeviceChoice(torch.device("cpu"), torch.bfloat16)
    logits = []
    for frozen_bf16 in (False, True):
        built = _seeded_build("lora", tiny_model)
        model = prepare_model(built, TrainConfig(frozen_bf16=frozen_bf16), autocast_cpu).eval()
        frozen_dtypes = {p.dtype for p in model.parameters() if not p.requires_grad}
        assert frozen_dtypes == ({torch.bfloat16} if frozen_bf16 else {torch.float32})
        assert {p.dtype for p in model.parameters() if p.requires_grad} == {torch.float32}
        inputs = batch(built, SENTENCES)
        inputs.pop("labels")
        with torch.no_grad(), autocast_cpu.autocast():
            logits.append(model(**inputs).float())
    torch.testing.assert_close(logits[1], logits[0], rtol=2e-2, atol=2e-2)


def test_frozen_bf16_keeps_modules_with_a_trainable_parameter_in_fp32_so_bitfit_runs(tiny_model):
    autocast_cpu = DeviceChoice(torch.device("cpu"), torch.bfloat16)
    built = _seeded_build("full_ft", tiny_model)
    for name, parameter in built.model.named_parameters():  # BitFit: biases (and the head) train
        parameter.requires_grad_(name.endswith("bias") or name.startswith("head."))
    model = prepare_model(built, TrainConfig(), autocast_cpu)
    dense = model.encoder.encoder.layer[0].attention.output.dense
    assert dense.weight.dtype == dense.bias.dtype == torch.float32
    assert model.encoder.embeddings.word_embeddings.weight.dtype == torch.bfloat16  # all frozen
    inputs = batch(built, SENTENCES)
    labels = inputs.pop("labels")
    with autocast_cpu.autocast():
        loss = torch.nn.functional.cross_entropy(model(**inputs).float(), labels)
    loss.backward()
    assert dense.bias.grad is not None and torch.isfinite(loss)


@pytest.mark.parametrize("method", ["full_ft", "hard_prompt", "lpt", "prefix_tuning"])
def test_padding_batches_to_a_multiple_changes_no_logit(method, tiny_model):
    from bench.core.encoded import collate

    built = _seeded_build(method, tiny_model)
    built.model.eval()
    encoded = built.encoder.encode(SENTENCES)
    outputs = []
    for multiple in (1, 16):
        inputs = collate(encoded, built.encoder.pad_id, pad_to_multiple_of=multiple)
        inputs.pop("labels")
        assert inputs["input_ids"].shape[1] % multiple == 0
        with torch.no_grad():
            outputs.append(built.model(**inputs))
    torch.testing.assert_close(outputs[0], outputs[1], rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_a_compiled_training_forward_trains_the_same_weights_as_eager(tiny_model):
    def without_dropout():  # compiled dropout draws its masks from another generator
        built = _seeded_build("full_ft", tiny_model)
        for module in built.model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
        return built

    compiled, compiled_weights = _train(without_dropout(), compile=Toggle.ON)
    eager, eager_weights = _train(without_dropout(), compile=Toggle.OFF)
    assert compiled.eval_predictions == eager.eval_predictions
    for name in eager_weights:
        torch.testing.assert_close(compiled_weights[name], eager_weights[name], rtol=1e-3, atol=2e-4)


def test_compile_is_automatic_on_cuda_for_long_cells_only_and_has_an_off_switch():
    auto = TrainConfig()
    assert not should_compile(auto, CPU, 10 * COMPILE_MIN_STEPS)
    assert not should_compile(auto, CUDA_LIKE, COMPILE_MIN_STEPS - 1)
    assert should_compile(auto, CUDA_LIKE, COMPILE_MIN_STEPS)
    assert not should_compile(TrainConfig(compile=Toggle.OFF), CUDA_LIKE, 10 * COMPILE_MIN_STEPS)
    assert should_compile(TrainConfig(compile=Toggle.ON), CPU, 1)
    assert pad_multiple(auto, CUDA_LIKE) == 8 and pad_multiple(auto, CPU) == 1
    assert pad_multiple(TrainConfig(pad_to_multiple_of=1), CUDA_LIKE) == 1


@pytest.mark.parametrize("fused", [True, False])
def test_each_speed_switch_reaches_what_it_switches(fused, tiny_model):
    """fused_optimizer picks the optimiser kernel, pad_to_multiple_of the batch padding, compile the
    compilation, frozen_bf16 the dtype frozen weights are stored in under bf16 autocast."""
    built = build("lora", tiny_model)
    optimizer = make_optimizer(built.model, TrainConfig(fused_optimizer=fused), 1e-3)
    assert bool(optimizer.defaults.get("fused")) is fused
    assert pad_multiple(TrainConfig(pad_to_multiple_of=8), CPU) == 8 and pad_multiple(TrainConfig(), CPU) == 1
    assert not should_compile(TrainConfig(compile=Toggle.OFF), CPU, 10**6)
    assert should_compile(TrainConfig(compile=Toggle.ON), CPU, 1)
    bf16 = DeviceChoice(torch.device("cpu"), torch.bfloat16)
    for frozen_bf16, dtype in ((True, torch.bfloat16), (False, torch.float32)):
        model = prepare_model(build("lora", tiny_model), TrainConfig(frozen_bf16=frozen_bf16), bf16)
        frozen = [p for p in model.parameters() if not p.requires_grad]
        trained = [p for p in model.parameters() if p.requires_grad]
        assert {p.dtype for p in frozen} == {dtype} and {p.dtype for p in trained} == {torch.float32}


@pytest.mark.parametrize("native_bf16", [True, False])
def test_auto_precision_is_bf16_on_cpus_with_native_bf16_and_fp32_elsewhere(native_bf16, monkeypatch):
    import bench.core.device

    monkeypatch.setattr(bench.core.device, "cpu_has_bf16", lambda: native_bf16)
    assert choose_device("cpu").autocast_dtype == (torch.bfloat16 if native_bf16 else None)
    assert choose_device("cpu", precision="fp32").autocast_dtype is None


def test_an_isa_capped_at_avx2_runs_auto_in_fp32_as_an_avx2_only_cpu_would(monkeypatch):
    """ONEDNN_MAX_CPU_ISA / ATEN_CPU_CAPABILITY below AVX-512 take bf16 kernels away: auto is then fp32,
    so the AVX2 machines' path can be run on an AMX one."""
    import subprocess
    import sys

    from bench.core.device import cpu_has_bf16

    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert not cpu_has_bf16() and choose_device("cpu").autocast_dtype is None
    environment = {**os.environ, "ATEN_CPU_CAPABILITY": "avx2"}
    environment.pop("ONEDNN_MAX_CPU_ISA")
    probe = "from bench.core.device import cpu_has_bf16; print(cpu_has_bf16())"
    printed = subprocess.run([sys.executable, "-c", probe], env=environment, capture_output=True, text=True,
                             check=True).stdout.strip()
    assert printed == "False"


def test_each_cpu_kernel_level_compiles_into_its_own_kernel_cache_unless_the_user_names_one(monkeypatch):
    from bench.core.device import use_compile_cache_of_this_kernel_level

    folders = {}
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", "/tmp/torch-filled-in-its-default")
    for cap in ("AVX2", ""):
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
        use_compile_cache_of_this_kernel_level(None)  # the user named none when the process started
        folders[cap] = os.environ["TORCHINDUCTOR_CACHE_DIR"]
    assert folders["AVX2"].endswith("-avx2") and folders[""].endswith("-native")
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", "/somewhere/mine")
    use_compile_cache_of_this_kernel_level("/somewhere/mine")
    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == "/somewhere/mine"


def test_bf16_autocast_runs_on_any_cpu_and_matches_fp32_within_bf16_tolerance(tiny_model):
    """Forced bf16 runs where the CPU has no native bf16 too (emulated: slower, same rounding), so the
    bf16 path is tested on every machine."""
    from bench.core.device import Precision

    bf16 = choose_device("cpu", precision=Precision.BF16)
    assert bf16.autocast_dtype == torch.bfloat16 and CPU.autocast_dtype is None
    built = _seeded_build("full_ft", tiny_model)
    inputs = batch(built, SENTENCES)
    inputs.pop("labels")
    model = built.model.eval()
    with torch.no_grad():
        exact = model(**inputs)
        with bf16.autocast():
            reduced = model(**inputs).float()
    torch.testing.assert_close(reduced, exact, rtol=3e-2, atol=3e-2)


def _without_dropout(tiny_model, tmp_path):
    """The tiny model with dropout off everywhere, so that batch parts can be compared exactly."""
    import json
    import shutil

    folder = tmp_path / "no-dropout"
    shutil.copytree(tiny_model, folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize("method", ["full_ft", "hard_prompt", "lpt", "p_tuning"])
def test_a_batch_run_as_length_sorted_parts_trains_the_same_weights_as_the_whole_batch(method, tiny_model,
                                                                                       tmp_path):
    model = _without_dropout(tiny_model, tmp_path)

    def built():
        method_built = _seeded_build(method, model)
        for module in method_built.model.modules():
            if isinstance(module, torch.nn.Dropout):  # a head's own dropout too
                module.p = 0.0
        return method_built

    whole, whole_weights = _train(built(), micro_batches=1)
    for parts in (2, 3):
        split, split_weights = _train(built(), micro_batches=parts)
        assert split.eval_predictions == whole.eval_predictions and split.best_step == whole.best_step
        # the same gradients summed in another order: rounding that Adam scales up where a gradient is
        # near zero, as for the fused optimiser, far below a step (lr 1e-2)
        for name in whole_weights:
            torch.testing.assert_close(split_weights[name], whole_weights[name], rtol=1e-3, atol=1e-4)


def test_micro_batches_are_two_length_sorted_parts_on_a_cpu_and_the_whole_batch_on_cuda(tiny_model):
    from bench.training.batching import length_sorted_parts
    from bench.training.loop import micro_batches

    assert micro_batches(TrainConfig(), CPU) == 2 and micro_batches(TrainConfig(), CUDA_LIKE) == 1
    assert micro_batches(TrainConfig(micro_batches=4), CUDA_LIKE) == 4
    lengths = [9, 3, 7, 5, 30]
    assert length_sorted_parts([0, 1, 2, 3, 4], lengths, 2) == [[1, 3, 2], [0, 4]]
    assert length_sorted_parts([0, 4], lengths, 1) == [[0, 4]]
    assert length_sorted_parts([2], lengths, 3) == [[2]]
    built = build("full_ft", tiny_model)
    forwards = []
    built.model.register_forward_hook(lambda *args: forwards.append(1))
    train_and_evaluate(built, data=_splits(built), config=TrainConfig(batch_size=4, max_steps=1,
                                                                      micro_batches=2),
                       learning_rate=1e-3, epochs=1, device=CPU, metric="accuracy", seed=0)
    dev_and_eval = 3 * len(_evaluation_batches(built))  # dev before and after the step, then eval
    assert len(forwards) - dev_and_eval == 2  # one step, two parts


def _evaluation_batches(built) -> list[list[int]]:
    """The batches one dev or eval pass over SENTENCES runs in."""
    from bench.training.batching import evaluation_batches

    lengths = [len(example.input_ids) for example in built.encoder.encode(SENTENCES)]
    return evaluation_batches(lengths, TrainConfig().eval_batch_size)
