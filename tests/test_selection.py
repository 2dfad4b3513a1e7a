"""Selection protocols as data: fixed dev, Multi-Splits, K-fold cross-validation, MDL and none each cut
a cell's labelled pool (train + dev, never eval) into stratified, seeded train and dev sets per fold;
a fold is part of a cell's identity, and the default protocol leaves every existing id as it was."""

from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from bench.core.errors import BenchError
from bench.core.selection import FIXED_DEV, SelectionKind, SelectionProtocol, partition
from bench.core.splits import labelled_pool, make_splits, parse_shots
from bench.core.task import Example, TaskData
from bench.training.cells import SearchAxis, expand_cells
from tasks.protocol_files import parse_protocol
from tests.helpers import tiny_grid

PROTOCOLS = ["multisplit:4:0.5", "cv:4", "mdl:4", "none"]


def _data(*, dev: bool) -> TaskData:
    """80 train (3:1 labels), 16 dev (when asked), 40 eval: every text unique, so overlap is visible."""
    def examples(prefix: str, n: int) -> tuple[Example, ...]:
        return tuple(Example((f"{prefix} {i}",), int(i % 4 == 0)) for i in range(n))

    return TaskData(examples("train", 80), examples("dev", 16) if dev else None, examples("eval", 40),
                    source="test", fingerprint="f")


def _cuts(text: str, *, dev: bool = True, seed: int = 13):
    protocol = SelectionProtocol.parse(text)
    return [make_splits(_data(dev=dev), shots=32, seed=seed, selection=protocol, fold=fold)
            for fold in protocol.folds]


def _texts(examples) -> set[str]:
    return {example.texts[0] for example in examples}


# --- the protocols as text ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "kind", "k", "ratio", "canonical"), [
    ("fixed", SelectionKind.FIXED_DEV, 1, None, "fixed"), ("none", SelectionKind.NONE, 1, None, "none"),
    ("multisplit", SelectionKind.MULTI_SPLITS, 4, 0.5, "multisplit:4:0.5"),
    ("multisplit:5:0.25", SelectionKind.MULTI_SPLITS, 5, 0.25, "multisplit:5:0.25"),
    ("cv:4", SelectionKind.CV, 4, None, "cv:4"), ("CV", SelectionKind.CV, 4, None, "cv:4"),
    ("mdl", SelectionKind.MDL, 4, None, "mdl:4"), ("mdl:3", SelectionKind.MDL, 3, None, "mdl:3")])
def test_a_protocol_parses_from_its_text_and_writes_it_back(text, kind, k, ratio, canonical):
    protocol = SelectionProtocol.parse(text)
    assert (protocol.kind, protocol.k, protocol.ratio, protocol.text) == (kind, k, ratio, canonical)
    assert SelectionProtocol.parse(protocol.text) == protocol and protocol.describe()


@pytest.mark.parametrize(("text", "says"), [
    ("holdout", "is not one of fixed, none"), ("cv:1", "K must be at least 2"),
    ("cv:x", "K must be an integer"), ("multisplit:4:1.5", "strictly between 0 and 1"),
    ("none:3", "takes at most 0"), ("fixed:2", "at most 0"), ("cv:4:0.5", "takes at most 1")])
def test_bad_protocol_text_is_one_line_naming_the_fix(text, says):
    with pytest.raises(BenchError, match=says) as caught:
        SelectionProtocol.parse(text)
    assert "\n" not in str(caught.value)


# --- the splits each protocol makes -----------------------------------------------------------------


@pytest.mark.parametrize("text", PROTOCOLS)
@pytest.mark.parametrize("dev", [True, False], ids=["dev file", "held-out dev"])
def test_no_protocol_ever_puts_an_eval_example_in_train_or_dev(text, dev):
    eval_texts = _texts(_data(dev=dev).eval)
    for cut in _cuts(text, dev=dev):
        assert not (_texts(cut.train) | _texts(cut.dev)) & eval_texts
        assert cut.eval == _data(dev=dev).eval  # the eval set is the task's, whole and untouched


@pytest.mark.parametrize("text", PROTOCOLS)
def test_every_fold_cuts_the_fixed_protocols_pool_into_disjoint_train_and_dev(text):
    fixed = make_splits(_data(dev=True), shots=32, seed=13)
    pool = _texts(labelled_pool(fixed))
    assert len(pool) == 32 + 16  # the same labelled budget as fixed dev: its train and dev
    for cut in _cuts(text):
        assert not _texts(cut.train) & _texts(cut.dev) and cut.train
        assert _texts(cut.train) | _texts(cut.dev) <= pool


@pytest.mark.parametrize("text", PROTOCOLS)
def test_each_protocols_splits_are_deterministic_per_seed_and_differ_across_seeds(text):
    def seen(seed: int) -> list[tuple[set[str], set[str]]]:
        return [(_texts(cut.train), _texts(cut.dev)) for cut in _cuts(text, seed=seed)]

    assert seen(21) == seen(21)
    assert seen(21) != seen(42)


def test_cross_validation_dev_folds_partition_the_pool_and_are_stratified():
    cuts = _cuts("cv:4")
    devs = [_texts(cut.dev) for cut in cuts]
    assert set().union(*devs) == _texts(labelled_pool(cuts[0])) and sum(map(len, devs)) == 48
    assert {len(dev) for dev in devs} == {12}
    assert all(Counter(e.label for e in cut.dev) == {0: 9, 1: 3} for cut in cuts)  # the pool's 3:1


def test_multi_splits_train_on_the_ratio_of_the_pool_with_each_labels_share():
    for cut in _cuts("multisplit:4:0.5"):
        assert (len(cut.train), len(cut.dev)) == (24, 24)
        assert Counter(e.label for e in cut.train) == {0: 18, 1: 6}
    assert len({frozenset(_texts(cut.train)) for cut in _cuts("multisplit:4:0.5")}) == 4  # 4 re-splits


def test_mdl_trains_on_the_first_half_plus_the_blocks_before_the_one_it_is_scored_on():
    cuts = _cuts("mdl:4")
    base = _texts(cuts[0].train)
    assert len(base) == 24 and [len(cut.dev) for cut in cuts] == [6, 6, 6, 6]
    for k, cut in enumerate(cuts):
        earlier = set().union(*(_texts(c.dev) for c in cuts[:k]))
        assert _texts(cut.train) == base | earlier and not _texts(cut.dev) & base


def test_none_trains_on_the_whole_pool_with_no_dev_set():
    [cut] = _cuts("none")
    assert len(cut.train) == 48 and cut.dev == ()


def test_partition_refuses_a_fold_the_protocol_does_not_have():
    with pytest.raises(ValueError, match="fold 4"):
        partition([0, 1] * 8, SelectionProtocol.parse("cv:4"), fold=4, seed=1)


def test_a_pool_too_small_for_the_protocol_is_one_line_before_any_cell(tiny_model, data_dir):
    from bench.training.sweep import plan_jobs

    grid = replace(tiny_grid(tiny_model, shots="2"), selection=SelectionProtocol.parse("cv:8"))
    with pytest.raises(BenchError, match="cannot split the 4 labelled examples of task sst2"):
        plan_jobs(grid, data_dir)


# --- identity ----------------------------------------------------------------------------------------


def _ids(grid) -> list[tuple[str, str, str]]:
    return [(cell.cell_id(data_fingerprint="d", versions="v"), cell.config_id, cell.selection_id)
            for cell in expand_cells(grid)]


def test_the_default_protocol_leaves_every_cell_id_as_it_was(tiny_model):
    grid = tiny_grid(tiny_model, seeds=(1, 2))
    assert _ids(grid) == _ids(replace(grid, selection=FIXED_DEV))
    cell = expand_cells(grid)[0]
    assert "selection" not in cell.configuration() and "/fold=" not in _ids(grid)[0][0]


def test_folds_are_cells_of_one_run_and_the_protocol_is_part_of_the_configuration(tiny_model):
    fixed = tiny_grid(tiny_model)
    folded = expand_cells(replace(fixed, selection=SelectionProtocol.parse("cv:3")))
    assert [cell.fold for cell in folded] == [0, 1, 2]
    assert len({cell.cell_id(data_fingerprint="d", versions="v") for cell in folded}) == 3
    assert "/fold=2/" in folded[2].cell_id(data_fingerprint="d", versions="v")
    assert len({cell.config_id for cell in folded}) == 1  # folds share their configuration ...
    assert folded[0].config_id != expand_cells(fixed)[0].config_id  # ... which is not fixed dev's


def test_none_with_more_than_one_search_point_is_refused_in_one_line(tiny_model):
    grid = replace(tiny_grid(tiny_model), selection=SelectionProtocol.parse("none"),
                   search=(SearchAxis("lr", ("1e-3", "1e-2")),))
    with pytest.raises(BenchError, match="--selection none trains one setting without selection"):
        expand_cells(grid)
    assert len(expand_cells(replace(grid, search=(SearchAxis("lr", ("1e-3",)),)))) == 1


# --- shots as an axis --------------------------------------------------------------------------------


def test_shots_are_an_axis_of_the_grid_and_one_value_still_reads(tiny_model):
    assert tiny_grid(tiny_model, shots="8").shots == ("8",)
    cells = expand_cells(tiny_grid(tiny_model, shots="8,16,32", seeds=(1, 2)))
    assert [cell.shots for cell in cells] == [8, 8, 16, 16, 32, 32]
    assert len({cell.config_id for cell in cells}) == 3


def test_shot_choices_that_mean_one_number_for_a_task_are_one_cell(tiny_model):
    cells = expand_cells(tiny_grid(tiny_model, shots="default,100"))  # sst2's default is 100
    assert [cell.shots for cell in cells] == [100]


@pytest.mark.parametrize(("text", "says"), [("8,0", "'0' is not a positive number"),
                                            ("16,16", "lists 16 more than once"), ("8,", "'' is not")])
def test_a_bad_shots_list_is_one_line(text, says):
    with pytest.raises(BenchError, match=says):
        parse_shots(text)


# --- protocol files ----------------------------------------------------------------------------------


def _protocol(**extra) -> dict:
    return {"name": "p", "description": "d", "reference": "r", "tasks": ["sst2"], **extra}


@pytest.mark.parametrize(("value", "text"), [("cv:4", "cv:4"), ("multisplit", "multisplit:4:0.5"),
                                             ("best_dev", "fixed"), ("none", "none")])
def test_a_protocol_file_names_its_selection_protocol(value, text):
    spec = parse_protocol(_protocol(selection=value), origin=Path("p.yaml"))
    assert spec.selection.text == spec.selection_text == text
    assert parse_protocol(_protocol(), origin=Path("p.yaml")).selection == FIXED_DEV


def test_a_protocol_file_with_an_unknown_selection_is_one_line():
    with pytest.raises(BenchError, match=r"protocol p in p.yaml: selection 'loo' is not one of"):
        parse_protocol(_protocol(selection="loo"), origin=Path("p.yaml"))
