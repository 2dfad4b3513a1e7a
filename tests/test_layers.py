"""The layering rule, read from the source's own imports: each package imports only itself and the
layers below it; tasks, methods and families (the plugins) never import each other."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# bottom to top; packages on one line share a layer and must not import each other
LAYERS = (
    ("bench.core", "bench"),
    ("tasks", "methods", "families"),
    ("bench.training",),
    ("bench.perf",),
    ("reports",),
    ("bench.cli",),
    ("run_bench",),
)
OURS = {"bench", "tasks", "methods", "families", "reports", "run_bench"}


def component(module: str) -> str | None:
    """The most specific layered package a dotted module name belongs to."""
    matches = [name for layer in LAYERS for name in layer if module == name or module.startswith(name + ".")]
    return max(matches, key=len) if matches else None


def layer_of(name: str) -> int:
    return next(index for index, layer in enumerate(LAYERS) if name in layer)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module named by an import anywhere in the file (function-level imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] in OURS}


SOURCES = sorted(path for top in OURS for path in ROOT.glob(f"{top}/**/*.py")) + [ROOT / "run_bench.py"]


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(ROOT)))
def test_a_module_imports_only_its_own_package_and_the_layers_below(path):
    own = component(module_name(path))
    assert own is not None, f"{path} is in no layer"
    for imported in imported_modules(path):
        target = component(imported)
        if target is None or target == own or (own == "bench.core" and target == "bench"):
            continue
        assert layer_of(target) < layer_of(own), f"{module_name(path)} (layer {own}) imports {imported}"


def test_the_kernel_names_no_task_method_family_or_report():
    kernel = [path for path in SOURCES if component(module_name(path)) == "bench.core"]
    assert kernel
    for path in kernel:
        named = {component(name) for name in imported_modules(path)}
        assert not named & {"tasks", "methods", "families", "reports"}, path
