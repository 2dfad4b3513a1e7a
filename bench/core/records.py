"""One self-describing record per cell: what ran (every setting that defines it) and what was
measured. Records cross module boundaries as this frozen dataclass, never as dicts."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from enum import StrEnum


class CellStatus(StrEnum):
    SUCCESS = "success"
    FAILED = "failed"


@dataclass(frozen=True)
class CellResult:
    """Everything about one (task, method, model, seed, shots, split) cell."""

    # identity: cell_id hashes every setting below (seed, split and library versions included), so a
    # re-run resumes only true repeats; config_id hashes the configuration without seed, split and
    # environment: the report's rows and `check`'s groups; selection_id leaves out searched knobs too
    cell_id: str
    config_id: str
    status: CellStatus
    task: str
    task_version: str
    language: str
    method: str
    method_config: str  # JSON of every knob as it ran (defaults, --set and command-line overrides)
    model: str
    seed: int
    shots: int | None  # requested training examples; None: the whole train split
    split: str | None  # the task's official split, None for tasks without named splits
    zero_shot: bool
    metric: str
    selection_id: str = ""
    search: str = ""  # JSON of this cell's point of a --search grid ("" outside a search)
    search_index: int = 0  # the point's position in the grid (ties in selection go to the first)
    # the selection protocol (bench.core.selection's canonical text; records from before protocols
    # were all fixed dev) and which of its K train/dev cuts the cell trained on (None: one cut);
    # a run (seed and split) of a K-fold protocol is K records, reported as their mean
    selection_protocol: str = "fixed"
    fold: int | None = None
    learning_rate: float = 0.0
    epochs: int = 0
    train_config: str = ""  # JSON of the loop's settings (batch size, max length, warm-up, ...)
    model_fingerprint: str = ""  # hash of the local model folder, or the hub revision
    family: str = ""  # the encoder family that served the model (bench.core.family)
    role: str = "method"  # a bench.core.method.Role: reference rows are not ranked with the methods
    data_source: str = ""
    data_fingerprint: str = ""  # hash of the content of the data files read
    versions: str = ""  # "torch=...,transformers=...,peft=...,datasets=...,petbench=..."
    petbench_revision: str = ""  # the commit the code came from ("+dirty": uncommitted changes); not identity
    code_digest: str = ""  # the code that computed it (PETBench's numeric source, a plugin file): in cell_id
    device: str = ""
    cpu: str = ""  # the CPU model and torch's kernel level on it (timings depend on both)
    dtype: str = ""
    threads: int = 0  # CPU threads the cell's process used
    cells_on_machine: int = 1  # most PETBench cells seen running on this machine during the cell
    cells_of_sweep: int = 1  # ... of them, the most from this cell's own sweep (its executor's run)
    score: float | None = None  # the task's official metric on the eval split, in [0, 1] (MCC in [-1, 1])
    accuracy: float | None = None
    dev_score: float | None = None
    untrained_dev_score: float | None = None  # dev score before the first step (loop-trained cells)
    never_beat_start: bool = False  # trained, yet the kept dev score is not above the untrained one
    majority_score: float | None = None  # the metric when always predicting the train majority label
    n_train: int = 0
    n_dev: int = 0
    n_eval: int = 0
    steps: int = 0
    best_step: int = 0
    train_samples_per_s: float | None = None
    eval_samples_per_s: float | None = None
    peak_memory_bytes: int | None = None
    memory_kind: str = ""
    trainable_params: int = 0
    total_params: int = 0
    mlm_head: str = "none"  # a HeadOrigin value
    mlm_head_detail: str = ""
    mlm_head_label: str = ""  # the few words the report's MLM-head column shows beside the origin
    pooling: str = ""  # how a classification head read the encoder
    # unlabelled texts (hard_prompt's auxiliary_texts) the leak guard dropped as equal to a dev or eval
    # text of the cell (bench.core.leaks); None: the method read no unlabelled texts
    unlabelled_dropped: int | None = None
    wall_seconds: float = 0.0
    # where the wall time went: start-up (the cell's process, its imports and plugins), model load and
    # method build, encoding, training (steps only), dev evaluations, the final evaluation
    seconds_start: float = 0.0
    seconds_load: float = 0.0
    seconds_encode: float = 0.0
    seconds_train: float = 0.0
    seconds_dev: float = 0.0
    seconds_eval: float = 0.0
    finished_at: str = ""
    error: str = ""

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, sort_keys=True)

    def as_dict(self) -> dict:
        """Every field by name (the values are plain: no deep copy needed, unlike dataclasses.asdict)."""
        return {name: getattr(self, name) for name in FIELD_NAMES}

    @classmethod
    def from_dict(cls, values: dict) -> CellResult:
        known = {key: value for key, value in values.items() if key in FIELD_NAMES}
        known["status"] = CellStatus(known.get("status"))
        return cls(**known)

    @property
    def succeeded(self) -> bool:
        return self.status == CellStatus.SUCCESS


FIELD_NAMES = frozenset(field.name for field in dataclasses.fields(CellResult))
# fields that hold text, even when the text looks like a number (a config_id such as "1234e56789")
TEXT_FIELDS = frozenset(field.name for field in dataclasses.fields(CellResult)
                        if field.type in ("str", "str | None", "CellStatus"))
