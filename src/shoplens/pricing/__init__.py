"""Price elasticity (log-log with controls, per item with shrinkage) and discount strategy.

    from shoplens.pricing import ItemElasticity, loglog_regression, optimal_discount, recommend_price
"""

from shoplens.pricing.api import recommend_price
from shoplens.pricing.discount import DiscountPlan, optimal_discount, plan_discounts
from shoplens.pricing.elasticity import ItemElasticity, loglog_regression

__all__ = ["DiscountPlan", "ItemElasticity", "loglog_regression", "optimal_discount", "plan_discounts", "recommend_price"]
