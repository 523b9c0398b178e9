"""Customer features and transaction cleaning: CDNOW summary reproduction, bad input, no look-ahead."""

import numpy as np
import pandas as pd
import pytest

from conftest import dataset_dir
from shoplens.customers.features import (
    TransactionDataError,
    clean_transactions,
    customer_features,
    holdout_counts,
    purchases_from_events,
    rfm_summary,
)


def tx(rows):
    return pd.DataFrame(rows, columns=["user_id", "ts", "value"]).assign(ts=lambda d: pd.to_datetime(d["ts"]))


@pytest.fixture
def small():
    return tx([
        ("a", "2024-01-01", 10.0), ("a", "2024-01-01", 5.0), ("a", "2024-01-15", 20.0), ("a", "2024-02-12", 30.0),
        ("b", "2024-01-08", 50.0),  # one purchase only
        ("c", "2024-01-02", 8.0), ("c", "2024-01-20", -8.0),  # a purchase, then its refund
    ])


def test_cdnow_calibration_summary_is_reproduced():
    from shoplens.datasets import load

    dataset_dir("cdnow-lifetimes")
    cdnow = load("cdnow-lifetimes")
    sample = purchases_from_events(cdnow["sample_events"])
    cbs = cdnow["calibration_holdout"]
    ours = rfm_summary(sample, "1997-09-30", duplicates="keep").reindex(cbs["user_id"])
    assert (ours["frequency"].to_numpy() == cbs["x"].to_numpy()).all()
    np.testing.assert_allclose(ours["recency"], cbs["t_x"], atol=1e-3)
    np.testing.assert_allclose(ours["T"], cbs["T_cal"], atol=1e-3)
    counts = holdout_counts(sample, "1997-09-30", "1998-06-30", users=ours.index)
    assert (counts.to_numpy() == cbs["x_star"].to_numpy()).all()


def test_rfm_merges_same_day_purchases_and_handles_one_purchase_customers(small):
    rfm = rfm_summary(small, "2024-03-01")
    assert rfm.loc["a", "frequency"] == 2 and rfm.loc["a", "recency"] == pytest.approx(6.0)
    assert rfm.loc["a", "monetary_value"] == pytest.approx(25.0)  # mean of the repeat days (20, 30)
    assert rfm.loc["b", ["frequency", "recency", "monetary_value"]].tolist() == [0, 0, 0]
    assert rfm.loc["c", "frequency"] == 0  # a refund is not a purchase


def test_refunds_are_counted_and_netted(small):
    _, report = clean_transactions(small)
    assert report.refunds == 1 and report.refund_amount == pytest.approx(8.0)
    features = customer_features(small, "2024-03-01")
    assert features.loc["c", "refunds"] == 1 and features.loc["c", "net_spend"] == pytest.approx(0.0)
    with pytest.raises(TransactionDataError, match="negative value"):
        clean_transactions(small, refunds="error")


def test_duplicates_dropped_and_counted_or_rejected(small):
    doubled = pd.concat([small, small.iloc[[2]]], ignore_index=True)
    cleaned, report = clean_transactions(doubled)
    assert report.duplicates == 1 and len(cleaned) == len(small)
    assert len(clean_transactions(doubled, duplicates="keep")[0]) == len(doubled)
    with pytest.raises(TransactionDataError, match=r"1 duplicate transactions \(rows \[7\]\)"):
        clean_transactions(doubled, duplicates="error")


def test_future_rows_are_rejected_with_their_rows(small):
    future = pd.concat([small, tx([("a", "2099-01-01", 1.0)])], ignore_index=True)
    with pytest.raises(TransactionDataError, match=r"1 rows are dated after now .*rows \[7\]"):
        clean_transactions(future)
    cleaned, report = clean_transactions(future, future="drop")
    assert report.future_rows == 1 and len(cleaned) == len(small)


@pytest.mark.parametrize("column, value, message", [("ts", "not a date", "unreadable ts"),
                                                    ("value", "abc", "non-numeric value"),
                                                    ("user_id", None, "no user_id")])
def test_unusable_cells_are_named(small, column, value, message):
    broken = small.astype({column: object})
    broken.loc[3, column] = value
    with pytest.raises(TransactionDataError, match=message):
        clean_transactions(broken)


def test_missing_columns_are_named():
    with pytest.raises(TransactionDataError, match=r"lack the column\(s\) \['ts'\]"):
        clean_transactions(pd.DataFrame({"user_id": ["a"]}))


def test_features_never_read_past_the_cutoff(small):
    later = pd.concat([small, tx([("a", "2024-03-05", 99.0), ("d", "2024-03-06", 1.0)])], ignore_index=True)
    pd.testing.assert_frame_equal(customer_features(small, "2024-03-01"), customer_features(later, "2024-03-01"))


def test_inter_purchase_and_window_features(small):
    f = customer_features(small, "2024-03-01")
    assert f.loc["a", "gap_mean"] == pytest.approx(3.0) and f.loc["a", "gap_last"] == pytest.approx(4.0)
    assert np.isnan(f.loc["b", "gap_mean"])  # one purchase: no gaps, left missing for the model
    assert f.loc["a", "days_last_4"] == 1 and f.loc["a", "days_last_13"] == 3


def test_purchases_from_events_and_behaviour_features():
    events = pd.DataFrame({
        "user_id": ["a", "a", "a", "a"], "item_id": ["i1", "i1", "i1", "i1"],
        "event": ["view", "purchase", "refund", "view"], "value": [None, 10.0, 10.0, None],
        "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-05", "2024-01-20"]),
    })
    purchases = purchases_from_events(events)
    assert purchases["value"].tolist() == [10.0, -10.0]
    f = customer_features(purchases, "2024-01-31", events=events)
    assert f.loc["a", "ev_view_26"] == 2 and f.loc["a", "event_since_last"] == pytest.approx(11 / 7)
