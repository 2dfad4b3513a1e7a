"""Which examples go into which batch, from their encoded lengths: shuffled batches for training
(optionally grouped by length, so that dynamic padding pads less) and length-sorted batches for
evaluation."""

from __future__ import annotations

from collections.abc import Sequence

import torch

# examples sorted together when grouping by length, in batches: large enough that most batches
# hold similar lengths, small enough that the batch order stays random
GROUPING_WINDOW_BATCHES = 50
# an evaluation batch ends before an example that its padding would make more than this many times
# longer (a 100-example dev split of short and long sentences in one batch was mostly padding)
EVAL_MAX_PADDING = 2


def training_batches(lengths: Sequence[int], batch_size: int, generator: torch.Generator, *,
                     group_by_length: bool = False) -> list[list[int]]:
    """One epoch of batches (example indices); every example appears exactly once.

    Grouped: the shuffled epoch is cut into windows of GROUPING_WINDOW_BATCHES batches, each window
    sorted by length and cut into batches, and the batches are shuffled; the longest batch goes
    first, so that a batch size too large for the device fails at the first step.
    """
    order = torch.randperm(len(lengths), generator=generator).tolist()
    if not group_by_length:
        return _chunks(order, batch_size)
    window = batch_size * GROUPING_WINDOW_BATCHES
    batches = []
    for start in range(0, len(order), window):
        by_length = sorted(order[start : start + window], key=lambda i: -lengths[i])
        batches.extend(_chunks(by_length, batch_size))
    batches = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
    longest = max(range(len(batches)), key=lambda b: max(lengths[i] for i in batches[b]))
    batches[0], batches[longest] = batches[longest], batches[0]
    return batches


def evaluation_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Batches of similar length, longest first (order does not matter when nothing trains): at
    most batch_size examples, and none padded to more than EVAL_MAX_PADDING times its length."""
    batches: list[list[int]] = []
    for index in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        current = batches[-1] if batches else None
        if (current is None or len(current) == batch_size
                or lengths[current[0]] > EVAL_MAX_PADDING * lengths[index]):
            batches.append([index])
        else:
            current.append(index)
    return batches


def length_sorted_parts(batch: Sequence[int], lengths: Sequence[int], parts: int) -> list[list[int]]:
    """A training batch cut into at most `parts` pieces of similar length, so that each piece pads
    less; together they hold exactly the batch's examples."""
    if parts <= 1 or len(batch) < 2:
        return [list(batch)]
    by_length = sorted(batch, key=lambda i: lengths[i])
    return _chunks(by_length, -(-len(by_length) // parts))


def _chunks(indices: list[int], size: int) -> list[list[int]]:
    return [indices[start : start + size] for start in range(0, len(indices), size)]
