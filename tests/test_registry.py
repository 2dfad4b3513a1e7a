import json

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
    if spec.training == "loop":  # trained by the gradient loop
        assert isinstance(config, GradientConfig) and config.learning_rate > 0 and config.epochs >= 1
    assert spec.make_config(config.knobs()) == config  # a record's knobs rebuild the same config


def test_the_issue_tasks_and_methods_are_built_in():
    assert {"sst2", "cola", "mrpc", "eprstmt", "bustm", "ocnli", "tnews", "iflytek", "csldcp", "afqmc",
            "chnsenticorp", "lmbff_sst2"} <= set(TASKS.names())
    assert {"full_ft", "hard_prompt", "p_tuning", "prefix_tuning", "p_tuning_v2", "lpt", "mask_pool", "lora",
            "prompt_tuning"} <= set(METHODS.names())


def test_zero_shot_runs_the_methods_with_a_zero_shot_form_and_refuses_the_others_up_front(tmp_path,
                                                                                        tiny_model, data_dir):
    from bench.session import RunSpec, run

    spec = RunSpec(model=str(tiny_model), data_dir=str(data_dir), train={"zero_shot": True}, shots="8",
                   executor="inline", out=str(tmp_path))
    with pytest.raises(BenchError, match="linear_probe has no zero-shot form") as raised:
        run(spec.replace(methods="hard_prompt,linear_probe"))
    assert "methods with one: hard_prompt" in str(raised.value)
    assert not (tmp_path / "results.jsonl").exists()
    assert run(spec).exit_code == 0  # 'all' under --zero-shot: the methods that have a zero-shot form
    ran = {json.loads(line)["method"] for line in (tmp_path / "results.jsonl").read_text().splitlines()}
    assert ran == {name for name in METHODS if METHODS.get(name).zero_shot} == {"hard_prompt"}


def test_a_reference_role_declared_at_registration_is_what_the_report_reads(tmp_path, tiny_model, data_dir):
    from bench.core.method import Role, register_method
    from methods.full_ft import FullFTConfig, build_full_ft
    from reports import write_reports
    from tests.helpers import run_tiny, tiny_grid

    register_method("reference_full_ft", config=FullFTConfig, role=Role.REFERENCE)(build_full_ft)
    try:
        grid = tiny_grid(tiny_model, methods=("full_ft", "reference_full_ft"))
        records = run_tiny(grid, tmp_path, data_dir)
    finally:
        METHODS.remove("reference_full_ft")
    assert {(record.method, record.role) for record in records} == {("full_ft", "method"),
                                                                   ("reference_full_ft", "reference")}
    report = write_reports(tmp_path)
    assert "| reference_full_ft (reference) |" in report and "| full_ft (reference) |" not in report


def test_a_fit_method_whose_builder_returns_no_fit_fails_its_cell_saying_so(tmp_path, tiny_model, data_dir):
    from bench.core.method import Training, register_method
    from methods.full_ft import FullFTConfig, build_full_ft
    from tests.helpers import run_tiny, tiny_grid

    register_method("fitless", config=FullFTConfig, training=Training.FIT)(build_full_ft)
    try:
        [record] = run_tiny(tiny_grid(tiny_model, methods=("fitless",)), tmp_path, data_dir)
    finally:
        METHODS.remove("fitless")
    assert not record.succeeded and "registered as trained by its own fit" in record.error


def test_a_method_whose_trains_claim_disagrees_with_what_requires_grad_fails_its_cell(tmp_path, tiny_model,
                                                                                     data_dir):
    from dataclasses import replace

    from bench.core.method import register_method
    from methods.lora import LoraMethodConfig, build_lora
    from tests.helpers import run_tiny, tiny_grid

    def overclaiming(config, **where):
        return replace(build_lora(config, **where), trains=("lora_A",))  # lora_B and the head train too

    register_method("overclaiming_lora", config=LoraMethodConfig)(overclaiming)
    try:
        [record] = run_tiny(tiny_grid(tiny_model, methods=("overclaiming_lora",)), tmp_path, data_dir)
    finally:
        METHODS.remove("overclaiming_lora")
    assert not record.succeeded and "without claiming them" in record.error
