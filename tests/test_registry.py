import pytest

from bench.errors import BenchError
from bench.registry import Registry
from methods import METHODS
from tasks import TASKS


def test_unknown_name_is_a_one_line_error_with_a_suggestion():
    registry: Registry[int] = Registry("task")
    registry.add("eprstmt", 1)
    with pytest.raises(BenchError) as raised:
        registry.get("eprstm")
    message = str(raised.value)
    assert "did you mean 'eprstmt'" in message and "known tasks: eprstmt" in message
    assert "\n" not in message


def test_duplicate_and_non_snake_case_names_are_rejected():
    registry: Registry[int] = Registry("method")
    registry.add("lora", 1)
    with pytest.raises(ValueError, match="twice"):
        registry.add("lora", 2)
    with pytest.raises(ValueError, match="snake_case"):
        registry.add("P-Tuning", 3)


def test_builtin_registries_hold_the_issue_tasks_and_methods():
    for name in ("sst2", "eprstmt", "bustm", "ocnli", "tnews", "iflytek", "csldcp"):
        assert name in TASKS
    for name in ("full_ft", "hard_prompt"):
        assert name in METHODS
