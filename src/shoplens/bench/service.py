"""`shoplens bench service`: the REST service under load from wrk, a real HTTP load generator, on loopback.

A `shoplens serve` process serves a demo-sized workspace (simulator: 2,000 users, 500 items, SASRec with
item text, hybrid search index with multilingual e5). wrk keeps `connections` connections busy for `seconds`
seconds against one endpoint — /recommend for a random stored user (history read from DuckDB, SASRec
forward, top-k), or /search for a random past query (BM25 + e5 query embedding + fusion) — and reports
requests/s and latency percentiles; errors are socket errors plus non-2xx answers. /healthz under the same
load is the framework's ceiling on this machine, measured in the same run.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import httpx

from shoplens.bench.harness import BenchResult, Stopwatch
from shoplens.serve.process import ServerProcess
from shoplens.workspace import Workspace

TARGET = {"recommend": {"requests_per_s": 300, "p99_ms": 50}}  # issue 8, for /recommend on 2 cores


def build_workspace(path: Path, n_users: int = 2000, n_items: int = 500, seed: int = 0) -> Path:
    """The demo's shop: simulated catalogue and events, a SASRec with item text, a hybrid search index."""
    from shoplens.datasets.synthetic import marketplace
    from shoplens.recommend.workspace_models import fit_workspace_model
    from shoplens.search.workspace import build_index

    market = marketplace(n_users=n_users, n_items=n_items, days=180, seed=seed)
    with Workspace.init(path) as ws:
        ws.ingest(market.tables["items"], "items")
        ws.ingest(market.tables["events"], "events")
        fit_workspace_model(ws, "sasrec", max_epochs=20, max_seconds=60)
        build_index(ws)
    return path


def lua_script(path: Path, endpoint: str, values: list[str]) -> Path:
    """A wrk script requesting `endpoint` with a random one of `values` each time."""
    quoted = ",".join("[==[" + v.replace("]==]", "") + "]==]" for v in values)
    query = {"recommend": "/recommend?k=10&user=", "search": "/search?k=10&q="}[endpoint]
    path.write_text(f"values = {{{quoted}}}\n"
                    "local function escape(s) return (s:gsub('[^%w]', function(c) "
                    "return string.format('%%%02X', string.byte(c)) end)) end\n"
                    f"request = function() return wrk.format('GET', '{query}' .. "
                    "escape(values[math.random(#values)])) end\n")
    return path


def parse_wrk(output: str) -> dict:
    """requests/s, p50/p90/p99 in ms and error counts from wrk --latency output."""
    unit = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}

    def ms(text: str) -> float:
        number, suffix = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
        return float(number) * unit[suffix]

    out = {"requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
           "requests": int(re.search(r"(\d+) requests in", output).group(1))}
    for pct in ("50", "90", "99"):
        out[f"p{pct}_ms"] = round(ms(re.search(rf"^\s+{pct}%\s+(\S+)", output, re.M).group(1)), 2)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    out["errors"] = (sum(map(int, socket.groups())) if socket else 0) + (int(non_2xx.group(1)) if non_2xx else 0)
    return out


def run_wrk(url: str, seconds: int, connections: int, script: Path | None = None, threads: int = 2) -> dict:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: `make system-packages` (Debian package wrk)")
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    command += (["-s", str(script)] if script else []) + [url]
    return parse_wrk(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def run(endpoint: str = "recommend", seconds: int = 30, connections: int = 32, workspace: Path | None = None,
        quick: bool = False) -> BenchResult:
    from shoplens.recommend.workspace_models import published_version

    if endpoint not in ("recommend", "search"):
        raise ValueError("endpoint must be recommend or search")
    if quick:
        seconds = 5
    scratch = Path(tempfile.mkdtemp(prefix="shoplens-bench-service-"))
    try:
        with Stopwatch() as total:
            if workspace is None:
                workspace = build_workspace(scratch / "ws", n_users=300 if quick else 2000, n_items=100 if quick else 500)
            with Workspace.open(workspace) as ws:
                if published_version(ws, "sasrec") is None:
                    raise ValueError(f"{workspace} has no fitted sasrec recommender")
                con = ws.connect()
                values = [r[0] for r in con.execute(
                    "SELECT DISTINCT user_id FROM events WHERE item_id IS NOT NULL ORDER BY 1 LIMIT 1000").fetchall()] \
                    if endpoint == "recommend" else [r[0] for r in con.execute(
                        "SELECT DISTINCT query FROM events WHERE query IS NOT NULL AND trim(query) <> '' "
                        "ORDER BY 1 LIMIT 1000").fetchall()]
            script = lua_script(scratch / f"{endpoint}.lua", endpoint, values)
            with ServerProcess(workspace) as server:
                base = server.url
                for value in values[:20]:  # load the model / index and warm the caches
                    params = {"user": value} if endpoint == "recommend" else {"q": value}
                    reply = httpx.get(f"{base}/{endpoint}", params=params, timeout=120)
                    if reply.status_code != 200:
                        raise RuntimeError(f"warm-up request failed: {reply.status_code} {reply.text[:300]}")
                ceiling = run_wrk(f"{base}/healthz", min(seconds, 10), connections)
                measured = run_wrk(base, seconds, connections, script)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    metrics = {**measured, "distinct_" + ("users" if endpoint == "recommend" else "queries"): len(values)}
    if endpoint in TARGET:
        goal = TARGET[endpoint]
        metrics["meets_target"] = (measured["requests_per_s"] >= goal["requests_per_s"]
                                   and measured["p99_ms"] <= goal["p99_ms"] and measured["errors"] == 0)
    return BenchResult(
        suite=f"service-{endpoint}", dataset="simulator shop (2,000 users, 500 items)" if not quick else "quick shop",
        protocol=f"wrk -t2 -c{connections} -d{seconds}s on loopback, GET /{endpoint} with a random "
                 f"{'stored user' if endpoint == 'recommend' else 'past query'} per request; one server process",
        metrics=metrics, baselines={"/healthz (framework ceiling)": ceiling, **({"target": TARGET[endpoint]}
                                                                              if endpoint in TARGET else {})},
        seconds=total.seconds,
        rows=[{"endpoint": f"/{endpoint}", **measured}, {"endpoint": "/healthz", **ceiling}])

