"""Forecasts of series with too little history: said in a warning with the minimum it needs, forecast by a named
simpler model (seasonal naive or the mean), and listed with the reason; progress is reported, never printed."""

import pandas as pd
import pytest

from shoplens.forecast.api import forecast_workspace
from shoplens.inventory.api import reorder_list


def _sales(days: int, item: str, start="2024-01-01", store="s1", base=10.0):
    ts = pd.date_range(start, periods=days, freq="D")
    return pd.DataFrame({"item_id": item, "store_id": store, "ts": ts,
                         "qty": [base + (3.0 if t.dayofweek >= 5 else 0.0) + i % 3 for i, t in enumerate(ts)],
                         "price": 9.9, "promo": 0.0})


@pytest.fixture
def shop(ws):
    """Two items with 90 days of sales, one launched 10 days ago (more than a week), one 4 days ago."""
    sales = pd.concat([_sales(90, "old1"), _sales(90, "old2", base=20.0), _sales(10, "new10", start="2024-03-21"),
                       _sales(4, "new4", start="2024-03-27")], ignore_index=True)
    ws.ingest(sales, "sales")
    return ws


@pytest.mark.parametrize("model", ["gbm", "ets"])
def test_series_shorter_than_two_seasons_fall_back_to_a_named_model(shop, model):
    steps = []
    result = forecast_workspace(shop, horizon=7, level="item", model=model, chart=False, n_estimators=20,
                                progress=lambda step, done: steps.append((step, done)))
    assert result.model == model
    assert len(result.warnings) == 1
    assert "2 of 4 series have less than 14 periods of history" in result.warnings[0]
    assert f"the {model} model needs" in result.warnings[0]
    fallbacks = result.fallbacks.set_index("unique_id")
    assert fallbacks.loc["new10", "model"] == "seasonal_naive" and fallbacks.loc["new4", "model"] == "mean"
    assert fallbacks.loc["new4", "periods"] == 4 and "needs at least 14" in fallbacks.loc["new4", "reason"]
    fc = result.forecast.set_index(["unique_id", "ds"])
    assert result.forecast.groupby("unique_id").size().to_dict() == {"new10": 7, "new4": 7, "old1": 7, "old2": 7}
    # the mean of the 4 days, and last week's values one season on
    new4 = shop.table("sales").query("item_id == 'new4'").qty
    assert fc.loc["new4", "yhat"].to_numpy() == pytest.approx([new4.mean()] * 7)
    new10 = shop.table("sales").query("item_id == 'new10'").qty.to_numpy()
    assert fc.loc["new10", "yhat"].to_numpy() == pytest.approx(new10[-7:])
    payload = result.to_dict()
    assert payload["warnings"] == result.warnings and {r["unique_id"] for r in payload["fallbacks"]} == {"new10", "new4"}
    fractions = [done for _, done in steps]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)


def test_every_series_too_short_names_the_fallback_as_the_model(ws):
    ws.ingest(pd.concat([_sales(10, "a"), _sales(12, "b")], ignore_index=True), "sales")
    result = forecast_workspace(ws, horizon=7, level="item", chart=False)
    assert result.model == "seasonal_naive (fallback)" and "2 of 2 series" in result.warnings[0]
    assert result.forecast.yhat.notna().all() and len(result.forecast) == 14


def test_enough_history_gives_no_warning(shop):
    result = forecast_workspace(shop, horizon=7, level="store", model="ets", chart=False)
    assert result.warnings == [] and result.fallbacks.empty


def test_reorder_list_carries_the_forecast_warnings_and_progress(shop):
    steps = []
    table = reorder_list(shop, lead_time=3, review_period=4, level="item", n_estimators=20,
                         progress=lambda step, done: steps.append((step, done)))
    assert "2 of 4 series have less than 14 periods" in table.attrs["warnings"][0]
    assert {r["unique_id"] for r in table.attrs["fallbacks"]} == {"new10", "new4"}
    fractions = [done for _, done in steps]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(step.startswith("backtest from") for step, _ in steps)


def test_the_rest_route_says_the_same(shop):
    from fastapi.testclient import TestClient

    from shoplens.serve import create_app

    shop.close()
    with TestClient(create_app(shop.path)) as client:
        reply = client.get("/forecast", params={"level": "item", "horizon": 7, "series": "new4"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert "2 of 4 series have less than 14 periods" in body["warnings"][0]
    assert body["series_model"] == "mean" and {r["unique_id"] for r in body["fallbacks"]} == {"new10", "new4"}


def test_gbm_asked_for_on_too_short_a_history_says_so_and_uses_ets(ws):
    ws.ingest(pd.concat([_sales(20, "a"), _sales(20, "b")], ignore_index=True), "sales")
    result = forecast_workspace(ws, horizon=7, level="item", model="gbm", chart=False)
    assert result.model == "ets (fallback)"
    assert result.warnings == ["the gbm model needs at least 28 periods of history for a 7-period horizon "
                               "(2 x horizon + 14), the sales have 20: forecast with ets instead"]
    assert len(result.forecast) == 14 and result.forecast.yhat.notna().all()
