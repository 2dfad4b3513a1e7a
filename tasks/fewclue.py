"""Chinese FewCLUE tasks with their official few-shot splits (train_i / dev_i, test_public)."""

from __future__ import annotations

from tasks.fewclue_labels import CSLDCP_LABELS, IFLYTEK_DESCRIPTIONS
from tasks.spec import DataFile, TaskSpec, register_task

FEWCLUE_SPLITS = ("0", "1", "2", "3", "4", "few_all")

_TNEWS = {  # label id -> the Chinese name shipped in label_index2en2zh.json
    "100": "故事", "101": "文化", "102": "娱乐", "103": "体育", "104": "财经",
    "106": "房产", "107": "汽车", "108": "教育", "109": "科技", "110": "军事",
    "112": "旅游", "113": "国际", "114": "股票", "115": "农业", "116": "电竞",
}


def _fewclue_task(*, name: str, description: str, text_fields: tuple[str, ...],
                  labels: tuple[str, ...], verbalizer: tuple[str, ...], template: str,
                  drop_labels: tuple[str, ...] = ()) -> TaskSpec:
    def data_file(stem: str) -> DataFile:
        return DataFile(f"fewclue/{name}/{stem}.json", "jsonl", drop_labels=drop_labels)

    return register_task(TaskSpec(
        name=name,
        language="zh",
        description=description,
        text_fields=text_fields,
        labels=labels,
        verbalizer=verbalizer,
        template=template,
        train=data_file("train_{split}"),
        dev=data_file("dev_{split}"),
        eval=data_file("test_public"),
        default_shots=None,
        fewclue_splits=True,
    ))


_fewclue_task(
    name="eprstmt", description="FewCLUE EPRSTMT e-commerce review sentiment",
    text_fields=("sentence",), labels=("Negative", "Positive"), verbalizer=("不", "很"),
    template="[MASK]满意。{sentence}",
)
_fewclue_task(
    name="bustm", description="FewCLUE BUSTM short-text paraphrase (0 different, 1 same)",
    text_fields=("sentence1", "sentence2"), labels=("0", "1"), verbalizer=("不", "相"),
    template="“{sentence1}”和“{sentence2}”意思[MASK]同。",
)
_fewclue_task(
    name="ocnli", description="FewCLUE OCNLI natural language inference",
    text_fields=("sentence1", "sentence2"), labels=("entailment", "neutral", "contradiction"),
    verbalizer=("是的", "可能", "不是"), template="{sentence1}？[MASK]，{sentence2}",
    drop_labels=("-",),
)
_fewclue_task(
    name="tnews", description="FewCLUE TNEWS news-title topic (15 classes)",
    text_fields=("sentence",), labels=tuple(_TNEWS), verbalizer=tuple(_TNEWS.values()),
    template="[MASK]新闻：{sentence}",
)
_fewclue_task(
    name="iflytek", description="FewCLUE IFLYTEK app-description topic (119 classes)",
    text_fields=("sentence",), labels=tuple(str(i) for i in range(len(IFLYTEK_DESCRIPTIONS))),
    verbalizer=IFLYTEK_DESCRIPTIONS, template="这是一款[MASK]类应用。{sentence}",
)
_fewclue_task(
    name="csldcp", description="FewCLUE CSLDCP paper-abstract discipline (67 classes)",
    text_fields=("content",), labels=CSLDCP_LABELS,
    verbalizer=tuple(label.split("/")[0] for label in CSLDCP_LABELS),
    template="这篇论文属于[MASK]。{content}",
)
