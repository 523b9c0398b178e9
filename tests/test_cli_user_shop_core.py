"""The README's quickstart on a user's own shop, as a user types it: every command in a subprocess, through the
installed `shoplens` script. Own column names, own action names (pv/fav/cart/buy), local times.

Workspace, ingest, recommendation and keys commands; the other domains have their own test_cli_user_shop_*.py.
"""

import json
from pathlib import Path

import pandas as pd
import pytest

from shoplens_cli import assert_one_line_error, run, run_json
from user_shop import EVENT_NAMES, MAPPINGS, write_user_shop



@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    root = tmp_path_factory.mktemp("usershop")
    files = write_user_shop(root / "files")
    ws = root / "myshop"
    run("init", ws)
    reports = {}
    for table, path in files.items():
        extra = ["--map-values", EVENT_NAMES] if table == "events" else []
        reports[table] = run_json("ingest", ws, path, "--kind", table, "--map", MAPPINGS[table], *extra)
    return {"ws": ws, "files": files, "reports": reports}


def test_ingest_reports_every_row(shop):
    for table, path in shop["files"].items():
        assert shop["reports"][table]["inserted"] == len(pd.read_csv(path)), table
    assert run_json("info", shop["ws"]) == {**{t: len(pd.read_csv(p)) for t, p in shop["files"].items()}, "users": 0}


def test_ingest_without_the_event_mapping_is_refused_in_one_line(shop, tmp_path):
    run("init", tmp_path / "other")
    done = run("ingest", tmp_path / "other", shop["files"]["events"], "--kind", "events", "--map", MAPPINGS["events"], ok=False)
    assert_one_line_error(done, "unknown event name(s) 'pv'", "--map-values event=pv:")


def test_fit_and_recommend_every_fast_model(shop):
    events = pd.read_csv(shop["files"]["events"])
    user = events.uid.value_counts().index[0]
    for model in ("popularity", "itemknn", "als"):
        fitted = run_json("rec", "fit", shop["ws"], "--model", model)
        assert fitted["name"] == model and fitted["users"] == events.uid.nunique() and Path(fitted["folder"]).is_dir()
        top = run_json("rec", "user", shop["ws"], "--user", user, "--top", "5", "--model", model)
        assert len(top) == 5 and {r["source"] for r in top} == {model}
        assert not set(r["item_id"] for r in top) & set(events[events.uid == user].sku)  # seen items left out
    again = run_json("rec", "user", shop["ws"], "--user", user, "-k", "50", "--model", "als", "--include-seen")
    assert set(r["item_id"] for r in again) & set(events[events.uid == user].sku)
    similar = run_json("rec", "similar", shop["ws"], "--item", "SKU0001", "--top", "3", "--model", "als")
    assert len(similar) == 3 and "SKU0001" not in [r["item_id"] for r in similar]


def test_fit_sasrec_prints_where_it_saved(shop):
    done = run("rec", "fit", shop["ws"], "--model", "sasrec", "--encoder", "static", "--param", "max_epochs=2,dim=16")
    assert "saved as 'sasrec' version v" in " ".join(done.stdout.split())
    top = run_json("rec", "user", shop["ws"], "--history", "SKU0001,SKU0002", "-k", "3", "--model", "sasrec")
    assert len(top) == 3 and top[0]["source"] == "sasrec"


def test_a_user_without_events_gets_the_named_fallback(shop):
    fitted_popular = run_json("rec", "user", shop["ws"], "--user", "never-seen", "-k", "3", "--model", "popularity")
    events = pd.read_csv(shop["files"]["events"])
    assert [r["item_id"] for r in fitted_popular] == events.sku.value_counts().sort_index().sort_values(
        ascending=False, kind="stable").index[:3].tolist()
    assert all(r["source"].startswith("popular (fallback") for r in fitted_popular)
    assert_one_line_error(run("rec", "user", shop["ws"], "--user", "never-seen", "--model", "als", "--no-fallback", ok=False),
                          "user 'never-seen' has no events")


@pytest.mark.parametrize("args, fragments", [
    (("rec", "user", "{ws}", "--user", "U0001", "--model", "no-such-model"), ["no recommender 'no-such-model'"]),
    (("rec", "user", "{ws}"), ["give --user or --history"]),
    (("rec", "similar", "{ws}", "--item", "NOPE", "--model", "als"), ["NOPE"]),
    (("rec", "fit", "{ws}", "--model", "gru4rec"), ["unknown model 'gru4rec'"]),
    (("rec", "fit", "{ws}", "nothing"), ["unexpected extra argument(s) (nothing)"]),
    (("ingest", "{ws}", "/no/such/file.csv", "--kind", "events"), ["file not found"]),
    (("ingest", "{ws}", "{ws}", "--kind", "events"), ["is a directory"]),
    (("ingest", "{ws}", "{items}", "--kind", "orders"), ["unknown table kind 'orders'"]),
    (("ingest", "{ws}", "{items}", "--kind", "items", "--map", "item"), ["bad --map entry 'item'"]),
    (("ingest", "{ws}", "{events}", "--kind", "events", "--map-values", "event=pv"), ["bad --map-values entry"]),
    (("info", "/no/such/workspace"), ["is not a ShopLens workspace"]),
    (("keys", "revoke", "{ws}", "nope"), ["no active key with id 'nope'"]),
])
def test_bad_arguments_are_one_line_errors(shop, args, fragments):
    filled = [a.format(ws=shop["ws"], items=shop["files"]["items"], events=shop["files"]["events"]) for a in args]
    assert_one_line_error(run(*filled, ok=False), *fragments)


def test_wrong_option_types_are_usage_errors(shop):
    done = run("rec", "user", shop["ws"], "--user", "U0001", "-k", "many", ok=False)
    assert_one_line_error(done, "Invalid value for '--top' / '-k'", "valid integer", "shoplens rec user --help")


def test_keys_create_list_revoke(shop):
    secret = run("keys", "create", shop["ws"], "--name", "ingest").stdout.strip()
    listed = json.loads(run("keys", "list", shop["ws"]).stdout)
    assert [k["name"] for k in listed] == ["ingest"] and listed[0]["key_id"] in secret and "secret" not in listed[0]
    run("keys", "revoke", shop["ws"], listed[0]["key_id"])
    assert json.loads(run("keys", "list", shop["ws"]).stdout)[0]["revoked_at"] is not None


def test_help_of_every_command_renders(shop):
    names = ["init", "ingest", "info", "demo", "serve", "rec", "search", "reviews", "catalog", "customers", "demand",
             "ads", "keys", "datasets", "bench"]  # each verb's help: test_cli_grammar.py
    for name in names:
        done = run(name, "--help")
        assert f"Usage: shoplens {name}" in done.stdout, name
    for suite in ("rec", "sentiment", "search", "ingest", "categorize", "forecast-favorita", "churn-cdnow"):
        assert "Usage: shoplens bench" in run("bench", suite, "--help").stdout, suite


def test_datasets_list_json(shop):
    listed = run_json("datasets", "list")
    assert isinstance(listed, (list, dict)) and listed


def test_evaluate_on_your_own_data_and_fit_auto(shop, tmp_path):
    result = run_json("rec", "evaluate", shop["ws"], "--models", "als,itemknn,popularity", "--out", tmp_path / "ev.csv")
    table = pd.DataFrame(result["models"])
    assert list(table.model) == ["als", "itemknn", "popularity"] and "full ranking" in result["protocol"]
    assert result["best"] == table.loc[table["valid_NDCG@10"].idxmax(), "model"]
    assert table.set_index("model").loc[result["best"], "valid_NDCG@10"] > table.set_index("model").loc["popularity", "valid_NDCG@10"]
    assert pd.read_csv(tmp_path / "ev.csv").model.tolist() == ["als", "itemknn", "popularity"]
    fitted = run_json("rec", "fit", shop["ws"], "--model", "auto", "--encoder", "static", "--name", "auto")
    assert fitted["name"] == "auto" and fitted["model"] in fitted["chosen_because"].split()[0]
    assert run_json("rec", "user", shop["ws"], "--user", "U0001", "-k", "3", "--model", "auto")[0]["source"] == fitted["model"]
    assert_one_line_error(run("rec", "evaluate", shop["ws"], "--models", "gru4rec", ok=False), "unknown model 'gru4rec'")
    assert_one_line_error(run("rec", "evaluate", shop["ws"], "--models", "als", "--out", tmp_path / "x.xlsx", ok=False),
                          "the file name must end in .csv, .parquet, .json")
