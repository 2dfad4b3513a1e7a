"""Turns examples into token ids once, before training: plain sentence (pair) encoding and prompt
templates. Templates are tokenised as one string, as the model saw text in pre-training, so that
SentencePiece / BPE vocabularies (spaces folded into pieces) get the same pieces as in context."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from bench.core.encoded import EncodedExample
from bench.core.errors import BenchError
from bench.core.task import FIELD_REFERENCE, MASK_SLOT, Example

PROMPT_SLOT = "[P]"  # a soft-prompt position: its embedding is replaced by the method


def tokenizer_fingerprint(tokenizer) -> str:
    """A hash of the tokenizer's full definition (vocabulary, normaliser, special tokens)."""
    cached = getattr(tokenizer, "_petbench_fingerprint", None)
    if cached is None:
        backend = getattr(tokenizer, "backend_tokenizer", None)
        text = backend.to_str() if backend is not None else repr(sorted(tokenizer.get_vocab().items()))
        cached = hashlib.sha256(f"{type(tokenizer).__name__}:{text}".encode()).hexdigest()[:16]
        tokenizer._petbench_fingerprint = cached
    return cached


class PlainEncoder:
    """[CLS] text_a [SEP] (text_b [SEP]) as the tokenizer builds it, truncated to max_length; the
    model card's text prefix (e5: "query: ") starts text_a."""

    def __init__(self, tokenizer, max_length: int, *, text_prefix: str = "") -> None:
        self.tokenizer, self.max_length, self.text_prefix = tokenizer, max_length, text_prefix
        self.pad_id = tokenizer.pad_token_id or 0

    @property
    def cache_key(self) -> str:
        return f"plain:{tokenizer_fingerprint(self.tokenizer)}:{self.max_length}:{self.text_prefix!r}"

    def encode(self, examples: Sequence[Example]) -> list[EncodedExample]:
        firsts = [self.text_prefix + example.texts[0] for example in examples]
        seconds = [example.texts[1] for example in examples] if len(examples[0].texts) > 1 else None
        encoded = self.tokenizer(firsts, seconds, truncation=True, max_length=self.max_length)
        token_types = encoded.get("token_type_ids")
        return [EncodedExample(tuple(ids), example.label,
                               tuple(token_types[row]) if token_types is not None else None)
                for row, (ids, example) in enumerate(zip(encoded["input_ids"], examples, strict=True))]


def require_mask_token(tokenizer) -> None:
    if tokenizer.mask_token is None or tokenizer.mask_token_id is None:
        raise BenchError("the tokenizer has no mask token: prompt methods need a BERT/RoBERTa-style "
                         "masked-LM vocabulary")


def mask_context(template: str) -> str:
    """The literal template text right before [MASK] (what precedes a label word)."""
    before = template.split(MASK_SLOT)[0]
    return FIELD_REFERENCE.split(before)[-1].replace(PROMPT_SLOT, "")


def verbalizer_token_ids(tokenizer, words: Sequence[str], *, context: str) -> list[list[int]]:
    """Token ids of each label word as the tokenizer spells it after `context` (the template text
    before [MASK]): "It was great" gives BERT "great" and RoBERTa "Ġgreat"."""
    token_ids = []
    for word in words:
        encoded = tokenizer(context + word, add_special_tokens=False, return_offsets_mapping=True)
        start = len(context)
        inside = [i for i, (s, e) in zip(encoded["input_ids"], encoded["offset_mapping"], strict=True)
                  if s >= start and e > s]
        overlapping = [i for i, (s, e) in zip(encoded["input_ids"], encoded["offset_mapping"], strict=True)
                       if e > start and e > s]
        ids = inside or overlapping
        if not ids:
            raise BenchError(f"label word {word!r} tokenises to nothing; change the verbalizer")
        token_ids.append(ids)
    return token_ids


class TemplateEncoder:
    """Fills a task template; the [MASK] slot becomes n_masks mask tokens and each [P] one
    soft-prompt position (holding the mask token). Positions come from where the slots sit in the
    filled string (token offsets), never from searching ids, so text that happens to contain a mask
    token cannot shift them.

    Literal template text is never truncated: the text fields are cut, longest first, to fit.
    """

    def __init__(self, tokenizer, template: str, text_fields: Sequence[str], *, n_masks: int,
                 max_length: int, text_prefix: str = "") -> None:
        require_mask_token(tokenizer)
        self.tokenizer, self.template, self.text_fields = tokenizer, template, tuple(text_fields)
        self.n_masks, self.max_length, self.text_prefix = n_masks, max_length, text_prefix
        self.pad_id = tokenizer.pad_token_id or 0
        pattern = "(" + "|".join([r"\{[\w.]+\}", re.escape(MASK_SLOT), re.escape(PROMPT_SLOT)]) + ")"
        self.parts = [piece for piece in re.split(pattern, template) if piece]
        empty = self._assemble({name: "" for name in self.text_fields})
        fixed = len(self.tokenizer(empty[0])["input_ids"])
        if fixed >= max_length:
            raise BenchError(f"template needs {fixed} tokens, max_length is {max_length}: raise "
                             f"--max-length or shorten the template")

    @property
    def cache_key(self) -> str:
        return (f"template:{tokenizer_fingerprint(self.tokenizer)}:{self.template}:{self.text_fields}:"
                f"{self.n_masks}:{self.max_length}:{self.text_prefix!r}")

    def _assemble(self, texts: dict[str, str]) -> tuple[str, list[tuple[str, int, int]]]:
        """The filled string, and the (kind, start, end) character span of every mask / prompt slot."""
        mask = self.tokenizer.mask_token
        string, slots = self.text_prefix, []
        for piece in self.parts:
            match = FIELD_REFERENCE.fullmatch(piece)
            if match:
                string += texts[match.group(1)]
            elif piece in (MASK_SLOT, PROMPT_SLOT):
                kind = "mask" if piece == MASK_SLOT else "prompt"
                for _ in range(self.n_masks if kind == "mask" else 1):
                    slots.append((kind, len(string), len(string) + len(mask)))
                    string += mask
            else:
                string += piece
        return string, slots

    def encode(self, examples: Sequence[Example]) -> list[EncodedExample]:
        return [self._encode(dict(zip(self.text_fields, example.texts, strict=True)), example.label)
                for example in examples]

    def _encode(self, texts: dict[str, str], label: int) -> EncodedExample:
        while True:
            string, slots = self._assemble(texts)
            encoded = self.tokenizer(string, return_offsets_mapping=True)
            excess = len(encoded["input_ids"]) - self.max_length
            if excess <= 0:
                break
            longest = max(self.text_fields, key=lambda name: len(texts[name]))
            texts = {**texts, longest: self._cut(texts[longest], excess)}
        ends = [end for _, end in encoded["offset_mapping"]]
        positions = {"mask": [], "prompt": []}
        for kind, _, end in slots:
            positions[kind].append(ends.index(end))
        # one segment: token types would all be 0, the models' default
        return EncodedExample(tuple(encoded["input_ids"]), label, None, tuple(positions["mask"]),
                              tuple(positions["prompt"]))

    def _cut(self, text: str, tokens: int) -> str:
        """The text without its last `tokens` tokens (at least one character shorter)."""
        encoded = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        offsets = encoded["offset_mapping"]
        keep = max(0, len(offsets) - tokens)
        cut = offsets[keep - 1][1] if keep else 0
        return text[: min(cut, len(text) - 1)]
