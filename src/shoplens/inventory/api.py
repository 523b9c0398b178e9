"""The reorder list of a workspace: what `shoplens inventory WS --service-level 0.95` and the demo call.

    table = reorder_list(ws, service_level=0.95)   # per item x store: safety stock, reorder point, order-up-to
"""

from __future__ import annotations

import pandas as pd

from shoplens.forecast.api import forecast_workspace
from shoplens.inventory.policy import reorder_table


def reorder_list(ws, *, service_level: float = 0.95, lead_time: int = 7, review_period: int = 7,
                 level: str = "item_store", on_hand: pd.Series | None = None, top: int | None = None) -> pd.DataFrame:
    """Policy levels per series from an 80% interval forecast over lead_time + review_period days.

    on_hand: units in stock per unique_id ("item@store" at level item_store); when given, the table also says
    what to order now. Sorted by order-up-to level, largest first; `top` keeps the first rows."""
    horizon = lead_time + review_period
    fc = forecast_workspace(ws, horizon=horizon, level=level, levels=(80,), chart=False).forecast
    table = reorder_table(fc, service_level=service_level, lead_time=lead_time, review_period=review_period,
                          level=80, on_hand=on_hand)
    table = table.sort_values("order_up_to", ascending=False, ignore_index=True)
    return table.head(top) if top else table
