#!/usr/bin/env bash
# The perf runs behind docs/results/perf-h200.md and perf-h100.md, for a GPU machine; figures go to $OUT (or runs/).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-runs}"
export PYTHONUNBUFFERED=1
python3 -c "import torch, transformers, peft; print('torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__, torch.cuda.get_device_name())"
SHAPE="${SHAPE:-roberta-large}"
python3 run_bench.py perf --shape "$SHAPE" --methods all --batch-size 32 --seq-len 128 --out "$OUT/perf-$SHAPE" "$@"
