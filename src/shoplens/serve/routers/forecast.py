"""/forecast: demand forecasts with intervals, and the recent history of the series shown."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query

from shoplens.forecast import forecast_workspace
from shoplens.forecast.base import DS, ID, Y, prepare, to_long
from shoplens.serve.body import StrictJSONRoute
from shoplens.serve.keys import require_read_key
from shoplens.serve.routers import json_ready
from shoplens.serve.service import Service, get_service

router = APIRouter(tags=["forecast"], dependencies=[Depends(require_read_key)], route_class=StrictJSONRoute)

HISTORY_HORIZONS = 4  # history shown: this many horizons back


def _forecast(ws, level: str, horizon: int, model: str) -> dict:
    result = forecast_workspace(ws, horizon=horizon, level=level, model=model, chart=False, n_estimators=50)
    items = ws.table("items") if level == "category" else None
    panel, _ = prepare(to_long(ws.table("sales"), level, items=items))
    history = panel.groupby(ID).tail(HISTORY_HORIZONS * horizon)[[ID, DS, Y]]
    history = history.assign(ds=history[DS].dt.strftime("%Y-%m-%d"))
    totals = panel.groupby(ID)[Y].sum().sort_values(ascending=False)
    return {**result.to_dict(), "series_by_volume": [str(s) for s in totals.index],
            "history": history.to_dict(orient="records")}


@router.get("/forecast")
def forecast(level: str = Query("category", pattern="^(item|item_store|store|category)$"),
             horizon: int = Query(28, ge=1, le=365, description="periods ahead"),
             model: str = Query("auto", pattern="^(auto|gbm|ets)$"),
             series: str | None = Query(None, max_length=200, description="one series (default: the largest)"),
             service: Service = Depends(get_service)) -> dict:
    """Forecast of every series at `level` (computed once per sales data version), returned for one series:
    the forecast with its 80% interval and the recent history. `warnings` says what the data could not support
    (e.g. series too short for the model), `fallbacks` lists the series forecast by a simpler model and why,
    and `series_model` is the model that forecast the series returned."""
    if not service.count("sales"):
        raise HTTPException(404, "the workspace has no sales; ingest some first")
    try:
        full = service.cached(("forecast", level, horizon, model), ("sales", "items"),
                              lambda ws: _forecast(ws, level, horizon, model))
    except (ValueError, KeyError) as error:
        raise HTTPException(422, str(error.args[0] if error.args else error)) from None
    chosen = series if series is not None else full["series_by_volume"][0]
    if chosen not in full["series_by_volume"]:
        raise HTTPException(404, f"no series {chosen!r} at level {level!r}")
    pick = lambda rows: [r for r in rows if str(r["unique_id"]) == chosen]  # noqa: E731
    fallback = next((r for r in full["fallbacks"] if str(r["unique_id"]) == chosen), None)
    return json_ready({"level": level, "model": full["model"], "series": chosen, "notes": full["notes"],
                       "warnings": full["warnings"], "fallbacks": full["fallbacks"],
                       "series_model": fallback["model"] if fallback else full["model"],
                       "series_by_volume": full["series_by_volume"][:50], "forecast": pick(full["forecast"]),
                       "history": pick(full["history"])})
