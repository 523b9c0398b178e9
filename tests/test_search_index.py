"""Search index: keyword/dense/hybrid retrieval, filters, bad input, incremental updates, persistence."""

import numpy as np
import pandas as pd
import pytest

from shoplens.datasets.synthetic import marketplace
from shoplens.search import SearchIndex


@pytest.fixture(scope="module")
def market():
    return marketplace(n_users=150, n_items=300, days=40, seed=3)


@pytest.fixture(scope="module")
def index(market):
    return SearchIndex(encoder="static").fit(market.tables["items"])


def _first_item(market, lang):
    items = market.tables["items"]
    return items[items["lang"] == lang].iloc[0]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("mode", ["keyword", "dense", "hybrid"])
def test_an_items_own_title_finds_it(market, index, lang, mode):
    item = _first_item(market, lang)
    result = index.search(item["title"], k=10, mode=mode)
    assert result.reason is None
    assert item["item_id"] in result.items["item_id"].tolist()
    assert result.items["score"].is_monotonic_decreasing


def test_english_typo_is_tolerated(market):
    items = pd.DataFrame({"item_id": ["a", "b"], "title": ["Cordless Drill Kit", "Garden Hose 50 ft"]})
    index = SearchIndex(encoder=None).fit(items)
    assert index.search("cordles dril", k=1, mode="keyword").items["item_id"].tolist() == ["a"]
    plain = SearchIndex(encoder=None, typo_tolerance=False).fit(items)
    assert plain.search("cordles dril", k=1, mode="keyword").reason is not None


def test_filters_category_price_brand(market, index):
    items = market.tables["items"]
    category = items["category"].iloc[0]
    top = category.split(">")[0].strip()
    result = index.search(items["title"].iloc[0], k=50, filters={"category": top})
    assert len(result.items) and result.items["category"].str.startswith(top).all()
    result = index.search(items["title"].iloc[0], k=50, filters=["price=10..100"])
    assert result.items["price"].between(10, 100).all()
    brand = items["brand"].iloc[0]
    result = index.search(items["title"].iloc[0], k=50, filters=[f"brand={brand.upper()}"])
    assert set(result.items["brand"]) == {brand}
    assert index.search("x", filters=["price<=1e9"]).reason is None
    assert len(index) == len(items) and index.catalogue["live"].all()  # filtering never removes rows


def test_bad_input_never_crashes(index):
    assert index.search("").reason.startswith("empty query")
    assert index.search("  \x00\x07 ").reason.startswith("empty query")
    long = index.search("earbuds " * 1300)  # ~10 kB
    assert any("cut" in note for note in long.notes)
    assert index.search("ear\x00buds\x1b").reason is None
    nothing = index.search("earbuds", filters={"brand": "no-such-brand"})
    assert nothing.items.empty and "filter" in nothing.reason
    with pytest.raises(ValueError, match="unknown filter field 'colour'"):
        index.search("earbuds", filters=["colour=red"])
    with pytest.raises(ValueError, match="not a number"):
        index.search("earbuds", filters=["price=cheap"])
    with pytest.raises(ValueError, match="k must be"):
        index.search("earbuds", k=0)
    with pytest.raises(ValueError, match="mode"):
        index.search("earbuds", mode="magic")


def test_incremental_add_update_delete_and_reload(market, tmp_path):
    items = market.tables["items"]
    index = SearchIndex(encoder="static", compact_ratio=0.5).fit(items.iloc[:200])
    base_rows = index.base.n_rows
    new = pd.DataFrame({"item_id": ["new1"], "title": ["Zorblax quantum kettle"], "category": ["家电 > 厨房电器"],
                        "brand": ["Zorblax"], "price": [99.0]})
    index.upsert(new)
    assert index.base.n_rows == base_rows  # no full rebuild for one item
    assert index.search("zorblax kettle", k=3).items["item_id"].iloc[0] == "new1"
    changed = items.iloc[[0]].assign(title="Glimmerfax velvet lamp")
    index.upsert(changed)
    assert index.search("glimmerfax", k=3, mode="keyword").items["item_id"].tolist() == [changed["item_id"].iloc[0]]
    old_word = items["title"].iloc[0]
    hits = index.search(old_word, k=300, mode="keyword").items
    assert (hits["title"] != old_word).all()  # the stale row is gone
    index.delete(["new1", "unknown-id"])
    assert "new1" not in index.search("zorblax kettle", k=10).items["item_id"].tolist()
    assert len(index) == 200

    index.save(tmp_path / "search")
    assert not list((tmp_path / "search").rglob("*.pkl"))
    loaded = SearchIndex.load(tmp_path / "search")
    for query in ("glimmerfax", items["title"].iloc[5]):
        assert loaded.search(query, k=5).items["item_id"].tolist() == index.search(query, k=5).items["item_id"].tolist()
    loaded.upsert(items.iloc[200:300])  # past compact_ratio: the base is rebuilt over every row
    assert loaded.base.n_rows == len(loaded.catalogue) and loaded.delta.n_rows == 0
    assert len(loaded) == 300


def test_personal_scores_reorder_near_ties(market, index):
    query = _first_item(market, "zh")["title"]
    plain = index.search(query, k=10)
    favourite = plain.items["item_id"].iloc[-1]
    personal = np.zeros(len(index.catalogue))
    personal[index.rows_of([favourite])] = 1.0
    boosted = index.search(query, k=10, personal_scores=personal)
    assert boosted.items["item_id"].tolist().index(favourite) < 9
    assert "personalised" in boosted.notes


def test_keyword_only_index_refuses_dense_mode(market):
    index = SearchIndex(encoder=None).fit(market.tables["items"].iloc[:20])
    with pytest.raises(ValueError, match="no dense part"):
        index.search("x", mode="hybrid")


def test_empty_index_gives_a_reason():
    index = SearchIndex(encoder=None).fit(pd.DataFrame({"item_id": [], "title": []}))
    assert index.search("anything", mode="keyword").reason == "the index holds no items"
