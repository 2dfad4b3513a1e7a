"""report.html's size and opening time for 1 cell and 5,000 cells (synthetic records), in headless
Chromium: milliseconds from navigation to the leaderboard drawn and to the Pareto plot drawn, in a
fresh browser (cold) and on opening again (warm: the median of --repeats opens).

    .venv/bin/python scripts/html_report_size.py [--sizes 1,5000] [--repeats 5]

Needs Debian's chromium and chromium-driver. The 5,000 cells are 10 tasks x 10 methods x 10 models x
5 seeds (1,000 leaderboard rows). Prints one line per size.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.core.records import CellResult, CellStatus  # noqa: E402
from bench.core.store import RESULTS_FILE  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SEEDS = 5


def synthetic_cell(index: int, *, tasks: int = 10, methods: int = 10, failed: bool = False) -> CellResult:
    """The index-th cell of a tasks x methods x models x 5 seeds grid, with plausible numbers."""
    seed, rest = index % SEEDS, index // SEEDS
    number = rest // tasks % methods
    task, method = f"task{rest % tasks}", f"method{number}"
    model = f"model{rest // (tasks * methods) % 10}"
    config = f"{task}-{method}-{model}"
    score = 0.55 + 0.03 * number + 0.01 * seed + 0.005 * (rest % 7)
    return CellResult(
        cell_id=f"{task}/{method}/shots=100/seed={seed}/{index:010x}", config_id=config, selection_id=config,
        status=CellStatus.FAILED if failed else CellStatus.SUCCESS, task=task, task_version="1",
        language="en", method=method, method_config=json.dumps({"learning_rate": 1e-4}), model=model,
        seed=seed, shots=100, split=None, zero_shot=False, metric="accuracy",
        versions="torch=2.13.0,transformers=5.23.0,peft=0.21.2,datasets=5.2.0,petbench=0.1.0",
        device="cpu (2 threads)", dtype="fp32", score=None if failed else score, dev_score=score + 0.02,
        majority_score=0.5, n_train=100, n_dev=100, n_eval=872, steps=70, best_step=10 * (1 + seed),
        train_samples_per_s=20.0 + rest % 13, eval_samples_per_s=60.0 + rest % 11,
        peak_memory_bytes=(300 + 7 * (rest % 50)) * 2**20, memory_kind="cpu_peak_rss_growth",
        trainable_params=10 ** (3 + number % 5) + rest, total_params=10**8, wall_seconds=30.0 + seed,
        error="RuntimeError: CUDA out of memory (planted)" if failed else "")


def write_results(folder: Path, count: int, *, tasks: int = 10, methods: int = 10, failed: int = 0) -> Path:
    """A results folder of `count` synthetic cells, the last `failed` of them failed."""
    folder.mkdir(parents=True, exist_ok=True)
    cells = [synthetic_cell(index, tasks=tasks, methods=methods, failed=index >= count - failed)
             for index in range(count)]
    lines = [cell.to_json() + "\n" for cell in cells]
    (folder / RESULTS_FILE).write_text("".join(lines), encoding="utf-8")
    return folder


def chromium_driver(width: int = 1400, height: int = 1000):
    """Headless Chromium through Selenium; None when the browser, its driver or selenium is missing."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ModuleNotFoundError:
        return None
    if not (CHROMIUM.exists() or shutil.which("chromium")) or not (CHROMEDRIVER.exists() or shutil.which(
            "chromedriver")):
        return None
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={width},{height}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver_path = CHROMEDRIVER if CHROMEDRIVER.exists() else shutil.which("chromedriver")
    return webdriver.Chrome(options=options, service=Service(str(driver_path)))


def open_report(driver, path: Path, timeout: float = 30.0) -> tuple[int, int]:
    """Open report.html; milliseconds from navigation to the table drawn and to the plot drawn."""
    driver.get(path.resolve().as_uri())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = driver.execute_script("return [document.body.dataset.tableMs, document.body.dataset.readyMs]")
        if all(ready):
            return int(ready[0]), int(ready[1])
        time.sleep(0.02)
    raise TimeoutError(f"{path} did not finish drawing within {timeout:.0f} s")


def measure(size: int, scratch: Path, repeats: int) -> str:
    from reports import HTML_FILE, write_reports

    folder = write_results(scratch / str(size), size)
    started = time.perf_counter()
    write_reports(folder, command=f"scripts/html_report_size.py --sizes {size}")
    written = time.perf_counter() - started
    report = folder / HTML_FILE
    driver = chromium_driver()
    if driver is None:
        raise SystemExit("no Chromium: apt-get install chromium chromium-driver")
    try:
        cold = open_report(driver, report)
        again = [open_report(driver, report) for _ in range(repeats)]
        warm = (statistics.median(table for table, _ in again), statistics.median(plot for _, plot in again))
    finally:
        driver.quit()
    return (f"{size:>5,} cells: report.html {report.stat().st_size / 2**20:.2f} MiB (written with the other "
            f"reports in {written:.1f} s); table drawn / plot drawn: cold {cold[0]} / {cold[1]} ms, warm "
            f"{warm[0]:.0f} / {warm[1]:.0f} ms (median of {repeats})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,5000")
    parser.add_argument("--repeats", type=int, default=5, help="warm opens to take the median of")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        for size in (int(size) for size in args.sizes.split(",")):
            print(measure(size, Path(scratch), args.repeats), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
