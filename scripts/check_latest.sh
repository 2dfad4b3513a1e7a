#!/usr/bin/env bash
# Drift detection, for maintainers (not part of CI, which stays on the lock): a separate environment
# with the newest release of every dependency, ignoring constraints.txt, then the fast tests and a
# one-step cell of every registered method on the default model; prints, per method, whether it
# still works and with which versions.
#   bash scripts/check_latest.sh [PACKAGE==VERSION ...]   # optional pins, e.g. to test one release
set -uo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
python3 -m venv "$work/venv"
py="$work/venv/bin/python"
pip_quietly() {  # pip's own output only when it fails
    "$py" -m pip install -q "$@" > "$work/pip.log" 2>&1 || { cat "$work/pip.log"; exit 1; }
}
pip_quietly --upgrade pip
pip_quietly torch==2.13.0
pip_quietly ".[test,ray,setfit,mlflow,wandb,splade]"
# newest of each direct dependency, whatever pyproject.toml's bounds say
deps=$("$py" -c 'import tomllib, re; d = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]; print(" ".join(re.split("[<>=!~ ;\\[]", x)[0] for x in d if not x.startswith("torch")))')
pip_quietly --upgrade $deps "$@"
versions=$("$py" -c 'from bench.core.environment import library_versions; print(library_versions())')
echo "== environment: $versions"
echo "== fast tests"
"$py" -m pytest -q -m "not slow" -p no:cacheprovider 2>&1 | tail -n 3
tests=${PIPESTATUS[0]}
echo "== one-step cell of every method (sst2, 8 shots)"
"$py" run_bench.py run --methods all --max-steps 1 --shots 8 --batch-size 4 --out "$work/cells" > "$work/cells.log" 2>&1
"$py" - "$work/cells" <<'PYTHON'
import json, sys
from pathlib import Path

records = [json.loads(line) for line in (Path(sys.argv[1]) / "results.jsonl").read_text().splitlines()]
for record in records:
    status = "works" if record["status"] == "success" else f"BROKEN ({record['error']})"
    print(f"{record['method']:14s} {status}")
working = sum(record["status"] == "success" for record in records)
print(f"{working} of {len(records)} methods work with {records[0]['versions']}")
sys.exit(working != len(records))
PYTHON
cells=$?
rm -rf "$work"
exit $(( tests || cells ))
