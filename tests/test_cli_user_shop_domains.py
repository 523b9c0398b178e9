"""Every review, customer, demand, ads and search command on a user's own shop, as a user types it: in a
subprocess, through the installed `shoplens` script, on files with their own column and action names.

For each: exit 0; with --json exactly one JSON document on stdout; without it a readable table or text (no JSON,
no Python reprs, full column names, no pandas `index` column); sane content checked against the files; --out
writes the table in each format and it reads back; bad arguments are one `error:` line on stderr and exit 2.
"""

import os
import re
from pathlib import Path

import pandas as pd
import pytest

from shoplens_cli import assert_one_line_error, run, run_json
from user_shop import EVENT_NAMES, MAPPINGS, write_user_shop

WIDE = {**os.environ, "COLUMNS": "250"}  # a wide pipe: every table row on one line, headers unfolded
REPR = re.compile(r"\{'|\['|\bnan\b|Timestamp\(|dtype|array\(")  # Python reprs of dicts, lists, numpy, pandas


def run_text(*args, columns=()):
    """The default output: readable, not JSON, no reprs; `columns` appear whole in a table header."""
    out = run(*args, env=WIDE).stdout
    assert not out.lstrip().startswith(("{", "[")), out[:300]
    assert not REPR.search(out), REPR.search(out).group(0) + "\n" + out
    assert "…" not in out, out
    header = " ".join(line for line in out.splitlines() if line.startswith("┃"))  # every table's header
    assert "┃ index " not in header, header
    for column in columns:
        assert f" {column} " in header, (column, header)
    return out


def read_back(path: Path) -> pd.DataFrame:
    return {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".json": pd.read_json}[path.suffix](path)


def assert_out(path: Path, rows: int | None = None, columns=()) -> pd.DataFrame:
    frame = read_back(path)
    assert rows is None or len(frame) == rows, (len(frame), rows)
    assert set(columns) <= set(frame.columns), frame.columns
    assert "index" not in frame.columns
    return frame


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    root = tmp_path_factory.mktemp("usershop_domains")
    files = write_user_shop(root / "files")
    ws = root / "myshop"
    run("init", ws)
    for table, path in files.items():
        extra = ["--map-values", EVENT_NAMES] if table == "events" else []
        run("ingest", ws, path, "--kind", table, "--map", MAPPINGS[table], *extra)
    frames = {table: pd.read_csv(path) for table, path in files.items()}
    return {"ws": ws, "root": root, "files": files, **frames}


# ------------------------------------------------------------------------------------------------ reviews


def test_reviews_text_json_and_per_review_scores(shop, tmp_path):
    out = tmp_path / "scores.parquet"
    summary = run_json("reviews", "analyze", shop["ws"], out=out)
    assert summary["n_reviews"] == len(shop["reviews"])
    assert summary["mean_rating"] == pytest.approx(shop["reviews"].stars.mean(), abs=1e-3)
    assert {a["aspect"] for a in summary["top_positive"]} & {"quality", "price", "shipping", "packaging"}
    text = run_text("reviews", "analyze", shop["ws"], columns=("aspect", "mentions", "positive_example", "negative_example"))
    assert f"{len(shop['reviews'])} reviews" in text
    scores = assert_out(out, rows=len(shop["reviews"]),
                        columns=("review_id", "item_id", "rating", "positive_probability", "positive_aspects"))
    stars = scores.set_index("review_id")["rating"]
    assert scores.positive_probability[stars.to_numpy() >= 4].mean() > scores.positive_probability[stars.to_numpy() <= 2].mean()


def test_categorize(shop, tmp_path):
    assert "every item has a category" in run_text("catalog", "categorize", shop["ws"])
    out = tmp_path / "categories.csv"
    predicted = run_json("catalog", "categorize", shop["ws"], "--all", out=out)["predictions"]
    assert len(predicted) == len(shop["items"])
    agree = sum(p["category"] == p["recorded"] for p in predicted) / len(predicted)
    assert agree > 0.8  # titles name their product: the out-of-fold prediction mostly matches the catalogue
    assert_out(out, rows=len(shop["items"]), columns=("item_id", "category", "confidence"))


# ---------------------------------------------------------------------------------------------- customers


def test_profile_counts_the_files_purchases(shop):
    events = shop["events"]
    user = events[events.act == "buy"].uid.value_counts().index[0]
    profile = run_json("customers", "profile", shop["ws"], "--user", user)
    mine = events[events.uid == user]
    assert profile["rfm"]["purchases"] == int((mine.act == "buy").sum())
    bought = mine[mine.act == "buy"].sku.map(shop["items"].set_index("sku")["cost"])
    assert profile["rfm"]["spend"] == pytest.approx(bought.sum(), abs=0.01)  # no value column: list prices
    assert profile["rfm"]["segment"]
    text = run_text("customers", "profile", shop["ws"], "--user", user)
    assert f"purchases: {int((mine.act == 'buy').sum())} " in text and "categories:" in text


def test_churn_on_a_small_shop_falls_back_to_a_named_rule(shop, tmp_path):
    buyers = shop["events"][shop["events"].act == "buy"].uid.nunique()
    out = tmp_path / "churn.json"
    result = run_json("customers", "churn", shop["ws"], out=out)  # 87 days of data, 90-day horizon: the learned model cannot train
    summary, customers = result["summary"], result["customers"]
    assert summary["model"] == "BG/NBD (fallback)" and "90 days" in summary["warning"]
    assert summary["customers"] == buyers and len(customers) == summary["flagged"]
    risks = [c["churn_risk"] for c in customers]
    assert len(set(round(r, 6) for r in risks)) > len(risks) // 2  # varies: not one constant for everyone
    assert all(0 <= r <= 1 for r in risks) and all(c["reason_1"] for c in customers)
    short = run_json("customers", "churn", shop["ws"], "--horizon", "30", "--budget", "5")["summary"]
    assert short["flagged"] == 5 and short["model"] in ("BG/NBD (fallback)", "recency (fallback)", "learned (LightGBM)")
    assert (short["warning"] is None) == (short["model"] == "learned (LightGBM)")
    text = run_text("customers", "churn", shop["ws"], "--budget", "5", columns=("user_id", "churn_risk", "value_at_risk", "reasons"))
    assert "warning:" in text and "BG/NBD" in text
    assert_out(out, rows=len(customers), columns=("user_id", "churn_risk", "value_at_risk", "reason_1"))


def test_segments(shop, tmp_path):
    out = tmp_path / "segments.parquet"
    result = run_json("customers", "segments", shop["ws"], "--clusters", "3", out=out)
    buyers = shop["events"][shop["events"].act == "buy"].uid.nunique()
    assert sum(r["customers"] for r in result["rfm"]) == buyers and len(result["clusters"]) == 3
    text = run_text("customers", "segments", shop["ws"], "--clusters", "3", columns=("segment", "customers", "top_categories"))
    assert "RFM segments" in text
    frame = assert_out(out, columns=("user_id", "segment", "cluster"))
    assert frame.user_id.nunique() == len(frame) == buyers


# ------------------------------------------------------------------------------------------------- demand


def test_forecast_one_row_per_series(shop, tmp_path):
    series = shop["sales"].sku.nunique()
    out = tmp_path / "forecast.csv"
    result = run_json("demand", "forecast", shop["ws"], "--horizon", "7", "--model", "ets", out=out)
    assert result["series"] == series and len(result["forecast"]) == 7 * series
    assert all(r["yhat_lo80"] <= r["yhat"] <= r["yhat_hi80"] for r in result["forecast"])
    text = run_text("demand", "forecast", shop["ws"], "--horizon", "7", "--model", "ets", columns=("unique_id", "total", "per_day"))
    assert sum(line.startswith("│ SKU") for line in text.splitlines()) == series  # one row per series
    frame = assert_out(out, rows=7 * series, columns=("unique_id", "ds", "yhat"))
    assert frame.groupby("unique_id").size().eq(7).all()


def test_price_and_inventory(shop, tmp_path):
    plan = run_json("demand", "price", shop["ws"], "--item", "SKU0001")
    assert plan["item_id"] == "SKU0001" and plan["elasticity"] < 0 and 0 <= plan["plan_discount"] < 1
    text = run_text("demand", "price", shop["ws"], "--item", "SKU0001")
    assert "elasticity" in text and "discount" in text
    out = tmp_path / "reorder.json"
    result = run_json("demand", "inventory", shop["ws"], "--no-calibrate", out=out)
    pairs = shop["sales"][["sku", "shop"]].drop_duplicates()
    assert len(result["reorder"]) == len(pairs) and result["safety"]["rule"] == "normal z"
    assert all(r["order_up_to"] >= r["reorder_point"] >= 0 for r in result["reorder"])
    run_text("demand", "inventory", shop["ws"], "--no-calibrate", columns=("unique_id", "safety_stock", "reorder_point"))
    assert_out(out, rows=len(pairs), columns=("unique_id", "safety_stock"))


# ---------------------------------------------------------------------------------------------------- ads


def test_fit_ctr_then_score_and_target(shop, tmp_path):
    fitted = run_json("ads", "fit", shop["ws"], "--model", "lr", "--name", "lr")  # epoch lines on stderr, not stdout
    assert fitted["name"] == "lr"
    scored = run_json("ads", "ctr", shop["ws"], "--user", "U0001", "--item", "SKU0002", "--model", "lr")
    assert 0 < scored["ctr"] < 1 and scored["user_id"] == "U0001"
    out = tmp_path / "campaign.parquet"
    chosen = run_json("ads", "target", shop["ws"], "--category", "美妆", "--impressions", "20", "--model", "lr", out=out)["impressions"]
    beauty = set(shop["items"][shop["items"].cat.str.startswith("美妆")].sku)
    assert len(chosen) == 20 and {c["item_id"] for c in chosen} <= beauty  # a category prefix, like search filters
    assert [c["expected_clicks"] for c in chosen] == sorted((c["expected_clicks"] for c in chosen), reverse=True)
    run_text("ads", "target", shop["ws"], "--items", "SKU0001,SKU0002", "--impressions", "5", "--model", "lr",
             columns=("user_id", "item_id", "expected_clicks"))
    assert_out(out, rows=20, columns=("user_id", "item_id", "ctr"))


# ------------------------------------------------------------------------------------------------- search


@pytest.fixture(scope="module")
def indexed(shop):
    built = run_json("search", "index", shop["ws"], "--encoder", "static")
    assert built["indexed"] == len(shop["items"])
    return shop


def test_search_finds_the_title_word(indexed, tmp_path):
    shop = indexed
    out = tmp_path / "results.csv"
    result = run_json("search", "query", shop["ws"], "lipstick", "--top", "5", out=out)
    assert result["query"] == "lipstick" and len(result["items"]) == 5
    assert "lipstick" in result["items"][0]["title"].lower()
    chinese = run_text("search", "query", shop["ws"], "口红", "-k", "3", "--filter", "price=10..150",
                       columns=("item_id", "title", "category", "price", "score"))
    rows = [line.split("│") for line in chinese.splitlines() if line.startswith("│ SKU")]
    assert rows and all("口红" in r[3] and 10 <= float(r[5]) <= 150 for r in rows)  # a Chinese query, filtered
    assert_out(out, rows=5, columns=("item_id", "title", "score"))
    assert run_json("search", "suggest", shop["ws"], "口") == []  # no search logs in this shop: no completions, and valid JSON
    updated = run_json("search", "index", shop["ws"], "--update")
    assert updated["added"] == updated["updated"] == updated["deleted"] == 0


def test_train_reranker_and_tune_search_on_judged_pairs(shop, tmp_path):
    titles = shop["items"].name.tolist()
    judged = pd.DataFrame([{"q": word, "t": t, "g": 2 * (word in t.lower())} for word in ("lipstick", "coffee", "charger")
                           for t in titles[:8]])
    path = tmp_path / "judged.csv"
    judged.to_csv(path, index=False)
    reranker = run_json("search", "train-reranker", path, tmp_path / "rr", "--query", "q", "--title", "t", "--grade", "g",
                        "--epochs", "1")
    assert reranker["pairs"] == len(judged) and (tmp_path / "rr" / "cross_encoder_reranker.json").is_file()
    tuned = run_json("search", "tune", path, tmp_path / "tuned", "--query", "q", "--title", "t", "--grade", "g",
                     "--side", "query", "--epochs", "1")
    assert tuned["queries"] == 3 and Path(tuned["folder"]).is_dir()


# ------------------------------------------------------------------------------------------ bad arguments


@pytest.mark.parametrize("args, fragments", [
    (("customers", "profile", "{ws}", "--user", "NOPE"), ["user 'NOPE' has no events"]),
    (("reviews", "analyze", "{ws}", "--item", "NOPE"), ["item 'NOPE' has no reviews"]),
    (("reviews", "analyze", "{ws}", "--out", "{root}/scores.xlsx"), ["must end in .csv, .parquet, .json"]),
    (("customers", "churn", "{ws}", "--precision", "1.5"), ["--precision must be in (0, 1]"]),
    (("customers", "churn", "{ws}", "--out", "/no/such/folder/churn.csv"), ["does not exist"]),
    (("customers", "churn", "{ws}", "--precision", "0.8"), ["needs a labelled window"]),
    (("customers", "segments", "{ws}", "--clusters", "0"), ["--clusters must be at least 1"]),
    (("demand", "forecast", "{ws}", "--model", "prophet"), ["unknown --model 'prophet'"]),
    (("demand", "price", "{ws}", "--item", "NOPE"), ["item 'NOPE' has no sales rows"]),
    (("demand", "inventory", "{ws}", "--service-level", "95"), ["--service-level must be between 0 and 1"]),
    (("ads", "ctr", "{ws}", "--user", "U0001", "--item", "SKU0001", "--model", "no-such-model"), ["no CTR model 'no-such-model'"]),
    (("ads", "fit", "{ws}", "--model", "gbdt"), ["unknown CTR model 'gbdt'"]),
    (("ads", "target", "{ws}", "--category", "家具", "--model", "lr"), ["no items in category '家具'"]),
    (("search", "query", "{ws}", "x", "--mode", "fuzzy"), ["unknown --mode 'fuzzy'"]),
    (("search", "index", "{ws}", "--reranker", "{root}"), ["holds no reranker"]),
    (("search", "train-reranker", "/no/such/judged.csv", "{root}/rr"), ["no file /no/such/judged.csv"]),
    (("search", "tune", "{events}", "{root}/tuned"), ["has no column 'query'"]),
])
def test_bad_arguments_are_one_line_errors(shop, args, fragments):
    filled = [a.format(ws=shop["ws"], root=shop["root"], events=shop["files"]["events"]) for a in args]
    assert_one_line_error(run(*filled, ok=False), *fragments)


def test_wrong_option_types_are_usage_errors(shop):
    assert_one_line_error(run("demand", "forecast", shop["ws"], "--horizon", "soon", ok=False), "'--horizon'")
