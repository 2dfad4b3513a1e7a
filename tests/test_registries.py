"""Every axis a user extends is a registry a plugin file adds to: an executor with its own options and
rules, a report renderer reading the report model, a result sink; each is one file, used by name."""

from __future__ import annotations

import sys

import pytest

from bench.core.errors import BenchError
from bench.core.sinks import SINKS
from bench.session import run
from bench.session.executors import EXECUTORS
from reports.renderers import RENDERERS
from tests.helpers import tiny_spec

PLUGIN = '''
from dataclasses import dataclass
from pathlib import Path

from bench.core.knobs import knob
from bench.session.executors import register_executor
from reports.renderers import register_renderer


@dataclass(frozen=True)
class QueueOptions:
    queue: str = knob("short", "the queue the cells are submitted to")
    nodes: int = knob(1, "nodes per cell", at_least=1)


@register_executor("queue_test", options=QueueOptions, help="a scheduler's queue (here: this process)")
def build_queue(options, context):
    from bench.training.executors import InlineExecutor
    from bench.training.runner import WorkerSettings

    class Queue(InlineExecutor):
        def run(self, jobs, on_record):
            Path(context.samples_dir or ".").parent.joinpath("queue.txt").write_text(
                f"{options.queue} {options.nodes} {len(jobs)}")
            super().run(jobs, on_record)

    return Queue(WorkerSettings(threads=context.threads, samples_dir=context.samples_dir))


@register_renderer("summary_test", file="summary.txt")
def summary(model):
    return f"{len(model.cells)} runs; {len(model.findings.rankings)} ranked tables\\n"
'''


@pytest.fixture
def plugin(tmp_path):
    path = tmp_path / "queue_plugin.py"
    path.write_text(PLUGIN)
    yield path
    for registry, name in ((EXECUTORS, "queue_test"), (RENDERERS, "summary_test")):
        if name in registry:
            registry.remove(name)
    for module in [module for module in sys.modules if module.startswith("petbench_plugin_")]:
        del sys.modules[module]


def test_a_plugin_executor_runs_the_cells_with_its_own_options_and_a_plugin_renderer_writes_its_file(
        tmp_path, tiny_model, data_dir, plugin):
    out = tmp_path / "out"
    result = run(tiny_spec(tiny_model, data_dir, out, methods="full_ft,lora", plugins=(str(plugin),),
                           executor="queue_test", executor_options={"queue": "gpu", "nodes": "2"}))
    assert result.ok and len(result.records) == 2
    assert (out / "queue.txt").read_text() == "gpu 2 2"  # its options, parsed as their knobs' types
    assert (out / "summary.txt").read_text() == "2 runs; 1 ranked tables\n"  # from the report model


@pytest.mark.parametrize(("options", "said"), [
    ({"nodes": "0"}, "--nodes=0 is out of range"),
    ({"cores": "2"}, "--cores is not an option of --executor queue_test"),
    ({"jobs": "2"}, "--jobs is an option of --executor local; its options apply to --executor local only"),
])
def test_an_executors_options_are_checked_before_anything_is_written(tmp_path, tiny_model, data_dir, plugin,
                                                                     options, said):
    with pytest.raises(BenchError, match=said):
        run(tiny_spec(tiny_model, data_dir, tmp_path / "out", plugins=(str(plugin),), executor="queue_test",
                      executor_options=options))
    assert not (tmp_path / "out").exists()


def test_an_unknown_executor_or_sink_is_one_line_naming_the_registered_ones(tmp_path, tiny_model, data_dir):
    with pytest.raises(BenchError, match="unknown executor 'slurm': known executors: inline, local, ray"):
        run(tiny_spec(tiny_model, data_dir, tmp_path / "out", executor="slurm"))
    with pytest.raises(BenchError, match="unknown result sink 'neptune'"):
        run(tiny_spec(tiny_model, data_dir, tmp_path / "out", log_to="neptune"))
    assert "report" in SINKS and SINKS.get("report").always
