"""Hostile input to every API surface, by hand: what schemathesis cannot send (NaN, Infinity, 1e999, lone
surrogates, bodies that are not UTF-8, nesting 100,000 deep) and the classic attacks (path traversal in names,
huge numbers, oversized bodies, wrong types). Each case must get a 4xx whose body says why, and leave the
workspace as it was: the same rows in every table, the same ingest log, the same artifact files, no job."""

import json

import pytest
from fastapi.testclient import TestClient

from servers import build_shop
from shoplens.data.ingest import LOG_TABLE
from shoplens.serve import create_app

MAX_BODY = 300_000  # the 100,000-deep body (200 kB) must reach the parser; an oversized one must not


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile") / "ws"
    key = build_shop(path, n_users=120, n_items=40)
    with TestClient(create_app(path, max_body_bytes=MAX_BODY), raise_server_exceptions=False) as test_client:
        test_client.key = key
        yield test_client


def state(client) -> dict:
    """What a request could have written: row counts of every table and of the ingest log, the artifact
    files (with sizes and modification times), the fit jobs."""
    service = client.app.state.service
    with service.db_lock:
        counts = {**service.ws.counts(), LOG_TABLE: service.ws.connect().execute(
            f"SELECT count(*) FROM {LOG_TABLE}").fetchone()[0]}
    files = sorted((str(f.relative_to(service.ws.artifacts)), f.stat().st_size, f.stat().st_mtime_ns)
                   for f in service.ws.artifacts.rglob("*"))
    return {"counts": counts, "files": files, "jobs": dict(service.fits.jobs)}


def event(**fields) -> str:
    return json.dumps({"user_id": "u-hostile", "event": "view", "ts": "2025-03-01T12:00:00", **fields})


DEEP = "[" * 100_000 + "]" * 100_000
DEEP_OBJECTS = '{"user_id":' * 5_000 + '"u"' + "}" * 5_000
HUGE_INT = "9" * 5_000

# (method, path, body or params, expected status, a phrase the reply must contain)
POSTS = [
    # /recommend: a raw history
    ("/recommend", '{"history": ["i00001"], "k": 1e999}', 422, "1e999 is too large for a 64-bit float"),
    ("/recommend", '{"history": ["i00001"], "k": NaN}', 422, "NaN is not a JSON number"),
    ("/recommend", '{"history": ["i00001"], "k": Infinity}', 422, "Infinity is not a JSON number"),
    ("/recommend", '{"history": ["i00001"], "k": -Infinity}', 422, "-Infinity is not a JSON number"),
    ("/recommend", '{"history": ["i00001"], "k": -1}', 422, "greater than or equal to 1"),
    ("/recommend", '{"history": ["i00001"], "k": 0}', 422, "greater than or equal to 1"),
    ("/recommend", '{"history": ["i00001"], "k": 100000000000000000000000000000}', 422,
     "does not fit in a 64-bit integer"),
    ("/recommend", '{"history": ["i00001"], "k": ' + HUGE_INT + "}", 422, "does not fit in a 64-bit integer"),
    ("/recommend", '{"history": ["i00001"], "k": 1.5}', 422, "fractional part"),
    ("/recommend", '{"history": ["i00001"], "k": "ten"}', 422, "valid integer"),
    ("/recommend", '{"history": ["\\ud800"]}', 422, "lone UTF-16 surrogate"),
    ("/recommend", '{"history": ["i00001", "\\udfff\\ud800"]}', 422, "lone UTF-16 surrogate"),
    ("/recommend", '{"history": ["\\ud83d\\ude00"], "fallback": false}', 404, "none of the 1 history"),  # a valid pair
    ("/recommend", '{"history": []}', 422, "at least 1 item"),
    ("/recommend", '{"history": "i00001"}', 422, "valid list"),
    ("/recommend", json.dumps({"history": ["i00001"] * 10_001}), 422, "at most 10000 items"),
    ("/recommend", '{"history": ["i00001"], "model": "../../etc/passwd"}', 422, "should match pattern"),
    ("/recommend", '{"history": ["i00001"], "model": "' + "m" * 65 + '"}', 422, "should match pattern"),
    ("/recommend", '{"history": ["i00001"], "model": "no_such_model"}', 404, "no recommender 'no_such_model'"),
    ("/recommend", '{"history": ["i00001"], "event_types": ["view", "view"]}', 422, "event_types has 2 entries"),
    ("/recommend", '{"history": ["i00001"], "explain": "maybe"}', 422, "valid boolean"),
    ("/recommend", "[1, 2]", 422, "valid dictionary"),
    ("/recommend", DEEP, 422, "JSON nested too deeply"),
    ("/recommend", '{"history": ["i00001"], ', 422, "JSON decode error"),
    # /events: writes, with a key
    ("/events", event()[:-1] + ', "value": NaN}', 422, "NaN is not a JSON number"),
    ("/events", event()[:-1] + ', "value": Infinity}', 422, "Infinity is not a JSON number"),
    ("/events", event()[:-1] + ', "value": -Infinity}', 422, "-Infinity is not a JSON number"),
    ("/events", event()[:-1] + ', "value": 1e999}', 422, "1e999 is too large for a 64-bit float"),
    ("/events", event()[:-1] + ', "value": -1e999}', 422, "-1e999 is too large for a 64-bit float"),
    ("/events", event(user_id=10 ** 25), 422, "does not fit in a 64-bit integer"),
    ("/events", '{"user_id": "\\ud800", "event": "view", "ts": "2025-03-01"}', 422, "lone UTF-16 surrogate"),
    ("/events", '{"user_id": "u", "event": "vi\\udc00ew", "ts": "2025-03-01"}', 422, "lone UTF-16 surrogate"),
    ("/events", '[{"user_id": "u", "event": "view", "ts": "2025-03-01", "query": "\\udbff"}]', 422,
     "lone UTF-16 surrogate"),
    ("/events", '{"\\ud800": 1, "user_id": "u", "event": "view", "ts": "2025-03-01"}', 422,
     "surrogate (\\\\ud800-\\\\udfff) in a field name"),
    ("/events", event(user_id="u" * 1_001), 422, "at most 1000 characters"),
    ("/events", event(query="q" * 100_000), 422, "at most 1000 characters"),
    ("/events", event(colour="red"), 422, "Extra inputs are not permitted"),
    ("/events", event(user_id={"nested": 1}), 422, "user_id"),
    ("/events", event(ts="not a time"), 422, "'ts'"),
    ("/events", event(value="lots"), 422, "'value'"),
    ("/events", "[]", 422, "between 1 and 10,000 events"),
    ("/events", DEEP, 422, "JSON nested too deeply"),
    ("/events", DEEP_OBJECTS, 422, "JSON nested too deeply"),
    ("/events", '{"user_id": "u", "event": ', 422, "JSON decode error"),
    ("/events", b'{"user_id": "\xff\xfe", "event": "view", "ts": "2025-03-01"}', 422, "not UTF-8"),
    ("/events", b'{"user_id": "\xed\xa0\x80", "event": "view", "ts": "2025-03-01"}', 422, "not UTF-8"),  # CESU
    ("/events", json.dumps([json.loads(event(event_id=str(i))) for i in range(5_000)]), 413, "byte limit"),
    # /categorize
    ("/categorize", '{"items": [{"title": "cup", "brand": Infinity}]}', 422, "Infinity is not a JSON number"),
    ("/categorize", '{"items": [{"title": "cup", "brand": NaN}]}', 422, "NaN is not a JSON number"),
    ("/categorize", '{"items": [{"title": "\\ud800"}]}', 422, "lone UTF-16 surrogate"),
    ("/categorize", '{"items": [{"title": "cup", "brand": "\\udc80"}]}', 422, "lone UTF-16 surrogate"),
    ("/categorize", '{"items": [{"title": ""}]}', 422, "at least 1 character"),
    ("/categorize", json.dumps({"items": [{"title": "t" * 2_001}]}), 422, "at most 2000 characters"),
    ("/categorize", json.dumps({"items": [{"title": "t"}] * 1_001}), 422, "at most 1000 items"),
    ("/categorize", '{"items": [{"title": "cup", "brand": 123}]}', 422, "valid string"),
    ("/categorize", '{"items": {"title": "cup"}}', 422, "valid list"),
    # /reviews/analyze with posted reviews
    ("/reviews/analyze", '{"reviews": [{"text": "good", "rating": Infinity}]}', 422, "Infinity is not a JSON number"),
    ("/reviews/analyze", '{"reviews": [{"text": "good", "rating": NaN}]}', 422, "NaN is not a JSON number"),
    ("/reviews/analyze", '{"reviews": [{"text": "good", "rating": 1e999}]}', 422, "too large for a 64-bit float"),
    ("/reviews/analyze", '{"reviews": [{"text": "good", "rating": 11}]}', 422, "less than or equal to 10"),
    ("/reviews/analyze", '{"reviews": [{"text": "good", "rating": -1}]}', 422, "greater than or equal to 0"),
    ("/reviews/analyze", '{"reviews": [{"text": "\\ud800 good"}]}', 422, "lone UTF-16 surrogate"),
    ("/reviews/analyze", '{"reviews": [{"text": "good", "item_id": "\\udfff"}]}', 422, "lone UTF-16 surrogate"),
    ("/reviews/analyze", json.dumps({"reviews": [{"text": "g" * 20_001}]}), 422, "at most 20000 characters"),
    ("/reviews/analyze", '{"reviews": []}', 422, "at least 1 item"),
    ("/reviews/analyze", '{"reviews": [{"text": "good"}], "top": 100000000000000000000}', 422,
     "does not fit in a 64-bit integer"),
    ("/reviews/analyze", '{"reviews": [{"text": "good"}], "top": 51}', 422, "less than or equal to 50"),
    ("/reviews/analyze", '{"reviews": [{"text": 5}]}', 422, "valid string"),
    # /admin/fit, with a key: nothing may start training
    ("/admin/fit", '{"model": "sasrec", "max_seconds": Infinity}', 422, "Infinity is not a JSON number"),
    ("/admin/fit", '{"model": "sasrec", "max_seconds": NaN}', 422, "NaN is not a JSON number"),
    ("/admin/fit", '{"model": "sasrec", "max_seconds": 1e999}', 422, "too large for a 64-bit float"),
    ("/admin/fit", '{"model": "sasrec", "max_seconds": -1}', 422, "greater than 0"),
    ("/admin/fit", '{"model": "sasrec", "max_seconds": 1e300}', 422, "less than or equal to 86400"),
    ("/admin/fit", '{"model": "sasrec", "max_epochs": 10000000000000000000}', 422, "does not fit in a 64-bit integer"),
    ("/admin/fit", '{"model": "sasrec", "name": "../../outside_model"}', 422, "should match pattern"),
    ("/admin/fit", '{"model": "sasrec", "name": "/etc/passwd"}', 422, "should match pattern"),
    ("/admin/fit", '{"model": "sasrec", "name": "\\ud800"}', 422, "lone UTF-16 surrogate"),
    ("/admin/fit", '{"model": "os.system"}', 422, "Input should be"),
    ("/admin/fit", '{"model": "als", "max_epochs": 3}', 422, "apply to sequence models"),
    ("/admin/fit", DEEP, 422, "JSON nested too deeply"),
]

GETS = [
    ("/recommend", {"user": "x", "k": "-1"}, 422, "greater than or equal to 1"),
    ("/recommend", {"user": "x", "k": "1e999"}, 422, "valid integer"),
    ("/recommend", {"user": "x", "k": "NaN"}, 422, "valid integer"),
    ("/recommend", {"user": "x", "k": "99999999999999999999999"}, 422, "less than or equal to 500"),
    ("/recommend", {"user": "x", "model": "../../etc"}, 422, "should match pattern"),
    ("/recommend", {"user": "x", "model": "m" * 65}, 422, "should match pattern"),
    ("/recommend", {"user": "x", "model": "missing_model"}, 404, "no recommender 'missing_model'"),
    ("/recommend?user=%ED%A0%80&fallback=false", None, 404, "has no events"),  # UTF-8 of a surrogate: read as U+FFFD
    ("/recommend", {"user": ""}, 422, "at least 1 character"),
    ("/similar-items", {"item": "x", "model": "../x"}, 422, "should match pattern"),
    ("/similar-items", {"item": "no-such-item"}, 404, "unknown to model"),
    ("/search", {"q": "x" * 501}, 422, "at most 500 characters"),
    ("/search", {"q": "cup", "k": "0"}, 422, "greater than or equal to 1"),
    ("/search", {"q": "cup", "mode": "../x"}, 422, "should match pattern"),
    ("/search", {"q": "cup", "filter": "price=abc"}, 422, "price"),
    ("/suggest", {"prefix": "p" * 201}, 422, "at most 200 characters"),
    ("/similar-queries", {"q": ""}, 422, "at least 1 character"),
    ("/forecast", {"level": "../x"}, 422, "should match pattern"),
    ("/forecast", {"horizon": "100000"}, 422, "less than or equal to 365"),
    ("/forecast", {"horizon": "7", "series": "s" * 201}, 422, "at most 200 characters"),
    ("/churn", {"precision": "nan"}, 422, "precision"),
    ("/churn", {"precision": "inf"}, 422, "less than or equal to 1"),
    ("/churn", {"horizon_days": "inf"}, 422, "less than or equal to 3650"),
    ("/churn", {"horizon_days": "-inf"}, 422, "greater than 0"),
    ("/churn", {"horizon": "inf"}, 422, "less than or equal to 3650"),
    ("/churn", {"horizon": "30", "horizon_days": "30"}, 422, "give horizon or its old name horizon_days, not both"),
    ("/churn", {"budget": "5", "precision": "0.5"}, 422, "give budget or precision, not both"),
    ("/profile/..%2F..%2Fetc%2Fpasswd", None, 404, "Not Found"),
    ("/history/nobody", None, 404, "has no events"),
    ("/items", {}, 422, "Field required"),
    ("/items", {"id": ["x"] * 501}, 422, "at most 500 items"),
    ("/users", {"limit": "0"}, 422, "greater than or equal to 1"),
    ("/reviews/analyze", {"item": "i" * 201}, 422, "at most 200 characters"),
    ("/static/../app.py", None, 404, "Not Found"),
    ("/static/..%2Fapp.py", None, 404, "Not Found"),
]


def check_refused(client, reply, status: int, phrase: str, before: dict) -> None:
    assert reply.status_code == status, reply.text[:500]
    assert phrase in json.dumps(reply.json(), ensure_ascii=False), reply.text[:500]
    assert state(client) == before


@pytest.mark.parametrize("path, body, status, phrase", POSTS, ids=[f"POST {p} {str(b)[:40]}" for p, b, *_ in POSTS])
def test_hostile_bodies_are_refused_with_a_reason_and_nothing_written(client, path, body, status, phrase):
    before = state(client)
    reply = client.post(path, content=body, headers={"Content-Type": "application/json", "X-API-Key": client.key})
    check_refused(client, reply, status, phrase, before)


@pytest.mark.parametrize("path, params, status, phrase", GETS, ids=[f"GET {p} {params}"[:80] for p, params, *_ in GETS])
def test_hostile_reads_are_refused_with_a_reason(client, path, params, status, phrase):
    before = state(client)
    check_refused(client, client.get(path, params=params), status, phrase, before)


@pytest.mark.parametrize("path, body", [("/events", event()), ("/admin/fit", '{"model": "popularity"}'),
                                        ("/admin/reload", "")])
@pytest.mark.parametrize("key", [None, "nonsense", "sl_000000000000_" + "x" * 32, b"sl_\xc3\xa9_\xff", "sl_'; DROP"])
def test_writes_without_a_valid_key_are_401_and_write_nothing(client, path, body, key):
    before = state(client)
    headers = {"Content-Type": "application/json"} | ({"X-API-Key": key} if key else {})
    reply = client.post(path, content=body.encode(), headers=headers)
    check_refused(client, reply, 401, "API key", before)


def test_a_body_without_content_length_over_the_limit_is_413(client):
    before = state(client)

    def chunks():
        for _ in range(MAX_BODY // 1_000 + 1):
            yield b" " * 1_000

    reply = client.post("/events", content=chunks(), headers={"Content-Type": "application/json",
                                                              "X-API-Key": client.key})
    check_refused(client, reply, 413, "byte limit", before)


def test_the_422_reply_writes_any_input_back():
    """Non-finite numbers and lone surrogates can still reach a validation error (e.g. from a query string or
    a handler's own check): the reply must be written, not fail with a 500 as FastAPI's own handler does."""
    import asyncio

    from fastapi.exception_handlers import request_validation_exception_handler
    from fastapi.exceptions import RequestValidationError

    from shoplens.serve.body import validation_error

    error = RequestValidationError([
        {"type": "less_than_equal", "loc": ("query", "x"), "msg": "too big", "input": float("inf"),
         "ctx": {"le": float("nan")}},
        {"type": "string_type", "loc": ("body", "\ud800"), "msg": "bad", "input": "a\udfffb" * 1_000}])
    with pytest.raises(ValueError):  # what the default does: json.dumps(allow_nan=False)
        asyncio.run(request_validation_exception_handler(None, error))
    reply = asyncio.run(validation_error(None, error))
    assert reply.status_code == 422
    detail = json.loads(reply.body)["detail"]
    assert detail[0]["input"] == "inf" and detail[0]["ctx"] == {"le": "nan"}
    assert detail[1]["loc"] == ["body", "\\ud800"] and detail[1]["input"].startswith("a\\udfffb")
    assert len(detail[1]["input"]) < 300
