"""The README's Python API example runs as written, on the tiny test model and the synthetic data
(the only things swapped in: the model, the data folder and the output folder)."""

from __future__ import annotations

import re
from pathlib import Path

import bench.session

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_example() -> str:
    section = README.read_text(encoding="utf-8").split("## Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL)[1]


def test_the_readme_python_example_runs_and_returns_its_results(tmp_path, tiny_model, data_dir, capsys,
                                                                 monkeypatch):
    original = bench.session.RunSpec

    def tiny(**fields):
        return original(**{**fields, "model": str(tiny_model), "data_dir": str(data_dir),
                           "out": str(tmp_path / "notebook"),
                           "train": {**fields.get("train", {}), "max_steps": 2, "max_length": 48}})

    monkeypatch.setattr(bench.session, "RunSpec", tiny)
    namespace: dict = {}
    exec(compile(readme_example(), str(README), "exec"), namespace)  # noqa: S102  (the README's own code)
    printed = capsys.readouterr().out
    result, frame = namespace["result"], namespace["frame"]
    assert "plan: 4 cells" in printed and "4 succeeded, 0 failed, 0 skipped as already done" in printed
    assert result.ok and len(result.records) == 4
    assert sorted(frame["method"]) == ["lora", "lora", "prompt_tuning", "prompt_tuning"]
    assert (tmp_path / "notebook" / "report.md").exists()
