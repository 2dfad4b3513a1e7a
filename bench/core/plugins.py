"""Loading plugins: a Python file (`--plugin`, $PETBENCH_PLUGINS) or an installed package's entry
point (groups petbench.methods / petbench.tasks) that registers methods or tasks on import."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from bench.core.errors import BenchError, one_line

PLUGINS_ENV = "PETBENCH_PLUGINS"  # os.pathsep-separated plugin files
ENTRY_POINT_GROUPS = ("petbench.methods", "petbench.tasks")


def plugin_module_name(path: Path) -> str:
    """A stable module name per file, so that loading the same file twice is a no-op."""
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    return f"petbench_plugin_{path.stem}_{digest}"


def load_plugin_file(path: Path) -> ModuleType:
    """Import a plugin file once; its module registers what it defines."""
    path = Path(path).expanduser().resolve()
    name = plugin_module_name(path)
    if name in sys.modules:
        return sys.modules[name]
    if not path.is_file() or path.suffix != ".py":
        raise BenchError(f"plugin {path} is not a Python file: pass the path of a .py file")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BenchError:
        del sys.modules[name]
        raise
    except Exception as error:  # noqa: BLE001  (a plugin's bug is reported in one line)
        del sys.modules[name]
        raise BenchError(f"plugin {path} failed to load ({one_line(error)}); fix the file") from error
    return module


def load_entry_points() -> list[str]:
    """Load every installed entry point of the plugin groups; returns their names."""
    loaded = []
    for group in ENTRY_POINT_GROUPS:
        for entry_point in importlib.metadata.entry_points(group=group):
            try:
                entry_point.load()
            except BenchError:
                raise
            except Exception as error:  # noqa: BLE001
                raise BenchError(f"plugin entry point {entry_point.name} ({entry_point.value}) failed to "
                                 f"load ({one_line(error)}); fix or uninstall it") from error
            loaded.append(entry_point.name)
    return loaded
