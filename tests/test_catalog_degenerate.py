"""The categoriser on a catalogue too thin to learn from: it names the thin categories and the minimum they need,
learns only the levels the data supports or falls back to the nearest labelled title (named), and says when a
model puts every item into one category."""

import pandas as pd

from shoplens.catalog.categorize import MIN_PER_CATEGORY, NEAREST_MODEL, categorize_workspace

LEAVES = {
    "Beauty > Skin > Face Cream": ["hydrating face cream", "night face cream", "anti ageing cream", "face cream spf",
                                   "rich face cream", "day cream"],
    "Beauty > Hair > Shampoo": ["anti dandruff shampoo", "herbal shampoo", "shampoo dry hair", "mild shampoo",
                                "shampoo for kids", "volume shampoo"],
    "Food > Snacks > Chips": ["potato chips salted", "masala chips", "tortilla chips", "banana chips",
                              "chips party pack", "baked chips"],
    "Food > Drinks > Tea": ["green tea bags", "assam black tea", "masala chai tea", "earl grey tea",
                            "jasmine tea", "mint tea"],
}


def _items(per_leaf: dict[str, int], unlabelled: list[str]) -> pd.DataFrame:
    rows = [(path, title) for path, n in per_leaf.items() for title in LEAVES[path][:n]]
    rows += [(None, title) for title in unlabelled]
    return pd.DataFrame({"item_id": [f"i{i}" for i in range(len(rows))], "title": [t for _, t in rows],
                         "category": [c for c, _ in rows]})


def test_two_items_per_category_fall_back_to_the_nearest_title(ws):
    ws.ingest(_items(dict.fromkeys(LEAVES, 2), ["night cream", "salted chips"]), "items")
    frame = categorize_workspace(ws)
    assert frame.attrs["model"] == NEAREST_MODEL
    [warning] = frame.attrs["warnings"]
    assert f"fewer than {MIN_PER_CATEGORY}" in warning and "8 items in 4 categories" in warning
    assert set(frame.attrs["unreliable_categories"]) == set(LEAVES)
    assert frame["category"].tolist() == ["Beauty > Skin > Face Cream", "Food > Snacks > Chips"]
    assert not frame["reliable"].any() and frame["low_confidence"].all()


def test_thin_leaves_learn_the_top_level_only(ws):
    # 3 items per leaf, but two leaves under each top level: 6 per top-level category
    per_leaf = dict.fromkeys(LEAVES, 3)
    ws.ingest(_items(per_leaf, ["night face cream jar", "green tea loose"]), "items")
    frame = categorize_workspace(ws)
    assert frame.attrs["model"] == "TF-IDF + LinearSVC, level 1 only (fallback)"
    assert "predicting only to level 1" in frame.attrs["warnings"][0]
    assert frame["category"].tolist() == ["Beauty", "Food"] and frame["reliable"].all()


def test_one_thin_category_is_named_unreliable(ws):
    per_leaf = {**dict.fromkeys(LEAVES, 6), "Food > Drinks > Tea": 2}
    ws.ingest(_items(per_leaf, ["jasmine green tea", "herbal shampoo bottle"]), "items")
    frame = categorize_workspace(ws)
    assert frame.attrs["model"] == "TF-IDF + LinearSVC"
    [warning] = frame.attrs["warnings"]
    assert "1 of 4 categories have fewer than 5 labelled items" in warning and "Food > Drinks > Tea" in warning
    assert frame["category"].tolist() == ["Food > Drinks > Tea", "Beauty > Hair > Shampoo"]
    assert frame["reliable"].tolist() == [False, True]  # a prediction into the thin category is not reliable
    assert frame.attrs["unreliable_categories"] == ["Food > Drinks > Tea"]


def test_every_item_in_one_category_is_said(ws):
    # titles that share nothing with the labelled ones: the classifier's intercepts decide, the same for all
    ws.ingest(_items(dict.fromkeys(LEAVES, 6), ["zq xv 1", "zq xv 2", "zq xv 3", "zq xv 4", "zq xv 5", "zq xv 6"]),
              "items")
    frame = categorize_workspace(ws)
    assert frame["category"].nunique() == 1
    assert any("every one of the 6 items was put in one category" in w for w in frame.attrs["warnings"])


def test_enough_labelled_items_give_no_warning(ws):
    ws.ingest(_items(dict.fromkeys(LEAVES, 6), ["night face cream", "green tea", "herbal shampoo"]), "items")
    frame = categorize_workspace(ws)
    assert frame.attrs["warnings"] == [] and frame.attrs["model"] == "TF-IDF + LinearSVC" and frame["reliable"].all()


def test_the_rest_route_says_the_same(ws):
    from fastapi.testclient import TestClient

    from shoplens.serve import create_app

    ws.ingest(_items(dict.fromkeys(LEAVES, 2), []), "items")
    ws.close()
    with TestClient(create_app(ws.path)) as client:
        reply = client.post("/categorize", json={"items": [{"title": "night cream"}, {"title": "masala chips"}]})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["model"] == NEAREST_MODEL and f"fewer than {MIN_PER_CATEGORY}" in body["warnings"][0]
    assert [p["category"] for p in body["predictions"]] == ["Beauty > Skin > Face Cream", "Food > Snacks > Chips"]
    assert not any(p["reliable"] for p in body["predictions"])


def test_predictions_are_stored_only_when_asked(ws):
    ws.ingest(_items(dict.fromkeys(LEAVES, 6), ["night face cream", "green tea"]), "items")
    assert ws.predicted_categories().empty
    frame = categorize_workspace(ws)
    assert ws.save_predicted_categories(frame, frame.attrs["model"]) == 2
    stored = ws.predicted_categories()
    assert stored["item_id"].tolist() == frame["item_id"].tolist()
    assert stored["category"].tolist() == ["Beauty > Skin > Face Cream", "Food > Drinks > Tea"]
    assert stored["model"].eq("TF-IDF + LinearSVC").all() and stored["score"].between(0, 1).all()
    # a new prediction replaces the old one of the same item
    ws.save_predicted_categories(frame.assign(category="Food > Snacks > Chips").head(1), "manual")
    again = ws.predicted_categories().set_index("item_id")
    assert len(again) == 2 and again.loc[frame.item_id[0], "model"] == "manual"
