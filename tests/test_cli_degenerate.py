"""Degenerate data through the CLI, as a user runs it: a sales history too short for the model, a catalogue
with two items per category, an ad log with 3 clicks. Each command exits 0, says why in one `warning: ...` line
per warning on stderr (the same words as in --json), names its fallback, and keeps stdout one JSON document.
Progress of the long commands comes as plain lines on stderr when it is not a terminal."""

import numpy as np
import pandas as pd
import pytest

from shoplens.workspace import Workspace
from shoplens_cli import SHOPLENS, run, run_json
from test_ads_degenerate import ITEMS as AD_ITEMS
from test_ads_degenerate import _log as ad_log
from test_catalog_degenerate import LEAVES
from test_catalog_degenerate import _items as catalogue
from test_forecast_degenerate import _sales


def warning_lines(done) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith("warning: ")]


def assert_warned(done, warnings):
    """Each warning of the JSON result is one stderr line, word for word."""
    assert warnings, "expected warnings"
    assert warning_lines(done) == [f"warning: {' '.join(w.split())}" for w in warnings], done.stderr


def json_and_stderr(*args):
    import json

    done = run(*args, "--json")
    return json.loads(done.stdout), done


@pytest.fixture(scope="module")
def short_sales(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli-degenerate") / "sales"
    with Workspace.init(path) as ws:
        ws.ingest(pd.concat([_sales(90, "old1"), _sales(90, "old2", base=20.0),
                             _sales(10, "new10", start="2024-03-21"), _sales(4, "new4", start="2024-03-27")],
                            ignore_index=True), "sales")
    return path


def test_forecast_with_short_series_warns_and_names_the_fallbacks(short_sales, tmp_path):
    result, done = json_and_stderr("demand", "forecast", short_sales, "--horizon", "7", "--model", "ets")
    assert result["model"] == "ets" and "2 of 4 series have less than 14 periods" in result["warnings"][0]
    assert_warned(done, result["warnings"])
    assert {r["unique_id"]: r["model"] for r in result["fallbacks"]} == {"new10": "seasonal_naive", "new4": "mean"}
    progress = [line for line in done.stderr.splitlines() if line.startswith("forecast: ")]
    assert progress[0] == "forecast:   0% reading sales" and progress[-1] == "forecast: 100% done"
    text = run("demand", "forecast", short_sales, "--horizon-days", "7", "--model", "ets", "-k", "3")  # old spelling
    assert_warned(text, result["warnings"])
    assert "series forecast by a fallback model" in text.stdout and "warning" not in text.stdout
    assert text.stderr.splitlines().count("note: `--horizon-days` is now `--horizon`") == 1
    assert "--horizon-days" not in run("demand", "forecast", "--help").stdout


def test_inventory_carries_the_forecast_warnings(short_sales):
    result, done = json_and_stderr("demand", "inventory", short_sales, "--no-calibrate", "--lead-time", "3",
                                   "--review-period", "4")
    assert_warned(done, result["warnings"])
    assert {r["unique_id"] for r in result["fallbacks"]} == {"new10@s1", "new4@s1"}  # item x store
    assert any(line.startswith("inventory: 100% done") for line in done.stderr.splitlines())


@pytest.fixture
def thin_catalogue(tmp_path):
    path = tmp_path / "catalogue"
    with Workspace.init(path) as ws:
        ws.ingest(catalogue(dict.fromkeys(LEAVES, 2), ["night cream", "salted chips"]), "items")
    return path


def test_categorize_two_items_per_category(thin_catalogue, tmp_path):
    result, done = json_and_stderr("catalog", "categorize", thin_catalogue)
    assert result["model"] == "nearest labelled title (fallback)" and "fewer than 5" in result["warnings"][0]
    assert_warned(done, result["warnings"])
    assert result["stored"] == 0 and [p["category"] for p in result["predictions"]] == [
        "Beauty > Skin > Face Cream", "Food > Snacks > Chips"]
    with Workspace.open(thin_catalogue) as ws:
        assert ws.predicted_categories().empty  # without --write nothing is stored
    out = tmp_path / "predicted.parquet"
    text = run("catalog", "categorize", thin_catalogue, "--write", "--out", out)
    assert_warned(text, result["warnings"])
    assert "stored 2 predictions" in text.stdout and pd.read_parquet(out)["category"].tolist() == [
        "Beauty > Skin > Face Cream", "Food > Snacks > Chips"]
    with Workspace.open(thin_catalogue) as ws:
        stored = ws.predicted_categories()
    assert stored["category"].tolist() == ["Beauty > Skin > Face Cream", "Food > Snacks > Chips"]
    assert set(stored.columns) == {"item_id", "category", "score", "model", "predicted_at"}
    assert stored["model"].eq("nearest labelled title (fallback)").all()


@pytest.fixture(scope="module")
def three_clicks(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli-degenerate") / "ads"
    clicked = np.zeros(300, dtype=int)
    clicked[[10, 50, 90]] = 1
    with Workspace.init(path) as ws:
        ws.ingest(AD_ITEMS, "items")
        ws.ingest(ad_log(300, clicked), "ad_impressions")
    return path


def test_ctr_with_three_clicks_falls_back_to_the_prior(three_clicks):
    fitted, done = json_and_stderr("ads", "fit", three_clicks, "--model", "lr", "--name", "lr")
    assert fitted["fitted_as"] == "prior (fallback)" and "3 clicks in 270 training impressions" in fitted["warnings"][0]
    assert_warned(done, fitted["warnings"])
    scored, done = json_and_stderr("ads", "ctr", three_clicks, "--user", "u1", "--item", "a", "--model", "lr")
    assert scored["fitted_as"] == "prior (fallback)" and 0 < scored["ctr"] < 1
    assert_warned(done, fitted["warnings"])
    chosen, done = json_and_stderr("ads", "target", three_clicks, "--category", "美妆/面霜", "--impressions", "5",
                                   "--model", "lr")
    assert chosen["impressions_chosen"] == 5 and {r["item_id"] for r in chosen["impressions"]} == {"a"}
    assert_warned(done, chosen["warnings"])
    old, done = json_and_stderr("ads", "target", three_clicks, "--category", "美妆", "--budget", "3", "--model", "lr")
    assert old["impressions_chosen"] == 3 and {r["item_id"] for r in old["impressions"]} <= {"a", "b"}
    assert done.stderr.splitlines().count("note: `--budget` is now `--impressions`") == 1
    usage = run("ads", "target", "--help").stdout
    assert "--impressions" in usage and "--budget" not in usage and "-k" in usage


class _Terminal(__import__("io").StringIO):
    def isatty(self):
        return True


def test_progress_is_a_bar_on_a_terminal_and_lines_elsewhere(monkeypatch, capsys):
    import io
    import sys

    from shoplens.cli.progress import StepProgress

    steps = [("reading sales", 0.0), ("fitting gbm: model 1 of 2", 0.4), ("fitting gbm: model 1 of 2", 0.4),
             ("fitting gbm: model 2 of 2", 0.8), ("done", 1.0)]
    for stream in (_Terminal(), io.StringIO()):
        monkeypatch.setattr(sys, "stderr", stream)
        with StepProgress("forecast") as progress:
            for step, done in steps:
                progress(step, done)
        if isinstance(stream, _Terminal):  # redrawn in place, and gone when done (leave=False)
            assert "\r" in stream.getvalue() and "forecast:" in stream.getvalue()
        else:  # one plain line per step, no carriage returns
            assert stream.getvalue().splitlines() == ["forecast:   0% reading sales",
                                                      "forecast:  40% fitting gbm: model 1 of 2",
                                                      "forecast:  80% fitting gbm: model 2 of 2", "forecast: 100% done"]
    assert capsys.readouterr().out == ""  # never on stdout
