"""Pricing a workspace item: what `shoplens price WS --item I` and the demo call.

    rec = recommend_price(ws, "i00042")   # elasticity (shrunk), base demand, the profit-optimal discount
"""

from __future__ import annotations

import pandas as pd

from shoplens.pricing.discount import optimal_discount
from shoplens.pricing.elasticity import ItemElasticity


def recommend_price(ws, item_id: str, *, horizon: int = 28, objective: str = "profit", unit_cost: float | None = None,
                    unit_cost_share: float = 0.6, min_margin: float = 0.1, max_discount: float = 0.5,
                    stock: float | None = None) -> dict:
    """Elasticity of the item (its category's items fitted together, shrunk to the category), expected demand
    over `horizon` days at list price (mean daily regular-price sales over the last 28 days, all stores), and
    the discount that maximises `objective` under the stock and margin floors.

    unit_cost: per unit; when None, `unit_cost_share` x list price (the items table has no cost column)."""
    sales, items = ws.table("sales"), ws.table("items")
    if item_id not in set(sales["item_id"]):
        raise KeyError(f"item {item_id!r} has no sales rows in this workspace")
    category = items.loc[items["item_id"] == item_id, "category"]
    top = category.iloc[0].split(" > ")[0] if len(category) and isinstance(category.iloc[0], str) else None
    peers = items.loc[items["category"].fillna("").str.startswith(top), "item_id"] if top else pd.Series([item_id])
    model = ItemElasticity().fit(sales[sales["item_id"].isin(set(peers) | {item_id})], items)
    row = model.items_.set_index("item_id").loc[item_id]
    mine = sales[sales["item_id"] == item_id].copy()
    mine["ts"] = pd.to_datetime(mine["ts"])
    recent = mine[mine["ts"] > mine["ts"].max() - pd.Timedelta(days=28)]
    regular = recent[recent["promo"].fillna(0) == 0] if "promo" in recent else recent
    regular = regular if len(regular) else recent
    list_price = float(items.loc[items["item_id"] == item_id, "price"].iloc[0]) if len(category) else float(regular["price"].max())
    daily = regular.groupby("ts")["qty"].sum().clip(lower=0)
    base_qty = float(daily.mean()) * horizon if len(daily) else 0.0
    cost = unit_cost if unit_cost is not None else unit_cost_share * list_price
    plan = optimal_discount(base_qty=base_qty, list_price=list_price, unit_cost=cost, elasticity=float(row["elasticity"]),
                            stock=stock, min_margin=min_margin, max_discount=max_discount, objective=objective)
    return {"item_id": item_id, "elasticity": round(float(row["elasticity"]), 3),
            "elasticity_raw": None if pd.isna(row["raw"]) else round(float(row["raw"]), 3),
            "elasticity_identified": bool(row["identified"]), "segment": row["segment"], "list_price": list_price,
            "unit_cost": cost, "base_qty": round(base_qty, 2), "horizon_days": horizon, "objective": objective,
            **{f"plan_{k}": v for k, v in plan.to_dict().items()}}
