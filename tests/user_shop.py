"""A small bilingual shop as a user brings it: its own column names, Taobao-style action names (pv/fav/cart/buy),
local times like `2024-03-05 14:02:11`. The CLI tests ingest these files exactly as the README tells a user to.

Deterministic (seed 0). Users prefer two categories each, so a recommender has something to learn.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

CATEGORIES = {
    "美妆 > 面霜": (["保湿面霜", "Moisturising cream", "修护晚霜", "Night repair cream"], (39, 299)),
    "美妆 > 口红": (["丝绒口红", "Velvet lipstick", "滋润唇膏", "Tinted lip balm"], (49, 199)),
    "数码 > 耳机": (["降噪蓝牙耳机", "Noise-cancelling earbuds", "头戴式耳机", "Over-ear headphones"], (99, 1299)),
    "数码 > 充电器": (["快充充电器", "Fast charger 65W", "无线充电板", "Wireless charging pad"], (29, 199)),
    "食品 > 牛奶": (["纯牛奶", "Whole milk 1L", "低脂酸奶", "Low-fat yoghurt"], (5, 69)),
    "食品 > 咖啡": (["挂耳咖啡", "Drip coffee bags", "速溶咖啡", "Instant coffee"], (19, 159)),
}
BRANDS = ["蒙牛", "Anker", "兰蔻", "Sony", "雀巢", "L'Oreal", "小米", "伊利"]
REVIEW_TEXT = {
    5: ["质量很好，非常满意", "Great quality, works perfectly", "物流很快，包装完好", "Love it, will buy again"],
    4: ["还不错，价格实惠", "Good value for the price", "效果可以，就是有点贵"],
    2: ["有点失望，和描述不符", "Broke after a week", "味道一般，不会回购"],
    1: ["质量太差了，退货", "Terrible, does not work at all"],
}
MAPPINGS = {  # what a user types: canonical=their column
    "items": "item=sku,title=name,description=desc,category=cat,brand=maker,price=cost,created_at=listed",
    "events": "user=uid,item=sku,event=act,ts=time,session=sess",
    "reviews": "review=rid,user=uid,item=sku,rating=stars,text=comment,ts=time",
    "sales": "item=sku,store=shop,ts=day,qty=units,price=unit_price,promo=promo",
    "ad_impressions": "ts=time,user=uid,item=sku,ad=creative,clicked=click",
}
EVENT_NAMES = "event=pv:view,fav:favorite,cart:cart,buy:purchase"


def write_user_shop(folder: Path, n_items: int = 120, n_users: int = 150, seed: int = 0) -> dict[str, Path]:
    """Write items.csv, events.csv, reviews.csv, sales.csv, ads.csv under `folder`; returns {table: path}."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    cats = list(CATEGORIES)
    item_cat = rng.integers(0, len(cats), n_items)
    rows = []
    for i, c in enumerate(item_cat):
        names, (low, high) = CATEGORIES[cats[c]]
        brand = BRANDS[rng.integers(0, len(BRANDS))]
        rows.append({"sku": f"SKU{i:04d}", "name": f"{brand} {names[rng.integers(0, len(names))]} {i}",
                     "desc": f"{names[0]} / {names[1]}, {brand}", "cat": cats[c], "maker": brand,
                     "cost": round(float(rng.uniform(low, high)), 2),
                     "listed": f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}"})
    items = pd.DataFrame(rows)

    start = pd.Timestamp("2024-01-01")
    events, reviews = [], []
    for u in range(n_users):
        liked = rng.choice(len(cats), 2, replace=False)
        pool = np.flatnonzero(np.isin(item_cat, liked))
        t = start + pd.Timedelta(minutes=int(rng.integers(0, 60 * 24 * 30)))
        for session in range(int(rng.integers(1, 6))):
            for _ in range(int(rng.integers(2, 9))):
                item = int(rng.choice(pool)) if rng.random() < 0.85 else int(rng.integers(0, n_items))
                t += pd.Timedelta(seconds=int(rng.integers(20, 900)))
                act = rng.choice(["pv", "fav", "cart", "buy"], p=[0.7, 0.08, 0.12, 0.1])
                events.append({"uid": f"U{u:04d}", "sku": f"SKU{item:04d}", "act": act,
                               "time": t.strftime("%Y-%m-%d %H:%M:%S"), "sess": f"S{u:04d}-{session}"})
                if act == "buy" and rng.random() < 0.6:
                    stars = int(rng.choice([5, 4, 2, 1], p=[0.5, 0.25, 0.15, 0.1]))
                    texts = REVIEW_TEXT[stars]
                    reviews.append({"rid": f"R{len(reviews):05d}", "uid": f"U{u:04d}", "sku": f"SKU{item:04d}",
                                    "stars": stars, "comment": texts[rng.integers(0, len(texts))],
                                    "time": (t + pd.Timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S")})
            t += pd.Timedelta(days=int(rng.integers(1, 20)))

    days = pd.date_range("2024-01-01", periods=150, freq="D")
    sales = []
    for i in range(10):  # ten best sellers, two shops, daily, a weekly pattern and promotions
        base = rng.uniform(5, 30)
        for shop in ("北京店", "Shanghai"):
            promo = (rng.random(len(days)) < 0.1).astype(int)
            qty = rng.poisson(base * (1 + 0.3 * (days.dayofweek >= 5)) * (1 + 0.5 * promo))
            price = items.loc[i, "cost"] * (1 - 0.15 * promo)
            sales += [{"sku": f"SKU{i:04d}", "shop": shop, "day": d.strftime("%Y-%m-%d"), "units": int(q),
                       "unit_price": round(float(p), 2), "promo": int(pr)} for d, q, p, pr in zip(days, qty, price, promo)]

    ads = []
    for n in range(2500):
        u, i = int(rng.integers(0, n_users)), int(rng.integers(0, n_items))
        ads.append({"time": (start + pd.Timedelta(minutes=7 * n)).strftime("%Y-%m-%d %H:%M:%S"), "uid": f"U{u:04d}",
                    "sku": f"SKU{i:04d}", "creative": f"AD{i % 7}", "click": int(rng.random() < 0.04 + 0.08 * (item_cat[i] < 2))})

    paths = {"items": folder / "items.csv", "events": folder / "events.csv", "reviews": folder / "reviews.csv",
             "sales": folder / "sales.csv", "ad_impressions": folder / "ads.csv"}
    for table, frame in (("items", items), ("events", pd.DataFrame(events)), ("reviews", pd.DataFrame(reviews)),
                         ("sales", pd.DataFrame(sales)), ("ad_impressions", pd.DataFrame(ads))):
        frame.to_csv(paths[table], index=False)
    return paths
