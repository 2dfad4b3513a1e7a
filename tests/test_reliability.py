"""Interrupted sweeps resume without losing or corrupting results; failures stay contained."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from bench.core.errors import BenchError
from bench.core.method import METHODS, GradientConfig, register_method
from bench.core.store import ResultsStore
from bench.training.executors import LocalExecutor
from reports import write_reports
from tests.helpers import run_tiny, tiny_grid
from tests.store_children import append_records, record_numbered

ROOT = Path(__file__).resolve().parent.parent


def _sweep(model: Path, data_dir: Path, out: Path) -> subprocess.Popen:
    command = [sys.executable, "run_bench.py", "--model", str(model), "--data-dir", str(data_dir),
               "--methods", "full_ft", "--seeds", "1,2,3,4", "--shots", "8", "--epochs", "10",
               "--batch-size", "4", "--max-length", "32", "--device", "cpu", "--out", str(out)]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_a_sweep_killed_with_sigkill_resumes_losing_at_most_the_running_cell(tmp_path, tiny_model, data_dir):
    results = tmp_path / "results.jsonl"
    process = _sweep(tiny_model, data_dir, tmp_path)
    deadline = time.time() + 240
    while len(_lines(results)) < 1 and time.time() < deadline and process.poll() is None:
        time.sleep(0.2)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    written = _lines(results)
    assert 1 <= len(written) < 4, "the sweep should be killed mid-way"
    assert all(json.loads(line)["status"] == "success" for line in written)  # no truncated line
    assert _sweep(tiny_model, data_dir, tmp_path).wait(timeout=600) == 0
    records = ResultsStore(tmp_path).load()
    assert sorted(record.seed for record in records) == [1, 2, 3, 4]  # nothing lost, nothing twice
    assert _lines(results)[: len(written)] == written


def _out_of_memory(config, *, model, task, max_length):
    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")


@pytest.fixture
def planted_oom():
    register_method("planted_oom", config=GradientConfig)(_out_of_memory)
    yield
    METHODS.remove("planted_oom")


def test_an_out_of_memory_cell_is_recorded_as_failed_and_the_next_cell_runs(tmp_path, tiny_model, data_dir,
                                                                          planted_oom):
    records = run_tiny(tiny_grid(tiny_model, methods=("planted_oom", "full_ft")), tmp_path, data_dir)
    assert [(r.method, r.status) for r in records] == [("planted_oom", "failed"), ("full_ft", "success")]
    assert records[0].error.startswith("OutOfMemoryError: CUDA out of memory")


def test_a_cell_whose_process_is_killed_is_recorded_as_failed_and_the_sweep_goes_on(tmp_path, tiny_model,
                                                                                   data_dir):
    from bench.session.plugins import WORKER_PRELOAD, PluginSetup

    # the planted method reaches the cell's fresh process through a plugin file, as a user's would
    plugin = tmp_path / "plugin.py"
    plugin.write_text("import os, signal\nfrom bench.core.method import GradientConfig, register_method\n\n"
                      "@register_method('planted_kill', config=GradientConfig)\n"
                      "def build(config, *, model, task, max_length):\n"
                      "    os.kill(os.getpid(), signal.SIGKILL)\n", encoding="utf-8")
    setup = PluginSetup((str(plugin),))
    setup()
    try:
        grid = tiny_grid(tiny_model, methods=("planted_kill", "full_ft"))
        records = run_tiny(grid, tmp_path / "out", data_dir, LocalExecutor(setup, preload=WORKER_PRELOAD))
    finally:
        METHODS.remove("planted_kill")
    assert [(r.method, r.status) for r in records] == [("planted_kill", "failed"), ("full_ft", "success")]
    assert records[0].error == "worker exited -9 without a result"


@pytest.mark.parametrize("bad_line", [b'{"cell_id": "a", "status"', b"[1, 2]", b"null",
                                      b"\xff\xfe not utf-8"])
def test_a_bad_line_in_the_middle_is_a_one_line_error_naming_it(tmp_path, bad_line):
    good = record_numbered(1).to_json().encode()
    (tmp_path / "results.jsonl").write_bytes(good + b"\n" + bad_line + b"\n" + good + b"\n")
    with pytest.raises(BenchError, match="line 2 is not a result record.*delete that line"):
        ResultsStore(tmp_path).load()


def test_a_torn_last_line_is_dropped_with_a_warning_and_cut_by_the_next_append(tmp_path, capsys):
    store = ResultsStore(tmp_path)
    store.append(record_numbered(1))
    with open(store.path, "ab") as handle:  # a crash in the middle of writing the second record
        handle.write(record_numbered(2).to_json().encode()[:40])
    before = store.path.read_bytes()
    assert [record.seed for record in store.load()] == [1]
    assert "last line is an incomplete record" in capsys.readouterr().err
    store.append(record_numbered(3))
    assert [record.seed for record in store.load()] == [1, 3]
    assert store.path.read_bytes().startswith(before[: before.rindex(b"\n") + 1])  # old records untouched


def test_a_results_path_that_is_a_folder_is_a_one_line_error(tmp_path):
    (tmp_path / "results.jsonl").mkdir()
    with pytest.raises(BenchError, match="is not a file"):
        ResultsStore(tmp_path).load()


def test_an_append_adds_one_line_and_never_rewrites_the_file(tmp_path):
    store = ResultsStore(tmp_path)
    store.append(record_numbered(1))
    inode, first = store.path.stat().st_ino, store.path.read_bytes()
    store.append(record_numbered(2))
    assert store.path.stat().st_ino == inode and store.path.read_bytes().startswith(first)


def test_report_writes_linked_figures(tmp_path, tiny_model, data_dir):
    run_tiny(tiny_grid(tiny_model, methods=("full_ft", "lpt"), seeds=(1, 2)), tmp_path, data_dir)
    markdown = write_reports(tmp_path)
    for name in ("accuracy_vs_params.png", "accuracy_vs_memory.png", "train_throughput.png"):
        assert (tmp_path / name).is_file(), f"{name} not written"
        assert (tmp_path / name).stat().st_size > 5_000, f"{name} is nearly empty"
        assert f"]({name})" in markdown, f"{name} not linked"


def test_concurrent_appends_to_one_store_lose_no_record(tmp_path):
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.starmap(append_records, [(str(tmp_path), worker) for worker in range(4)])
    assert sorted(record.seed for record in ResultsStore(tmp_path).load()) == list(range(40))


def test_running_cells_counts_the_live_cells_on_the_machine_and_of_its_own_sweep_and_forgets_dead_ones(
        tmp_path):
    import subprocess
    import sys

    from bench.core.measure import RunningCells

    sleepers = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) for _ in range(2)]
    try:
        (tmp_path / str(sleepers[0].pid)).write_text("other-sweep")  # another sweep's live cell
        (tmp_path / str(sleepers[1].pid)).write_text("mine")  # a live cell of this cell's own sweep
        (tmp_path / "999999999").write_text("mine")  # a marker left by a cell that died
        with RunningCells(tmp_path, sweep="mine") as running:
            assert (running.most, running.most_of_sweep) == (3, 2)
        assert not (tmp_path / "999999999").exists()
    finally:
        for sleeper in sleepers:
            sleeper.kill()
            sleeper.wait()
    with RunningCells(tmp_path, sweep="mine") as alone:
        pass
    assert (alone.most, alone.most_of_sweep) == (1, 1)


def _interruptible() -> None:
    """In the child before it runs: Ctrl-C as a terminal delivers it, even where this test runs as a
    background job (which starts with SIGINT ignored, and an ignored SIGINT stays ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _has_loaded(pid: int, library: str) -> bool:
    try:
        return library in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def _descendants(pid: int) -> list[int]:
    """Every live process below pid (children, grandchildren), from /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, of in parents.items() if of == parent]
        found += children
        frontier += children
    return found


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code", "said"), [(signal.SIGINT, 130, "interrupted:"),
                                                      (signal.SIGTERM, 143, "terminated (SIGTERM):"),
                                                      (signal.SIGKILL, -9, "")])
def test_an_interrupted_or_killed_driver_ends_in_one_line_and_leaves_no_cell_running(
        tmp_path, tiny_model, data_dir, signum, code, said):
    command = [sys.executable, "run_bench.py", "--model", str(tiny_model), "--data-dir", str(data_dir),
               "--methods", "full_ft", "--seeds", "1", "--shots", "8", "--epochs", "100000", "--batch-size",
               "4",
               "--max-length", "32", "--device", "cpu", "--out", str(tmp_path)]
    driver = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True, preexec_fn=_interruptible)
    deadline = time.time() + 120
    # the resource tracker, the fork server and the cell's own process
    while len(_descendants(driver.pid)) < 3 and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(2)  # the cell is training
    workers = _descendants(driver.pid)
    assert len(workers) >= 3
    if signum == signal.SIGINT:
        os.killpg(driver.pid, signum)  # Ctrl-C: the whole foreground group
    else:
        os.kill(driver.pid, signum)
    try:
        _, err = driver.communicate(timeout=60)
    finally:
        if driver.poll() is None:  # a hung driver must not outlive the test and load the next ones
            os.killpg(driver.pid, signal.SIGKILL)
    assert driver.returncode == code
    if said:
        assert err.decode().strip().splitlines()[-1].startswith(said) and b"Traceback" not in err
    deadline = time.time() + 30
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.time() < deadline:
        time.sleep(0.5)
    alive = [pid for pid in workers if Path(f"/proc/{pid}").exists()
             and (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z")]
    assert not alive, "a cell's process kept running after its driver ended"


def test_a_cell_claimed_by_another_live_sweep_is_left_to_it_and_a_dead_sweeps_claim_lapses(tmp_path, capsys):
    import hashlib

    from bench.core.store import CLAIMS_DIR

    store = ResultsStore(tmp_path)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / CLAIMS_DIR).mkdir(parents=True)
        (tmp_path / CLAIMS_DIR / hashlib.sha1(b"a").hexdigest()).write_text(str(other.pid))
        (tmp_path / CLAIMS_DIR / hashlib.sha1(b"b").hexdigest()).write_text("999999999")  # died
        claimed, taken = store.claim(["a", "b", "c"])
        assert claimed == ["b", "c"] and taken == ["a"]
        store.release(claimed)
        assert store.claim(["b"]) == (["b"], [])
    finally:
        other.kill()
        other.wait()
    assert store.claim(["a"]) == (["a"], [])  # its holder is gone


_TERMINATED_WHILE_A_CHILD_STARTS = """
import multiprocessing.forkserver, os, signal, sys
from bench.training.isolation import call_in_child, fork_server

class Terminated(BaseException):
    pass

def terminate(signum, frame):
    raise Terminated

context = fork_server([])
signal.signal(signal.SIGTERM, terminate)
connect = multiprocessing.forkserver.connect_to_new_process
def connect_then_sigterm(fds):
    answer = connect(fds)
    os.kill(os.getpid(), signal.SIGTERM)  # after the fork server forked, before the child got its task
    return answer
multiprocessing.forkserver.connect_to_new_process = connect_then_sigterm
try:
    call_in_child(context, os.getpid)
except Terminated:
    print("terminated", file=sys.stderr)
"""


def test_a_sigterm_while_a_cells_process_starts_lets_the_start_finish_and_the_child_stays_silent():
    """A driver told to stop while handing a child its task must not leave the child reading half a
    message (a pickle traceback on the user's terminal)."""
    done = subprocess.run([sys.executable, "-c", _TERMINATED_WHILE_A_CHILD_STARTS], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    time.sleep(0.5)  # a child that would complain does so as it dies
    assert done.stderr.strip().splitlines() == ["terminated"], done.stderr


@pytest.mark.parametrize(("signum", "code", "said"), [(signal.SIGINT, 130, "interrupted:"),
                                                      (signal.SIGTERM, 143, "terminated (SIGTERM):")])
def test_a_stop_signal_while_the_driver_still_imports_its_libraries_ends_in_one_line(tmp_path, signum, code,
                                                                                      said):
    driver = subprocess.Popen([sys.executable, "run_bench.py", "list"], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, start_new_session=True, preexec_fn=_interruptible)
    deadline = time.time() + 60
    while not _has_loaded(driver.pid, "libtorch") and time.time() < deadline:  # main() imports torch first
        time.sleep(0.02)
    os.kill(driver.pid, signum)
    _, err = driver.communicate(timeout=60)
    lines = err.decode().strip().splitlines()
    assert driver.returncode == code and len(lines) == 1 and lines[0].startswith(said), lines


def test_a_claim_held_by_another_users_live_process_is_still_held(tmp_path, monkeypatch):
    """One liveness rule (bench.core.processes): a process we may not signal exists."""
    import bench.core.processes
    from bench.core import store

    def refused(pid: int, signal_number: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    marker = tmp_path / "claim"
    marker.write_text("4242", encoding="utf-8")
    monkeypatch.setattr(bench.core.processes.os, "kill", refused)
    assert store._holder(marker) == 4242
