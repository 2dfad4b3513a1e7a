"""Do the report's throughput columns and `perf` agree on one shape? Builds a task whose every
example fills --seq-len tokens (SST-2 train sentences repeated), then runs --rounds rounds of a perf
run and a cell run of the same methods, one after the other, and prints the medians side by side.

    .venv/bin/python scripts/cells_vs_perf.py --out runs/cells-vs-perf
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.core.data import load_task_data, resolve_data_dir  # noqa: E402
from bench.core.models import resolve_model  # noqa: E402
from bench.core.task import get_task  # noqa: E402
from bench.session.plugins import load_builtins  # noqa: E402

TASK_FILE = """name: long_sst2
description: SST-2 train sentences repeated to at least 120 words (every example fills max_length)
train: train.tsv
eval: train.tsv
format: tsv
text_fields: [sentence]
labels: ["0", "1"]
verbalizer: [terrible, great]
template: "{sentence} It was [MASK] ."
default_shots: 400
"""


def write_long_task(folder: Path, data_dir: Path | None, examples: int) -> Path:
    load_builtins()
    sst2 = load_task_data(get_task("sst2"), data_dir=data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "train.tsv", "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\",
                            lineterminator="\n")
        writer.writerow(["label", "sentence"])
        for example in sst2.train[:examples]:
            words = example.texts[0].split()
            writer.writerow([example.label, " ".join(words * -(-120 // max(1, len(words))))])
    (folder / "long.yaml").write_text(TASK_FILE)
    return folder / "long.yaml"


def read_rows(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="") as handle:
        return {row["method"]: row for row in csv.DictReader(handle)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/cells-vs-perf")
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--methods", default="full_ft,lora,lpt")
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    out = Path(args.out)
    task_file = write_long_task(out / "task", resolve_data_dir(args.data_dir), examples=800)
    shape = resolve_model(args.model).location
    python, bench = sys.executable, str(ROOT / "run_bench.py")
    for number in range(1, args.rounds + 1):
        subprocess.run([python, bench, "perf", "--shape", shape, "--methods", args.methods, "--batch-size",
                        "16", "--seq-len", str(args.seq_len), "--steps", "10", "--warmup", "3", "--device",
                        args.device, "--out", str(out / f"perf-{number}")], check=True, capture_output=True)
        subprocess.run([python, bench, "--task-file", str(task_file), "--model", args.model, "--methods",
                        args.methods, "--max-length", str(args.seq_len), "--epochs", "2", "--device",
                        args.device, "--out", str(out / f"cells-{number}")], check=True, capture_output=True)
        print(f"round {number} of {args.rounds} done", file=sys.stderr)
    perf = [read_rows(out / f"perf-{n}" / "perf.csv") for n in range(1, args.rounds + 1)]
    cells = [read_rows(out / f"cells-{n}" / "results.csv") for n in range(1, args.rounds + 1)]
    print("| method | perf train samples/s | cell train samples/s | cell / perf "
          "| perf infer samples/s | cell eval samples/s | cell / perf |")
    print("|---|---|---|---|---|---|---|")
    for method in args.methods.split(","):
        perf_train = [float(rows[method]["train_samples_per_s"]) for rows in perf]
        cell_train = [float(rows[method]["train_samples_per_s"]) for rows in cells]
        perf_infer = [float(rows[method]["infer_samples_per_s"]) for rows in perf]
        cell_eval = [float(rows[method]["eval_samples_per_s"]) for rows in cells]
        print(f"| {method} | {_spread(perf_train)} | {_spread(cell_train)} "
              f"| {_ratio(cell_train, perf_train)} | {_spread(perf_infer)} | {_spread(cell_eval)} "
              f"| {_ratio(cell_eval, perf_infer)} |")


def _ratio(cell: list[float], perf: list[float]) -> str:
    return f"{statistics.median(cell) / statistics.median(perf):.2f}"


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}–{max(values):.1f})"


if __name__ == "__main__":
    main()
