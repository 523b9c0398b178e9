"""shoplens.catalog.categorize: hierarchical title -> category path with confidences."""

import numpy as np
import pandas as pd
import pytest

from conftest import dataset_dir
from shoplens.catalog.categorize import CategoryClassifier, categorize_workspace

TITLES = {
    "Beauty > Skin > Face Cream": ["hydrating face cream 50ml", "night face cream", "anti ageing cream", "保湿面霜"],
    "Beauty > Hair > Shampoo": ["anti dandruff shampoo", "herbal shampoo 200ml", "shampoo for dry hair", "洗发水"],
    "Food > Snacks > Chips": ["potato chips salted", "masala chips", "tortilla chips", "薯片"],
    "Food > Drinks > Tea": ["green tea bags", "assam black tea", "masala chai tea", "绿茶"],
}
AWKWARD = ["", None, float("nan"), "\x00\xff", "cream " * 10_000, "绿茶 green tea 茶叶", "🍵"]


@pytest.fixture(scope="module")
def toy_data():
    titles = [t for path, ts in TITLES.items() for t in ts] * 3
    paths = [path for path, ts in TITLES.items() for _ in ts] * 3
    brands = [path.split(" > ")[1].lower() for path in paths]
    return titles, paths, brands


@pytest.fixture(scope="module")
def toy_model(toy_data):
    titles, paths, brands = toy_data
    return CategoryClassifier(C=1.0).fit(titles, paths, brands=brands, valid_titles=titles, valid_categories=paths,
                                         valid_brands=brands)


def test_predicts_consistent_paths_with_confidences(toy_model):
    frame = toy_model.predict_frame(["organic green tea", "shampoo for oily hair"])
    assert frame["category"].tolist() == ["Food > Drinks > Tea", "Beauty > Hair > Shampoo"]
    assert (frame["level_1"] + " > " + frame["level_2"] + " > " + frame["level_3"]).tolist() == frame["category"].tolist()
    # a parent is at least as sure as its child
    assert (frame["confidence_1"] >= frame["confidence_2"] - 1e-9).all()
    assert frame["confidence"].between(0, 1).all()


def test_awkward_titles_and_missing_brands(toy_model):
    frame = toy_model.predict_frame(AWKWARD)
    assert len(frame) == len(AWKWARD) and frame["category"].isin(toy_model.classes_).all()
    low = toy_model.low_confidence_items(AWKWARD, item_ids=[f"i{i}" for i in range(len(AWKWARD))])
    assert set(low.columns) >= {"item_id", "title", "category", "confidence"}
    assert low["confidence"].is_monotonic_increasing


def test_save_load_round_trip(toy_model, tmp_path):
    toy_model.save(tmp_path)
    assert {p.suffix for p in tmp_path.iterdir()} == {".json", ".npz"}
    loaded = CategoryClassifier.load(tmp_path)
    titles, brands = ["masala tea", "cream"] + AWKWARD, ["drinks", None] + [None] * len(AWKWARD)
    np.testing.assert_allclose(loaded.predict_proba(titles, brands), toy_model.predict_proba(titles, brands), atol=1e-6)


def test_two_classes_single_level_and_held_out_calibration():
    titles = ["red dress", "blue dress", "summer dress", "dress long", "usb cable", "hdmi cable", "cable 1m", "cable"] * 5
    labels = [l for l in (["Clothes"] * 4 + ["Electronics"] * 4)] * 5
    model = CategoryClassifier().fit(titles, labels)  # calibration rows carved from train
    assert model.predict(["green dress", "type-c cable"]).tolist() == ["Clothes", "Electronics"]


def test_categorize_workspace_fills_missing(ws, toy_data):
    titles, paths, brands = toy_data
    items = pd.DataFrame({"item_id": [f"i{i}" for i in range(len(titles) + 2)],
                          "title": titles + ["jasmine green tea", "shampoo with argan oil"],
                          "category": paths + [None, None], "brand": brands + ["drinks", "hair"]})
    ws.ingest(items, kind="items")
    frame = categorize_workspace(ws)
    assert frame["item_id"].tolist() == [f"i{len(titles)}", f"i{len(titles) + 1}"]
    assert frame["category"].tolist() == ["Food > Drinks > Tea", "Beauty > Hair > Shampoo"]


def test_bigbasket_subset():
    dataset_dir("bigbasket-products")
    from shoplens.datasets import load

    items = load("bigbasket-products").tables["items"].dropna(subset=["title"]).sample(4000, random_state=0)
    train, test = items.iloc[:3500], items.iloc[3500:]
    model = CategoryClassifier().fit(train["title"], train["category"], brands=train["brand"])
    frame = model.predict_frame(test["title"], test["brand"])
    assert (frame["level_1"].to_numpy() == test["top_category"].to_numpy()).mean() > 0.8


def test_categorize_workspace_all_items_flags_disagreements(ws, toy_data):
    titles, paths, _ = toy_data
    items = pd.DataFrame({"item_id": [f"i{i}" for i in range(len(titles) + 1)], "title": titles + ["green tea"],
                          "category": paths + ["Beauty > Hair > Shampoo"]})  # a miscategorised item
    ws.ingest(items, kind="items")
    frame = categorize_workspace(ws, only_missing=False)
    assert len(frame) == len(items) and {"recorded", "agrees", "low_confidence"} <= set(frame.columns)
    assert not frame["agrees"].iloc[-1]
