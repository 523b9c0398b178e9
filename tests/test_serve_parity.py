"""The REST API answers what the CLI answers: every `shoplens` command that reads a workspace has a route, and on
one shop the routes for ctr, target, price, inventory, segments, info and recommend (cold users, buy-again) give
the numbers that the command prints with --json. And /docs renders in a browser that can reach nothing but the
server."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient

from shoplens.ads.jobs import fit_ctr
from shoplens.datasets.synthetic import marketplace
from shoplens.recommend.workspace_models import fit_workspace_model
from shoplens.serve import create_app
from shoplens.serve.app import served_routes
from shoplens.workspace import Workspace

CTR_MODEL, RECOMMENDER = "lr", "itemknn"  # the quickest of each kind: this file checks plumbing, not models

# `shoplens` command -> the routes that serve the same capability (docs/cli.md's grammar: NOUN VERB)
ROUTES = {
    "info": ["GET /info"], "ingest": ["POST /events"], "rec fit": ["POST /admin/fit"],
    "rec user": ["GET /recommend", "POST /recommend"], "rec similar": ["GET /similar-items"],
    "search query": ["GET /search"], "search suggest": ["GET /suggest", "GET /similar-queries"],
    "reviews analyze": ["GET /reviews/analyze", "POST /reviews/analyze"], "catalog categorize": ["POST /categorize"],
    "customers profile": ["GET /profile/{user}"], "customers churn": ["GET /churn"], "customers segments": ["GET /segments"],
    "demand forecast": ["GET /forecast"], "demand price": ["GET /price"], "demand inventory": ["GET /inventory"],
    "ads ctr": ["GET /ctr"], "ads target": ["GET /target"],
    "generate titles": ["POST /generate/titles"], "generate summaries": ["POST /generate/summaries"],
    "generate replies": ["POST /generate/replies"], "generate review-draft": ["POST /generate/review-draft"],
    "generate narrative": ["GET /generate/narrative"],
}
# commands with no route, and why
CLI_ONLY = {
    "init": "creates the workspace a server then serves",
    "demo": "builds a simulator workspace of its own",
    "rec evaluate": "fits every candidate model: minutes of CPU, an offline job",
    "ads fit": "trains a CTR model from the ad log: an offline training job",
    "search index": "builds the search index and suggestions; a running server loads each new published version",
    "search tune": "fine-tunes an encoder on judged queries: an offline training job",
    "search train-reranker": "trains a cross-encoder from a judgement file: an offline training job",
    "serve": "starts the server itself",
    "keys": "creates and revokes the keys the server checks: done where the workspace is, not with a key",
    "datasets": "lists files on the machine running the command",
    "bench": "benchmarks on public datasets",
    "models": "fetches and serves LLM weights on the machine running the command",
}
DOMAINS = ("rec", "search", "reviews", "catalog", "customers", "demand", "ads", "generate")  # counted by verb; other groups once


def cli_commands() -> set[str]:
    """The commands of the `shoplens` command line, `NOUN VERB` for the domain groups, hidden aliases left out."""
    from shoplens.cli import app

    group = typer.main.get_command(app)
    return {f"{name} {verb}" if name in DOMAINS else name
            for name, command in group.commands.items() if not command.hidden
            for verb in (command.commands if name in DOMAINS else [None])
            if name not in DOMAINS or not command.commands[verb].hidden}


def test_every_cli_command_has_a_route_or_a_reason(tmp_path):
    Workspace.init(tmp_path / "ws").close()
    app = create_app(tmp_path / "ws")
    app.state.service.ws.close()
    served = {f"{method} {path}" for path, route in served_routes(app) for method in getattr(route, "methods", ())}
    commands = cli_commands()
    unaccounted = commands - set(ROUTES) - set(CLI_ONLY)
    assert not unaccounted, f"new CLI commands {sorted(unaccounted)}: add their routes, or say in CLI_ONLY why not"
    assert not set(ROUTES) & set(CLI_ONLY)
    missing = {command: [r for r in routes if r not in served] for command, routes in ROUTES.items()}
    assert not any(missing.values()), {c: r for c, r in missing.items() if r}
    assert set(ROUTES) | set(CLI_ONLY) == commands, "a command listed here no longer exists"


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A workspace with every table (ad impressions too), a CTR model and a recommender; and facts about it."""
    path = tmp_path_factory.mktemp("parity") / "ws"
    market = marketplace(n_users=120, n_items=40, days=180, seed=0)
    with Workspace.init(path) as ws:
        for table, frame in market.tables.items():
            if len(frame):
                ws.ingest(frame, table)
        fit_ctr(ws, CTR_MODEL, verbose=False)
        fit_workspace_model(ws, RECOMMENDER)
        events, sales, items = ws.table("events"), ws.table("sales"), ws.table("items")
    buyer = events.dropna(subset=["item_id"]).groupby("user_id")["item_id"].nunique().idxmax()
    return {"path": path, "user": str(buyer), "item": str(sales["item_id"].value_counts().index[0]),
            "category": str(items["category"].dropna().iloc[0]).split(" > ")[0]}  # a top level: a prefix


def shoplens_json(*args) -> object:
    """`shoplens ARGS --json` in a subprocess: its stdout as JSON (exit 0 asserted)."""
    done = subprocess.run([sys.executable, "-m", "shoplens", *map(str, args), "--json"], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def cli(shop):
    """What each command prints, run before the server opens the workspace (it holds the DuckDB file)."""
    ws, user, item = shop["path"], shop["user"], shop["item"]
    return {
        "ctr": shoplens_json("ctr", ws, "--user", user, "--item", item, "--model", CTR_MODEL),
        "target": shoplens_json("target", ws, "--category", shop["category"], "--budget", 30, "--frequency-cap", 2,
                                "--model", CTR_MODEL),
        "price": shoplens_json("price", ws, "--item", item, "--objective", "revenue", "--stock", 50),
        "inventory": shoplens_json("inventory", ws, "--no-calibrate", "--lead-time", 5, "--review-period", 3),
        "segments": shoplens_json("segments", ws, "--clusters", 3),
        "info": shoplens_json("info", ws),
        "cold": shoplens_json("recommend", ws, "--user", "never-seen", "-k", 5, "--model", RECOMMENDER),
        "again": shoplens_json("recommend", ws, "--user", user, "-k", 15, "--include-seen", "--model", RECOMMENDER),
    }


@pytest.fixture(scope="module")
def client(shop, cli):
    with TestClient(create_app(shop["path"])) as test_client:
        yield test_client


def get(client, path: str, **params) -> dict:
    reply = client.get(path, params=params)
    assert reply.status_code == 200, reply.text[:2000]
    return reply.json()


def close(a, b) -> bool:
    """Equal JSON values, floats to 1e-9 relative (the same computation in two processes)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    return a == b


def test_ctr_is_the_clis(client, shop, cli):
    answer = get(client, "/ctr", user=shop["user"], item=shop["item"], model=CTR_MODEL)
    assert close(answer, cli["ctr"]) and 0 < answer["ctr"] < 1


def test_target_is_the_clis(client, shop, cli):
    answer = get(client, "/target", category=shop["category"], budget=30, frequency_cap=2, model=CTR_MODEL)
    chosen = cli["target"]["impressions"]
    assert close(answer, cli["target"]) and answer["impressions_chosen"] == len(chosen) == 30
    assert answer["users"] == len({row["user_id"] for row in chosen})
    assert abs(answer["expected_clicks"] - sum(row["expected_clicks"] for row in chosen)) < 1e-9
    by_items = get(client, "/target", item=[chosen[0]["item_id"]], budget=5, model=CTR_MODEL)
    assert {row["item_id"] for row in by_items["impressions"]} == {chosen[0]["item_id"]}


def test_price_is_the_clis(client, shop, cli):
    answer = get(client, "/price", item=shop["item"], objective="revenue", stock=50)
    assert close(answer, cli["price"]) and answer["plan_expected_units"] <= 50 + 1e-9


def test_inventory_is_the_clis(client, cli):
    answer = get(client, "/inventory", calibrate=False, lead_time=5, review_period=3)
    assert close(answer["reorder"], cli["inventory"]["reorder"]) and answer["series"] == len(answer["reorder"])
    assert answer["safety"] == cli["inventory"]["safety"] and answer["notes"] == cli["inventory"]["notes"]
    assert answer["warnings"] == cli["inventory"]["warnings"] and close(answer["fallbacks"], cli["inventory"]["fallbacks"])
    assert get(client, "/inventory", calibrate=False, lead_time=5, review_period=3, top=2)["reorder"] == \
        answer["reorder"][:2]


def test_segments_and_info_are_the_clis(client, cli):
    answer = get(client, "/segments", clusters=3)
    assert answer.keys() == cli["segments"].keys() == {"rfm", "clusters"}
    for table, rows in answer.items():  # every column the CLI writes, with its values; maybe more (below)
        assert close([{k: row[k] for k in cli_row} for row, cli_row in zip(rows, cli["segments"][table])],
                     cli["segments"][table]) and len(rows) == len(cli["segments"][table])
    # the segment names (the table's index): `shoplens segments --json` leaves them out today
    assert {row["segment"] for row in answer["rfm"]} >= {"champions"}
    assert get(client, "/info") == cli["info"]


def test_recommend_cold_users_and_buy_again_are_the_clis(client, shop, cli):
    cold = get(client, "/recommend", user="never-seen", k=5, model=RECOMMENDER)
    assert [row["item_id"] for row in cold["recommendations"]] == [row["item_id"] for row in cli["cold"]]
    assert {cold["source"]} == {row["source"] for row in cli["cold"]}
    assert cold["source"] == "popular (fallback: user 'never-seen' has no events)"
    again = get(client, "/recommend", user=shop["user"], k=15, include_seen=True, model=RECOMMENDER)
    assert [row["item_id"] for row in again["recommendations"]] == [row["item_id"] for row in cli["again"]]
    assert {again["source"]} == {row["source"] for row in cli["again"]} == {RECOMMENDER}


@pytest.mark.parametrize("path, params, status, phrase", [
    ("/ctr", {"user": "u1", "item": "i1", "model": "../x"}, 422, "should match pattern"),
    ("/ctr", {"user": "u1", "item": "i1", "model": "nothing_saved"}, 404, "no CTR model 'nothing_saved'"),
    ("/ctr", {"user": "", "item": "i1"}, 422, "at least 1 character"),
    ("/target", {}, 422, "give category or item"),
    ("/target", {"category": "x", "item": "i1"}, 422, "give category or item"),
    ("/target", {"category": "no such category", "model": CTR_MODEL}, 422, "no items in category"),
    ("/target", {"item": "i1", "budget": "0"}, 422, "greater than or equal to 1"),
    ("/target", {"item": "i1", "budget": "100001"}, 422, "less than or equal to 100000"),
    ("/price", {"item": "no-such-item"}, 404, "has no sales rows"),
    ("/price", {"item": "i1", "objective": "volume"}, 422, "'profit' or 'revenue'"),
    ("/price", {"item": "i1", "unit_cost": "inf"}, 422, "finite number"),
    ("/price", {"item": "i1", "stock": "-1"}, 422, "greater than or equal to 0"),
    ("/inventory", {"service_level": "1"}, 422, "less than 1"),
    ("/inventory", {"service_level": "nan"}, 422, "finite number"),
    ("/inventory", {"lead_time": "300", "review_period": "100"}, 422, "at most 365 days, got 400"),
    ("/inventory", {"lead_time": "0"}, 422, "greater than or equal to 1"),
    ("/segments", {"clusters": "0"}, 422, "greater than or equal to 1"),
    ("/recommend", {"user": "never-seen", "fallback": "false", "model": RECOMMENDER}, 404, "has no events"),
])
def test_bad_parameters_are_4xx_with_the_reason(client, path, params, status, phrase):
    reply = client.get(path, params=params)
    assert reply.status_code == status, reply.text[:1000]
    assert phrase in json.dumps(reply.json(), ensure_ascii=False), reply.text[:1000]


def test_docs_render_in_a_browser_that_reaches_only_the_server(tmp_path):
    """Swagger UI draws every operation with nothing but the server: any other request is blocked and fails the
    test (FastAPI's default page loads its JavaScript from a CDN and is blank offline)."""
    from playwright.sync_api import expect, sync_playwright

    from test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS
    from shoplens.serve.process import ServerProcess

    Workspace.init(tmp_path / "ws").close()
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: `make test` installs Debian's chromium"
    with ServerProcess(tmp_path / "ws") as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page, outside = browser.new_page(), []

        def only_the_server(route):
            if route.request.url.startswith(server.url + "/"):
                return route.continue_()
            outside.append(route.request.url)
            return route.abort()

        page.route("**/*", only_the_server)
        page.goto(server.url + "/docs", timeout=60_000)
        expect(page.locator("#operations-ads-target_target_get")).to_be_visible(timeout=60_000)
        schema = page.evaluate("fetch('/openapi.json').then(reply => reply.json())")
        drawn = page.locator(".opblock-summary-path").all_inner_texts()
        browser.close()
    assert not outside, outside
    operations = [path for path, methods in schema["paths"].items() for _ in methods]
    assert sorted(text.replace("\u200b", "") for text in drawn) == sorted(operations)  # one block per operation
    assert {"/ctr", "/target", "/price", "/inventory", "/segments"} <= set(operations)
