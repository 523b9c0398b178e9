"""The Python functions behind `shoplens forecast / price / inventory WS` on a small simulated workspace."""

import pandas as pd
import pytest

from shoplens.forecast.api import forecast_workspace
from shoplens.inventory.api import reorder_list
from shoplens.pricing.api import recommend_price


@pytest.fixture
def shop(ws):
    from shoplens.datasets.synthetic import marketplace

    mp = marketplace(n_users=60, n_items=15, days=100, seed=2, n_stores=2)
    ws.ingest(mp.tables["items"], "items")
    sales = mp.tables["sales"]
    returns = sales.iloc[[5]].assign(qty=-1.0, ts=sales.ts.iloc[5] + pd.Timedelta(hours=1))  # a return, same day
    ws.ingest(pd.concat([sales, returns], ignore_index=True), "sales")
    return ws


def test_forecast_workspace_item_level_with_chart(shop):
    result = forecast_workspace(shop, horizon=14, level="item", n_estimators=40)
    fc = result.forecast
    assert result.model == "gbm" and fc.unique_id.nunique() == shop.table("sales").item_id.nunique()
    assert (fc.groupby("unique_id").size() == 14).all()
    assert (fc.yhat_lo80 <= fc.yhat_hi80).all()
    assert result.chart.exists() and result.chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    payload = result.to_dict(max_rows=3)
    assert payload["report"]["series"] == fc.unique_id.nunique() and len(payload["forecast"]) == 3


def test_forecast_workspace_category_level_ets(shop):
    result = forecast_workspace(shop, horizon=7, level="category", model="ets", chart=False)
    assert result.forecast.yhat.notna().all() and result.chart is None


def test_price_recommendation_and_reorder_list(shop):
    item = shop.table("sales").groupby("item_id").qty.sum().idxmax()
    rec = recommend_price(shop, item, unit_cost_share=0.4)
    assert rec["item_id"] == item and 0 <= rec["plan_discount"] <= 0.5 and rec["elasticity"] < 0
    with pytest.raises(KeyError):
        recommend_price(shop, "nope")
    table = reorder_list(shop, service_level=0.95, lead_time=3, review_period=7, top=5)
    assert len(table) == 5 and (table.order_up_to >= table.safety_stock).all()
    assert table.order_up_to.is_monotonic_decreasing
