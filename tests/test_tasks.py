"""Tasks: the built-in records load the real data with valid labels (marked `shared`), and the
task-file dialect says everything a built-in task says."""

import json

import pytest

from bench.core.data import load_task_data
from bench.core.errors import BenchError
from bench.core.task import TASKS, DataFile, FileFormat, TaskSpec, get_task
from tasks.dialect import load_task_file

# Row counts documented in shared/README.md and its MANIFEST (train, eval); official splits: the first.
DOCUMENTED_ROWS = {
    "sst2": (67_349, 872), "cola": (8_551, 1_043), "mrpc": (3_668, 408), "mr": (8_529, 2_133),
    "cr": (3_016, 755), "eprstmt": (32, 610), "bustm": (32, 1_772), "ocnli": (32, 2_520),
    "tnews": (240, 2_010), "iflytek": (928, 1_749), "csldcp": (536, 1_784), "afqmc": (34_334, 4_316),
    "chnsenticorp": (9_600, 1_200),
    "clue_tnews": (53_360, 10_000), "clue_ocnli": (50_486 - 49, 3_000 - 50), "lmbff_sst2": (32, 872),
    "lmbff_sst5": (80, 2_210), "lmbff_mr": (32, 2_000), "lmbff_cr": (32, 2_000), "lmbff_subj": (32, 2_000),
    "lmbff_trec": (96, 500), "lmbff_cola": (32, 1_043), "lmbff_qnli": (32, 5_463), "lmbff_mrpc": (32, 408),
}
# files ../shared/data lacks (LM-BFF eval sets, FewCLUE csl and cluewsc): registered for users who have
# them; here they are a one-line error
MISSING_FILES = {"lmbff_mnli", "lmbff_snli", "lmbff_qqp", "csl", "cluewsc"}


@pytest.mark.shared
@pytest.mark.parametrize("task_name", TASKS.names())
def test_builtin_task_loads_with_documented_rows_and_valid_labels(task_name, shared_data_dir):
    task = get_task(task_name)
    if task_name in MISSING_FILES:
        with pytest.raises(BenchError, match="not found"):
            load_task_data(task, data_dir=shared_data_dir)
        return
    data = load_task_data(task, data_dir=shared_data_dir)
    assert (len(data.train), len(data.eval)) == DOCUMENTED_ROWS[task_name]
    for split in (data.train, data.eval, data.dev or ()):
        assert all(0 <= example.label < task.n_labels for example in split)
        assert all(len(example.texts) == len(task.text_fields) for example in split)
        assert all(isinstance(text, str) for example in split for text in example.texts)


@pytest.mark.shared
@pytest.mark.parametrize(("task_name", "split", "train_rows"), [
    ("eprstmt", "4", 32), ("eprstmt", "few_all", 160), ("lmbff_sst2", "100", 32), ("lmbff_trec", "87", 96)])
def test_official_splits_select_their_files(task_name, split, train_rows, shared_data_dir):
    data = load_task_data(get_task(task_name), data_dir=shared_data_dir, split=split)
    assert len(data.train) == train_rows and data.dev is not None
    other = load_task_data(get_task(task_name), data_dir=shared_data_dir, split=get_task(task_name).splits[1])
    assert other.fingerprint != data.fingerprint and data.eval == other.eval


def test_every_built_in_task_file_describes_each_task_itself():
    """The dialect fills a missing description with "user task from FILE": a built-in task must
    not rely on that."""
    import yaml

    from tasks import DEFINITIONS

    for path in DEFINITIONS.glob("*.yaml"):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if "name" in document:
                assert str(document.get("description", "")).strip(), f"{document['name']} in {path.name}"


def _tsv_task(path, name="user_task") -> TaskSpec:
    return TaskSpec(name=name, language="en", text_fields=("sentence",), labels=("neg", "pos"),
                    verbalizer=("bad", "good"), template="{sentence} It was [MASK] .",
                    train=DataFile(str(path), FileFormat.TSV), eval=DataFile(str(path), FileFormat.TSV))


def test_unknown_label_names_file_row_and_fix(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text("label\tsentence\npos\tfine\nmeh\tso so\n", encoding="utf-8")
    with pytest.raises(BenchError) as raised:
        load_task_data(_tsv_task(path), data_dir=tmp_path)
    message = str(raised.value)
    assert str(path) in message and "row 2" in message and "'meh'" in message and "fix" in message


def test_missing_field_and_missing_file_are_one_line_errors(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text("label\ttext\npos\tfine\n", encoding="utf-8")
    with pytest.raises(BenchError, match="no field 'sentence'"):
        load_task_data(_tsv_task(path), data_dir=tmp_path)
    with pytest.raises(BenchError, match="not found"):
        load_task_data(_tsv_task(tmp_path / "absent.tsv"), data_dir=tmp_path)


def test_empty_split_is_an_error(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text("label\tsentence\n", encoding="utf-8")
    with pytest.raises(BenchError, match="no examples"):
        load_task_data(_tsv_task(path), data_dir=tmp_path)


def test_task_record_validates_itself():
    with pytest.raises(BenchError, match="verbalizer"):
        TaskSpec(name="t", language="en", text_fields=("s",), labels=("a", "b"), verbalizer=("x",),
                 template="{s} [MASK]", train=None, eval=None)
    with pytest.raises(BenchError, match="unknown fields"):
        TaskSpec(name="t", language="en", text_fields=("s",), labels=("a",), verbalizer=("x",),
                 template="{other} [MASK]", train=None, eval=None)


def test_a_task_file_has_nested_fields_joined_lists_a_label_map_splits_and_a_metric(tmp_path):
    for split in ("a", "b"):
        rows = [{"target": {"noun": f"cat {split}{i}"}, "words": ["soft", "warm"], "verdict": i % 2}
                for i in range(6)]
        (tmp_path / f"train_{split}.json").write_text("".join(json.dumps(row) + "\n" for row in rows))
    (tmp_path / "tasks.yaml").write_text(
        "defaults:\n  format: jsonl\n  metric: macro_f1\n---\n"
        "name: dialect_demo\ndescription: every dialect feature\n"
        "text_fields: [target.noun, words]\nlist_separator: ' and '\nlabel_field: verdict\n"
        "label_map: {0: 'no', 1: 'yes'}\nlabels: ['no', 'yes']\nverbalizer: [bad, good]\n"
        "template: '{target.noun} is {words} . [MASK] !'\nsplits: [a, b]\n"
        "train: train_{split}.json\neval: train_{split}.json\ndefault_shots: null\n", encoding="utf-8")
    [task] = load_task_file(tmp_path / "tasks.yaml", register=False)
    assert task.metric == "macro_f1" and task.splits == ("a", "b") and task.default_shots is None
    data = load_task_data(task, data_dir=None, split="b")
    assert data.train[1].texts == ("cat b1", "soft and warm") and [e.label for e in data.train[:2]] == [0, 1]
    with pytest.raises(BenchError, match="'c' is not one of them"):
        load_task_data(task, data_dir=None, split="c")


def test_every_registered_task_has_one_mask_slot_distinct_label_words_and_known_fields():
    from bench.core.task import FIELD_REFERENCE, MASK_SLOT

    assert len(TASKS.names()) >= 25
    for name in TASKS:
        task = TASKS.get(name)
        assert task.template.count(MASK_SLOT) == 1, name
        referenced = {match.group(1) for match in FIELD_REFERENCE.finditer(task.template)}
        assert referenced and referenced <= set(task.text_fields), name
        assert len(set(task.verbalizer)) == task.n_labels == len(task.labels) >= 2, name


def test_an_unquoted_yes_no_label_is_a_one_line_error_that_says_to_quote_it(tmp_path):
    (tmp_path / "tasks.yaml").write_text(
        "name: yes_no\ndescription: answers\ntext_fields: [question]\nlabels: [no, yes]\n"
        "verbalizer: [no, yes]\ntemplate: '{question} [MASK]'\ntrain: train.json\neval: train.json\n"
        "format: jsonl\n", encoding="utf-8")
    quote_it = r"labels has a boolean False: quote words such as yes / no"
    with pytest.raises(BenchError, match=quote_it) as error:
        load_task_file(tmp_path / "tasks.yaml", register=False)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(("quoting", "expected"), [("none", '"a ""quoted"" word"'),
                                                   ("minimal", 'a "quoted" word')])
def test_tsv_quoting_is_a_documented_choice_of_the_task(tmp_path, quoting, expected):
    (tmp_path / "d.tsv").write_text('label\ttext\npos\t"a ""quoted"" word"\nneg\tplain\n', encoding="utf-8")
    (tmp_path / "task.yaml").write_text(
        f"name: quoting_{quoting}\ntrain: d.tsv\neval: d.tsv\ntext_fields: [text]\nlabels: [neg, pos]\n"
        f'verbalizer: [bad, good]\ntemplate: "{{text}} It was [MASK] ."\nquoting: {quoting}\n',
        encoding="utf-8")
    [task] = load_task_file(tmp_path / "task.yaml", register=False)
    data = load_task_data(task, data_dir=None)
    assert data.train[0].texts == (expected,)
