"""Published protocols as data: `run --protocol NAME|FILE` runs a paper's setting, `list --protocols`
shows each with its source, and a protocol file is checked like a task file."""

import pytest

from bench.cli.main import main
from bench.cli.protocols import expand_protocol, protocol_arguments, resolve_protocol
from bench.core.protocol import PROTOCOLS
from bench.core.store import ResultsStore

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
    arguments = protocol_arguments(resolve_protocol("lm_bff"))
    assert "--search" in arguments and "lr=1e-5,2e-5,5e-5" in arguments and "batch_size=2,4,8" in arguments
    assert arguments[arguments.index("--max-steps") + 1] == "1000"
    assert arguments[arguments.index("--eval-every") + 1] == "100"
    assert arguments[arguments.index("--split") + 1] == "all"


def test_options_given_with_a_protocol_win_over_its_own(protocol_file):
    argv = expand_protocol(["run", "--protocol", str(protocol_file), "--methods", "full_ft"])
    assert argv[0] == "run" and argv[-2:] == ["--methods", "full_ft"]
    assert argv.index("--methods") < len(argv) - 2  # the protocol's comes first: argparse keeps the last


def test_a_protocol_file_plans_then_runs_end_to_end_with_selection_on_dev(capsys, tmp_path, tiny_model,
                                                                        data_dir, protocol_file):
    common = ["run", "--protocol", str(protocol_file), "--model", str(tiny_model),
              "--data-dir", str(data_dir), "--device", "cpu", "--executor", "inline",
              "--out", str(tmp_path / "out")]
    assert main([*common, "--dry-run"]) == 0
    assert "plan: 4 cells" in capsys.readouterr().out and not (tmp_path / "out").exists()
    assert main(common) == 0
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
def test_a_bad_protocol_file_is_one_line_before_any_cell(capsys, tmp_path, tiny_model, data_dir, text, said):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    code = main(["run", "--protocol", str(path), "--model", str(tiny_model), "--data-dir", str(data_dir),
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and said in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists()


def test_an_unknown_protocol_name_suggests_the_known_ones(capsys, tmp_path):
    assert main(["run", "--protocol", "lm-bff", "--out", str(tmp_path)]) == 2
    assert "unknown protocol 'lm-bff'" in capsys.readouterr().err and "lm_bff" in PROTOCOLS.names()
