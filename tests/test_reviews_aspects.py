"""shoplens.reviews aspects, keywords and per-product summaries (simulator data: truth is known)."""

import numpy as np
import pytest

from shoplens.datasets.synthetic import marketplace
from shoplens.reviews.aspects import AspectExtractor, lexicon_polarity, split_clauses
from shoplens.reviews.keywords import candidate_phrases, jieba_keywords, keyphrases
from shoplens.reviews.summary import POLARITY_WITH_MODEL, analyze_reviews, analyze_workspace
from shoplens.text import get_encoder

AWKWARD = ["", None, float("nan"), "\x00\xff\x01", "电池" * 20_000, "battery 电池 not good 不好", "🔋🔋"]


@pytest.fixture(scope="module")
def market():
    return marketplace(n_users=600, n_items=200, seed=1)


def test_clauses_split_at_punctuation_and_contrast():
    assert split_clauses("电池续航很长，但是屏幕偏暗。") == ["电池续航很长", "屏幕偏暗"]
    assert split_clauses("Great sound but the battery dies fast") == ["Great sound", "the battery dies fast"]
    assert split_clauses(None) == []


def test_extract_finds_aspects_with_clause_polarity():
    mentions = AspectExtractor().extract("电池很耐用，但是屏幕太差了。Shipping was slow.")
    found = {(m.aspect, m.polarity) for m in mentions}
    assert found == {("battery", 1), ("screen", -1), ("shipping", -1)}


def test_lexicon_negation():
    assert lexicon_polarity("不好") == -1
    assert lexicon_polarity("不错") == 1
    assert lexicon_polarity("not good") == -1
    assert lexicon_polarity("not very good") == -1
    assert lexicon_polarity("") == 0
    # issue 17: a negator scopes over the next opinion word of its clause, not only the two characters before it
    assert lexicon_polarity("几乎没有噪音") == 1 and lexicon_polarity("面料不硬") == 1
    assert lexicon_polarity("可价格没得比") == 1 and lexicon_polarity("苹果果香味浓郁") == 1
    assert lexicon_polarity("不是特别满意") == -1


def test_fit_learns_new_aspect_terms():
    corpus = ["房间很干净", "房间太小了", "早餐很丰富", "早餐一般", "蒙牛很差", "酒店不错"] * 10
    extractor = AspectExtractor(min_count=5).fit(corpus)
    assert {"房间", "早餐"} <= set(extractor.learnt_terms)
    assert not {"蒙牛", "酒店"} & set(extractor.learnt_terms)  # a brand (issue 17), the product itself
    assert [m.aspect for m in extractor.extract("房间很干净")] == ["房间"]


def test_awkward_inputs_never_crash():
    extractor = AspectExtractor()
    results = extractor.extract_many(AWKWARD)
    assert len(results) == len(AWKWARD) and results[0] == []
    assert {m.aspect for m in results[5]} == {"battery"}


def test_simulator_precision_recall(market):
    reviews, truth = market.tables["reviews"], market.truth.review_aspects
    extractor = AspectExtractor().fit(reviews["text"])
    predicted = {(rid, m.aspect) for rid, found in zip(reviews["review_id"], extractor.extract_many(reviews["text"]))
                 for m in found}
    true = set(zip(truth["review_id"], truth["aspect"]))
    precision, recall = len(predicted & true) / len(predicted), len(predicted & true) / len(true)
    assert precision > 0.7 and recall > 0.7


def test_product_summary_on_simulator(market):
    reviews = market.tables["reviews"]
    item = reviews["item_id"].value_counts().index[0]
    summary = analyze_reviews(reviews, item=item)
    assert summary["n_reviews"] == (reviews["item_id"] == item).sum()
    assert summary["top_positive"] or summary["top_negative"]
    for entry in summary["top_positive"]:
        assert entry["mentions"] > 0 and entry["example"]
    assert summary["polarity_source"] in ("lexicon", POLARITY_WITH_MODEL)


def test_workspace_analysis(ws, market):
    ws.ingest(market.tables["reviews"], kind="reviews")
    item = market.tables["reviews"]["item_id"].iloc[0]
    assert analyze_workspace(ws, item=item)["n_reviews"] >= 1
    assert analyze_workspace(ws)["n_reviews"] == len(market.tables["reviews"])
    with pytest.raises(ValueError, match="no reviews"):
        analyze_workspace(ws, item="no-such-item")


def test_keywords_zh_and_keyphrases_mmr():
    texts = ["电池续航很长，充电很快", "电池不耐用", "屏幕清晰，电池一般"]
    words = [w for w, _ in jieba_keywords(texts, k=5)]
    assert "电池" in words
    assert jieba_keywords([], k=5) == [] and jieba_keywords(AWKWARD[:4], k=3) == []
    assert [w for w, _ in jieba_keywords(texts, k=3, method="textrank")]
    phrases = keyphrases(texts + ["great battery life", "battery drains fast"], get_encoder("static"), k=4)
    assert len(phrases) == 4 and len({p for p, _ in phrases}) == 4
    assert keyphrases(["", None], get_encoder("static")) == []
    assert "battery life" in candidate_phrases(["great battery life"])
    assert np.isfinite([score for _, score in phrases]).all()
