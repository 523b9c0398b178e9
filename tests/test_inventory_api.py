"""`reorder_list(ws)`: the safety factor measured on a backtest of the workspace's own history, or the normal z."""

import pandas as pd
import pytest
from scipy.stats import norm

from shoplens.inventory.api import calibrate_workspace, describe_safety, reorder_list

LEAD, REVIEW = 3, 7


def _shop(ws, days: int, shift_last: int = 0):
    """A small simulated shop; with shift_last, demand over the last `shift_last` days is 1.8x what came before,
    so a forecast made before that stretch falls short on every one of its days (a persistent error)."""
    from shoplens.datasets.synthetic import marketplace

    mp = marketplace(n_users=60, n_items=15, days=days, seed=3, n_stores=2)
    sales = mp.tables["sales"]
    if shift_last:
        ts = pd.to_datetime(sales.ts)
        late = ts >= ts.max().normalize() - pd.Timedelta(days=shift_last - 1)
        sales = sales.assign(qty=sales.qty.where(~late, (sales.qty * 1.8).round()))
    ws.ingest(mp.tables["items"], "items")
    ws.ingest(sales, "sales")
    return ws


def test_calibrated_safety_stock_is_larger_when_errors_persist(ws):
    shop = _shop(ws, days=100, shift_last=2 * (LEAD + REVIEW))
    kw = dict(service_level=0.95, lead_time=LEAD, review_period=REVIEW, level="item", n_estimators=30)
    plain = reorder_list(shop, calibrate=False, **kw)
    calibrated = reorder_list(shop, **kw)
    assert plain.attrs["safety"]["rule"] == "normal z" and plain.attrs["safety"]["reason"] == "calibration turned off"
    safety = calibrated.attrs["safety"]
    assert safety["rule"] == "calibrated" and safety["model"] == "gbm"
    assert safety["normal_z"] == pytest.approx(norm.ppf(0.95))
    assert safety["z_protection"] > safety["normal_z"] and 0 < safety["windows"] <= 2 * len(calibrated)
    both = plain.set_index("unique_id").join(calibrated.set_index("unique_id"), rsuffix="_cal")
    assert both.mean_demand_cal.to_numpy() == pytest.approx(both.mean_demand.to_numpy())  # same forecast
    assert (both.safety_stock_cal >= both.safety_stock).all() and both.safety_stock_cal.sum() > both.safety_stock.sum()
    assert (both.order_up_to_cal >= both.order_up_to).all()
    assert "calibrated" in describe_safety(safety, lead_time=LEAD, review_period=REVIEW)


def test_short_history_falls_back_to_the_normal_z(ws):
    shop = _shop(ws, days=30)
    table = reorder_list(shop, service_level=0.9, lead_time=LEAD, review_period=REVIEW, level="item", top=5)
    safety = table.attrs["safety"]
    assert len(table) == 5 and safety["rule"] == "normal z" and "too short" in safety["reason"]
    assert safety["z_protection"] == pytest.approx(norm.ppf(0.9))
    assert table.safety_stock.to_numpy() == pytest.approx(norm.ppf(0.9) * table.sigma.to_numpy())
    assert "normal z" in describe_safety(safety, lead_time=LEAD, review_period=REVIEW)
    with pytest.raises(ValueError, match="too short"):
        calibrate_workspace(shop, model="ets", level="item", lead_time=LEAD, review_period=REVIEW, service_level=0.9)
