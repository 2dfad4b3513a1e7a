"""How close a local sweep comes to the machine's limit: a 24-cell grid on the default model (two
methods x four seeds x three learning rates, a small budget) run once per --jobs setting, printing
cells per hour, the share of the cores' time spent in cell compute (training steps, dev and final
evaluations), and each cell's time breakdown.

    .venv/bin/python scripts/sweep_throughput.py [--jobs 1,auto] [--data-dir ../shared/data]

Each setting runs as its own `run_bench.py run` into a fresh folder with an empty encoding cache, as
a new sweep would (the wall time includes the driver's start-up and planning). The figures name the
CPU they were measured on.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.core.environment import cpu_description  # noqa: E402
from bench.core.store import ResultsStore  # noqa: E402
from bench.training.executors import usable_cores  # noqa: E402

GRID = ["--tasks", "sst2", "--methods", "full_ft,lora", "--seeds", "1,2,3,4",
        "--search", "lr=1e-4,3e-4,1e-3", "--epochs", "2", "--eval-limit", "100"]
PHASES = ("start", "load", "encode", "train", "dev", "eval")
COMPUTE = ("train", "dev", "eval")


def measure(jobs: str, data_dir: str | None, folder: Path) -> None:
    out = folder / f"jobs-{jobs}"
    environment = os.environ | {"PETBENCH_CACHE": str(folder / f"cache-{jobs}")}
    extra = ["--data-dir", data_dir] if data_dir else []
    began = time.perf_counter()
    code = subprocess.run([sys.executable, str(ROOT / "run_bench.py"), "run", *GRID, *extra, "--jobs", jobs,
                           "--out", str(out)], env=environment, stdout=subprocess.DEVNULL).returncode
    wall = time.perf_counter() - began
    records = ResultsStore(out).latest()
    ok = [record for record in records if record.succeeded]
    cores = usable_cores()
    compute = sum(sum(getattr(r, f"seconds_{phase}") for phase in COMPUTE) * r.threads for r in ok)
    print(f"\n--jobs {jobs}: exit {code}, {len(ok)}/{len(records)} cells succeeded in {wall:.0f} s wall: "
          f"{3600 * len(ok) / wall:.0f} cells/hour; cell compute {100 * compute / (wall * cores):.0f}% of "
          f"{cores} cores' time (threads per cell: {sorted({r.threads for r in ok})})")
    print("cell                               " + " ".join(f"{phase:>7s}" for phase in PHASES) + "    wall")
    for r in ok:
        name = f"{r.method} lr={r.learning_rate:g} seed={r.seed}"
        print(f"{name:35s}" + " ".join(f"{getattr(r, f'seconds_{phase}'):7.1f}" for phase in PHASES)
              + f" {r.wall_seconds:7.1f}")
    totals = {phase: sum(getattr(r, f"seconds_{phase}") for r in ok) for phase in PHASES}
    cell_wall = sum(r.wall_seconds for r in ok)
    shares = " ".join(f"{100 * totals[phase] / cell_wall:6.0f}%" for phase in PHASES)
    print(f"share of the cells' wall time:   {shares}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", default="1,auto", help="comma-separated --jobs settings to measure")
    parser.add_argument("--data-dir", default=None, help="the datasets (default: ../shared/data)")
    return parser.parse_args()


if __name__ == "__main__":
    args = parse_args()
    print(f"CPU: {cpu_description()}, {usable_cores()} usable cores")
    with tempfile.TemporaryDirectory() as scratch:
        for setting in args.jobs.split(","):
            measure(setting, args.data_dir, Path(scratch))
