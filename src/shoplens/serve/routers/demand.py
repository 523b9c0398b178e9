"""/price and /inventory: an item's price elasticity and best discount, and the reorder list — the library calls
of `shoplens price` and `shoplens inventory`, with the same defaults."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query

from shoplens.inventory import reorder_list
from shoplens.pricing import recommend_price
from shoplens.serve.body import StrictJSONRoute
from shoplens.serve.keys import require_read_key
from shoplens.serve.routers import json_ready
from shoplens.serve.service import Service, get_service

router = APIRouter(tags=["demand"], dependencies=[Depends(require_read_key)], route_class=StrictJSONRoute)

MAX_AMOUNT = 1e12  # a unit cost or a stock: any real one is below this
MAX_PROTECTION_DAYS = 365  # lead time + review period: the forecast horizon behind the reorder list


def _require_sales(service: Service) -> None:
    if not service.count("sales"):
        raise HTTPException(404, "the workspace has no sales; ingest some first")


@router.get("/price")
def price(item: str = Query(min_length=1, max_length=200),
          objective: Literal["profit", "revenue"] = "profit",
          unit_cost: float | None = Query(None, ge=0, le=MAX_AMOUNT, allow_inf_nan=False,
                                          description="per unit (default: 60% of the list price)"),
          stock: float | None = Query(None, ge=0, le=MAX_AMOUNT, allow_inf_nan=False,
                                      description="units available over the horizon"),
          service: Service = Depends(get_service)) -> dict:
    """Price elasticity of an item (fitted with its category's items) and the discount that maximises profit or
    revenue under the stock and margin floors. Kept until the sales or items change."""
    _require_sales(service)
    try:
        plan = service.cached(("price", item, objective, unit_cost, stock), ("sales", "items"),
                              lambda ws: recommend_price(ws, item, objective=objective, unit_cost=unit_cost,
                                                         stock=stock))
    except KeyError as error:  # an item without sales rows
        raise HTTPException(404, str(error.args[0]) if error.args else str(error)) from None
    except ValueError as error:
        raise HTTPException(422, str(error)) from None
    return json_ready(plan)


@router.get("/inventory")
def inventory(service_level: float = Query(0.95, gt=0, lt=1, allow_inf_nan=False,
                                           description="target probability of no stock-out per cycle"),
              lead_time: int = Query(7, ge=1, le=MAX_PROTECTION_DAYS - 1, description="days"),
              review_period: int = Query(7, ge=1, le=MAX_PROTECTION_DAYS - 1, description="days"),
              calibrate: bool = Query(True, description="measure the safety factor on a 2-window backtest of the "
                                                        "forecast (2 more fits); false: normal z"),
              top: int | None = Query(None, ge=1, le=100_000, description="the first rows only (default: all)"),
              service: Service = Depends(get_service)) -> dict:
    """Safety stock, reorder point and order-up-to level per item and store, from forecast quantiles; `safety`
    says which rule set the safety factor, `notes` what the forecast assumed, `warnings` what the data could not
    support (series too short: `fallbacks` lists them with the model that forecast them). Computed once per sales data
    version and parameters: the first request takes as long as `shoplens inventory` (calibration fits the
    forecast twice more)."""
    if lead_time + review_period > MAX_PROTECTION_DAYS:
        raise HTTPException(422, f"lead_time + review_period is the forecast horizon: at most "
                                 f"{MAX_PROTECTION_DAYS} days, got {lead_time + review_period}")
    _require_sales(service)
    try:
        table = service.cached(("inventory", service_level, lead_time, review_period, calibrate), ("sales", "items"),
                               lambda ws: reorder_list(ws, service_level=service_level, lead_time=lead_time,
                                                       review_period=review_period, calibrate=calibrate))
    except (ValueError, KeyError) as error:
        raise HTTPException(422, str(error.args[0] if error.args else error)) from None
    rows = table if top is None else table.head(top)
    return json_ready({"safety": table.attrs["safety"], "notes": table.attrs["notes"],
                       "warnings": table.attrs["warnings"], "fallbacks": table.attrs["fallbacks"], "series": len(table),
                       "reorder": rows.to_dict(orient="records")})
