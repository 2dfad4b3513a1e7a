"""Results records -> pandas frames: one row per run (the newest record of a configuration, seed and
split; under a K-fold selection protocol, the mean of its K fold records), rows aggregated over seeds
and official splits per configuration (config_id), each labelled by what sets it apart from the
method's others, and the model selection of a --search grid as its selection protocol defines it."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence

import pandas as pd

from bench.core.errors import BenchError
from bench.core.knobs import identity_fields
from bench.core.method import Role
from bench.core.metrics import METRICS, get_metric
from bench.core.records import CellResult, CellStatus
from bench.core.selection import SelectionProtocol
from bench.training.settings import TrainConfig
from reports.stats import summarize

PHASES = ("start", "load", "encode", "train", "dev", "eval")  # CellResult's seconds_* fields, in order
RUN_KEY = ["config_id", "seed", "split"]  # one run: a configuration's seed and split, however often stored
NO_FOLD = "-"  # the fold column of a cell that is its run's only cut (fixed dev, none), and of a fold mean
# what else sets a method's configurations apart in a label (other differences, such as a task
# definition's or the weights', fall back to the config_id: see _apart_by_id)
_APART = ("device", "dtype", "selection_protocol")
# a run's cost is its folds' together; every other number of a run is the mean over its folds
_SUMMED = ("wall_seconds", *(f"seconds_{phase}" for phase in PHASES))


def cells_frame(records: Sequence[CellResult]) -> pd.DataFrame:
    """One row per cell record, every field a column."""
    columns = [field.name for field in dataclasses.fields(CellResult)]
    frame = pd.DataFrame([record.as_dict() for record in records], columns=columns)
    frame["status"] = frame["status"].astype(str)
    frame["shots"] = frame["shots"].astype("object").where(frame["shots"].notna(), "full").astype(str)
    frame["split"] = frame["split"].astype("object").where(frame["split"].notna(), "-").astype(str)
    frame["fold"] = [fold_text(fold) for fold in frame["fold"]]
    frame["eval_limit"] = [json.loads(config).get("eval_limit", 0) if config else 0
                           for config in frame["train_config"]]
    return frame


def fold_text(fold: object) -> str:
    """A cell's fold as the frames spell it: NO_FOLD for none (or a fold mean), else its number ("0"),
    however it was stored (a record's int, results.csv's float, or text already)."""
    if fold is None or fold == NO_FOLD or (isinstance(fold, float) and math.isnan(fold)):
        return NO_FOLD
    return str(int(float(fold)))


def latest_per_run(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per run (RUN_KEY): its newest record by finished_at (on a tie, the one stored last), in
    the frame's order. A run stored again (by newer libraries, by edited code) is one run, never two:
    its older records are superseded."""
    if cells.empty:
        return cells
    position = pd.Series(range(len(cells)), index=cells.index)
    # as instants, whatever their offsets; a record without a time is older than any with one
    finished = pd.to_datetime(cells["finished_at"].where(cells["finished_at"].astype(bool)), utc=True,
                              errors="coerce", format="ISO8601")
    newest_last = cells.assign(_finished=finished, _position=position).sort_values(
        ["_finished", "_position"], kind="stable", na_position="first")
    key = [*RUN_KEY, "fold"] if "fold" in cells.columns else RUN_KEY  # a fold is a cell of its run
    kept = newest_last.drop_duplicates(key, keep="last").sort_values("_position")
    return kept.drop(columns=["_finished", "_position"])


def superseded_note(superseded: int) -> str:
    """What the reports say about the records latest_per_run left out ("" when none)."""
    if not superseded:
        return ""
    records = "record" if superseded == 1 else "records"
    return (f"{superseded} superseded {records} left out: older records of runs stored again (the same "
            f"configuration, seed and split, run by other code or libraries); each run counts once, by its "
            f"newest record, and results.jsonl keeps them all.")


def settings(row: pd.Series) -> dict[str, str]:
    """A cell's configuration as flat name -> value text (knobs, then the loop settings that define a
    run, then where and on what it ran)."""
    knobs = json.loads(row["method_config"]) if row["method_config"] else {}
    train = json.loads(row["train_config"]) if row["train_config"] else {}
    defining = set(identity_fields(TrainConfig))
    flat = {name: json.dumps(value) if isinstance(value, list) else str(value)
            for name, value in knobs.items()}
    flat.update({f"train.{name}": str(value) for name, value in train.items() if name in defining})
    flat.update({name: str(row[name]) for name in _APART if name in row.index})
    return flat


def expected_folds(protocol: str) -> int:
    """How many fold records make a run complete under a recorded protocol (1 for unknown text)."""
    try:
        return len(SelectionProtocol.parse(protocol).folds)
    except BenchError:
        return 1


def fold_means(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per run: the fold records of a K-fold protocol (multisplit, cv, mdl) become their mean
    (scores and measurements; seconds summed, `never_beat_start` if any fold never beat it), kept
    only when all K folds succeeded, so a run is never scored on some of its models. Rows that are
    their run's only cut pass through. `folds` says how many models each row stands for."""
    if "folds" not in cells.columns:  # (rows already collapsed keep their count)
        cells = cells.assign(folds=1)
    if cells.empty or "fold" not in cells.columns:
        return cells
    single = cells[cells["fold"] == NO_FOLD]
    folded = cells[(cells["fold"] != NO_FOLD) & (cells["status"] == CellStatus.SUCCESS)]
    if folded.empty:
        return single
    numeric = [name for name in folded.columns if pd.api.types.is_numeric_dtype(folded[name])
               and not pd.api.types.is_bool_dtype(folded[name]) and name not in ("seed", "search_index")]
    rules = {name: "first" for name in folded.columns if name not in RUN_KEY}
    rules.update({name: "sum" if name in _SUMMED else "mean" for name in numeric})
    rules["never_beat_start"] = "any"
    rules["_row"] = "first"  # a run sits where its first fold record did
    grouped = folded.assign(_row=folded.index).groupby(RUN_KEY, sort=False, dropna=False)
    runs = grouped.agg(rules).reset_index().assign(folds=grouped.size().to_numpy(), fold=NO_FOLD)
    complete = runs[runs["folds"] >= runs["selection_protocol"].map(expected_folds)].set_index("_row")
    return pd.concat([single, complete[cells.columns]]).sort_index()


def select_runs(candidates: pd.DataFrame) -> pd.DataFrame:
    """Model selection over a --search grid, as the runs' protocol defines it: per selection group,
    seed and split, each grid point's run (its K folds' mean dev and eval scores) competes on dev;
    the best mean dev score wins, on ties the first point in grid order, whatever order the records
    arrived in. The winner's row carries its eval score, the mean of its K models. Eval scores never
    take part. `candidates` are the successful cells of searches."""
    runs = fold_means(candidates)
    if runs.empty:
        return runs
    # the best dev score in the metric's own direction (a registered metric may be lower-is-better)
    higher = runs["metric"].map(lambda name: get_metric(name).higher_is_better if name in METRICS else True)
    runs = runs.assign(_rank=runs["dev_score"].where(higher, -runs["dev_score"]))
    ordered = runs.sort_values(["_rank", "search_index"], ascending=[False, True], kind="stable")
    ordered = ordered.drop(columns="_rank")
    return ordered.drop_duplicates(["selection_id", "seed", "split"]).sort_index()


def config_labels(cells: pd.DataFrame) -> dict[str, str]:
    """config_id -> `method`, or `method (knob=value, ...)` naming only the settings that differ
    between that method's configurations in the frame; zero-shot rows say so."""
    labels = {}
    for method, per_method in cells.groupby("method", sort=False):
        by_config = {config: settings(rows.iloc[0])
                     for config, rows in per_method.groupby("config_id", sort=False)}
        names = sorted({name for values in by_config.values() for name in values})
        differing = [name for name in names if len({values.get(name) for values in by_config.values()}) > 1
                     and name != "train.zero_shot"]
        for config, values in by_config.items():
            parts = [f"{name.removeprefix('train.')}={values.get(name, '-')}" for name in differing]
            label = f"{method} ({', '.join(parts)})" if parts else method
            labels[config] = f"{label} (zero-shot)" if values.get("train.zero_shot") == "True" else label
    return _apart_by_id(cells, labels)


def _apart_by_id(cells: pd.DataFrame, labels: dict[str, str]) -> dict[str, str]:
    """Configurations of one table cell (task, model, shots) that nothing recorded tells apart (an
    edited task definition) get their config_id in the label: one label is always one row."""
    places = cells.drop_duplicates("config_id").assign(label=lambda frame: frame["config_id"].map(labels))
    shared = places[places.duplicated(["task", "model", "shots", "label"], keep=False)]
    return {**labels, **{config: f"{labels[config]} [{config}]" for config in shared["config_id"]}}


def group_frame(cells: pd.DataFrame, *, by: str = "config_id") -> pd.DataFrame:
    """Successful cells aggregated per configuration over seeds and splits (a run of a K-fold protocol
    counts once, as the mean of its folds: fold_means): mean/std of scores and the mean of each
    measurement."""
    ok = fold_means(cells[cells["status"] == CellStatus.SUCCESS])
    if ok.empty:
        return pd.DataFrame()
    grouped = ok.groupby(by, sort=False)
    frame = grouped.agg(
        task=("task", "first"), method=("method", "first"), model=("model", "first"),
        family=("family", "first"), shots=("shots", "first"),
        runs=("seed", "size"), seeds=("seed", "nunique"),
        splits=("split", lambda values: ",".join(dict.fromkeys(v for v in values if v != "-"))),
        score_mean=("score", "mean"), dev_mean=("dev_score", "mean"), majority=("majority_score", "mean"),
        metric=("metric", "first"), n_train=("n_train", "first"), n_eval=("n_eval", "first"),
        train_sps=("train_samples_per_s", "mean"), eval_sps=("eval_samples_per_s", "mean"),
        train_sps_std=("train_samples_per_s", "std"),  # the throughput chart's error bars
        peak_mib=("peak_memory_bytes", lambda values: values.mean() / 2**20),
        memory_kind=("memory_kind", "first"), trainable=("trainable_params", "first"),
        total=("total_params", "first"), mlm_head=("mlm_head", "first"),
        mlm_head_detail=("mlm_head_detail", "first"), mlm_head_label=("mlm_head_label", "first"),
        pooling=("pooling", "first"), device=("device", "first"), dtype=("dtype", "first"),
        cpu=("cpu", "first"),
        cells_on_machine=("cells_on_machine", "max"), zero_shot=("zero_shot", "first"),
        role=("role", "first"), selection_protocol=("selection_protocol", "first"), folds=("folds", "first"),
        stalled=("never_beat_start", lambda values: int(values.astype(bool).sum())),
        eval_limit=("eval_limit", "max"), wall=("wall_seconds", "sum"),
        codes=("code_digest", "nunique"), library_sets=("versions", "nunique"),  # 1 and 1 unless mixed
        **{phase: (f"seconds_{phase}", "sum") for phase in PHASES},
    ).reset_index()
    summaries = [summarize(group["score"].tolist()) for _, group in grouped]
    frame["score_std"] = [summary.std for summary in summaries]
    frame["score_sem"] = [summary.sem for summary in summaries]
    frame["score_ci_low"] = [summary.ci_low for summary in summaries]
    frame["score_ci_high"] = [summary.ci_high for summary in summaries]
    frame["trainable_share"] = frame["trainable"] / frame["total"]
    if by == "config_id":
        labels = config_labels(ok)
        frame["method_label"] = [labels[config] for config in frame["config_id"]]
    frame["reference"] = frame["role"] == Role.REFERENCE
    return frame
