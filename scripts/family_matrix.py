"""The method x encoder-family matrix: a tiny random-weight masked LM of every registered family (its
own tokenizer kind, built offline), one short sst2 cell per method through `run_bench.py run`, and a
Markdown table of what each cell did (ok, the refusal given before the first cell, or the error).

    .venv/bin/python scripts/family_matrix.py [--out runs/families] [--families bert,deberta_v2]
        [--methods all] [--max-steps 2] [--shots 16]

Needs the sst2 data (../shared/data or $PETBENCH_DATA_DIR); the vocabulary of each tiny model is the
task templates' words plus the 3,000 most frequent words of sst2's training file.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cli.main import main as run_bench  # noqa: E402
from bench.core.data import resolve_data_dir  # noqa: E402
from bench.core.errors import BenchError  # noqa: E402
from bench.core.family import FAMILIES  # noqa: E402
from bench.core.method import METHODS  # noqa: E402
from bench.core.task import TASKS  # noqa: E402
from bench.session.plugins import load_builtins  # noqa: E402


def vocabulary(data_dir: Path, size: int = 3000) -> list[str]:
    words = collections.Counter()
    for line in (data_dir / "glue" / "sst2" / "train.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        words.update(re.findall(r"[a-z]+|[^\sa-z]", line.split("\t", 1)[-1].lower()))
    for name in TASKS:
        task = TASKS.get(name)
        for text in (task.template, *task.verbalizer):
            words.update(re.findall(r"[a-z]+|[^\sa-z{}\[\]]", text.lower()) * 1000)
    return [word for word, _ in words.most_common(size)]


def run_family(family: str, folder: Path, out: Path, args: argparse.Namespace) -> dict[str, str]:
    """method -> 'ok', 'refused: ...' or 'failed: ...' for one family."""
    command = ["run", "--tasks", "sst2", "--model", str(folder), "--methods", args.methods, "--shots",
               str(args.shots), "--max-steps", str(args.max_steps), "--seeds", "1", "--out", str(out),
               "--executor", "inline"]
    if run_bench(command) == 2:
        return {"*": "refused before the first cell (see the error above)"}
    outcome = {}
    for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        ok = record["status"] == "success"
        outcome[record["method"]] = "ok" if ok else f"failed: {record['error'][:90]}"
    return outcome


def main() -> int:
    from families.tiny import save_tiny_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/families")
    parser.add_argument("--families", default="all")
    parser.add_argument("--methods", default="all")
    parser.add_argument("--max-steps", type=int, default=2)
    parser.add_argument("--shots", type=int, default=16)
    args = parser.parse_args()
    load_builtins()
    data_dir = resolve_data_dir(None)
    if data_dir is None:
        raise BenchError("the sst2 data is missing: set PETBENCH_DATA_DIR or put ../shared/data beside "
                         "the checkout")
    names = list(FAMILIES) if args.families == "all" else args.families.split(",")
    words, out = vocabulary(data_dir), Path(args.out)
    table = {}
    for family in names:
        folder = save_tiny_model(family, out / "models" / family, words)
        table[family] = run_family(family, folder, out / "cells" / family, args)
    methods = sorted({method for row in table.values() for method in row} - {"*"}) or METHODS.names()
    print("| method | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for method in methods:
        cells = [table[family].get(method, table[family].get("*", "not run")) for family in names]
        print(f"| {method} | " + " | ".join(cells) + " |")
    succeeded = sum(cell == "ok" for row in table.values() for cell in row.values())
    print(f"\n{succeeded} of {len(names) * len(methods)} cells succeeded")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
