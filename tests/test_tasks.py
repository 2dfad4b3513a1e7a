import pytest

from bench.errors import BenchError
from tasks import TASKS, DataFile, TaskSpec, get_task
from tasks.loader import load_task_data

# Row counts documented in shared/README.md and its MANIFEST (train, eval); FewCLUE: split 0.
DOCUMENTED_ROWS = {
    "sst2": (67_349, 872), "cola": (8_551, 1_043), "mrpc": (3_668, 408), "mr": (8_529, 2_133),
    "cr": (3_016, 755), "eprstmt": (32, 610), "bustm": (32, 1_772), "ocnli": (32, 2_520),
    "tnews": (240, 2_010), "iflytek": (928, 1_749), "csldcp": (536, 1_784),
}


@pytest.mark.parametrize("task_name", TASKS.names())
def test_builtin_task_loads_with_documented_rows_and_valid_labels(task_name, data_dir):
    task = get_task(task_name)
    data = load_task_data(task, data_dir=data_dir)
    if task_name in DOCUMENTED_ROWS:
        assert (len(data.train), len(data.eval)) == DOCUMENTED_ROWS[task_name]
    for split in (data.train, data.eval, data.dev or ()):
        assert all(0 <= example.label < task.n_labels for example in split)
        assert all(len(example.texts) == len(task.text_fields) for example in split)
    assert {example.label for example in data.eval} == set(range(task.n_labels)) or task.n_labels > 15


@pytest.mark.parametrize("split", ["0", "4", "few_all"])
def test_fewclue_splits_select_the_official_files(split, data_dir):
    data = load_task_data(get_task("eprstmt"), data_dir=data_dir, fewclue_split=split)
    assert len(data.train) == (160 if split == "few_all" else 32)
    assert data.dev is not None and len(data.eval) == 610


def _tsv_task(path, name="user_task") -> TaskSpec:
    return TaskSpec(name=name, language="en", text_fields=("sentence",), labels=("neg", "pos"),
                    verbalizer=("bad", "good"), template="{sentence} It was [MASK] .",
                    train=DataFile(str(path), "tsv"), eval=DataFile(str(path), "tsv"))


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
    with pytest.raises(ValueError, match="verbalizer"):
        TaskSpec(name="t", language="en", text_fields=("s",), labels=("a", "b"), verbalizer=("x",),
                 template="{s} [MASK]", train=None, eval=None)
    with pytest.raises(ValueError, match="unknown fields"):
        TaskSpec(name="t", language="en", text_fields=("s",), labels=("a",), verbalizer=("x",),
                 template="{other} [MASK]", train=None, eval=None)
