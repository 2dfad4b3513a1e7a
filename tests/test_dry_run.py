"""`run --dry-run`: the plan of a sweep before it trains anything, with a time estimate from the
cells this machine ran before."""

from bench.cli.main import main
from bench.core.method import get_method
from bench.core.records import CellResult, CellStatus
from bench.session import dry_run, run
from bench.training.plan import CostModel, Work, fit_costs, record_work
from tests.helpers import tiny_spec


def test_a_dry_run_writes_nothing_and_estimates_only_from_earlier_cells_of_the_same_method(
        capsys, monkeypatch, tmp_path, tiny_model, data_dir):
    monkeypatch.setenv("PETBENCH_CACHE", str(tmp_path / "cache"))  # a machine with no history yet
    common = ["--model", str(tiny_model), "--data-dir", str(data_dir), "--methods", "full_ft", "--shots", "8",
              "--max-steps", "2", "--batch-size", "4", "--max-length", "32", "--device", "cpu",
              "--executor", "inline"]
    # the command line's --dry-run prints the plan; the library's dry_run returns its lines
    assert main([*common, "--seeds", "1,2", "--dry-run", "--out", str(tmp_path / "planned")]) == 0
    planned = capsys.readouterr().out
    assert "plan: 2 cells" in planned and "0 already done" in planned and "2 to run" in planned
    assert "estimate: none for full_ft" in planned
    assert not (tmp_path / "planned").exists()

    spec = tiny_spec(tiny_model, data_dir, tmp_path / "run", device="cpu",
                     train={"max_steps": "2", "max_length": "32"})
    assert run(spec.replace(seeds="1")).exit_code == 0
    planned = "\n".join(dry_run(spec.replace(seeds="1,2")))
    assert "1 already done" in planned and "1 to run" in planned
    assert "for the 1 cell(s) with earlier records" in planned and "estimate: none" not in planned


def _timed(method: str, *, seconds_train: float, seconds_eval: float) -> CellResult:
    return CellResult(cell_id=method + str(seconds_train), config_id="c", status=CellStatus.SUCCESS, task="t",
                      task_version="1", language="en", method=method, method_config="{}", model="m", seed=1,
                      shots=8, split=None, zero_shot=False, metric="accuracy", epochs=2, n_train=8, n_dev=8,
                      n_eval=20, train_config='{"batch_size": 4, "max_steps": null}', device="cpu", cpu="x",
                      dtype="fp32", seconds_train=seconds_train, seconds_eval=seconds_eval, wall_seconds=10.0)


def test_the_cost_model_is_seconds_per_example_trained_and_evaluated():
    # 2 epochs of 8 examples at batch 4: 16 trained; 3 dev passes of 8 and 20 eval examples: 44 evaluated
    assert record_work(_timed("a", seconds_train=1.6, seconds_eval=4.4)) == Work(16, 44)
    [model] = fit_costs([_timed("a", seconds_train=1.6, seconds_eval=4.4)]).values()
    assert model == CostModel(per_train_example=0.1, per_eval_example=0.1, fixed=0.0, cells=1)
    assert model.seconds(Work(100, 50)) == 15.0


def test_cells_side_by_side_start_longest_first_and_unknown_ones_before_them():
    from bench.training.plan import longest_first

    estimates = {"lora": 30.0, "setfit": 150.0, "new_method": None, "lpt": 30.0, "full_ft": 60.0}
    assert longest_first(list(estimates), estimates.get) == ["new_method", "setfit", "full_ft", "lora", "lpt"]
    assert longest_first(["b", "a"], lambda job: None) == ["b", "a"]  # no history: the grid's order


def test_a_sweep_side_by_side_runs_the_cells_its_history_says_are_longest_first(monkeypatch, tmp_path,
                                                                              tiny_model, data_dir):
    import json

    from bench.session import runner

    monkeypatch.setenv("PETBENCH_CACHE", str(tmp_path / "cache"))
    spec = tiny_spec(tiny_model, data_dir, tmp_path / "earlier", methods="full_ft,lora", device="cpu",
                     seeds="1", executor="local", executor_options={"jobs": "2"},
                     train={"max_steps": "2", "max_length": "32"})
    assert run(spec).exit_code == 0
    history = tmp_path / "cache" / "cell-history.jsonl"
    records = [json.loads(line) for line in history.read_text().splitlines()]
    seen = []
    monkeypatch.setattr(runner, "build_executor", lambda resolved: _Recorder(seen))
    for slow, order in (("lora", ["lora", "full_ft"]), ("full_ft", ["full_ft", "lora"])):
        history.write_text("".join(json.dumps({**record, "seconds_train": 100.0 if record["method"] == slow
                                               else 0.1}) + "\n" for record in records))
        seen.clear()
        run(spec.replace(seeds="2", out=str(tmp_path / "next")))
        assert [job.cell.method for job in seen] == order


class _Recorder:
    def __init__(self, seen: list):
        self.seen = seen

    def run(self, jobs, on_record) -> None:
        self.seen.extend(jobs)


def test_a_machine_without_history_orders_cells_by_the_shipped_prior_and_rescales_it_to_its_own_history():
    import dataclasses
    from types import SimpleNamespace

    from bench.core.method import METHODS
    from bench.core.selection import FIXED_DEV
    from bench.training.plan import job_estimate, longest_first, prior_costs

    priors = prior_costs()
    builtin = {name for name in METHODS if get_method(name).build.__module__.startswith("methods.")}
    assert builtin <= set(priors), "every built-in method has a measured prior cost"

    def job(method: str) -> SimpleNamespace:  # the default run's cell: 100 train, 100 dev, 872 eval
        train = SimpleNamespace(max_steps=None, batch_size=16, zero_shot=False, eval_every=0)
        knobs = tuple(dataclasses.asdict(get_method(method).make_config()).items())
        cell = SimpleNamespace(method=method, knobs=knobs, train=train, selection=FIXED_DEV, fold=None,
                               model=SimpleNamespace(display_name="minilm"))
        splits = SimpleNamespace(train=[0] * 100, dev=[0] * 100, eval=[0] * 872)
        return SimpleNamespace(cell=cell, splits=splits)

    jobs = [job(name) for name in ("lora", "full_ft", "setfit", "linear_probe")]
    fresh = job_estimate({}, ("cpu", "x", "fp32"), priors=priors)
    in_order = [j.cell.method for j in longest_first(jobs, fresh)]
    assert in_order == ["setfit", "full_ft", "lora", "linear_probe"]
    # this machine ran lora before, 3x slower than the prior: the other methods' priors scale with it
    history = {("lora", "minilm", "cpu", "x", "fp32"): CostModel(3 * priors["lora"].per_train_example,
                                                                 3 * priors["lora"].per_eval_example,
                                                                 3 * priors["lora"].fixed, 1)}
    known = job_estimate(history, ("cpu", "x", "fp32"), priors=priors)
    assert abs(known(jobs[1]) - 3 * fresh(jobs[1])) < 1e-9
    assert job_estimate({}, ("cpu", "x", "fp32"))(jobs[0]) is None  # no prior given: unknown
