"""docs/architecture.md tells the truth: its floors are the layers tests/test_layers.py enforces, and its
table of which package imports which is the import graph of the code, edge for edge."""

from __future__ import annotations

import re

from tests.test_layers import LAYERS, ROOT, SOURCES, component, imported_modules, module_name

PAGE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def test_the_pages_floors_are_the_enforced_layers():
    block = re.search(r"```floors\n(.*?)```", PAGE, re.DOTALL)
    assert block, "docs/architecture.md lost its ```floors block"
    floors = [tuple(line.split(":", 1)[1].split()) for line in block[1].strip().splitlines()]
    assert floors == [tuple(layer) for layer in LAYERS]


def code_edges() -> set[tuple[str, str]]:
    edges = set()
    for path in SOURCES:
        own = component(module_name(path))
        for imported in imported_modules(path):
            target = component(imported)
            if target and target != own and not (own == "bench.core" and target == "bench"):
                edges.add((own, target))
    return edges


def page_edges() -> set[tuple[str, str]]:
    section = PAGE.split("## Which package imports which", 1)[1].split("\n## ", 1)[0]
    edges = set()
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] not in ("package", "---"):
            edges |= {(cells[0], target.strip()) for target in cells[1].split(",")}
    return edges


def test_the_pages_import_table_is_the_codes_import_graph():
    assert page_edges() == code_edges(), (f"only on the page: {sorted(page_edges() - code_edges())}; "
                                          f"only in the code: {sorted(code_edges() - page_edges())}")
