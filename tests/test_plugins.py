"""A user's method and task outside the package: one file and one flag, regression-checked against a
stored baseline; installed packages register theirs through entry points."""

import sys
from pathlib import Path

import pytest

from bench.cli.main import main
from bench.core.method import METHODS
from bench.core.plugins import load_entry_points
from bench.session import RunSpec, run

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PLUGIN = EXAMPLES / "plugins" / "top_layers.py"
TASK_FILE = EXAMPLES / "tasks" / "reviews.yaml"


@pytest.fixture
def forget_top_layers():
    yield
    if "top_layers" in METHODS:
        METHODS.remove("top_layers")
    for name in [name for name in sys.modules if name.startswith("petbench_plugin_top_layers")]:
        del sys.modules[name]


def test_the_example_plugin_lists_with_its_knobs(capsys, forget_top_layers):
    assert main(["list", "--plugin", str(PLUGIN), "--method", "top_layers"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("top_layers: Top layers") and "learning_rate (float, default 0.0001)" in out


def test_a_plugin_method_on_a_task_file_runs_and_passes_check_against_its_own_baseline(
        capsys, monkeypatch, tmp_path, tiny_model, forget_top_layers):
    monkeypatch.chdir(tmp_path)
    spec = RunSpec(plugins=str(PLUGIN), task_files=str(TASK_FILE), model=str(tiny_model),
                   methods="top_layers,lora", seeds="1,2", train={"max_steps": "2", "batch_size": "2"})
    assert run(spec.replace(out="first")).exit_code == 0
    report = (tmp_path / "first" / "report.md").read_text()
    assert "| top_layers" in report and "example_reviews (accuracy)" in report
    assert main(["baseline", "first", "--name", "with-plugin"]) == 0
    assert run(spec.replace(out="second")).exit_code == 0  # the same settings, in a fresh folder
    capsys.readouterr()
    assert main(["check", "second", "--baseline", "with-plugin"]) == 0
    assert "0 regressed" in capsys.readouterr().out


def test_the_plugin_variable_loads_the_same_plugin(capsys, monkeypatch, forget_top_layers):
    monkeypatch.setenv("PETBENCH_PLUGINS", str(PLUGIN))
    assert main(["list"]) == 0
    assert "top_layers" in capsys.readouterr().out


def test_an_installed_packages_entry_point_registers_its_method(tmp_path, monkeypatch):
    package = tmp_path / "site"
    (package / "petbench_extra_method.py").parent.mkdir(parents=True)
    source = PLUGIN.read_text().replace('"top_layers"', '"top_layers_ep"')
    (package / "petbench_extra_method.py").write_text(source)
    info = package / "petbench_extra_method-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: petbench-extra-method\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[petbench.methods]\ntop_layers_ep = petbench_extra_method\n")
    monkeypatch.syspath_prepend(str(package))
    try:
        assert "top_layers_ep" in load_entry_points() and "top_layers_ep" in METHODS
    finally:
        METHODS.remove("top_layers_ep")


def test_a_plugins_source_and_a_task_definitions_content_are_part_of_every_cells_identity(tmp_path,
                                                                                          tiny_model):
    """An edited plugin or a swapped label map never reuses the cells of the old code or definition."""
    import importlib.util
    from dataclasses import replace

    from bench.core.method import METHODS, plugin_code_digest
    from bench.core.task import TASKS
    from bench.training.cells import expand_cells
    from methods.full_ft import build_full_ft
    from tests.helpers import tiny_grid

    def digest_of(source: str) -> str:
        path = tmp_path / "my_plugin.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location(f"plugin_{abs(hash(source))}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return plugin_code_digest(module.build)

    first, edited = digest_of("def build():\n    return 1\n"), digest_of("def build():\n    return 2\n")
    assert first and edited and first != edited
    assert plugin_code_digest(build_full_ft) == ""  # built-in methods: the release is their code
    grid = tiny_grid(tiny_model)
    [cell] = expand_cells(grid)
    ids = {cell.cell_id(data_fingerprint="d", versions="v")}
    original = METHODS.get("full_ft")
    for code in (first, edited):
        METHODS._entries["full_ft"] = replace(original, code_digest=code)
        try:
            ids.add(expand_cells(grid)[0].cell_id(data_fingerprint="d", versions="v"))
        finally:
            METHODS._entries["full_ft"] = original
    sst2 = TASKS.get("sst2")
    swapped = replace(sst2, label_map=(("0", "1"), ("1", "0")))
    ids.add(expand_cells(replace(grid, tasks=(swapped,)))[0].cell_id(data_fingerprint="d", versions="v"))
    relabelled = replace(sst2, description="another description", version=sst2.version)
    assert relabelled.definition_digest == sst2.definition_digest  # what cannot change a number
    assert len(ids) == 4


def test_rerun_trains_done_cells_again(tmp_path, tiny_model, data_dir):
    from tests.helpers import tiny_spec

    spec = tiny_spec(tiny_model, data_dir, tmp_path, train={"max_length": None})
    first, again = run(spec), run(spec)
    assert first.exit_code == 0 and again.exit_code == 0
    assert "0 succeeded, 0 failed, 1 skipped" in again.summary
    rerun = run(spec.replace(rerun=True))
    assert rerun.exit_code == 0 and "1 succeeded, 0 failed, 0 skipped" in rerun.summary
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 2
