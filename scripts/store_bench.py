"""How the results store scales: the time of one append into stores of 100, 10,000 and 100,000
records (it should not grow with the store), and `run_bench.py report` over 100,000 records.

    .venv/bin/python scripts/store_bench.py [--sizes 100,10000,100000] [--appends 20]

Records are synthetic (about 2 KB each, like a real cell's): 50 configurations x 2,000 seeds at the
largest size. Prints one line per figure.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.core.records import CellResult, CellStatus  # noqa: E402
from bench.core.store import ResultsStore  # noqa: E402


def synthetic(index: int) -> CellResult:
    configuration = index % 50
    return CellResult(
        cell_id=f"sst2/m{configuration}/shots=100/seed={index}/{index:010x}", config_id=f"c{configuration}",
        selection_id=f"c{configuration}", status=CellStatus.SUCCESS, task="sst2", task_version="1",
        language="en", method=f"method_{configuration % 10}",
        method_config=json.dumps({"learning_rate": 1e-4 * (1 + configuration), "epochs": 10,
                                  "note": "x" * 600}),
        model="all-MiniLM-L6-v2", seed=index, shots=100, split=None, zero_shot=False, metric="accuracy",
        train_config=json.dumps({"batch_size": 16, "max_length": 128, "pad": "y" * 500}),
        versions="torch=2.13.0,transformers=5.23.0,peft=0.21.2,datasets=5.2.0,petbench=0.1.0",
        device="cpu (2 threads)", dtype="bfloat16", score=0.5 + (index % 37) / 100, accuracy=0.6,
        dev_score=0.6, majority_score=0.5, n_train=100, n_dev=100, n_eval=872, steps=70, best_step=70,
        train_samples_per_s=40.0, eval_samples_per_s=130.0, peak_memory_bytes=10**9, memory_kind="rss",
        trainable_params=1000, total_params=10**7, wall_seconds=20.0, finished_at="2026-12-02T00:00:00+00:00")


def fill(folder: Path, size: int) -> ResultsStore:
    """A store of `size` records, written in one go (the benchmark times appends, not this)."""
    lines = "".join(synthetic(index).to_json() + "\n" for index in range(size))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.jsonl").write_text(lines, encoding="utf-8")
    return ResultsStore(folder)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,10000,100000")
    parser.add_argument("--appends", type=int, default=20)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as scratch:
        for size in sizes:
            store = fill(Path(scratch) / str(size), size)
            mib = store.path.stat().st_size / 2**20
            seconds = []
            for extra in range(args.appends):
                record = dataclasses.replace(synthetic(size + extra), cell_id=f"extra/{size}/{extra}")
                started = time.perf_counter()
                store.append(record)
                seconds.append(time.perf_counter() - started)
            median = 1000 * statistics.median(seconds)
            print(f"append into {size:>7,} records ({mib:6.1f} MiB): median {median:.2f} ms, max "
                  f"{1000 * max(seconds):.2f} ms over {args.appends} appends (each fsync'd)")
        from bench.cli.main import main as run_bench

        largest = Path(scratch) / str(max(sizes))
        started = time.perf_counter()
        code = run_bench(["report", str(largest)])
        print(f"report over {max(sizes) + args.appends:,} records: {time.perf_counter() - started:.1f} s "
              f"(exit {code})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
