import pytest

from bench.core.errors import BenchError
from bench.core.method import METHODS
from bench.core.registry import Registry
from bench.core.task import TASKS


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
    with pytest.raises(BenchError, match="twice"):
        registry.add("lora", 2)
    with pytest.raises(BenchError, match="snake_case"):
        registry.add("P-Tuning", 3)


@pytest.mark.parametrize("name", METHODS.names())
def test_every_registered_method_builds_its_default_config_and_describes_itself(name):
    from bench.core.method import GradientConfig

    spec = METHODS.get(name)
    config = spec.make_config()
    assert spec.description
    if spec.in_perf:  # trained by the gradient loop
        assert isinstance(config, GradientConfig) and config.learning_rate > 0 and config.epochs >= 1
    assert spec.make_config(config.knobs()) == config  # a record's knobs rebuild the same config


def test_the_issue_tasks_and_methods_are_built_in():
    assert {"sst2", "cola", "mrpc", "eprstmt", "bustm", "ocnli", "tnews", "iflytek", "csldcp", "afqmc",
            "chnsenticorp", "lmbff_sst2"} <= set(TASKS.names())
    assert {"full_ft", "hard_prompt", "p_tuning", "prefix_tuning", "p_tuning_v2", "lpt", "mask_pool", "lora",
            "prompt_tuning"} <= set(METHODS.names())
