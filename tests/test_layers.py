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
    ("bench.session",),
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


def top_level_imports(path: Path) -> set[str]:
    """Our modules a file imports when it is itself imported (module-level statements only)."""
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_no_module_imports_itself_back_through_others():
    """The module-level import graph has no cycle (function-level imports run later and may close one)."""
    modules = {module_name(path): path for path in SOURCES}
    graph = {name: {target for target in top_level_imports(path) if target in modules and target != name}
             for name, path in modules.items()}
    visiting, done = set(), set()

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in done:
            return
        assert name not in visiting, f"import cycle: {' -> '.join((*trail, name))}"
        visiting.add(name)
        for target in sorted(graph[name]):
            visit(target, (*trail, name))
        visiting.discard(name)
        done.add(name)

    for name in sorted(graph):
        visit(name, ())


def test_building_the_command_line_imports_no_numeric_library():
    """The parser is torch-free, so `run` starts its cells' fork server right after parsing, without
    reading argv itself."""
    import subprocess
    import sys

    heavy = ("torch", "transformers", "pandas", "numpy")
    code = ("import sys; from bench.cli.main import build_parser; build_parser().parse_args(['run']); "
            f"print(sorted(name for name in {heavy!r} if name in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            check=True)
    assert result.stdout.strip() == "[]"


def test_only_the_parser_reads_argv():
    readers = [path for path in SOURCES if "sys.argv" in path.read_text(encoding="utf-8")]
    assert [str(path.relative_to(ROOT)) for path in readers] == ["bench/cli/main.py"]


CLI_MAY_NOT_IMPORT = ("bench.training.executors", "bench.training.ray_executor", "bench.training.sweep",
                      "bench.training.plan", "bench.core.protocol", "reports.writer", "reports.markdown",
                      "reports.latex", "reports.html_report", "reports.model")


def test_the_command_line_holds_no_executor_report_or_protocol_logic():
    """The CLI parses and prints: it reaches executors, reports and protocols through bench.session
    (`list --protocols` reads the registry of bench.core.protocol to show it)."""
    for path in SOURCES:
        if component(module_name(path)) != "bench.cli":
            continue
        imported = {name for name in imported_modules(path) if name.startswith(CLI_MAY_NOT_IMPORT)}
        shows_protocols = path.name == "listing.py"
        allowed = {"bench.core.protocol", "bench.core.protocol.PROTOCOLS"} if shows_protocols else set()
        assert imported <= allowed, f"{path.name} imports {sorted(imported - allowed)}"
