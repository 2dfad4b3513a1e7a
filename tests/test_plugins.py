"""A user's method and task outside the package: one file and one flag, regression-checked against a
stored baseline; installed packages register theirs through entry points."""

import sys
from pathlib import Path

import pytest

from bench.cli.main import main
from bench.core.method import METHODS
from bench.core.plugins import load_entry_points

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PLUGIN = EXAMPLES / "plugins" / "bitfit.py"
TASK_FILE = EXAMPLES / "tasks" / "reviews.yaml"


@pytest.fixture
def forget_bitfit():
    yield
    if "bitfit" in METHODS:
        METHODS.remove("bitfit")
    for name in [name for name in sys.modules if name.startswith("petbench_plugin_bitfit")]:
        del sys.modules[name]


def test_the_example_plugin_lists_with_its_knobs(capsys, forget_bitfit):
    assert main(["list", "--plugin", str(PLUGIN), "--method", "bitfit"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("bitfit: BitFit") and "learning_rate (float, default 0.001)" in out


def test_a_plugin_method_on_a_task_file_runs_and_passes_check_against_its_own_baseline(
        capsys, monkeypatch, tmp_path, tiny_model, forget_bitfit):
    monkeypatch.chdir(tmp_path)
    common = ["--plugin", str(PLUGIN), "--task-file", str(TASK_FILE), "--model", str(tiny_model),
              "--methods", "bitfit,lora", "--seeds", "1,2", "--max-steps", "2", "--batch-size", "2"]
    assert main([*common, "--out", "first"]) == 0
    report = (tmp_path / "first" / "report.md").read_text()
    assert "| bitfit" in report and "example_reviews (accuracy)" in report
    assert main(["baseline", "first", "--name", "with-bitfit"]) == 0
    assert main([*common, "--out", "second"]) == 0  # the same settings, in a fresh folder
    capsys.readouterr()
    assert main(["check", "second", "--baseline", "with-bitfit"]) == 0
    assert "0 regressed" in capsys.readouterr().out


def test_the_plugin_variable_loads_the_same_plugin(capsys, monkeypatch, forget_bitfit):
    monkeypatch.setenv("PETBENCH_PLUGINS", str(PLUGIN))
    assert main(["list"]) == 0
    assert "bitfit" in capsys.readouterr().out


def test_an_installed_packages_entry_point_registers_its_method(tmp_path, monkeypatch):
    package = tmp_path / "site"
    (package / "petbench_extra_method.py").parent.mkdir(parents=True)
    (package / "petbench_extra_method.py").write_text(PLUGIN.read_text().replace('"bitfit"', '"bitfit_ep"'))
    info = package / "petbench_extra_method-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: petbench-extra-method\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[petbench.methods]\nbitfit_ep = petbench_extra_method\n")
    monkeypatch.syspath_prepend(str(package))
    try:
        assert "bitfit_ep" in load_entry_points() and "bitfit_ep" in METHODS
    finally:
        METHODS.remove("bitfit_ep")
