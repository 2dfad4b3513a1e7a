"""The weight-free perf command on a tiny shape: every row from the registry has positive figures."""

import pytest

from bench.cli.main import main
from bench.core.method import METHODS
from bench.perf.flops import forward_flops_per_sample, peak_flops
from bench.perf.peers import PEERS
from bench.perf.rows import all_rows, select_rows
from bench.perf.runner import PerfConfig, run_perf
from bench.perf.shapes import SHAPES, materialise_shape, shape_config, synthetic_vocabulary
from bench.perf.worker import PerfResult
from bench.session.plugins import WORKER_PRELOAD, PluginSetup
from reports.perf import write_perf


def test_the_rows_are_the_registrys_methods_their_variants_and_peers():
    names = [row.name for row in all_rows()]
    loop_methods = [name for name in METHODS.names()
                    if METHODS.get(name).training == "loop" and METHODS.get(name).available]
    variants = [variant for name in loop_methods for variant in METHODS.get(name).perf_variants]
    assert names[-len(PEERS):] == list(PEERS) and set(names[:-len(PEERS)]) == {*loop_methods, *variants}
    assert {"lpt_cached", "p_tuning_mlp"} <= set(variants)
    by_name = {row.name: row for row in all_rows()}
    for name in loop_methods:
        assert by_name[name].reference == (METHODS.get(name).peer or "")
        assert by_name[name].reference in ("", *PEERS)


def test_perf_smoke_on_a_tiny_shape_gives_positive_complete_figures_for_every_row(tmp_path):
    config = PerfConfig(shape="bert-tiny", rows=tuple(all_rows()), batch_size=4, seq_len=32, steps=2,
                        warmup=1, device="cpu")
    results = run_perf(config, PluginSetup(), WORKER_PRELOAD)
    assert [result.method for result in results] == [row.name for row in config.rows]
    for result in results:
        assert result.status == "success", (result.method, result.error)
        assert result.train_samples_per_s > 0 and result.infer_samples_per_s > 0
        assert result.peak_memory_bytes > 0 and 0 < result.trainable_params <= result.total_params
    by_method = {result.method: result for result in results}
    # with its cache warm, LPT's training skips the layers below k
    assert by_method["lpt_cached"].train_flops_per_sample < by_method["lpt"].train_flops_per_sample
    markdown = write_perf(config, results, tmp_path)
    assert "speed vs peer" in markdown and (tmp_path / "perf.csv").exists()


def test_a_row_that_fails_is_reported_as_failed_and_the_next_row_still_runs():
    from bench.perf.rows import PerfRow

    rows = (PerfRow("no_such_method", "no_such_method"), *select_rows(["peer_lora"]))
    config = PerfConfig(shape="bert-tiny", rows=rows, batch_size=2, seq_len=8, steps=1, warmup=0,
                        device="cpu")
    failed, succeeded = run_perf(config, PluginSetup(), WORKER_PRELOAD)
    assert failed.status == "failed" and "no_such_method" in failed.error
    assert succeeded.status == "success" and succeeded.train_samples_per_s > 0


def test_unknown_shape_is_a_one_line_error(capsys):
    assert main(["perf", "--shape", "gpt-17"]) == 2
    assert "unknown shape 'gpt-17'" in capsys.readouterr().err


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_shape_folders_load_with_special_tokens_in_place(shape, tmp_path):
    config = shape_config(shape)
    vocabulary = synthetic_vocabulary(config)
    assert vocabulary[config["pad_token_id"]] == "[PAD]" and len(set(vocabulary)) == config["vocab_size"]
    if shape == "bert-tiny":
        from bench.core.loading import load_encoder

        encoder, _ = load_encoder(materialise_shape(shape, tmp_path))
        assert encoder.config.hidden_size == 128


def test_flops_of_roberta_large_forward_and_known_peaks():
    from transformers import RobertaConfig

    config = RobertaConfig(**{k: v for k, v in SHAPES["roberta-large"].items() if k != "model_type"})
    # 24 layers x (2 x 128 x 12 x 1024^2 projections + 4 x 128^2 x 1024 attention)
    expected = 24 * (2 * 128 * 12 * 1024**2 + 4 * 128**2 * 1024)
    assert forward_flops_per_sample(config, 128) == pytest.approx(expected)
    assert peak_flops("NVIDIA H100 80GB HBM3") == 989e12 and peak_flops("cpu (2 threads)") is None


def test_training_flops_count_only_the_layers_that_run_and_the_gradients_that_flow(tiny_model):
    from bench.core.loading import load_config
    from bench.core.models import ModelRef
    from bench.perf.flops import train_flops_per_sample
    from tests.helpers import build

    model = build("full_ft", tiny_model).model
    config = load_config(ModelRef(str(tiny_model), "tiny"))
    forward = forward_flops_per_sample(config, 16)
    assert train_flops_per_sample(model, config, 16) == pytest.approx(3 * forward)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    # frozen layers, gradients only above the middle, the lower half skipped (LPT with a warm cache)
    half = config.num_hidden_layers // 2
    assert train_flops_per_sample(model, config, 16, first_grad_layer=half,
                                  first_forward_layer=half) == pytest.approx(forward)


def _result(train: float, *, status: str = "success", error: str = "") -> PerfResult:
    return PerfResult(method="lora", reference="peer_lora", status=status, train_samples_per_s=train,
                      infer_samples_per_s=2 * train, peak_memory_bytes=int(100 * train), mfu=train / 1000,
                      error=error)


def test_repeated_rounds_combine_into_medians_and_the_train_speed_spread():
    from bench.perf.runner import combine_rounds

    combined = combine_rounds([_result(10.0), _result(12.0), _result(9.0)])
    assert combined.train_samples_per_s == 10.0 and combined.infer_samples_per_s == 20.0
    assert combined.peak_memory_bytes == 1000 and combined.mfu == pytest.approx(0.010)
    assert combined.rounds == 3 and combined.train_spread == pytest.approx(0.3)
    assert combine_rounds([_result(10.0)]).train_spread == 0.0


def test_a_row_that_fails_in_any_round_is_failed_with_that_rounds_error():
    from bench.perf.runner import combine_rounds

    combined = combine_rounds([_result(10.0), _result(0.0, status="failed", error="out of memory")])
    assert combined.status == "failed" and combined.error == "out of memory"


def test_perf_repeats_interleave_rounds_and_the_table_says_so(tmp_path):
    config = PerfConfig(shape="bert-tiny", rows=tuple(select_rows(["full_ft", "peer_full_ft"])), batch_size=2,
                        seq_len=8, steps=1, warmup=0, device="cpu", repeats=2)
    results = run_perf(config, PluginSetup(), WORKER_PRELOAD)
    assert [(result.method, result.rounds) for result in results] == [("full_ft", 2), ("peer_full_ft", 2)]
    assert all(result.train_spread is not None and result.train_spread >= 0 for result in results)
    markdown = write_perf(config, results, tmp_path)
    assert "medians of 2 rounds" in markdown and "train spread" in markdown


def test_zero_repeats_is_a_one_line_error(capsys):
    assert main(["perf", "--shape", "bert-tiny", "--repeats", "0"]) == 2
    assert "repeats=0 is out of range" in capsys.readouterr().err


def test_peers_take_their_configuration_from_the_methods_they_mirror(tiny_model, monkeypatch):
    """No peer restates a method's default: change LoRA's rank or the prompt length and the peer follows."""
    from dataclasses import dataclass, replace

    from bench.core.knobs import knob
    from bench.core.method import METHODS
    from bench.core.models import resolve_model
    from bench.perf.peers import _peft_config, mirrored_config
    from methods.lora import LoraMethodConfig

    model = resolve_model(str(tiny_model))
    assert mirrored_config("peer_lora") == METHODS.get("lora").make_config()
    assert mirrored_config("peer_p_tuning").prompt_length == 20  # p_tuning_mlp's setup, not p_tuning's 8
    lora = _peft_config("peer_lora", model)
    assert (lora.r, lora.lora_alpha, lora.target_modules) == (8, 16, {"query", "value"})
    @dataclass(frozen=True)
    class Rank4(LoraMethodConfig):
        rank: int = knob(4, "rank")

    monkeypatch.setitem(METHODS._entries, "lora", replace(METHODS.get("lora"), config_type=Rank4))
    assert _peft_config("peer_lora", model).r == 4
