"""Published protocols as data: `run --protocol NAME|FILE` runs a paper's setting, `list --protocols`
shows each with its source, and a protocol file is checked like a task file."""

import re

import pytest

from bench.cli.main import main
from bench.core.errors import BenchError
from bench.core.protocol import PROTOCOLS
from bench.core.store import ResultsStore
from bench.session import RunSpec, dry_run, run
from bench.session.protocols import with_protocol

TINY_PROTOCOL = """\
name: tiny_protocol
description: sst2 at 8 shots, two learning rates, dev every step
reference: this test
tasks: [sst2]
methods: [full_ft, lora]
shots: 8
seeds: [1]
train: {max_steps: 2, eval_every: 1, batch_size: 4, max_length: 32}
search: {lr: [1e-4, 1e-3]}
set:
  lora: {rank: 2}
"""


@pytest.fixture
def protocol_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_PROTOCOL, encoding="utf-8")
    return path


def test_the_built_in_protocols_are_listed_with_their_sources(capsys):
    assert main(["list", "--protocols"]) == 0
    out = capsys.readouterr().out
    for name in ("lm_bff", "fewclue", "lpt_fewshot"):
        assert f"  {name}: " in out
    assert "princeton-nlp/LM-BFF run_experiment.sh" in out and "--eval-every 100" in out


def test_lm_bff_is_its_papers_grid_and_budget():
    spec = with_protocol(RunSpec(protocol="lm_bff"))
    assert "lr=1e-5,2e-5,5e-5" in spec.search and "batch_size=2,4,8" in spec.search
    assert dict(spec.train)["max_steps"] == "1000" and dict(spec.train)["eval_every"] == "100"
    assert spec.split == "all"


def test_options_given_with_a_protocol_win_over_its_own(protocol_file):
    protocol_only = with_protocol(RunSpec(protocol=str(protocol_file)))
    assert protocol_only.methods == ("full_ft", "lora") and protocol_only.tasks == ("sst2",)
    spec = with_protocol(RunSpec(protocol=str(protocol_file), methods="full_ft", train={"max_length": "40"}))
    assert spec.methods == ("full_ft",) and spec.tasks == ("sst2",)
    assert dict(spec.train)["max_length"] == "40"  # the spec's loop setting wins, once
    assert [name for name, _ in spec.train].count("max_length") == 1
    assert spec.search == protocol_only.search  # the protocol's search stays unless the spec adds to it


def test_a_protocol_file_plans_then_runs_end_to_end_with_selection_on_dev(tmp_path, tiny_model, data_dir,
                                                                        protocol_file):
    spec = RunSpec(protocol=str(protocol_file), model=str(tiny_model), data_dir=str(data_dir), device="cpu",
                   executor="inline", out=str(tmp_path / "out"))
    assert "plan: 4 cells" in "\n".join(dry_run(spec)) and not (tmp_path / "out").exists()
    assert run(spec).exit_code == 0
    records = ResultsStore(tmp_path / "out").load()
    assert sorted((r.method, r.learning_rate) for r in records) == [("full_ft", 1e-4), ("full_ft", 1e-3),
                                                                    ("lora", 1e-4), ("lora", 1e-3)]
    assert all(r.steps == 2 for r in records)
    assert "selected on dev over" in (tmp_path / "out" / "report.md").read_text()


@pytest.mark.parametrize(("text", "said"), [
    (TINY_PROTOCOL + "epochs: 3\n", "has unknown key(s) epochs"),
    (TINY_PROTOCOL.replace("search: {lr: [1e-4, 1e-3]}", "search: {lr: 1e-4}"),
     "search.lr must be a non-empty list"),
    (TINY_PROTOCOL.replace("tasks: [sst2]", "tasks: [sst3]"), "unknown task 'sst3'"),
    (TINY_PROTOCOL.replace("max_length: 32", "max_len: 32"), "train.max_len is not a loop setting"),
    (TINY_PROTOCOL.replace("reference: this test\n", ""), "lacks reference"),
    (TINY_PROTOCOL + "shots: 16\n", "the key 'shots' is given twice"),
])
def test_a_bad_protocol_file_is_one_line_before_any_cell(tmp_path, tiny_model, data_dir, text, said):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BenchError, match=re.escape(said)) as raised:
        run(RunSpec(protocol=str(path), model=str(tiny_model), data_dir=str(data_dir),
                    out=str(tmp_path / "out")))
    assert "\n" not in str(raised.value), raised.value
    assert not (tmp_path / "out").exists()


def test_an_unknown_protocol_name_suggests_the_known_ones(tmp_path):
    with pytest.raises(BenchError, match="unknown protocol 'lm-bff'"):
        run(RunSpec(protocol="lm-bff", out=str(tmp_path)))
    assert "lm_bff" in PROTOCOLS.names()
