"""Search over a workspace: build, search (personalised), suggest, incremental update."""

import pytest

from shoplens.datasets.synthetic import marketplace
from shoplens.search import build_index, load_index, search, similar_queries, suggest, update_index


@pytest.fixture
def market_ws(ws):
    market = marketplace(n_users=120, n_items=200, days=40, seed=5)
    ws.ingest(market.tables["items"], kind="items")
    ws.ingest(market.tables["events"], kind="events")
    return ws, market


def test_build_search_suggest_update(market_ws):
    ws, market = market_ws
    build_index(ws, encoder="static")
    items = market.tables["items"]
    zh = items[items["lang"] == "zh"].iloc[0]
    result = search(ws, zh["title"], k=5)
    assert zh["item_id"] in result.items["item_id"].tolist()
    en = items[items["lang"] == "en"].iloc[0]
    assert en["item_id"] in search(ws, en["title"], k=5).items["item_id"].tolist()

    user = market.tables["events"]["user_id"].iloc[0]
    personal = search(ws, zh["title"], k=5, user=user)
    assert any("personalised" in note for note in personal.notes)
    assert "not personalised" in search(ws, zh["title"], user="nobody").notes[-1]

    query = market.truth.queries["query"].iloc[0]
    assert query.lower() in suggest(ws, query[:1], k=50)["query"].tolist()
    assert len(similar_queries(ws, query, k=3)) > 0

    con = ws.connect()
    gone, changed = items["item_id"].iloc[1], items["item_id"].iloc[2]
    con.execute("DELETE FROM items WHERE item_id = ?", [gone])
    con.execute("UPDATE items SET title = 'Quuxolux frying pan' WHERE item_id = ?", [changed])
    con.execute("UPDATE items SET price = price + 1 WHERE item_id = ?", [items["item_id"].iloc[3]])
    assert update_index(ws) == {"added": 0, "updated": 2, "deleted": 1}
    index = load_index(ws)
    assert search(ws, "quuxolux", k=1, index=index).items["item_id"].tolist() == [changed]
    assert gone not in index.item_ids()


def test_personalisation_uses_a_fitted_recommender(market_ws):
    from shoplens.recommend.workspace_models import fit_workspace_model

    ws, market = market_ws
    build_index(ws, encoder="static")
    fit_workspace_model(ws, "itemknn")
    user = market.tables["events"]["user_id"].iloc[0]
    result = search(ws, market.truth.queries["query"].iloc[0], k=5, user=user)
    assert "personalised with the itemknn recommender" in result.notes


def test_missing_index_and_empty_workspace_are_explained(ws):
    with pytest.raises(ValueError, match="no items"):
        build_index(ws, encoder="static")
    with pytest.raises(FileNotFoundError, match="shoplens search index"):
        search(ws, "anything")
