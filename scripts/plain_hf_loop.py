"""The reference a PETBench cell's cost is held against: a plain Hugging Face loop doing the same work
as `run_bench.py run --tasks sst2 --methods full_ft --seeds 42 --epochs 10` (100 training examples,
10 epochs at batch 16, AdamW with linear warm-up, a dev evaluation of 100 examples before training and
after every epoch, the best epoch scored on SST-2's 872 dev examples), with none of the harness.

    .venv/bin/python scripts/plain_hf_loop.py MODEL_FOLDER [--data-dir ../shared/data] [--precision fp32]

Time it and the PETBench cell side by side as whole processes (/usr/bin/time -v, or any benchmark
runner that alternates the two); docs/results/cpu-avx2.md has the figures.
"""

import argparse
import copy
import csv
import random
import time
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

parser = argparse.ArgumentParser()
parser.add_argument("model")
parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
args = parser.parse_args()
torch.manual_seed(42)


def rows(name):
    with open(Path(args.data_dir, "glue/sst2", name), encoding="utf-8") as handle:
        return [(row.get("sentence") or row["content"], int(row["label"]))  # train and dev differ
                for row in csv.DictReader(handle, delimiter="\t")]


pool, test = rows("train.tsv"), rows("dev.tsv")
random.Random(42).shuffle(pool)
train, dev = pool[:100], pool[100:200]
tokenizer = AutoTokenizer.from_pretrained(args.model)
model = AutoModelForSequenceClassification.from_pretrained(args.model, num_labels=2)


def batches(examples, size, shuffle=False):
    order = list(range(len(examples)))
    if shuffle:
        random.shuffle(order)
    for start in range(0, len(order), size):
        chosen = [examples[i] for i in order[start:start + size]]
        inputs = tokenizer([text for text, _ in chosen], padding=True, truncation=True, max_length=128,
                           return_tensors="pt")
        yield inputs, torch.tensor([label for _, label in chosen])


def accuracy(examples):
    model.eval()
    with torch.inference_mode():
        right = sum((model(**inputs).logits.argmax(-1) == labels).sum().item()
                    for inputs, labels in batches(examples, 128))
    return right / len(examples)


optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
steps = 10 * -(-len(train) // 16)
schedule = get_linear_schedule_with_warmup(optimizer, int(0.06 * steps), steps)
started = time.perf_counter()
best, best_state = accuracy(dev), None
for _ in range(10):
    model.train()
    for inputs, labels in batches(train, 16, shuffle=True):
        loss = model(**inputs, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
    if (score := accuracy(dev)) > best or best_state is None:
        best, best_state = score, copy.deepcopy(model.state_dict())
model.load_state_dict(best_state)
print(f"dev {best:.3f}, eval accuracy {accuracy(test):.4f}, {time.perf_counter() - started:.1f} s after load")
