"""Every method on every registered encoder family, on tiny random-weight masked LMs of each family
with its own kind of tokenizer (built here: nothing downloaded); prefixes enter each family's
attention as if concatenated to its keys and values; label words are spelt as each vocabulary
spells them in context."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from torch.nn import functional

from bench.core.device import choose_device
from bench.core.family import FAMILIES, TokenizerKind, family_of, is_fixed
from bench.core.method import METHODS
from bench.core.prefixes import PREFIX_ATTENTION, active_prefixes
from bench.core.task import Example
from bench.training.loop import TrainConfig, make_optimizer, train_step
from families.bert_like import BertLikeFamily
from families.tiny import build_tokenizer, save_tiny_model
from methods.encoding import verbalizer_token_ids
from methods.mlm import VerbalizerScores, load_mlm_classifier
from tests.conftest import SPECIAL_TOKENS, _vocabulary
from tests.helpers import batch, build

CPU = choose_device("cpu")
SENTENCES = [Example(("a great and moving film",), 1), Example(("dull , flat and far too long",), 0),
             Example(("loved every minute",), 1), Example(("hated it",), 0)]
WORDS = [word for word in _vocabulary() if word not in SPECIAL_TOKENS]
AVAILABLE = [name for name in METHODS.names() if METHODS.get(name).available]
_FOLDERS: dict[str, Path] = {}


@pytest.fixture(scope="session")
def family_models(tmp_path_factory):
    """family name -> the folder of its tiny model, built on first use."""

    def folder(family: str) -> Path:
        if family not in _FOLDERS:
            _FOLDERS[family] = save_tiny_model(family, tmp_path_factory.mktemp(f"tiny-{family}"), WORDS)
        return _FOLDERS[family]

    return folder


def _claimed(name: str, fragments: tuple[str, ...]) -> bool:
    return any(fragment in name for fragment in fragments)


def fit_changes_exactly_its_claimed_parameters(built) -> None:
    """A method with its own fit (a linear probe, SetFit) fits on the family's model: it scores dev, and
    only the parameters it claims move (the rest stay bit-identical)."""
    from bench.core.method import FitContext

    encoded = built.encoder.encode(SENTENCES)
    texts = [example.texts for example in SENTENCES]
    before = {name: p.detach().clone() for name, p in built.model.named_parameters()}
    context = FitContext(train=encoded, dev=encoded, train_texts=texts, dev_texts=texts,
                         metric=lambda predicted, gold: sum(map(int.__eq__, predicted, gold)) / len(gold),
                         device=CPU, seed=0, batch_size=4)
    outcome = built.fit(context)
    assert 0.0 <= outcome.dev_score <= 1.0 and outcome.train_samples > 0
    moved = {name for name, p in built.model.named_parameters()
             if name not in before or not torch.equal(p.detach(), before[name])}
    assert moved and all(_claimed(name, built.trains) for name in moved), sorted(moved)


@pytest.mark.parametrize("method", AVAILABLE)
@pytest.mark.parametrize("family", FAMILIES.names())
def test_every_method_trains_exactly_its_claimed_parameters_on_every_family(family, method, family_models):
    torch.manual_seed(0)
    # SetFit's contrastive fit at its smallest: one pair per example (what is tested is which weights move)
    quick = {"pair_iterations": "1"} if method == "setfit" else {}
    built = build(method, family_models(family), **quick)
    inputs = batch(built, SENTENCES)
    labels = inputs.pop("labels")
    built.model.eval()
    with torch.no_grad():
        assert built.model(**inputs).shape == (len(SENTENCES), 2)
    if built.fit is not None:  # trained by its own fit, outside the loop
        fit_changes_exactly_its_claimed_parameters(built)
        return
    trainable = {name for name, p in built.model.named_parameters() if p.requires_grad}
    assert trainable == {name for name, p in built.model.named_parameters()
                         if _claimed(name, built.trains) and not is_fixed(p)}
    assert trainable
    before = {name: p.detach().clone() for name, p in built.model.named_parameters()}
    config = TrainConfig(weight_decay=0.0)
    optimizer = make_optimizer(built.model, config, 1e-2)
    for _ in range(2):  # LoRA's B starts at zero, so A first gets a gradient at the second step
        train_step(built.model, {**inputs, "labels": labels}, optimizer, config, CPU)
    for name, parameter in built.model.named_parameters():
        if parameter.requires_grad:
            assert not torch.equal(parameter, before[name]), f"{name} did not move"
        else:
            assert torch.equal(parameter, before[name]), f"frozen {name} changed"


# --- prefixes: the family's attention over [prefix; input] keys and values -------------------------

REFERENCE_ATTENTION = "petbench_test_reference"
_REFERENCE_PREFIXES: list[tuple[torch.Tensor, torch.Tensor]] = []


def _reference_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """Eager attention written out, the next layer's prefix concatenated in front of keys and values."""
    prefix_keys, prefix_values = _REFERENCE_PREFIXES.pop(0)
    batch_size = query.shape[0]
    key = torch.cat([prefix_keys.expand(batch_size, -1, -1, -1), key], dim=2)
    value = torch.cat([prefix_values.expand(batch_size, -1, -1, -1), value], dim=2)
    scores = query @ key.transpose(2, 3) * (scaling if scaling is not None else query.shape[-1] ** -0.5)
    if attention_mask is not None:
        additive = (torch.where(attention_mask, 0.0, float("-inf")) if attention_mask.dtype == torch.bool
                    else attention_mask)
        scores = scores + functional.pad(additive, (prefix_keys.shape[2], 0), value=0.0)
    return (functional.softmax(scores, dim=-1) @ value).transpose(1, 2).contiguous(), None


def _register_reference() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(REFERENCE_ATTENTION, _reference_attention)
    AttentionMaskInterface.register(REFERENCE_ATTENTION, sdpa_mask)


def _deberta_reference(module, hidden, context, keys, values):
    """Content score over [prefix; input], DeBERTa's own relative terms over the input keys only."""
    heads, batch_size, length = module.num_attention_heads, hidden.shape[0], hidden.shape[1]
    query, key, value = (module.transpose_for_scores(projection(hidden), heads)
                         for projection in (module.query_proj, module.key_proj, module.value_proj))
    factor = 1 + len({"c2p", "p2c"} & set(module.pos_att_type))
    scale = math.sqrt(query.shape[-1] * factor)
    relative = module.disentangled_attention_bias(query, key, context["relative_pos"],
                                                  context["rel_embeddings"], factor)
    prefix_keys = keys.expand(batch_size, -1, -1, -1).reshape(batch_size * heads, -1, query.shape[-1])
    prefix_values = values.expand(batch_size, -1, -1, -1).reshape(batch_size * heads, -1, query.shape[-1])
    scores = torch.cat([query @ prefix_keys.transpose(1, 2), query @ key.transpose(1, 2) + relative * scale],
                       dim=-1) / scale
    mask = context["attention_mask"].bool().expand(-1, heads, -1, -1).reshape(batch_size * heads, length, -1)
    mask = functional.pad(mask, (keys.shape[-2], 0), value=True)
    probabilities = functional.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    output = probabilities @ torch.cat([prefix_values, value], dim=1)
    return output.view(batch_size, heads, length, -1).permute(0, 2, 1, 3).flatten(2)


def _roformer_reference(module, hidden, context, keys, values):
    """Rotary positions on the input's queries and keys; the prefix keys stay unrotated."""
    shape = (*hidden.shape[:-1], -1, module.attention_head_size)
    query, key, value = (projection(hidden).view(shape).transpose(1, 2)
                         for projection in (module.query, module.key, module.value))
    query, key = module.apply_rotary_position_embeddings(context["sinusoidal_pos"], query, key)
    batch_size = hidden.shape[0]
    key = torch.cat([keys.expand(batch_size, -1, -1, -1), key], dim=2)
    value = torch.cat([values.expand(batch_size, -1, -1, -1), value], dim=2)
    scores = query @ key.transpose(2, 3) / math.sqrt(module.attention_head_size)
    mask = context["attention_mask"]
    additive = torch.where(mask, 0.0, float("-inf")) if mask.dtype == torch.bool else mask
    scores = scores + functional.pad(additive, (keys.shape[-2], 0), value=0.0)
    output = functional.softmax(scores, dim=-1) @ value
    return output.permute(0, 2, 1, 3).flatten(2)


# families whose attention is not transformers' AttentionInterface: (their first attention module,
# the reference written out for it)
PATCHED_REFERENCES = {
    "deberta_v2": (lambda encoder: encoder.encoder.layer[0].attention.self, _deberta_reference),
    "roformer": (lambda encoder: encoder.encoder.layer[0].attention.self, _roformer_reference),
}


def _tiny_encoder(folder: Path):
    from transformers import AutoModel

    torch.manual_seed(0)
    return AutoModel.from_pretrained(folder).eval()


def _inputs(length: int = 30) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    input_ids = torch.randint(10, 60, (2, length), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, length // 2:] = 0
    return input_ids, attention_mask


def _prefixes(family, config, length: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    layers, heads, head_dim = family.attention_shape(config)
    generator = torch.Generator().manual_seed(2)
    return (torch.randn(layers, heads, length, head_dim, generator=generator),
            torch.randn(layers, heads, length, head_dim, generator=generator))


@pytest.mark.parametrize("family_name", [name for name in FAMILIES.names() if name not in PATCHED_REFERENCES])
def test_interface_prefixes_equal_eager_attention_with_the_prefix_concatenated(family_name, family_models):
    """Across a whole forward (every layer position, ALBERT's shared layer and ModernBERT's local
    window included), a 30-token input with padding."""
    encoder = _tiny_encoder(family_models(family_name))
    family = family_of(encoder)
    assert type(family).install_prefix_attention is BertLikeFamily.install_prefix_attention
    input_ids, attention_mask = _inputs()
    keys, values = _prefixes(family, encoder.config)
    with torch.no_grad():
        plain = encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        family.install_prefix_attention(encoder)
        assert encoder.config._attn_implementation == PREFIX_ATTENTION
        with active_prefixes(keys, values):
            injected = encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        _register_reference()
        encoder.set_attn_implementation(REFERENCE_ATTENTION)
        _REFERENCE_PREFIXES[:] = list(zip(keys.unsqueeze(1), values.unsqueeze(1), strict=True))
        reference = encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    assert not _REFERENCE_PREFIXES, "the reference saw fewer attention calls than layer positions"
    valid = attention_mask.bool()
    torch.testing.assert_close(injected[valid], reference[valid], rtol=1e-4, atol=1e-5)
    assert not torch.allclose(injected[valid], plain[valid], atol=1e-3)


@pytest.mark.parametrize("family_name", sorted(PATCHED_REFERENCES))
def test_patched_prefix_attention_is_the_families_own_without_a_prefix_and_the_reference_with_one(
        family_name, family_models):
    encoder = _tiny_encoder(family_models(family_name))
    family = family_of(encoder)
    stack = family.layer_stack(encoder)
    input_ids, attention_mask = _inputs()
    with torch.no_grad():
        plain = encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        family.install_prefix_attention(encoder)
        keys, values = _prefixes(family, encoder.config)
        with active_prefixes(keys[:, :, :0], values[:, :, :0]):  # an empty prefix: the model's own attention
            empty = encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        hidden = stack.embed(input_ids=input_ids, attention_mask=attention_mask)
        context = stack.context(hidden, attention_mask)
        module_of, reference_of = PATCHED_REFERENCES[family_name]
        module = module_of(encoder)
        arguments = {name: value for name, value in context.items() if name != "input_mask"}
        with active_prefixes(keys[:1], values[:1]):
            injected = module(hidden, **arguments)[0]
        reference = reference_of(module, hidden, context, keys[0], values[0])
    valid = attention_mask.bool()
    torch.testing.assert_close(empty[valid], plain[valid], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(injected[valid], reference[valid], rtol=1e-4, atol=1e-5)


# --- label words -----------------------------------------------------------------------------------

def test_label_words_on_a_byte_level_bpe_vocabulary_take_the_leading_space_piece():
    tokenizer = build_tokenizer("roberta", WORDS)
    assert FAMILIES.get("roberta").info.tokenizer == TokenizerKind.BYTE_BPE
    [ids] = verbalizer_token_ids(tokenizer, ["great"], context="It was ")
    assert tokenizer.convert_ids_to_tokens(ids) == ["\u0120great"]
    [ids] = verbalizer_token_ids(tokenizer, ["great"], context="It was")  # no space: the bare piece
    assert "\u0120" not in "".join(tokenizer.convert_ids_to_tokens(ids))


@pytest.mark.parametrize("family", FAMILIES.names())
def test_multi_piece_label_words_score_the_mean_log_probability_of_their_pieces(family, family_models):
    """On every tokenizer kind: a label word of several pieces puts one [MASK] per piece, and its
    score is the mean log-probability of each piece at its own [MASK]."""
    from bench.core.models import resolve_model
    from bench.core.task import get_task

    model = resolve_model(str(family_models(family)))
    task = get_task("sst2")
    tokenizer, classifier, _ = load_mlm_classifier(model, task)
    pieces = verbalizer_token_ids(tokenizer, ["good-bad", "great"], context="It was ")
    assert len(pieces[0]) > 1, tokenizer.convert_ids_to_tokens(pieces[0])
    verbalizer = VerbalizerScores(pieces)
    logits = torch.randn(3, verbalizer.n_masks, len(tokenizer), generator=torch.Generator().manual_seed(0))
    log_probabilities = functional.log_softmax(logits, dim=-1)
    expected = torch.stack([
        torch.stack([log_probabilities[:, mask, token] for mask, token in enumerate(ids)]).mean(0)
        for ids in pieces], dim=1)
    torch.testing.assert_close(verbalizer(logits), expected)
    assert classifier.verbalizer.n_masks == 1  # sst2's own words are one piece on every kind here


def test_a_deberta_head_without_legacy_weights_reads_label_words_through_the_tied_embeddings(tmp_path):
    from transformers import AutoModelForMaskedLM

    folder = save_tiny_model("deberta_v2", tmp_path / "deberta", WORDS)
    config_path = folder / "config.json"
    config_path.write_text(config_path.read_text().replace('"legacy": true', '"legacy": false'))
    AutoModelForMaskedLM.from_pretrained(folder).save_pretrained(folder)  # lm_predictions, not cls
    words_only, full = (build("hard_prompt", folder, label_words_only=flag) for flag in ("true", "false"))
    assert words_only.mlm_head.origin.value == "pretrained"
    inputs = batch(full, SENTENCES)
    inputs.pop("labels")
    full.model.eval(), words_only.model.eval()
    with torch.no_grad():
        full_scores, word_scores = full.model(**inputs), words_only.model(**inputs)
    torch.testing.assert_close(full_scores.argmax(1), word_scores.argmax(1))
    torch.testing.assert_close(full_scores - full_scores.mean(1, keepdim=True),
                               word_scores - word_scores.mean(1, keepdim=True), rtol=1e-4, atol=1e-4)


# --- before the first cell: families the run cannot use, facts that change what a number means ----

def _run(capsys, *arguments: str) -> tuple[int, str]:
    from bench.cli.main import main

    code = main(list(arguments))
    return code, capsys.readouterr().err


FAST = ("--max-steps", "1", "--batch-size", "4", "--shots", "8", "--max-length", "48", "--executor", "inline")


def test_a_model_no_family_serves_is_one_line_before_anything_is_written(capsys, tmp_path, data_dir):
    folder = tmp_path / "gpt"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "gpt2"}')
    code, err = _run(capsys, "--model", str(folder), "--data-dir", str(data_dir), *FAST, "--out",
                     str(tmp_path / "out"))
    assert code == 2 and err.count("\n") == 1 and "no encoder family serves model_type 'gpt2'" in err
    assert not (tmp_path / "out").exists()


def test_an_input_longer_than_the_models_positions_is_refused_up_front(capsys, tmp_path, data_dir,
                                                                       family_models):
    code, err = _run(capsys, "--model", str(family_models("roberta")), "--data-dir", str(data_dir), *FAST,
                     "--max-length", "300", "--out", str(tmp_path / "out"))
    assert code == 2 and "--max-length 300 is longer than the 256 positions" in err


def test_a_method_a_plugin_family_cannot_serve_is_refused_with_its_reason(capsys, tmp_path, data_dir,
                                                                          family_models):
    """A family is one entry, added by a plugin; a capability it lacks refuses the methods that need it."""
    from dataclasses import replace

    from bench.core.family import Capability, register_family
    from bench.training.compatibility import refusals

    roberta = FAMILIES.get("roberta")
    FAMILIES.remove("roberta")
    register_family(replace(roberta, info=replace(roberta.info, lacks={
        Capability.PREFIX_ATTENTION: "its attention takes no key/value prefixes"})))
    try:
        code, err = _run(capsys, "--model", str(family_models("roberta")), "--data-dir", str(data_dir), *FAST,
                         "--methods", "lora,p_tuning_v2", "--out", str(tmp_path / "out"))
        refused = [row for row in refusals() if row[0] == "roberta"]
    finally:
        FAMILIES.remove("roberta")
        register_family(roberta)
    assert code == 2 and err.count("\n") == 1
    assert "method p_tuning_v2 cannot run on roberta models" in err and "takes no key/value prefixes" in err
    assert {method for _, method, _ in refused} == {"prefix_tuning", "p_tuning_v2"}
    assert not (tmp_path / "out").exists()


def test_deberta_v3_checkpoints_say_their_mlm_head_is_random_and_zero_shot_prompts_warn(
        capsys, tmp_path, data_dir, family_models):
    import shutil

    folder = tmp_path / "deberta-v3-tiny"
    shutil.copytree(family_models("deberta_v2"), folder)
    code, err = _run(capsys, "--model", str(folder), "--data-dir", str(data_dir), *FAST, "--zero-shot",
                     "--methods", "hard_prompt", "--out", str(tmp_path / "out"))
    assert code == 0 and "warning: zero-shot prompt scores" in err and "random fill-mask output" in err
    record = json.loads((tmp_path / "out" / "results.jsonl").read_text().splitlines()[0])
    assert record["family"] == "deberta_v2" and "DeBERTa-v3 checkpoint" in record["mlm_head_detail"]
    assert "random fill-mask output" in (tmp_path / "out" / "report.md").read_text()


def test_an_electra_discriminator_gets_a_new_mlm_head_and_says_why(tmp_path, family_models):
    from transformers import AutoConfig, ElectraForPreTraining

    folder = tmp_path / "discriminator"
    source = family_models("electra")
    ElectraForPreTraining(AutoConfig.from_pretrained(source)).save_pretrained(folder)
    for path in source.iterdir():
        if "token" in path.name or path.name == "vocab.txt":
            (folder / path.name).write_bytes(path.read_bytes())
    built = build("hard_prompt", folder)
    assert built.mlm_head.origin.value == "new" and "ELECTRA discriminator" in built.mlm_head.detail


def test_lora_targets_each_familys_own_query_and_value_projections(family_models):
    for family in FAMILIES.names():
        peft_encoder = build("lora", family_models(family)).model.encoder
        adapted = {name.rsplit(".", 1)[-1] for name, module in peft_encoder.named_modules()
                   if hasattr(module, "lora_A") and "lora_A" not in name.rsplit(".", 1)[-1]}
        expected = set(FAMILIES.get(family).projections(["query", "value"]))
        assert adapted == expected, family


def test_the_readme_family_table_is_the_generated_one():
    from reports.families_table import BEGIN, END, families_table

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert BEGIN in readme and END in readme, "README lacks the generated family table"
    start, end = readme.index(BEGIN), readme.index(END) + len(END)
    assert readme[start:end] == families_table(), "run `run_bench.py list --families --markdown` into README"


def test_a_model_folder_without_its_tokenizer_files_is_refused_before_training(capsys, tmp_path, tiny_model,
                                                                               data_dir):
    """transformers would build a stub vocabulary and every word would be unknown: training at chance."""
    from transformers import AutoModelForMaskedLM, BertTokenizer

    folder = tmp_path / "no-tokenizer"
    AutoModelForMaskedLM.from_pretrained(tiny_model).save_pretrained(folder)
    BertTokenizer(vocab={token: index for index, token in enumerate(SPECIAL_TOKENS)}).save_pretrained(folder)
    code, err = _run(capsys, "--model", str(folder), "--data-dir", str(data_dir), *FAST, "--methods",
                     "full_ft", "--out", str(tmp_path / "out"))
    assert code == 2 and "turns 100% of task sst2's tokens into [UNK]" in err
    assert not (tmp_path / "out" / "results.jsonl").exists()


def test_a_damaged_weights_file_is_refused_once_before_the_first_cell(capsys, tmp_path, family_models,
                                                                      data_dir):
    import shutil

    folder = tmp_path / "truncated"
    shutil.copytree(family_models("bert"), folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    code, err = _run(capsys, "--model", str(folder), "--data-dir", str(data_dir), *FAST, "--out",
                     str(tmp_path / "out"))
    assert code == 2 and err.count("\n") == 1 and "model.safetensors cannot be read" in err


def test_prompt_methods_on_a_tokenizer_without_a_mask_token_are_refused_up_front(capsys, tmp_path, tiny_model,
                                                                                data_dir):
    import shutil

    folder = tmp_path / "no-mask"
    shutil.copytree(tiny_model, folder)
    config = folder / "tokenizer_config.json"
    values = json.loads(config.read_text())
    values["mask_token"] = None
    config.write_text(json.dumps(values))
    code, err = _run(capsys, "--model", str(folder), "--data-dir", str(data_dir), *FAST, "--methods",
                     "full_ft,hard_prompt", "--out", str(tmp_path / "out"))
    assert code == 2 and "has no mask token, which hard_prompt read label words at" in err


def test_a_plugin_family_claiming_a_model_type_another_family_serves_is_refused_naming_both(capsys,
                                                                                          tmp_path):
    """Two families for model_type bert would leave the registry's order to pick the one that reads a
    BERT checkpoint: the second claim is refused in one line, and nothing is registered."""
    from bench.cli.main import main

    plugin = tmp_path / "my_bert.py"
    plugin.write_text("from dataclasses import replace\n"
                      "from bench.core.family import FAMILIES, register_family\n"
                      "bert = FAMILIES.get('bert')\n"
                      "register_family(replace(bert, info=replace(bert.info, name='my_bert')))\n",
                      encoding="utf-8")
    code = main(["list", "--plugin", str(plugin)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "my_bert" not in FAMILIES
    assert ("encoder family 'my_bert' claims model_type 'bert', which family 'bert' already serves: drop "
            "'bert' from my_bert's model_types, or give its checkpoints a model_type of their own") in err
