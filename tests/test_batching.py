"""Length-grouped batching changes which examples share a batch, never what one example computes."""

import torch

from bench.core.device import choose_device
from bench.core.task import Example
from bench.training.batching import evaluation_batches, training_batches
from bench.training.loop import EncodedSplits, TrainConfig, train_and_evaluate
from tests.helpers import batch, build


def _lengths(n: int) -> list[int]:
    generator = torch.Generator().manual_seed(3)
    return torch.randint(1, 40, (n,), generator=generator).tolist()


def _padding(lengths: list[int], batches: list[list[int]]) -> int:
    """Padded positions if every batch is padded to its longest member."""
    return sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches)


def test_every_example_appears_once_per_epoch_in_full_batches_with_or_without_grouping():
    lengths = _lengths(1000)
    for grouped in (False, True):
        batches = training_batches(lengths, 16, torch.Generator().manual_seed(0), group_by_length=grouped)
        assert sorted(i for b in batches for i in b) == list(range(1000))
        assert sorted(len(b) for b in batches)[1:] == [16] * (len(batches) - 1)


def test_grouping_by_length_pads_far_less_than_random_batches():
    lengths = _lengths(1000)
    shuffled = training_batches(lengths, 16, torch.Generator().manual_seed(0))
    grouped = training_batches(lengths, 16, torch.Generator().manual_seed(0), group_by_length=True)
    assert _padding(lengths, grouped) < 0.2 * _padding(lengths, shuffled)


def test_grouped_batches_are_still_shuffled_and_the_longest_batch_comes_first():
    lengths = _lengths(1000)
    epochs = [training_batches(lengths, 16, torch.Generator().manual_seed(seed), group_by_length=True)
              for seed in (0, 1)]
    assert epochs[0] != epochs[1]
    for batches in epochs:
        longest_per_batch = [max(lengths[i] for i in b) for b in batches]
        assert longest_per_batch[0] == max(longest_per_batch)
        assert longest_per_batch != sorted(longest_per_batch, reverse=True)


def test_without_grouping_the_epoch_order_is_the_seeded_permutation():
    batches = training_batches(_lengths(50), 8, torch.Generator().manual_seed(5))
    permutation = torch.randperm(50, generator=torch.Generator().manual_seed(5)).tolist()
    assert [i for b in batches for i in b] == permutation


def test_evaluation_batches_are_sorted_longest_first_and_cover_every_example():
    lengths = _lengths(100)
    flat = [i for b in evaluation_batches(lengths, 32) for i in b]
    assert sorted(flat) == list(range(100))
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)


def test_an_evaluation_batch_pads_no_example_to_more_than_twice_its_length():
    from bench.training.batching import EVAL_MAX_PADDING

    lengths = [3, 50, 12, 25, 6, 24, 48, 5] * 10
    batches = evaluation_batches(lengths, 128)
    assert all(max(lengths[i] for i in b) <= EVAL_MAX_PADDING * lengths[i] for b in batches for i in b)
    assert [sorted({lengths[i] for i in b}) for b in batches] == [[25, 48, 50], [12, 24], [3, 5, 6]]
    assert evaluation_batches([40] * 300, 128) == [list(range(0, 128)), list(range(128, 256)),
                                                   list(range(256, 300))]  # equal lengths: full batches


def test_an_examples_logits_do_not_depend_on_the_padding_its_batch_neighbours_bring(tiny_model):
    built = build("full_ft", tiny_model)
    built.model.eval()
    short, long = Example(("a fine film",), 1), Example((" ".join(["a long and tedious film"] * 8),), 0)

    def logits(examples: list[Example]) -> torch.Tensor:
        inputs = batch(built, examples)
        inputs.pop("labels")
        with torch.no_grad():
            return built.model(**inputs)[0]

    torch.testing.assert_close(logits([short]), logits([short, long]), rtol=1e-5, atol=1e-5)


def test_training_with_grouped_batches_runs_every_step_and_scores(tiny_model):
    built = build("lora", tiny_model)
    examples = [Example((" ".join(["word"] * length),), i % 2) for i, length in enumerate(_lengths(40))]
    encoded = tuple(built.encoder.encode(examples))
    outcome = train_and_evaluate(built, data=EncodedSplits(encoded, encoded[:8], encoded[:8]),
                                 config=TrainConfig(batch_size=4, group_by_length=True), learning_rate=1e-2,
                                 epochs=2, device=choose_device("cpu"), metric="accuracy", seed=0)
    assert outcome.steps == 20 and outcome.train_samples == 19 * 4  # the first step is warm-up
    assert len(outcome.eval_predictions) == 8
