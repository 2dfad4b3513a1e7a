#!/usr/bin/env bash
# Re-resolves the lock: a fresh environment with the newest releases that pyproject.toml allows
# (plus any pins given as arguments, e.g. transformers==5.23.0), the fast tests, and only if they
# pass, its exact versions written to constraints.txt.
#   bash scripts/update_lock.sh [PACKAGE==VERSION ...]
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
env_dir="$work/lock-venv"
python3 -m venv "$env_dir"
pip_quietly() {  # pip's own output only when it fails
    "$env_dir/bin/python" -m pip install -q "$@" > "$work/pip.log" 2>&1 || { cat "$work/pip.log"; exit 1; }
}
pip_quietly --upgrade pip
pip_quietly torch==2.13.0
pip_quietly ".[test,ray,setfit,mlflow,wandb,splade]" "$@"
"$env_dir/bin/python" -m pytest -q -m "not slow" -p no:cacheprovider
{
    echo "# The exact versions the tests passed with; written by scripts/update_lock.sh $*"
    echo "# on $(date -u +%F) with Python $("$env_dir/bin/python" -c 'import platform; print(platform.python_version())')."
    # torch without its local label (+cpu), so that the lock also admits a CUDA build of that release
    "$env_dir/bin/python" -m pip freeze --exclude petbench | sed -E 's/^(torch==[^+]+)\+.*/\1/'
} > constraints.txt
echo "wrote constraints.txt"
