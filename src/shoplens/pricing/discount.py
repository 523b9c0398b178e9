"""Discount strategy: the discount that maximises profit or revenue under stock and margin floors.

Demand at discount d follows the constant-elasticity curve fitted in `elasticity.py`,

    demand(d) = base_qty * (1 - d) ** elasticity            (base_qty: expected units at list price)
    sold(d)   = min(demand(d), stock)                         (cannot sell what is not on the shelf)
    revenue   = list_price (1 - d) sold(d);   profit = (list_price (1 - d) - unit_cost) sold(d)

subject to the margin floor (list_price (1 - d) - unit_cost) / (list_price (1 - d)) >= min_margin and
d <= max_discount. The search is a grid over d: the objective is one-dimensional and kinked by the stock cap,
so a grid is exact enough (step 1 point) and never fails.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd


@dataclass
class DiscountPlan:
    discount: float  # fraction off list price, 0 .. max_discount
    price: float
    expected_units: float
    expected_revenue: float
    expected_profit: float
    binding: str  # what stopped the discount from going deeper or shallower: "optimum", "stock", "margin", "cap"

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def outcome(discount, *, base_qty: float, list_price: float, unit_cost: float, elasticity: float,
            stock: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Units sold, revenue and profit at each discount."""
    d = np.asarray(discount, dtype=np.float64)
    price = list_price * (1 - d)
    demand = base_qty * (1 - d) ** elasticity
    sold = demand if stock is None else np.minimum(demand, stock)
    return sold, price * sold, (price - unit_cost) * sold


def optimal_discount(*, base_qty: float, list_price: float, unit_cost: float, elasticity: float,
                     stock: float | None = None, min_margin: float = 0.0, max_discount: float = 0.5,
                     objective: str = "profit", step: float = 0.01) -> DiscountPlan:
    if objective not in ("profit", "revenue"):
        raise ValueError(f"objective must be 'profit' or 'revenue', got {objective!r}")
    if list_price <= 0:
        raise ValueError("list_price must be positive")
    grid = np.round(np.arange(0.0, max_discount + step / 2, step), 6)
    price = list_price * (1 - grid)
    allowed = price - unit_cost >= min_margin * price - 1e-9
    if not allowed.any():  # even the list price breaks the floor: sell at list, say so
        allowed[0] = True
    sold, revenue, profit = outcome(grid, base_qty=base_qty, list_price=list_price, unit_cost=unit_cost,
                                    elasticity=elasticity, stock=stock)
    score = np.where(allowed, profit if objective == "profit" else revenue, -np.inf)
    best = int(np.argmax(score))
    binding = "optimum"
    if stock is not None and sold[best] >= stock - 1e-9 and best + 1 < len(grid) and sold[best + 1] >= stock - 1e-9:
        binding = "stock"  # deeper discounts sell no more units
    elif best + 1 < len(grid) and not allowed[best + 1] and allowed[best]:
        binding = "margin"
    elif best == len(grid) - 1:
        binding = "cap"
    return DiscountPlan(float(grid[best]), float(price[best]), float(sold[best]), float(revenue[best]),
                        float(profit[best]), binding)


def plan_discounts(items: pd.DataFrame, **kwargs) -> pd.DataFrame:
    """One plan per row of `items` (columns item_id, base_qty, list_price, unit_cost, elasticity[, stock])."""
    rows = []
    for row in items.itertuples(index=False):
        stock = getattr(row, "stock", None)
        stock = None if stock is None or pd.isna(stock) else float(stock)
        plan = optimal_discount(base_qty=row.base_qty, list_price=row.list_price, unit_cost=row.unit_cost,
                                elasticity=row.elasticity, stock=stock, **kwargs)
        rows.append({"item_id": row.item_id, **plan.to_dict()})
    return pd.DataFrame(rows)
