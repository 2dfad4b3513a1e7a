"""The composition root's plugin loading: built-in tasks, methods and encoder families, installed
entry points, and users' files (Python plugins, YAML/TOML task files), in the driver and again in
every worker."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.core.errors import BenchError
from bench.core.plugins import PLUGINS_ENV, load_entry_points, load_plugin_file

TASK_FILE_SUFFIXES = (".yaml", ".yml", ".toml")
# imported by the fork server that starts each cell's process
WORKER_PRELOAD = ("tasks", "methods", "families", "bench.training.runner", "peft",
                  "transformers.models.bert.modeling_bert", "transformers.models.roberta.modeling_roberta",
                  "transformers.models.xlm_roberta.modeling_xlm_roberta")


def load_builtins() -> None:
    import families  # noqa: F401  (registers the built-in encoder families)
    import methods  # noqa: F401  (registers the built-in methods)
    import tasks  # noqa: F401  (registers the built-in tasks)


@dataclass(frozen=True)
class PluginSetup:
    """Picklable: registers built-ins, entry points and the plugin files in whichever process calls
    it (the driver, a cell's child process, a Ray worker). Loading twice is a no-op."""

    files: tuple[str, ...] = ()

    def __call__(self) -> None:
        load_builtins()
        load_entry_points()
        for path in self.files:
            load_plugin_file(Path(path))


def plugin_files(cli_values: Sequence[str]) -> tuple[str, ...]:
    """--plugin values, then $PETBENCH_PLUGINS (os.pathsep-separated), as absolute paths."""
    from_env = [part for part in os.environ.get(PLUGINS_ENV, "").split(os.pathsep) if part]
    files = []
    for value in [*cli_values, *from_env]:
        path = Path(value).expanduser()
        if not path.is_file():
            raise BenchError(f"plugin {value} not found: pass a .py plugin or a .yaml/.toml task file "
                             f"(--plugin or ${PLUGINS_ENV})")
        files.append(str(path.resolve()))
    return tuple(dict.fromkeys(files))


def load_plugins(files: Sequence[str]) -> PluginSetup:
    """Register everything; task files register their tasks here, Python files in every process."""
    from tasks.dialect import load_task_file

    python = tuple(path for path in files if not path.endswith(TASK_FILE_SUFFIXES))
    setup = PluginSetup(python)
    setup()
    for path in files:
        if path.endswith(TASK_FILE_SUFFIXES):
            load_task_file(Path(path))
    return setup
