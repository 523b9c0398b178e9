"""The service as a real process: acknowledged events survive kill -9, and a model refit while requests are in
flight is swapped in without a failed request."""

import threading
import time

import httpx
import pytest

from servers import build_shop
from shoplens.serve.process import ServerProcess
from shoplens.workspace import Workspace


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    path = tmp_path_factory.mktemp("process") / "ws"
    return path, {"X-API-Key": build_shop(path, n_users=120, n_items=40)}


def stored_event_ids(path, prefix: str) -> list[str]:
    with Workspace.open(path) as ws:
        rows = ws.connect().execute("SELECT event_id FROM events WHERE event_id LIKE ?", [prefix + "%"]).fetchall()
    return [r[0] for r in rows]


def test_acknowledged_events_survive_kill_9_exactly_once(shop):
    path, key = shop
    acknowledged, sent = [], []
    server = ServerProcess(path)
    stop = threading.Event()

    def stream():  # batches of 1-3 events, each acknowledged before the next is sent
        with httpx.Client(base_url=server.url, headers=key, timeout=5) as client:
            n = 0
            while not stop.is_set():
                batch = [{"user_id": f"durable-{n % 7}", "item_id": None, "event": "search", "query": "茶",
                          "ts": f"2025-06-01T00:{(n + i) // 60 % 60:02d}:{(n + i) % 60:02d}",
                          "event_id": f"durable-{n + i}"} for i in range(1 + n % 3)]
                sent.extend(e["event_id"] for e in batch)
                try:
                    reply = client.post("/events", json=batch)
                except httpx.TransportError:
                    return  # the server is gone
                assert reply.status_code == 200, reply.text
                acknowledged.extend(e["event_id"] for e in batch)
                n += len(batch)

    writer = threading.Thread(target=stream)
    writer.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 150 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill()  # mid-stream: the writer is sending its next batch
    stop.set()
    writer.join()
    assert len(acknowledged) >= 150

    stored = stored_event_ids(path, "durable-")
    assert len(stored) == len(set(stored))  # exactly once
    assert set(acknowledged) <= set(stored) <= set(sent)  # nothing acknowledged is lost, nothing invented

    with ServerProcess(path) as restarted:  # a client retrying everything it sent: still once each
        batch = [{"user_id": "durable-0", "event": "search", "query": "茶", "ts": "2025-06-01T00:00:00",
                  "event_id": event_id} for event_id in sent[-50:]]
        assert httpx.post(f"{restarted.url}/events", json=batch, headers=key, timeout=30).status_code == 200
    stored = stored_event_ids(path, "durable-")
    assert len(stored) == len(set(stored)) and set(sent[-50:]) <= set(stored)


def test_a_refit_is_swapped_in_while_requests_are_in_flight(shop):
    path, key = shop
    with Workspace.open(path) as ws:
        user = ws.connect().execute("SELECT user_id FROM events WHERE item_id IS NOT NULL LIMIT 1").fetchall()[0][0]
    with ServerProcess(path, "--check-seconds", "0.2") as server:
        statuses, versions, stop = [], [], threading.Event()

        def read():
            with httpx.Client(base_url=server.url, timeout=30) as client:
                while not stop.is_set():
                    reply = client.get("/recommend", params={"user": user, "k": 5})
                    statuses.append(reply.status_code)
                    versions.append(reply.json().get("version"))

        old = httpx.get(f"{server.url}/recommend", params={"user": user}, timeout=60).json()["version"]  # loaded
        readers = [threading.Thread(target=read) for _ in range(4)]
        for reader in readers:
            reader.start()
        job = httpx.post(f"{server.url}/admin/fit", json={"model": "sasrec", "max_epochs": 1}, headers=key,
                         timeout=30).json()
        for _ in range(1200):
            status = httpx.get(f"{server.url}/admin/jobs/{job['job']}", headers=key, timeout=30).json()
            if status["status"] != "running":
                break
            time.sleep(0.1)
        time.sleep(1.0)  # past the version check interval
        stop.set()
        for reader in readers:
            reader.join()
    assert status["status"] == "done", status
    assert set(statuses) == {200}
    assert old != status["version"] and versions[-1] == status["version"]
    assert set(versions) == {old, status["version"]}  # never anything half-way


def test_several_workers_serve_a_read_only_workspace(shop):
    path, key = shop
    with Workspace.open(path) as ws:
        users = [r[0] for r in ws.connect().execute(
            "SELECT DISTINCT user_id FROM events WHERE item_id IS NOT NULL ORDER BY 1 LIMIT 20").fetchall()]
    with ServerProcess(path, "--workers", "2") as server, httpx.Client(base_url=server.url, timeout=60) as client:
        for user in users:  # spread over both processes by the kernel
            reply = client.get("/recommend", params={"user": user, "k": 5})
            assert reply.status_code == 200 and len(reply.json()["recommendations"]) == 5
        assert client.get("/search", params={"q": "茶"}).status_code == 200
        event = {"user_id": users[0], "event": "view", "ts": "2025-06-01T00:00:00"}
        refused = client.post("/events", json=event, headers=key)
        assert refused.status_code == 503 and "read-only" in refused.json()["detail"]
        assert client.post("/events", json=event).status_code == 401  # the key check still comes first
