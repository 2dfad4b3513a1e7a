"""The weight-free perf command on a tiny shape: every requested row has positive figures."""

import pytest

from bench.cli import main
from bench.flops import forward_flops_per_sample, peak_flops
from bench.perf import PerfConfig, run_perf, write_perf
from bench.shapes import SHAPES, materialise_shape, shape_config, synthetic_vocabulary


def test_perf_smoke_on_a_tiny_shape_gives_positive_complete_figures(tmp_path):
    # one subprocess per row: a representative subset keeps this CI smoke test near a minute
    methods = ("full_ft", "lpt", "prefix_tuning", "peer_prefix_tuning")
    config = PerfConfig(shape="bert-tiny", methods=methods, batch_size=4, seq_len=16, steps=2, warmup=1,
                        device="cpu")
    results = run_perf(config)
    assert [result.method for result in results] == list(methods)
    for result in results:
        assert result.status == "success", (result.method, result.error)
        assert result.train_samples_per_s > 0 and result.infer_samples_per_s > 0
        assert result.peak_memory_bytes > 0 and 0 < result.trainable_params <= result.total_params
    markdown = write_perf(config, results, tmp_path)
    assert "speed vs peer" in markdown and (tmp_path / "perf.csv").exists()


def test_unknown_shape_is_a_one_line_error(capsys):
    assert main(["perf", "--shape", "gpt-17"]) == 2
    assert "unknown shape 'gpt-17'" in capsys.readouterr().err


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_shape_folders_load_with_special_tokens_in_place(shape, tmp_path):
    config = shape_config(shape)
    vocabulary = synthetic_vocabulary(config)
    assert vocabulary[config["pad_token_id"]] == "[PAD]" and len(set(vocabulary)) == config["vocab_size"]
    if shape == "bert-tiny":
        from bench.models import load_encoder

        encoder = load_encoder(materialise_shape(shape, tmp_path))
        assert encoder.config.hidden_size == 128


def test_flops_of_roberta_large_forward_and_known_peaks():
    from transformers import RobertaConfig

    config = RobertaConfig(**{k: v for k, v in SHAPES["roberta-large"].items() if k != "model_type"})
    # 24 layers x (2 x 128 x 12 x 1024^2 projections + 4 x 128^2 x 1024 attention)
    expected = 24 * (2 * 128 * 12 * 1024**2 + 4 * 128**2 * 1024)
    assert forward_flops_per_sample(config, 128) == pytest.approx(expected)
    assert peak_flops("NVIDIA H100 80GB HBM3") == 989e12 and peak_flops("cpu (2 threads)") is None
