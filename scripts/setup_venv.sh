#!/usr/bin/env bash
# Creates .venv with the CPU build of torch (on disk here) and the project with its test, ray,
# setfit, mlflow, wandb and splade extras, at the exact versions of constraints.txt (the lock;
# scripts/update_lock.sh re-resolves it).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# torch first and pinned, so that no dependency pulls a multi-GB CUDA build
.venv/bin/python -m pip install -q -c constraints.txt torch==2.13.0
.venv/bin/python -m pip install -q -c constraints.txt -e ".[test,ray,setfit,mlflow,wandb,splade]"
