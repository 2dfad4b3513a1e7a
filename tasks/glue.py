"""English sentence classification: GLUE tasks and the SentEval sentiment sets."""

from tasks.spec import DataFile, HubSource, TaskSpec, register_task

register_task(TaskSpec(
    name="sst2",
    language="en",
    description="GLUE SST-2 movie-review sentiment; evaluated on GLUE dev",
    text_fields=("sentence",),
    labels=("0", "1"),
    verbalizer=("terrible", "great"),
    template="{sentence} It was [MASK] .",
    train=DataFile("glue/sst2/train.tsv", "tsv"),
    eval=DataFile("glue/sst2/dev.tsv", "tsv", rename=(("content", "sentence"),)),
    hub=HubSource("nyu-mll/glue", "sst2", train="train", eval="validation"),
))

register_task(TaskSpec(
    name="cola",
    language="en",
    description="GLUE CoLA grammatical acceptability; Matthews correlation on GLUE dev",
    text_fields=("sentence",),
    labels=("0", "1"),
    verbalizer=("incorrect", "correct"),
    template="{sentence} This is [MASK] .",
    train=DataFile("glue/cola/in_domain_train.tsv", "tsv",
                   column_names=("source", "label", "mark", "sentence")),
    eval=DataFile("glue/cola/dev.tsv", "tsv", column_names=("source", "label", "mark", "sentence")),
    metric="matthews",
    extra_metrics=("accuracy",),
    hub=HubSource("nyu-mll/glue", "cola", train="train", eval="validation"),
))

_MRPC_COLUMNS = (("Quality", "label"), ("#1 String", "sentence1"), ("#2 String", "sentence2"))
register_task(TaskSpec(
    name="mrpc",
    language="en",
    description="GLUE MRPC paraphrase; F1 of the paraphrase class on GLUE dev (MSR text)",
    text_fields=("sentence1", "sentence2"),
    labels=("0", "1"),
    verbalizer=("No", "Yes"),
    template="{sentence1} ? [MASK] , {sentence2}",
    train=DataFile("glue/mrpc/train.tsv", "tsv", rename=_MRPC_COLUMNS, encoding="utf-8-sig"),
    eval=DataFile("glue/mrpc/dev_msr_text.tsv", "tsv", rename=_MRPC_COLUMNS, encoding="utf-8-sig"),
    metric="f1",
    extra_metrics=("accuracy",),
    hub=HubSource("nyu-mll/glue", "mrpc", train="train", eval="validation"),
))

for _name, _what in (("mr", "movie-review"), ("cr", "product-review")):
    register_task(TaskSpec(
        name=_name,
        language="en",
        description=f"SentEval {_name.upper()} {_what} sentiment (80/20 split of NLPdatasets)",
        text_fields=("sentence",),
        labels=("0", "1"),
        verbalizer=("terrible", "great"),
        template="{sentence} It was [MASK] .",
        train=DataFile(f"senteval/{_name}/train.tsv", "tsv", column_names=("label", "sentence")),
        eval=DataFile(f"senteval/{_name}/dev.tsv", "tsv", column_names=("label", "sentence")),
    ))
