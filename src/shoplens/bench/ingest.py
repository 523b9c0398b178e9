"""`shoplens bench ingest`: validated ingest throughput, CSV and Parquet, beside DuckDB's raw load.

The peer is DuckDB reading the same file straight into a table (no mapping, no validation, no
transaction bookkeeping): the ratio says what validation costs.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from shoplens.bench.harness import BenchResult, Stopwatch
from shoplens.workspace import Workspace

QUERIES = np.array(["红色连衣裙", "蓝牙耳机", "wireless earbuds", "face cream 50ml", "跑步鞋 男", "", "", ""], dtype=object)
EVENTS = np.array(["view", "view", "view", "click", "click", "cart", "purchase", "search"], dtype=object)


def synthetic_events(rows: int, seed: int = 0) -> pd.DataFrame:
    """A plain events file of `rows` rows: enough variety (zh text, nulls, timestamps) to exercise validation."""
    rng = np.random.default_rng(seed)
    ts = pd.Timestamp("2025-01-01") + pd.to_timedelta(np.sort(rng.integers(0, 180 * 86400, rows)), unit="s")
    event = EVENTS[rng.integers(0, len(EVENTS), rows)]
    query = np.where(event == "search", QUERIES[rng.integers(0, len(QUERIES), rows)], None)
    return pd.DataFrame({
        "user_id": np.char.add("u", rng.integers(0, 50_000, rows).astype(str)),
        "item_id": np.char.add("i", rng.integers(0, 20_000, rows).astype(str)),
        "event": event,
        "ts": ts.strftime("%Y-%m-%d %H:%M:%S"),
        "session_id": np.char.add("s", (np.arange(rows) // 8).astype(str)),
        "query": query,
        "value": np.where(event == "purchase", np.round(rng.gamma(2.0, 30.0, rows), 2), np.nan),
    })


def run(rows: int = 1_000_000) -> BenchResult:
    frame = synthetic_events(rows)
    result_rows, metrics, baselines = [], {}, {}
    total = Stopwatch().__enter__()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = {"csv": tmp / "events.csv", "parquet": tmp / "events.parquet"}
        frame.to_csv(files["csv"], index=False)
        frame.to_parquet(files["parquet"], index=False)
        for fmt, path in files.items():
            ws = Workspace.init(tmp / f"ws-{fmt}")
            with Stopwatch() as sw:
                report = ws.ingest(path, "events")
            assert ws.count("events") == rows == report.inserted  # nothing accepted is lost
            ws.close()
            con = duckdb.connect(str(tmp / f"raw-{fmt}.duckdb"))
            reader = "read_csv" if fmt == "csv" else "read_parquet"
            with Stopwatch() as raw:
                con.execute(f"CREATE TABLE events AS SELECT * FROM {reader}(?)", [str(path)]).fetchall()
            con.close()
            metrics[f"{fmt}_rows_per_s"] = round(rows / sw.seconds)
            baselines[f"duckdb_raw_{fmt}_rows_per_s"] = round(rows / raw.seconds)
            result_rows.append({"format": fmt, "rows": rows, "file MB": round(path.stat().st_size / 1e6, 1),
                                "shoplens s": round(sw.seconds, 2), "rows/s": f"{rows / sw.seconds:,.0f}",
                                "duckdb raw s": round(raw.seconds, 2), "slowdown vs raw": round(sw.seconds / raw.seconds, 1)})
    total.__exit__()
    return BenchResult(suite="ingest", dataset=f"synthetic events, {rows:,} rows",
                       protocol="validated ingest into a fresh workspace, one transaction; peer: DuckDB CREATE TABLE AS read_csv/read_parquet",
                       metrics=metrics, baselines=baselines, seconds=total.seconds, rows=result_rows)
