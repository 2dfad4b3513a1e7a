"""An installed PETBench carries everything: a wheel built from the checkout and installed into a
folder outside it has the built-in tasks (data files) and methods; records name the code's revision."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_a_wheel_installed_outside_the_checkout_lists_the_built_in_tasks(tmp_path):
    source = tmp_path / "source"  # the tracked files only: no build/ or egg-info left by an earlier build
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True, check=True)
    for name in tracked.stdout.splitlines():
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path / "wheel"), str(source)], check=True, capture_output=True, timeout=300)
    [wheel] = (tmp_path / "wheel").glob("petbench-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(tmp_path / "site"), str(wheel)], check=True, capture_output=True, timeout=300)
    script = ("import sys; sys.path.insert(0, sys.argv[1]); import tasks, bench.cli.main as cli; "
              "assert tasks.__file__.startswith(sys.argv[1]), tasks.__file__; "
              "sys.exit(cli.main(['list']))")
    listed = subprocess.run([sys.executable, "-c", script, str(tmp_path / "site")], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert listed.returncode == 0, listed.stderr[-2000:]
    for name in ("sst2", "eprstmt", "lmbff_sst2", "clue_tnews", "mr"):
        assert f"  {name} " in listed.stdout, name
    assert "  lora " in listed.stdout


def test_records_name_the_petbench_revision_beside_the_library_versions():
    from bench.core.environment import library_versions, petbench_revision

    revision = petbench_revision()
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    assert revision.removesuffix("+dirty") == head if head else revision.endswith("(installed)")
    assert "petbench=" in library_versions() and revision not in library_versions()  # not in the cell id
