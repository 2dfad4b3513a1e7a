"""Length-grouped batching changes which examples share a batch, never what one example computes."""

import torch

from bench.batching import evaluation_batches, text_length, training_batches
from bench.device import choose_device
from bench.train import TrainConfig, train_and_evaluate
from tasks.loader import Example
from tests.test_methods import build


def _examples(n: int) -> list[Example]:
    generator = torch.Generator().manual_seed(3)
    lengths = torch.randint(1, 40, (n,), generator=generator).tolist()
    return [Example((" ".join(["word"] * length),), i % 2) for i, length in enumerate(lengths)]


def _padding(examples: list[Example], batches: list[list[int]]) -> int:
    """Padded positions if every batch is padded to its longest member (lengths in characters)."""
    return sum(max(text_length(examples[i]) for i in batch) * len(batch)
               - sum(text_length(examples[i]) for i in batch) for batch in batches)


def test_every_example_appears_once_per_epoch_in_full_batches_with_or_without_grouping():
    examples = _examples(1000)
    for grouped in (False, True):
        batches = training_batches(examples, 16, torch.Generator().manual_seed(0), group_by_length=grouped)
        assert sorted(i for batch in batches for i in batch) == list(range(1000))
        assert sorted(len(batch) for batch in batches)[1:] == [16] * (len(batches) - 1)


def test_grouping_by_length_pads_far_less_than_random_batches():
    examples = _examples(1000)
    shuffled = training_batches(examples, 16, torch.Generator().manual_seed(0))
    grouped = training_batches(examples, 16, torch.Generator().manual_seed(0), group_by_length=True)
    assert _padding(examples, grouped) < 0.2 * _padding(examples, shuffled)


def test_grouped_batches_are_still_shuffled_and_the_longest_batch_comes_first():
    examples = _examples(1000)
    epochs = [training_batches(examples, 16, torch.Generator().manual_seed(seed), group_by_length=True)
              for seed in (0, 1)]
    assert epochs[0] != epochs[1]
    for batches in epochs:
        longest_per_batch = [max(text_length(examples[i]) for i in batch) for batch in batches]
        assert longest_per_batch[0] == max(longest_per_batch)
        assert longest_per_batch != sorted(longest_per_batch, reverse=True)


def test_without_grouping_the_epoch_order_is_the_seeded_permutation():
    examples = _examples(50)
    batches = training_batches(examples, 8, torch.Generator().manual_seed(5))
    assert [i for batch in batches for i in batch] == torch.randperm(50, generator=torch.Generator()
                                                                     .manual_seed(5)).tolist()


def test_evaluation_batches_are_sorted_longest_first_and_cover_every_example():
    examples = _examples(100)
    batches = evaluation_batches(examples, 32)
    flat = [i for batch in batches for i in batch]
    assert sorted(flat) == list(range(100))
    assert [text_length(examples[i]) for i in flat] == sorted(map(text_length, examples), reverse=True)


def test_an_examples_logits_do_not_depend_on_the_padding_its_batch_neighbours_bring(tiny_model):
    built = build("full_ft", tiny_model)
    built.model.eval()
    short, long = Example(("a fine film",), 1), Example((" ".join(["a long and tedious film"] * 8),), 0)

    def logits(batch: list[Example]) -> torch.Tensor:
        inputs = built.collate(batch)
        inputs.pop("labels")
        with torch.no_grad():
            return built.model(**inputs)[0]

    torch.testing.assert_close(logits([short]), logits([short, long]), rtol=1e-5, atol=1e-5)


def test_training_with_grouped_batches_runs_every_step_and_scores(tiny_model):
    examples = _examples(40)
    grouped = TrainConfig(batch_size=4, group_by_length=True)
    outcome = train_and_evaluate(build("lora", tiny_model), train=examples, dev=examples[:8],
                                 evaluation=examples[:8], config=grouped, learning_rate=1e-2,
                                 device=choose_device("cpu"), metric="accuracy", seed=0, epochs=2)
    assert outcome.steps == 20 and outcome.train_samples == 19 * 4  # the first step is warm-up
    assert len(outcome.eval_predictions) == 8
