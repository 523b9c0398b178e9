"""The REST service against a real workspace: a small synthetic marketplace and a quickly fitted SASRec."""

import json
import re
import time

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from servers import build_shop
from shoplens.search.workspace import build_suggestions
from shoplens.serve import create_app, create_key, list_keys, revoke_key
from shoplens.workspace import Workspace

MAX_BODY = 20_000


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(workspace path, a valid API key, a revoked one)."""
    path = tmp_path_factory.mktemp("serve") / "ws"
    key = build_shop(path)
    with Workspace.open(path) as ws:
        build_suggestions(ws, encoder=None)
        revoked = create_key(ws, "old")
        assert revoke_key(ws, revoked.split("_")[1])
        assert [k["name"] for k in list_keys(ws)] == ["test", "old"]
    return path, key, revoked


@pytest.fixture(scope="module")
def client(served):
    with TestClient(create_app(served[0], max_body_bytes=MAX_BODY)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def key(served):
    return {"X-API-Key": served[1]}


def events_table(client) -> pd.DataFrame:
    service = client.app.state.service
    with service.db_lock:
        return service.ws.table("events")


def a_user(client) -> str:
    return str(events_table(client)["user_id"].iloc[0])


def test_healthz(client):
    assert client.get("/healthz").json()["status"] == "ok"


def test_recommend_for_a_stored_user_and_a_raw_history(client):
    user = a_user(client)
    reply = client.get("/recommend", params={"user": user, "k": 5, "explain": True})
    assert reply.status_code == 200, reply.text
    recommendations = reply.json()["recommendations"]
    assert len(recommendations) == 5 and {"item_id", "score", "because"} <= set(recommendations[0])
    history = events_table(client)["item_id"].dropna().astype(str).unique()[:3].tolist()
    reply = client.post("/recommend", json={"history": history, "k": 4})
    assert reply.status_code == 200 and len(reply.json()["recommendations"]) == 4
    typed = client.post("/recommend", json={"history": history + ["no-such-item"], "k": 4,
                                            "event_types": ["view", "cart", "purchase", "view"]})
    assert typed.status_code == 200 and typed.json()["recommendations"] == reply.json()["recommendations"]  # SASRec
    mismatched = client.post("/recommend", json={"history": history, "event_types": ["view"]})
    assert mismatched.status_code == 422 and "event_types has 1 entries for 3" in mismatched.text
    similar = client.get("/similar-items", params={"item": history[0], "k": 3}).json()["similar"]
    assert len(similar) == 3 and history[0] not in [row["item_id"] for row in similar]


def test_posted_events_change_recommendations_without_retraining(client, key):
    events = events_table(client)
    user = a_user(client)
    first = client.get("/recommend", params={"user": user, "k": 10}).json()
    before = [r["item_id"] for r in first["recommendations"]]
    service, answer_key = client.app.state.service, ("sasrec", first["version"], 10, False, False, True)
    assert service.cached_user_answer(user, answer_key) is not None  # kept for the next request
    later = pd.to_datetime(events["ts"]).max() + pd.Timedelta(hours=1)
    new_items = [item for item in events["item_id"].dropna().astype(str).unique() if item not in before][-5:]
    batch = [{"user_id": user, "item_id": item, "event": "view", "event_id": f"change-{n}",
              "ts": (later + pd.Timedelta(minutes=n)).isoformat()} for n, item in enumerate(new_items)]
    reply = client.post("/events", json=batch, headers=key)
    assert reply.status_code == 200, reply.text
    assert reply.json()["inserted"] == len(batch)
    assert service.cached_user_answer(user, answer_key) is None  # dropped with the user's history
    after = [r["item_id"] for r in client.get("/recommend", params={"user": user, "k": 10}).json()["recommendations"]]
    assert after != before
    assert not set(new_items) & set(after)  # the newly seen items are now excluded as seen


def test_an_event_moved_to_another_user_leaves_the_cached_history(client, key):
    service = client.app.state.service
    events = events_table(client)
    users = events["user_id"].astype(str).unique()[:2]
    seen = set(events.loc[events["user_id"].astype(str) == users[0], "item_id"].dropna().astype(str))
    item = next(i for i in events["item_id"].dropna().astype(str).unique() if i not in seen)
    later = (pd.to_datetime(events["ts"]).max() + pd.Timedelta(hours=2)).isoformat()
    event = {"user_id": users[0], "item_id": item, "event": "view", "ts": later, "event_id": "moved-1"}
    assert client.post("/events", json=event, headers=key).status_code == 200
    assert service.user_history(users[0])[0][-1] == item  # now cached, with the event
    assert client.post("/events", json={**event, "user_id": users[1]}, headers=key).json()["replaced"] == 1
    assert item not in service.user_history(users[0])[0] and service.user_history(users[1])[0][-1] == item


def test_resending_an_event_id_stores_it_once(client, key):
    event = {"user_id": "new-user", "item_id": None, "event": "search", "query": "茶杯",
             "ts": "2025-03-01T10:00:00", "event_id": "once-1"}
    for _ in range(3):
        assert client.post("/events", json=event, headers=key).status_code == 200
    event["query"] = "茶壶"  # same id, changed content: replaces, still one row
    assert client.post("/events", json=event, headers=key).json()["replaced"] == 1
    stored = events_table(client).query("event_id == 'once-1'")
    assert len(stored) == 1 and stored["query"].iloc[0] == "茶壶"


@pytest.mark.parametrize("body, expected", [
    ('{"user_id": "u1", "event": ', "JSON decode error"),
    ('{"user_id": "u1", "event": "view", "ts": "not a time"}', "'ts'"),
    ('{"user_id": "u1", "event": "view"}', "ts"),
    ('{"user_id": "u1", "event": "view", "ts": "2025-01-01", "value": "lots"}', "'value'"),
    ('{"user_id": "u1", "event": "view", "ts": "2025-01-01", "colour": "red"}', "colour"),
    ('{"user_id": "u1", "event": "view", "ts": -1e30}', "not a plausible epoch time"),
    ('{"user_id": {"nested": 1}, "event": "view", "ts": "2025-01-01"}', "user_id"),
    ("[]", "between 1 and"),
])
def test_bad_events_are_422_with_the_reason(client, key, body, expected):
    count = len(events_table(client))
    reply = client.post("/events", content=body, headers={**key, "Content-Type": "application/json"})
    assert reply.status_code == 422, reply.text
    assert expected in json.dumps(reply.json(), ensure_ascii=False)
    assert len(events_table(client)) == count


def test_keys_are_required_for_writes(client, served):
    event = {"user_id": "u1", "event": "view", "ts": "2025-01-01"}
    missing = client.post("/events", json=event)
    assert missing.status_code == 401 and "missing API key" in missing.json()["detail"]
    for wrong in ("nonsense", served[1] + "x", served[2]):
        reply = client.post("/events", json=event, headers={"X-API-Key": wrong})
        assert reply.status_code == 401 and "invalid" in reply.json()["detail"]
    assert client.post("/admin/reload").status_code == 401


@pytest.mark.parametrize("path, params, status, expected", [
    ("/recommend", {"user": "nobody", "fallback": "false"}, 404, "user 'nobody' has no events"),
    ("/recommend", {"user": "x", "model": "../../etc"}, 422, "pattern"),
    ("/recommend", {"user": "x", "model": "missing_model"}, 404, "missing_model"),
    ("/recommend", {"user": "x", "k": "ten"}, 422, "integer"),
    ("/similar-items", {"item": "no-such-item"}, 404, "no-such-item"),
    ("/profile/nobody", {}, 404, "nobody"),
    ("/search", {"q": "杯", "filter": "price=abc"}, 422, ""),
])
def test_bad_reads_are_4xx_with_the_reason(client, path, params, status, expected):
    reply = client.get(path, params=params)
    assert reply.status_code == status, reply.text
    assert expected in json.dumps(reply.json(), ensure_ascii=False)


def test_unknown_history_is_404_without_the_fallback(client):
    reply = client.post("/recommend", json={"history": ["no-such-item"], "fallback": False})
    assert reply.status_code == 404 and "none of the 1 history items" in reply.json()["detail"]


def popular_items(client, model: str = "sasrec") -> list[str]:
    """The fallback's ranking recomputed from the events table: most events first (ties by item id), among the
    items the model knows."""
    known = client.app.state.service.recommender(model).items
    counts = events_table(client).dropna(subset=["item_id"]).groupby("item_id").size().reset_index(name="n")
    counts = counts[[item in known for item in counts["item_id"]]]
    return counts.sort_values(["n", "item_id"], ascending=[False, True])["item_id"].astype(str).tolist()


def test_a_user_without_events_gets_the_named_popular_fallback(client):
    reply = client.get("/recommend", params={"user": "cold-visitor", "k": 5, "explain": True})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["source"] == "popular (fallback: user 'cold-visitor' has no events)"
    assert [row["item_id"] for row in body["recommendations"]] == popular_items(client)[:5]
    assert not any("because" in row for row in body["recommendations"])  # nothing personal to explain
    posted = client.post("/recommend", json={"history": ["no-such-item"], "k": 3})
    assert posted.status_code == 200
    assert posted.json()["source"] == "popular (fallback: no item of the history is known)"
    assert [row["item_id"] for row in posted.json()["recommendations"]] == popular_items(client)[:3]
    known = client.get("/recommend", params={"user": a_user(client), "k": 5}).json()
    assert known["source"] == "sasrec"


def test_a_cold_users_first_events_replace_the_fallback_at_once(client, key):
    user, service = "cold-then-warm", client.app.state.service
    cold = client.get("/recommend", params={"user": user, "k": 5}).json()
    assert cold["source"].startswith("popular (fallback")
    assert client.get("/recommend", params={"user": user, "k": 5}).json() == cold  # the same while no event arrives
    item = popular_items(client)[0]
    event = {"user_id": user, "item_id": item, "event": "view", "ts": "2025-06-01T10:00:00", "event_id": "warm-1"}
    assert client.post("/events", json=event, headers=key).status_code == 200
    warm = client.get("/recommend", params={"user": user, "k": 5}).json()
    assert warm["source"] == "sasrec" and item not in [row["item_id"] for row in warm["recommendations"]]
    assert service.cached_user_answer(user, ("sasrec", warm["version"], 5, False, False, True)) is not None


def test_include_seen_allows_buying_again_and_is_cached_apart(client):
    events, service = events_table(client), client.app.state.service
    distinct = events.dropna(subset=["item_id"]).groupby("user_id")["item_id"].nunique()
    user = str(distinct.idxmax())
    seen = set(events.loc[events["user_id"].astype(str) == user, "item_id"].dropna().astype(str))
    n_items = len(service.recommender("sasrec").items)
    k = n_items - len(seen) + 1  # more than the unseen items: with seen items allowed, one of them must appear
    assert len(seen) > 1 and k <= 500
    fresh = client.get("/recommend", params={"user": user, "k": k}).json()
    again = client.get("/recommend", params={"user": user, "k": k, "include_seen": True}).json()
    assert not seen & {row["item_id"] for row in fresh["recommendations"]}
    assert seen & {row["item_id"] for row in again["recommendations"]}
    for include_seen, reply in ((False, fresh), (True, again)):
        cached = service.cached_user_answer(user, ("sasrec", reply["version"], k, False, include_seen, True))
        assert {"user": user, **cached} == reply
    # after both were cached, the default still gets its own answer, not the include_seen one
    assert client.get("/recommend", params={"user": user, "k": k}).json() == fresh
    for include_seen in (False, True):  # a raw history: the same rule for its own items
        posted = client.post("/recommend", json={"history": sorted(seen), "k": k, "include_seen": include_seen})
        assert bool(seen & {row["item_id"] for row in posted.json()["recommendations"]}) == include_seen


def test_oversize_bodies_are_413(client, key):
    big = [{"user_id": "u", "event": "view", "ts": "2025-01-01"}] * 1000
    reply = client.post("/events", json=big, headers=key)
    assert reply.status_code == 413 and "limit" in reply.json()["detail"]

    def chunks():  # no Content-Length: the limit still holds
        for _ in range(100):
            yield b" " * 1000

    assert client.post("/events", content=chunks(), headers=key).status_code == 413


def test_search_suggest_profile_and_churn(client):
    found = client.get("/search", params={"q": "杯子", "k": 3, "user": a_user(client)})
    assert found.status_code == 200 and len(found.json()["items"]) <= 3
    assert client.get("/suggest", params={"prefix": ""}).status_code == 200
    profile = client.get(f"/profile/{a_user(client)}")
    assert profile.status_code == 200, profile.text
    churn = client.get("/churn", params={"budget": 5, "horizon": 20})
    assert client.get("/churn", params={"budget": 5, "horizon_days": 20}).json() == churn.json()  # the old name
    assert churn.status_code == 200, churn.text
    assert len(churn.json()["at_risk"]) <= 5


def test_reload_swaps_models(client, key):
    client.get("/recommend", params={"user": a_user(client)})
    old = client.app.state.service.recommender("sasrec")
    reply = client.post("/admin/reload", headers=key)
    assert reply.status_code == 200 and "sasrec" in reply.json()["recommenders"]
    assert client.app.state.service.recommender("sasrec") is not old


def test_users_history_and_items(client):
    users = client.get("/users", params={"limit": 3}).json()["users"]
    assert len(users) == 3 and users[0]["events"] >= users[1]["events"] >= users[2]["events"]
    history = client.get(f"/history/{users[0]['user_id']}", params={"limit": 5}).json()["events"]
    assert len(history) == 5 and history[0]["ts"] >= history[-1]["ts"]
    item = next(e["item_id"] for e in history if e["item_id"])
    found = client.get("/items", params={"id": [item, "no-such-item"]}).json()
    assert [row["item_id"] for row in found["items"]] == [item] and found["unknown"] == ["no-such-item"]
    assert found["items"][0]["title"]


def test_reviews_analyze_stored_and_posted(client):
    reviews = client.app.state.service.ws.table("reviews")
    item = reviews["item_id"].value_counts().index[0]
    summary = client.get("/reviews/analyze", params={"item": item, "top": 3})
    assert summary.status_code == 200, summary.text
    body = summary.json()
    assert body["n_reviews"] == int((reviews["item_id"] == item).sum()) and len(body["top_positive"]) <= 3
    assert client.get("/reviews/analyze", params={"item": "no-such-item"}).status_code == 404
    posted = client.post("/reviews/analyze", json={"reviews": [
        {"text": "电池很耐用，屏幕清晰", "rating": 5}, {"text": "电池不行，充电太慢", "rating": 1},
        {"text": "The battery lasts long but the screen scratches easily", "rating": 3}]})
    assert posted.status_code == 200, posted.text
    assert posted.json()["n_reviews"] == 3


def test_categorize_titles_with_the_workspace_catalogue(client):
    items = client.app.state.service.ws.table("items")
    known = items.dropna(subset=["category"]).head(5)
    reply = client.post("/categorize", json={"items": [{"title": t} for t in known["title"]]})
    assert reply.status_code == 200, reply.text
    predictions = reply.json()["predictions"]
    assert len(predictions) == 5 and all(0 <= p["confidence"] <= 1 for p in predictions)
    # one item per leaf in this shop: too thin to learn leaves, so the route says so and predicts level 1
    assert reply.json()["model"] == "TF-IDF + LinearSVC, level 1 only (fallback)"
    assert "predicting only to level 1" in reply.json()["warnings"][0]
    assert {p["category"] for p in predictions} <= set(items["category"].dropna().str.split(" > ").str[0])
    assert client.post("/categorize", json={"items": []}).status_code == 422


def test_forecast_one_series_with_history(client):
    reply = client.get("/forecast", params={"level": "category", "horizon": 7})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert len(body["forecast"]) == 7 and body["history"]
    assert body["series"] == body["series_by_volume"][0]
    assert all(row["yhat_lo80"] <= row["yhat"] <= row["yhat_hi80"] for row in body["forecast"])
    other = body["series_by_volume"][-1]
    assert client.get("/forecast", params={"level": "category", "horizon": 7, "series": other}).json()["series"] == other
    assert client.get("/forecast", params={"series": "no-such-series", "horizon": 7}).status_code == 404
    assert client.get("/forecast", params={"level": "../x"}).status_code == 422


def test_admin_fit_publishes_a_new_version_that_is_served(client, key):
    service = client.app.state.service
    old = client.get("/recommend", params={"user": a_user(client)}).json()["version"]
    job = client.post("/admin/fit", json={"model": "popularity", "name": "pop"}, headers=key)
    assert job.status_code == 202, job.text
    for _ in range(600):
        status = client.get(f"/admin/jobs/{job.json()['job']}", headers=key).json()
        if status["status"] != "running":
            break
        time.sleep(0.05)
    assert status["status"] == "done", status
    reply = client.get("/recommend", params={"user": a_user(client), "model": "pop"}).json()
    assert reply["version"] == status["version"] and reply["version"] != old
    assert client.post("/admin/fit", json={"model": "nonsense"}, headers=key).status_code == 422
    assert client.post("/admin/fit", json={"model": "als", "max_epochs": 3}, headers=key).status_code == 422
    assert "pop" in service.reload()["recommenders"]


def local_references(html: str) -> list[str]:
    """Every URL a page loads (src, href, and the url: given to Swagger UI)."""
    return re.findall(r'(?:src|href)="([^"]+)"|url: \'([^\']+)\'', html)


@pytest.mark.parametrize("page", ["/docs", "/"])
def test_docs_and_dashboard_load_nothing_from_outside_the_app(client, page):
    html = client.get(page)
    assert html.status_code == 200
    urls = [a or b for a, b in local_references(html.text)]
    assert urls and not re.search(r"https?://|//cdn|fonts\.googleapis", html.text), html.text
    for url in urls:
        assert url.startswith("/"), url
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 100, url
    if page == "/docs":  # Swagger UI 5 (which reads OpenAPI 3.1, what FastAPI writes), not a stub
        bundle = client.get(next(u for u in urls if u.endswith("swagger-ui-bundle.js"))).text
        assert len(bundle) > 500_000 and "SwaggerUIBundle" in bundle
        assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
        assert client.get("/redoc").status_code == 404  # ReDoc would fetch its logo from its CDN: not served


def test_dashboard_page_and_assets_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "dashboard.js" in page.text
    assert client.get("/static/dashboard.js").status_code == 200
    assert client.get("/static/../app.py").status_code == 404


def test_metrics_expose_latency_histograms_per_route(client):
    client.get("/recommend", params={"user": a_user(client)})
    client.get(f"/profile/{a_user(client)}")
    text = client.get("/metrics").text
    assert 'shoplens_request_duration_seconds_bucket{le="0.005",method="GET",route="/recommend"}' in text
    assert 'route="/profile/{user}"' in text


def test_reads_can_require_a_key(served):
    with TestClient(create_app(served[0], read_key_required=True, cors_origins=["https://shop.example"])) as strict:
        assert strict.get("/recommend", params={"user": "x"}).status_code == 401
        reply = strict.get("/healthz", headers={"Origin": "https://shop.example"})
        assert reply.headers["access-control-allow-origin"] == "https://shop.example"
