"""The files report.html inlines: Plotly's offline bundle, itables' offline DataTables bundle (with its
CSS), and PETBench's own page template, glue script and style (reports/web/)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from bench.core.errors import BenchError

WEB = Path(__file__).resolve().parent / "web"


@dataclass(frozen=True)
class Assets:
    template: str
    report_js: str
    report_css: str
    plotly_js: str
    datatables_js_base64: str  # an ES module; the page imports it from a blob, so it travels encoded
    datatables_css: str


def _datatables_file(name: str) -> bytes:
    try:
        return resources.files("itables").joinpath("html", name).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as error:
        raise BenchError(f"report.html needs itables' offline DataTables bundle ({name}): "
                         f"pip install -c constraints.txt itables") from error


def _plotly_js() -> str:
    try:
        from plotly.offline import get_plotlyjs
    except ModuleNotFoundError as error:
        raise BenchError("report.html needs plotly: pip install -c constraints.txt plotly") from error
    return get_plotlyjs()


@cache
def load_assets() -> Assets:
    """Read every inlined file once per process (Plotly's bundle alone is about 5 MB)."""
    return Assets(
        template=(WEB / "template.html").read_text(encoding="utf-8"),
        report_js=(WEB / "report.js").read_text(encoding="utf-8"),
        report_css=(WEB / "report.css").read_text(encoding="utf-8"),
        plotly_js=_plotly_js(),
        datatables_js_base64=base64.b64encode(_datatables_file("dt_bundle.js")).decode("ascii"),
        datatables_css=_datatables_file("dt_bundle.css").decode("utf-8"),
    )
