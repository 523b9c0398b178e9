"""Fusion, personal blend, filter parsing, query hygiene, stemming and the relevance metrics."""

import numpy as np
import pandas as pd
import pytest

from shoplens.bench.search.scoring import lift, ndcg_at_10, random_ndcg_at_10
from shoplens.search import Filters, blend_personal, clean_query, fuse
from shoplens.search.keyword import keyword_tokens, s_stem


def test_rrf_rewards_agreement_and_is_scale_free():
    keyword = np.array([10.0, 5.0, 0.0])
    dense = np.array([0.1, 0.9, 0.8])
    fused = fuse(keyword, dense, "rrf", rrf_k=60)
    assert fused[1] > fused[2]  # item 1 is second by keyword and first by dense
    assert np.allclose(fused, fuse(keyword * 1000, dense / 7, "rrf", rrf_k=60))


def test_weighted_fusion_ends():
    keyword, dense = np.array([3.0, 1.0, 2.0]), np.array([0.1, 0.9, 0.5])
    assert np.argmax(fuse(keyword, dense, "weighted", keyword_weight=1.0)) == 0
    assert np.argmax(fuse(keyword, dense, "weighted", keyword_weight=0.0)) == 1
    with pytest.raises(ValueError):
        fuse(keyword, dense, "max")


def test_blend_personal_handles_unknown_items():
    scores = np.array([1.0, 0.99, 0.0])
    blended = blend_personal(scores, np.array([np.nan, 5.0, 1.0]), personal_weight=0.3)
    assert blended[1] > blended[0]
    assert np.array_equal(blend_personal(scores, np.full(3, np.nan)), scores)


def test_filter_parsing():
    f = Filters.parse(["category=家居 > 厨房", "price=10..", "brand=Acme|Bosch"])
    assert f.category == "家居 > 厨房" and f.price == (10.0, None) and f.brand == ["Acme", "Bosch"]
    assert Filters.parse("price<=50").price == (None, 50.0)
    assert Filters.parse({"price": (1, 2)}).price == (1, 2)
    assert not Filters.parse(None)
    catalogue = pd.DataFrame({"category": ["家居 > 厨房 > 锅具", "家居>厨房", "家居 > 卧室", None],
                              "price": [5, 20, 30, None], "brand": ["acme", "Bosch", "x", "acme"]})
    assert Filters.parse("category=家居>厨房").mask(catalogue).tolist() == [True, True, False, False]
    assert Filters.parse(["price=10..40", "brand=ACME|bosch"]).mask(catalogue).tolist() == [False, True, False, False]
    for bad in (["size=3"], {"colour": "red"}, ["price"], ["brand>=x"]):
        with pytest.raises(ValueError):
            Filters.parse(bad)


def test_clean_query():
    assert clean_query("  red\x00 dress\n") == ("red dress", [])
    text, notes = clean_query("a" * 10_000)
    assert len(text) == 256 and notes
    with pytest.raises(TypeError):
        clean_query(42)


def test_stemming_and_tokens():
    assert [s_stem(w) for w in ("drills", "batteries", "glass", "bus", "cups")] == ["drill", "battery", "glass", "bus", "cup"]
    assert keyword_tokens("The Cordless Drills 50 ml") == ["cordless", "drill", "50ml"]
    assert "耳机" in keyword_tokens("无线蓝牙耳机")


def test_ndcg_random_and_lift():
    gains = np.array([2.0, 0.0, 1.0])
    tie = np.zeros(3)
    assert ndcg_at_10(gains, np.array([3, 1, 2]), tie) == pytest.approx(1.0)
    worst = ndcg_at_10(gains, np.array([1, 3, 2]), tie)
    assert worst < 1
    permutations = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]
    mean = np.mean([ndcg_at_10(gains, -np.array(p, dtype=float), tie) for p in permutations])
    assert random_ndcg_at_10(gains) == pytest.approx(mean)
    assert lift(1.0, 0.9) == pytest.approx(1.0) and lift(0.9, 0.9) == 0


def test_rrf_gives_no_keyword_credit_without_a_match():
    keyword = np.array([0.0, 0.0, 2.0])
    dense = np.array([0.5, 0.9, 0.1])
    fused = fuse(keyword, dense, "rrf", rrf_k=60)
    assert fused[1] > fused[0]  # the zero keyword scores tie: order comes from dense alone
    assert fused[0] == pytest.approx(0.5 / 62)


def test_snowball_stemmer_option(tmp_path):
    from shoplens.search import KeywordIndex

    assert keyword_tokens("Ceiling Lighting", stemmer="snowball") == ["ceil", "light"]
    assert keyword_tokens("Ceiling Lighting") == ["ceiling", "lighting"]  # the S-stemmer keeps -ing words
    assert keyword_tokens("无线耳机", stemmer="snowball") == keyword_tokens("无线耳机")
    titles = ["LED light fixture", "Garden hose"]
    assert KeywordIndex(stemmer="s").fit(titles).scores("lighting", use_ngrams=False).max() == 0
    snowball = KeywordIndex(stemmer="snowball").fit(titles)
    assert snowball.search("lighting", k=2)[0].tolist() == [0]
    snowball.save(tmp_path / "kw")
    assert KeywordIndex.load(tmp_path / "kw").stemmer == "snowball"
    with pytest.raises(ValueError, match="stemmer"):
        KeywordIndex(stemmer="porter")
