"""Workspace jobs the CLI calls: fit a CTR model, predict a (user, item) CTR, target a campaign; and the bench."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from shoplens.ads.jobs import (fit_ctr, impressions_with_context, load_ctr, predict_ctr, recent_items,
                               target_campaign, time_split)

TINY = {"embedding_dim": 4, "hidden_units": (8,), "batch_size": 512, "max_epochs": 1}


@pytest.fixture(scope="module")
def market():
    from shoplens.datasets.synthetic import marketplace

    torch.set_num_threads(1)
    return marketplace(n_users=200, n_items=60, days=60, seed=3)


@pytest.fixture
def filled(ws, market):
    for kind in ("items", "events", "ad_impressions"):
        ws.ingest(market.tables[kind], kind)
    return ws


def test_fit_predict_target(filled, market):
    model = fit_ctr(filled, "din", verbose=False, **TINY)
    assert (filled.artifacts / "models" / "ctr" / "din" / "tensors.safetensors").exists()
    assert set(model.validation_) == {"auc", "logloss", "ece_uncalibrated"}
    assert load_ctr(filled, "din").encoder_.sequence == {"history": "item_id"}
    user, item = market.tables["ad_impressions"].iloc[0][["user_id", "item_id"]]
    p = predict_ctr(filled, user, item, model="din")
    assert 0 < p < 1
    assert 0 < predict_ctr(filled, "new-user", "new-item", model="din") < 1  # unseen ids: OOV bucket
    category = market.tables["items"]["category"].iloc[0]
    chosen = target_campaign(filled, category=category, budget=30, frequency_cap=2, model="din")
    assert 0 < len(chosen) <= 30 and chosen["user_id"].value_counts().max() <= 2
    assert (chosen["expected_clicks"].diff().dropna() <= 1e-12).all()
    assert set(chosen["item_id"]) <= set(market.tables["items"].query("category == @category")["item_id"])


def test_clear_errors(filled, tmp_path):
    from shoplens.workspace import Workspace

    with Workspace.init(tmp_path / "empty") as empty, pytest.raises(ValueError, match="ad_impressions table is empty"):
        fit_ctr(empty, "lr")
    with pytest.raises(FileNotFoundError, match="shoplens ads fit"):
        load_ctr(filled, "deepfm")
    with pytest.raises(ValueError, match="unknown CTR model"):
        fit_ctr(filled, "xgboost")
    with pytest.raises(ValueError, match="exactly one"):
        target_campaign(filled, budget=3)


def test_history_is_strictly_before_the_impression():
    events = pd.DataFrame({"user_id": ["u", "u", "u", "v"], "item_id": ["a", "b", None, "z"],
                           "ts": pd.to_datetime(["2025-01-01", "2025-01-03", "2025-01-02", "2025-01-01"])})
    ads = pd.DataFrame({"user_id": ["u", "u", "v", "w"], "ts": pd.to_datetime(["2025-01-03", "2025-01-04", "2025-01-01", "2025-01-09"])})
    assert [list(h) for h in recent_items(ads, events, max_history=5)] == [["a"], ["a", "b"], [], []]
    split = time_split(ads.assign(ts=pd.date_range("2025-01-01", periods=4)), valid_share=0.25, test_share=0.25)
    assert split.tolist() == ["train", "train", "valid", "test"]


def test_recent_category_share_counts_the_users_recent_items_in_the_ads_category():
    items = pd.DataFrame({"item_id": ["a", "b", "c"], "category": ["shoes", "shoes", "books"]})
    events = pd.DataFrame({"user_id": ["u", "u", "u"], "item_id": ["a", "c", "b"],
                           "ts": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03"])})
    ads = pd.DataFrame({"user_id": ["u", "u", "u", "new"], "item_id": ["b", "c", "a", "a"],
                        "ts": pd.to_datetime(["2025-01-05 00:00", "2025-01-05 00:00", "2025-01-02 12:00",
                                              "2025-01-05 00:00"])})
    share = impressions_with_context(ads, items, events)["recent_category_share"]
    assert share.tolist() == pytest.approx([2 / 3, 1 / 3, 1 / 2, 0.0])  # history before each ad; none for "new"


def test_bench_on_a_path(tmp_path, capsys):
    from shoplens.bench.ctr import load_ctr_splits, run
    from shoplens.bench.harness import print_result

    rng = np.random.default_rng(0)
    for split, n in (("train", 1500), ("valid", 400), ("test", 400)):
        user, item = rng.integers(0, 30, n), rng.integers(0, 20, n)
        label = (rng.random(n) < np.where(user % 2 == 0, 0.7, 0.1)).astype(int)  # a per-user effect LR can learn
        pd.DataFrame({"label": label, "user": user, "item": item}).to_csv(tmp_path / f"{split}.csv.gz", index=False)
    result = run(dataset=str(tmp_path), model="lr", quick=True, simulator=False)
    payload = print_result(result, out=tmp_path / "out.json")
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["suite"] == "ctr"
    assert payload["metrics"]["frappe"]["lr"]["auc_mean"] > 0.55
    pd.DataFrame({"label": [0, 2], "user": [1, 2], "split": ["train", "test"]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match="must be 0 or 1"):
        load_ctr_splits(str(tmp_path / "bad.csv"))
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="empty"):
        load_ctr_splits(str(tmp_path / "empty.csv"))
    with pytest.raises(ValueError, match="unknown model"):
        run(dataset=str(tmp_path), model="din")
