"""Elasticity (OJ known answer, simulator truth, shrinkage) and discount optimisation under floors."""

import numpy as np
import pandas as pd
import pytest

from conftest import dataset_dir
from shoplens.pricing.discount import optimal_discount, outcome, plan_discounts
from shoplens.pricing.elasticity import ItemElasticity, loglog_regression, poisson_glm


def test_oj_elasticity_with_brand_controls_is_minus_3_14():
    dataset_dir("price-elasticity-oj")
    from shoplens.bench.elasticity_oj import oj_part

    rows, metrics = oj_part()
    assert round(metrics["oj_elasticity_brand_controls"], 2) == -3.14
    assert metrics["oj_interaction_max_abs_diff"] < 1e-4  # the published interaction model, to 4 decimals


def test_loglog_regression_recovers_known_elasticity_and_counts_dropped_rows():
    rng = np.random.default_rng(0)
    price = rng.uniform(1, 3, 2000)
    brand = rng.choice(["a", "b"], 2000)
    qty = np.exp(2 + 0.5 * (brand == "b") - 1.7 * np.log(price) + rng.normal(0, 0.1, 2000))
    df = pd.DataFrame({"qty": qty, "price": price, "item_id": brand})
    df.loc[:4, "qty"] = 0.0
    fit = loglog_regression(df, [("log_price",), ("item_id",)]).set_index("term")
    assert fit.loc["log_price", "coef"] == pytest.approx(-1.7, abs=0.02)
    assert fit.loc["item_id[b]", "coef"] == pytest.approx(0.5, abs=0.02)
    assert fit.attrs["dropped"] == 5


def test_poisson_glm_recovers_coefficients():
    rng = np.random.default_rng(1)
    x = rng.normal(0, 0.3, 5000)
    X = np.column_stack([np.ones_like(x), x])
    beta, se = poisson_glm(X, rng.poisson(np.exp(0.5 - 2.0 * x)).astype(float))
    assert beta[1] == pytest.approx(-2.0, abs=4 * se[1])


def test_item_elasticity_on_simulator_shrinkage_helps():
    from shoplens.datasets.synthetic import marketplace

    mp = marketplace(n_users=100, n_items=40, days=120, seed=3)
    model = ItemElasticity().fit(mp.tables["sales"], mp.tables["items"])
    est = model.items_.set_index("item_id").join(mp.truth.items.set_index("item_id")["elasticity"].rename("true"))
    ok = est.identified
    raw_err = (est.raw - est.true)[ok].abs().mean()
    shrunk_err = (est.elasticity - est.true)[ok].abs().mean()
    assert shrunk_err < raw_err and shrunk_err < 0.5
    assert est.elasticity.notna().all() and not model.segments_.empty
    with pytest.raises(KeyError):
        model.elasticity("no-such-item")


def test_item_without_price_variation_gets_segment_mean():
    days = pd.date_range("2025-01-01", periods=60, freq="D")
    rng = np.random.default_rng(0)
    moving = pd.DataFrame({"item_id": "m", "store_id": "s1", "ts": days, "price": rng.choice([8.0, 10.0], 60)})
    moving["qty"] = rng.poisson(5 * (moving.price / 10) ** -2.0).astype(float)
    flat = pd.DataFrame({"item_id": "f", "store_id": "s1", "ts": days, "price": 10.0, "qty": 3.0})
    model = ItemElasticity(segment=None).fit(pd.concat([moving, flat]))
    rows = model.items_.set_index("item_id")
    assert not rows.loc["f", "identified"] and rows.loc["f", "elasticity"] == pytest.approx(rows.loc["m", "elasticity"])


def test_optimal_discount_matches_theory_and_respects_floors():
    # constant elasticity e, no stock cap: profit-optimal price = cost * e / (1 + e)
    plan = optimal_discount(base_qty=100, list_price=10, unit_cost=4, elasticity=-3.0, max_discount=0.6, step=0.001)
    assert plan.price == pytest.approx(6.0, abs=0.02) and plan.binding == "optimum"
    capped = optimal_discount(base_qty=100, list_price=10, unit_cost=4, elasticity=-3.0, stock=120)
    assert capped.expected_units <= 120 + 1e-9 and capped.discount < plan.discount
    floor = optimal_discount(base_qty=100, list_price=10, unit_cost=4, elasticity=-3.0, min_margin=0.5)
    assert floor.price >= 8.0 - 1e-9 and floor.binding == "margin"
    inelastic = optimal_discount(base_qty=100, list_price=10, unit_cost=4, elasticity=-0.5)
    assert inelastic.discount == 0.0
    revenue = optimal_discount(base_qty=100, list_price=10, unit_cost=4, elasticity=-3.0, objective="revenue")
    assert revenue.discount == 0.5 and revenue.binding == "cap"
    sold, rev, profit = outcome([0.0], base_qty=10, list_price=2, unit_cost=1, elasticity=-2, stock=5)
    assert sold[0] == 5 and rev[0] == 10 and profit[0] == 5
    table = plan_discounts(pd.DataFrame({"item_id": ["x"], "base_qty": [100.0], "list_price": [10.0], "unit_cost": [4.0],
                                         "elasticity": [-3.0], "stock": [np.nan]}))
    assert table.loc[0, "discount"] == pytest.approx(0.4, abs=0.01)
