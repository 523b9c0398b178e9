"""The workspace jobs the CLI calls: profile, churn early warning, segments."""

import json

import pytest

from shoplens.customers.jobs import workspace_churn, workspace_profile, workspace_segments


@pytest.fixture
def filled(ws):
    from shoplens.datasets.synthetic import marketplace

    market = marketplace(n_users=250, n_items=120, days=120, seed=5)
    ws.ingest(market.tables["items"], "items")
    ws.ingest(market.tables["events"], "events")
    return ws, market


def test_workspace_jobs(filled):
    ws, market = filled
    user = market.tables["events"]["user_id"].value_counts().index[0]
    profile = workspace_profile(ws, user)
    json.dumps(profile, ensure_ascii=False)
    assert profile["user_id"] == user and "segment" in profile["rfm"]

    table, summary = workspace_churn(ws, budget=5, horizon_days=30)
    assert len(table) <= 5 and summary["customers"] > 0 and "reason_1" in table

    segments = workspace_segments(ws, n_clusters=4)
    assert segments["rfm"]["customers"].sum() == len(segments["customers"])
    assert len(segments["clusters"]) == 4 and "cluster" in segments["customers"]


def test_empty_workspace_says_what_to_do(ws):
    with pytest.raises(ValueError, match="no events; ingest"):
        workspace_churn(ws, budget=5)
