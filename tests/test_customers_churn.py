"""Learned repurchase/churn model: beats BG/NBD on the CDNOW 39+39-week split, early warning, reasons, persistence."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from conftest import dataset_dir
from shoplens.bench.churn import CAL_END, HOLDOUT_END, master_transactions, read_cdnow, sample_master_ids
from shoplens.customers.btyd import BetaGeoModel, BTYDInputError
from shoplens.customers.churn import (
    RepurchaseModel,
    churn_report,
    early_warning,
    out_of_fold_churn,
    threshold_for_precision,
)
from shoplens.customers.features import customer_features, holdout_counts


@pytest.fixture(scope="module")
def cdnow():
    dataset_dir("cdnow-lifetimes")
    cdnow = read_cdnow()
    master = master_transactions(cdnow)
    features = customer_features(master, CAL_END, duplicates="keep")
    counts = holdout_counts(master, CAL_END, HOLDOUT_END, users=features.index)
    in_sample = features.index.isin(sample_master_ids(cdnow))
    return features, counts, in_sample


@pytest.fixture(scope="module")
def fitted(cdnow):
    features, counts, in_sample = cdnow
    # Trained on the customers NOT in the 2,357 sample: no evaluated customer's holdout is seen.
    return RepurchaseModel(horizon=39).fit(features[~in_sample], counts[~in_sample])


def test_learned_model_beats_bgnbd_on_total_mae_and_auc(cdnow, fitted):
    features, counts, in_sample = cdnow
    test, actual = features[in_sample], counts[in_sample].to_numpy()
    assert len(test) == 2357 and actual.sum() == 1882
    bg = BetaGeoModel().fit(test["frequency"], test["recency"], test["T"])
    bg_expected = bg.conditional_expected_purchases(39, test["frequency"], test["recency"], test["T"])
    assert bg_expected.sum() == pytest.approx(1653.4, abs=1)
    expected, point, p_active = fitted.predict_expected(test), fitted.predict(test), fitted.predict_active_proba(test)
    assert abs(expected.sum() - 1882) < abs(bg_expected.sum() - 1882)
    assert np.abs(point - actual).mean() < np.abs(bg_expected - actual).mean()
    assert roc_auc_score(actual > 0, p_active) > roc_auc_score(actual > 0, bg_expected)


def test_reasons_are_shap_contributions_toward_churn(cdnow, fitted):
    features = cdnow[0].head(50)
    reasons = fitted.churn_reasons(features, k=2)
    assert list(reasons.columns) == ["reason_1", "reason_2"] and len(reasons) == 50
    silent = features["since_last"].idxmax()
    assert "(+" in reasons.loc[silent, "reason_1"]


def test_save_and_load_give_the_same_predictions(cdnow, fitted, tmp_path):
    features = cdnow[0].head(200)
    fitted.save(tmp_path / "model")
    loaded = RepurchaseModel.load(tmp_path / "model")
    np.testing.assert_allclose(loaded.predict_expected(features), fitted.predict_expected(features))
    np.testing.assert_allclose(loaded.predict_churn_proba(features), fitted.predict_churn_proba(features))
    assert loaded.get_params() == fitted.get_params()


def test_threshold_for_precision():
    risk = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.1])
    churned = np.array([1, 1, 0, 1, 0, 0], dtype=bool)
    assert threshold_for_precision(risk, churned, 0.75) == 0.6  # top 4: 3/4 precision
    assert threshold_for_precision(risk, churned, 1.0) == 0.8
    assert threshold_for_precision(risk, np.zeros(6, dtype=bool), 0.5) == np.inf


def test_early_warning_by_budget_and_by_precision(cdnow):
    features, counts, _ = cdnow
    train, y = features.iloc[:6000], counts.iloc[:6000]
    model = RepurchaseModel(horizon=39, n_estimators=60, learning_rate=0.1)
    oof = out_of_fold_churn(model, train, y)
    model.fit(train, y)
    scored = features.iloc[6000:9000]
    table, summary = early_warning(model, scored, budget=25)
    assert len(table) == 25 and summary["flagged"] == 25
    assert table["value_at_risk"].is_monotonic_decreasing and (table["churn_risk"] >= 0.5).all()
    assert {"reason_1", "reason_2", "reason_3", "expected_purchases"} <= set(table.columns)
    table, summary = early_warning(model, scored, precision=0.8, validation=(oof, y.to_numpy() == 0))
    assert (table["churn_risk"] >= summary["threshold"]).all() and summary["flagged"] > 0
    with pytest.raises(ValueError, match="exactly one"):
        early_warning(model, scored)


def test_churn_report_end_to_end_on_the_simulator():
    from shoplens.datasets.synthetic import marketplace

    market = marketplace(n_users=400, n_items=100, days=120, seed=1)
    events = market.tables["events"]
    purchases = events[events["event"] == "purchase"].drop(columns="event")
    model = RepurchaseModel(n_estimators=40, min_child_samples=10)
    table, summary = churn_report(purchases, market.truth.end, horizon_days=30, events=events, budget=10,
                                  now=market.truth.end, model=model)
    assert summary["flagged"] == len(table) == 10 and "trained_on" in summary
    # Everyone above 50% risk (budget larger than the base): flagged customers churned more often than the rest.
    table, summary = churn_report(purchases, market.truth.end, horizon_days=30, events=events, budget=10_000,
                                  now=market.truth.end, model=model)
    churned = market.truth.users.set_index("user_id")["churn_at"].notna()
    customers = churned.reindex(purchases["user_id"].unique())
    assert 0 < summary["flagged"] < summary["customers"] == len(customers)
    assert churned.reindex(table.index.astype(str)).mean() > customers.mean()


def test_fit_rejects_a_window_without_both_outcomes(cdnow):
    features = cdnow[0].head(100)
    with pytest.raises(ValueError, match="both customers who came back"):
        RepurchaseModel().fit(features, np.zeros(100))


def _rfm_window(n: int = 200, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A small valid (frequency, recency, T, spend) window with repeat buyers, and holdout counts."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(10, 40, n)
    frequency = rng.poisson(1.5, n).astype(float)
    recency = np.where(frequency > 0, rng.uniform(0, 1, n) * T, 0.0)
    features = pd.DataFrame({"frequency": frequency, "recency": recency, "T": T, "spend_total": 10 * frequency})
    return features, rng.poisson(0.5 + frequency / 2).astype(float)


def _small_model() -> RepurchaseModel:
    return RepurchaseModel(horizon=10, n_estimators=10, min_child_samples=5)


def test_fit_with_repeat_buyers_keeps_the_btyd_features():
    features, counts = _rfm_window()
    model = _small_model().fit(features, counts)
    assert model.dropped_features_ == {} and {"bg_expected", "bg_alive"} <= set(model.feature_names_)


def test_fit_without_repeat_buyers_says_which_features_it_dropped_and_why(tmp_path):
    features, counts = _rfm_window()
    features = features.assign(frequency=0.0, recency=0.0)  # nobody repeated yet: BG/NBD cannot be fitted
    with pytest.warns(UserWarning, match="bg_expected, bg_alive dropped: no customer .* repeat purchase"):
        model = _small_model().fit(features, counts)
    assert set(model.dropped_features_) == {"bg_expected", "bg_alive"}
    assert "repeat purchase" in model.dropped_features_["bg_alive"]
    assert not {"bg_expected", "bg_alive"} & set(model.feature_names_)
    model.save(tmp_path / "model")
    assert RepurchaseModel.load(tmp_path / "model").dropped_features_ == model.dropped_features_


def test_fit_refuses_rfm_data_that_bgnbd_cannot_describe_instead_of_dropping_its_features():
    features, counts = _rfm_window()
    features.loc[3, "recency"] = features.loc[3, "T"] + 5  # a purchase after the end of the window: bad data
    with pytest.raises(BTYDInputError, match=r"recency is after T .*rows \[3\]"):
        _small_model().fit(features, counts)
