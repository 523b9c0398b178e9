"""Published model versions under attack or breakage: a CURRENT pointer that leads out of the workspace, a
version that cannot be loaded, and /admin/fit asked for more fits than it runs."""

import logging
import shutil
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shoplens.datasets.synthetic import marketplace
from shoplens.recommend.base import load_recommender
from shoplens.recommend.workspace_models import ARTIFACT, fit_workspace_model, load_workspace_model
from shoplens.serve import create_app, create_key
from shoplens.workspace import CURRENT_FILE, Workspace, WorkspaceError

CHECK_SECONDS = 0.05


@pytest.fixture
def shop(tmp_path):
    """(workspace path, API key, a stored user) with a popularity recommender "pop" published once."""
    path = tmp_path / "shop" / "ws"
    with Workspace.init(path) as ws:
        ws.ingest(marketplace(n_users=60, n_items=20, days=60, seed=0).tables["events"], "events")
        fit_workspace_model(ws, "popularity", name="pop")
        user = ws.connect().execute("SELECT user_id FROM events WHERE item_id IS NOT NULL LIMIT 1").fetchone()[0]
        return path, create_key(ws, "test"), user


def model_dir(path) -> Path:
    return Workspace.open(path).artifact_path(*ARTIFACT, "pop")


def outside_model(shop_path):
    """A valid copy of the published model, outside the workspace (where an attacker would put one)."""
    inside = model_dir(shop_path)
    outside = shop_path.parent.parent / "outside_model"
    shutil.copytree(inside / (inside / CURRENT_FILE).read_text(), outside)
    return outside


def corrupt_copy(shop_path) -> str:
    """A new version folder holding the published model with its weights overwritten; not published."""
    with Workspace.open(shop_path) as ws:
        base = model_dir(shop_path)
        folder = ws.new_version_dir(*ARTIFACT, "pop")
    shutil.copytree(base / (base / CURRENT_FILE).read_text(), folder, dirs_exist_ok=True)
    (folder / "tensors.safetensors").write_bytes(b"\x00not a safetensors file" * 10)
    return folder.name


def point(shop_path, name: str) -> None:
    (model_dir(shop_path) / CURRENT_FILE).write_text(name)


@pytest.mark.parametrize("pointer", ["../../outside_model", "OUTSIDE", "v20250101T000000-abcdef/../../../outside_model",
                                     "v20250101T000000-abcdef", "", "x" * 10_000_000])
def test_current_names_only_a_version_folder_of_the_artifact(shop, pointer):
    path, _, _ = shop
    outside = outside_model(path)
    point(path, str(outside) if pointer == "OUTSIDE" else pointer)
    with Workspace.open(path) as ws, pytest.raises(WorkspaceError, match="CURRENT names .*not a version folder|"
                                                                        "which is not a folder"):
        load_workspace_model(ws, "pop")


def test_current_may_not_be_or_name_a_link_out_of_the_workspace(shop):
    path, _, _ = shop
    outside, base = outside_model(path), model_dir(path)
    version = (base / CURRENT_FILE).read_text()
    (base / "v20250101T000000-abcdef").symlink_to(outside, target_is_directory=True)
    point(path, "v20250101T000000-abcdef")
    with Workspace.open(path) as ws, pytest.raises(WorkspaceError, match="is a link"):
        load_workspace_model(ws, "pop")
    elsewhere = path.parent.parent / "pointer"
    elsewhere.write_text(version)  # a valid name, but the pointer itself is a link
    (base / CURRENT_FILE).unlink()
    (base / CURRENT_FILE).symlink_to(elsewhere)
    with Workspace.open(path) as ws, pytest.raises(WorkspaceError, match="not a plain file"):
        load_workspace_model(ws, "pop")


def served(client, user, expect=200) -> str:
    reply = client.get("/recommend", params={"user": user, "model": "pop", "k": 3})
    assert reply.status_code == expect, reply.text
    return reply.json()["version"] if expect == 200 else reply.json()["detail"]


def health(client) -> dict:
    reply = client.get("/healthz")
    assert reply.status_code == 200
    return reply.json()


def after_checks(client, user, n=4) -> list[str]:
    """The versions served over several version-check intervals."""
    versions = []
    for _ in range(n):
        time.sleep(CHECK_SECONDS * 1.5)
        versions.append(served(client, user))
    return versions


def load_errors(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "shoplens.serve" and r.levelno >= logging.ERROR]


def test_a_server_keeps_its_model_when_current_points_out_of_the_workspace(shop, caplog):
    path, _, user = shop
    outside_model(path)
    with TestClient(create_app(path, check_seconds=CHECK_SECONDS)) as client:
        good = served(client, user)
        point(path, "../../outside_model")
        assert after_checks(client, user) == [good] * 4
        model = health(client)["models"]["recommend/pop"]
        assert health(client)["status"] == "degraded"
        assert model["serving"] == good and model["failed"] == "CURRENT"
        assert "'../../outside_model', not a version folder" in model["error"]
        assert len(load_errors(caplog)) == 1  # once, not once per check
        point(path, good)
        assert after_checks(client, user, 1) == [good] and health(client)["status"] == "ok"
        assert "failed" not in health(client)["models"]["recommend/pop"]


def test_a_version_that_fails_to_load_leaves_the_old_one_served(shop, caplog):
    """The weights of a newly published version are corrupt (published by hand, or damaged on disk): requests
    keep getting the old model, /healthz and the log (once) say which version failed and why."""
    path, key, user = shop
    with TestClient(create_app(path, check_seconds=CHECK_SECONDS)) as client:
        good = served(client, user)
        broken = corrupt_copy(path)
        point(path, broken)
        assert after_checks(client, user) == [good] * 4
        model = health(client)["models"]["recommend/pop"]
        assert model["serving"] == good and model["failed"] == broken and "SafetensorError" in model["error"]
        assert len(load_errors(caplog)) == 1 and broken in load_errors(caplog)[0]
        reload = client.post("/admin/reload", headers={"X-API-Key": key})  # a forced reload fails the same way
        assert reload.status_code == 200 and reload.json()["recommenders"]["pop"] == good
        assert reload.json()["models"]["recommend/pop"]["failed"] == broken
        with Workspace.open(path) as ws:
            fixed = fit_workspace_model(ws, "popularity", name="pop").version
        assert after_checks(client, user, 1) == [fixed]
        assert health(client) == {"status": "ok", "workspace": path.name,
                                  "models": {"recommend/pop": {"serving": fixed}}}


def test_a_server_with_no_loadable_version_says_so_with_a_503(shop, caplog):
    path, _, user = shop
    point(path, corrupt_copy(path))
    with TestClient(create_app(path, check_seconds=CHECK_SECONDS)) as client:
        for _ in range(3):
            assert "recommender 'pop' cannot be loaded" in served(client, user, expect=503)
            time.sleep(CHECK_SECONDS * 1.5)
        assert health(client)["models"]["recommend/pop"]["serving"] is None
    assert len(load_errors(caplog)) == 1


def test_a_version_is_published_only_after_it_loads(shop):
    path, _, _ = shop
    base = model_dir(path)
    published = (base / CURRENT_FILE).read_text()
    broken = base / corrupt_copy(path)
    with Workspace.open(path) as ws:
        with pytest.raises(WorkspaceError, match=f"{broken.name} was not published: it failed to load"):
            ws.publish_version(broken, check=load_recommender)
        assert (base / CURRENT_FILE).read_text() == published and not broken.exists()
        good = ws.new_version_dir(*ARTIFACT, "pop")
        shutil.copytree(base / published, good, dirs_exist_ok=True)
        assert ws.publish_version(good, check=load_recommender) == good.name
        assert load_workspace_model(ws, "pop").version == good.name
        with pytest.raises(WorkspaceError, match="not a version folder"):
            ws.publish_version(path.parent)  # only a folder new_version_dir made


def test_admin_fit_runs_one_fit_at_a_time_and_queues_at_most_two(shop):
    path, key, _ = shop
    headers = {"X-API-Key": key}
    with TestClient(create_app(path)) as client:
        fit = {"model": "sasrec", "name": "seq", "max_epochs": 2, "max_seconds": 2}
        jobs = [client.post("/admin/fit", json=fit, headers=headers) for _ in range(4)]
        assert [j.status_code for j in jobs] == [202, 202, 202, 409]
        assert [j.json()["status"] for j in jobs[:3]] == ["running", "queued", "queued"]
        assert "a fit is running" in jobs[3].json()["detail"] and "2 wait behind it" in jobs[3].json()["detail"]
        ids = [j.json()["job"] for j in jobs[:3]]
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            states = [client.get(f"/admin/jobs/{i}", headers=headers).json() for i in ids]
            if all(s["status"] in ("done", "failed") for s in states):
                break
            time.sleep(0.1)
        assert [s["status"] for s in states] == ["done"] * 3, states
        for earlier, later in zip(states, states[1:]):
            assert later["started"] >= earlier["finished"]  # one at a time, in the order asked
        assert len({s["version"] for s in states}) == 3
        assert client.post("/admin/fit", json=fit, headers=headers).status_code == 202  # the queue is free again
