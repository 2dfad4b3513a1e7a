"""SetFit (Tunstall et al., 2022) beside every method: contrastive fine-tuning of the sentence encoder
on pairs drawn from the few-shot train set, then a logistic-regression head. Behind the extra
`pip install 'petbench[setfit]'`; the setfit package is imported only when a cell builds it."""

from __future__ import annotations

import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from bench.core.data import quiet_datasets
from bench.core.errors import BenchError
from bench.core.knobs import knob
from bench.core.loading import load_encoder, load_tokenizer
from bench.core.method import (
    BuiltMethod,
    FitContext,
    FitOutcome,
    MethodConfig,
    Training,
    learning_rate_knob,
    register_method,
)
from bench.core.models import ModelRef, read_model_card
from bench.core.task import Example, TaskSpec
from methods.encoding import PlainEncoder
from methods.heads import EncoderClassifier, PooledHead, Pooling
from methods.linear_probe import load_logistic_regression


@dataclass(frozen=True)
class SetFitConfig(MethodConfig):
    """Not a GradientConfig: SetFit's epochs run over generated pairs, a unit of their own, so the
    grid-wide --epochs (the gradient loop's epochs over examples) leaves them alone."""

    learning_rate: float = learning_rate_knob(2e-5)  # of the encoder's contrastive fine-tuning
    pair_epochs: int = knob(1, "contrastive epochs over the generated pairs (SetFit's num_epochs)",
                            at_least=1)
    pair_iterations: int = knob(5, "pairs generated per training example (SetFit's num_iterations)",
                                at_least=1)
    batch_size: int = knob(16, "pairs per contrastive step", at_least=1)
    head_c: float = knob(1.0, "inverse regularisation strength of the logistic-regression head", above=0)


class JoinedEncoder(PlainEncoder):
    """One text per example, as SetFit embeds it: the fields of a pair joined by the separator."""

    def joined(self, examples: Sequence[Example]) -> list[Example]:
        separator = f" {self.tokenizer.sep_token} "
        return [Example((separator.join(example.texts),), example.label) for example in examples]

    @property
    def cache_key(self) -> str:
        return "joined:" + super().cache_key

    def encode(self, examples: Sequence[Example]):
        return super().encode(self.joined(examples))


def fit_setfit(model: EncoderClassifier, config: SetFitConfig, folder: str, inputs: JoinedEncoder,
               context: FitContext) -> FitOutcome:
    """SetFit's trainer on the train split; then the fine-tuned encoder and the fitted head become
    this cell's classifier, evaluated by the shared loop like every method."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer
    from setfit import SetFitModel, Trainer, TrainingArguments
    from sklearn.linear_model import LogisticRegression
    from transformers import PrinterCallback

    _quiet_setfit()

    def texts(rows: Sequence[tuple[str, ...]]) -> list[str]:
        joined = inputs.joined([Example(row, 0) for row in rows])
        return [inputs.text_prefix + example.texts[0] for example in joined]

    labels = [example.label for example in context.train]
    body = SentenceTransformer(folder, device=str(context.device.device))
    body.max_seq_length = inputs.max_length
    _read_as_the_body_does(model.head, body)
    setfit_model = SetFitModel(model_body=body, model_head=LogisticRegression(C=config.head_c, max_iter=2000))
    with tempfile.TemporaryDirectory(prefix="petbench-setfit-") as output:
        arguments = TrainingArguments(output_dir=output, batch_size=config.batch_size,
                                      num_epochs=config.pair_epochs, num_iterations=config.pair_iterations,
                                      body_learning_rate=config.learning_rate,
                                      seed=context.seed, report_to="none", show_progress_bar=False,
                                      save_strategy="no", max_length=inputs.max_length)
        trainer = Trainer(model=setfit_model, args=arguments, metric=_accuracy,
                          train_dataset=Dataset.from_dict({"text": texts(context.train_texts),
                                                           "label": labels}))
        # without a progress bar the trainer prints its loss logs into the run's output instead
        trainer.remove_callback(PrinterCallback)
        started = time.perf_counter()
        with warnings.catch_warnings():
            # its data loader asks for pinned memory whether or not there is a GPU to pin it for
            warnings.filterwarnings("ignore", message=".*'pin_memory' argument is set as true.*")
            trainer.train()
        seconds = time.perf_counter() - started
    model.encoder = body[0].auto_model
    load_logistic_regression(model.head.linear, setfit_model.model_head)
    pairs = 2 * config.pair_iterations * len(labels) * config.pair_epochs
    dev_predictions = setfit_model.predict(texts(context.dev_texts)).tolist()
    return FitOutcome(dev_score=context.metric(dev_predictions, [example.label for example in context.dev]),
                      train_samples=pairs, train_seconds=seconds)


def _quiet_setfit() -> None:
    """The cell's progress is PETBench's to show: setfit.trainer turns its logger to info when it is
    imported, and datasets draws a progress bar for every small map."""
    from setfit import logging as setfit_logging

    setfit_logging.set_verbosity_warning()
    quiet_datasets()


def _read_as_the_body_does(head: PooledHead, body) -> None:
    """The head pools and normalises as the sentence-transformers modules of the folder do."""
    pooling = next((module for module in body if type(module).__name__ == "Pooling"), None)
    config = pooling.get_config_dict() if pooling is not None else {}
    # sentence-transformers 6 says pooling_mode="mean"; earlier releases pooling_mode_mean_tokens=True
    mode = config.get("pooling_mode") or ("cls" if config.get("pooling_mode_cls_token") else "mean")
    if mode not in (Pooling.CLS, Pooling.MEAN):
        raise BenchError(f"setfit: the folder's sentence-transformers pooling is {mode!r}; "
                         f"PETBench reads cls or mean")
    head.pooling = Pooling(mode)
    head.normalize = any(type(module).__name__ == "Normalize" for module in body)


def _accuracy(predictions, references) -> dict[str, float]:
    """SetFit's metric as a function: its default string would fetch a metric script from the hub."""
    hits = sum(int(guess == gold) for guess, gold in zip(predictions, references, strict=True))
    return {"accuracy": hits / len(references)}


# fp32 whatever --precision says: under bf16 autocast its contrastive training scored 3.2 points lower
# on SST-2, on 5 seeds of 5 (docs/results/cpu-bf16.md)
@register_method("setfit", config=SetFitConfig, requires=("setfit",), extra="setfit", training=Training.FIT,
                 fp32_only=True)
def build_setfit(config: SetFitConfig, *, model: ModelRef, task: TaskSpec, max_length: int) -> BuiltMethod:
    """SetFit: contrastive fine-tuning on sentence pairs, then a logistic-regression head."""
    if not model.is_local:
        raise BenchError("setfit needs a local model folder (embedded names resolve to one): "
                         "pass --model DIR")
    encoder, _ = load_encoder(model)
    inputs = JoinedEncoder(load_tokenizer(model), max_length, text_prefix=read_model_card(model).text_prefix)
    # the pooling and normalisation are set to the folder's sentence-transformers modules in the fit
    head = PooledHead(encoder.config.hidden_size, task.n_labels, Pooling.MEAN, dropout=0.0)
    classifier = EncoderClassifier(encoder, head)
    return BuiltMethod(classifier, inputs, pooling="sentence-transformers modules",
                       fit=partial(fit_setfit, classifier, config, model.location, inputs))
