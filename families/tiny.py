"""Tiny random-weight masked LMs of any registered family, saved as Hugging Face folders with a
tokenizer of the family's kind (WordPiece, byte-level BPE, SentencePiece Unigram) over a given word
list: what the tests and the family matrix run every method on, with nothing downloaded."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bench.core.family import FAMILIES, TokenizerKind

NO_TOKEN_TYPES = ("input_ids", "attention_mask")
# the special tokens' spellings per family, as their real tokenizers spell them
_BERT_SPECIALS = {"pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]"}
_ROBERTA_SPECIALS = {"cls": "<s>", "pad": "<pad>", "sep": "</s>", "unk": "<unk>", "mask": "<mask>"}
_SPECIALS = {"roberta": _ROBERTA_SPECIALS, "xlm_roberta": _ROBERTA_SPECIALS,
             "albert": {"pad": "<pad>", "unk": "<unk>", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]"}}


def _wordpiece(words: Sequence[str], specials: dict[str, str]):
    from transformers import BertTokenizer

    tokens = list(specials.values())
    vocabulary = tokens + [word for word in dict.fromkeys(words) if word not in tokens]
    return BertTokenizer(vocab={token: index for index, token in enumerate(vocabulary)}, do_lower_case=True,
                         **{f"{role}_token": token for role, token in specials.items()})


def _byte_bpe_model(words: Sequence[str], specials: dict[str, str]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=4000, special_tokens=list(specials.values()),
                                  show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator([" " + word for word in words] * 5, trainer)
    return tokenizer


def _byte_bpe(words: Sequence[str], specials: dict[str, str], family: str):
    import json

    backend = _byte_bpe_model(words, specials)
    if family == "roberta":
        from transformers import RobertaTokenizer

        model = json.loads(backend.to_str())["model"]
        merges = [tuple(pair) if isinstance(pair, list) else tuple(pair.split(" "))
                  for pair in model["merges"]]
        return RobertaTokenizer(vocab=model["vocab"], merges=merges)
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    cls, sep = specials["cls"], specials["sep"]
    backend.post_processor = processors.TemplateProcessing(
        single=f"{cls} $A {sep}", pair=f"{cls} $A {sep} $B {sep}",
        special_tokens=[(cls, backend.token_to_id(cls)), (sep, backend.token_to_id(sep))])
    return PreTrainedTokenizerFast(tokenizer_object=backend, model_input_names=list(NO_TOKEN_TYPES),
                                   **{f"{role}_token": token for role, token in specials.items()})


def _unigram(words: Sequence[str], specials: dict[str, str], family: str):
    """A SentencePiece-style Unigram vocabulary: whole words as '▁word' pieces, every character as a
    fallback piece (so a word outside the list still splits into known pieces)."""
    pieces = [(token, 0.0) for token in specials.values()]
    seen = set(specials.values())
    for word in dict.fromkeys(words):
        for piece, score in ((f"\u2581{word}", -2.0), (word, -4.0), *((char, -8.0) for char in word)):
            if piece not in seen:
                seen.add(piece)
                pieces.append((piece, score))
    pieces.append(("\u2581", -6.0))
    if family == "xlm_roberta":
        from transformers import XLMRobertaTokenizer

        return XLMRobertaTokenizer(vocab=pieces)
    if family == "albert":
        from transformers import AlbertTokenizer

        return AlbertTokenizer(vocab=pieces)
    from transformers import DebertaV2Tokenizer

    return DebertaV2Tokenizer(vocab=pieces, unk_id=list(specials).index("unk"))


def build_tokenizer(family: str, words: Sequence[str]):
    """A tokenizer of the family's kind over `words` (lower-case text)."""
    kind = FAMILIES.get(family).info.tokenizer
    specials = _SPECIALS.get(family, _BERT_SPECIALS)
    if kind == TokenizerKind.WORDPIECE:
        return _wordpiece(words, specials)
    if kind == TokenizerKind.BYTE_BPE:
        return _byte_bpe(words, specials, family)
    return _unigram(words, specials, family)


def save_tiny_model(family: str, folder: Path, words: Sequence[str], *, seed: int = 0) -> Path:
    """A tiny masked LM of the family with random weights and its kind of tokenizer, in `folder`."""
    import torch

    tokenizer = build_tokenizer(family, words)
    special_ids = {role: tokenizer.convert_tokens_to_ids(getattr(tokenizer, f"{role}_token"))
                   for role in ("pad", "unk", "cls", "sep", "mask")}
    torch.manual_seed(seed)
    entry = FAMILIES.get(family)
    model = entry.tiny_masked_lm(len(tokenizer), special_ids)
    if not entry.token_types(model.config):
        tokenizer.model_input_names = list(NO_TOKEN_TYPES)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
