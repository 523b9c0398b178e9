"""Workspace-level jobs behind `shoplens profile / churn / segments`: read the canonical tables, call the
functions of this package, return plain DataFrames and dicts (the CLI and the REST service only format them)."""

from __future__ import annotations

import pandas as pd

from shoplens.customers.churn import RepurchaseModel, churn_report
from shoplens.customers.features import customer_features, purchases_from_events
from shoplens.customers.profiles import item_text_vectors, user_profile
from shoplens.customers.segments import embedding_clusters, rfm_segments, segment_table, user_taste_vectors


def _tables(ws) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """Events, items, and the time of the last event (the default `as_of`: data may be older than today)."""
    events = ws.table("events")
    if events.empty:
        raise ValueError(f"workspace {ws.path} has no events; ingest some with `shoplens ingest {ws.path} FILE --kind events`")
    return events, ws.table("items"), pd.to_datetime(events["ts"]).max()


def workspace_profile(ws, user_id: str, *, as_of=None, encoder: str = "static", n_interests: int = 4) -> dict:
    """`shoplens customers profile WS --user U`: the JSON-ready profile of one user, with their RFM segment."""
    events, items, last = _tables(ws)
    as_of = last if as_of is None else pd.Timestamp(as_of)
    purchases = purchases_from_events(events, items)
    segments = rfm_segments(customer_features(purchases, as_of, now=last)) if len(purchases) else None
    touched_items = items[items["item_id"].isin(events.loc[events["user_id"] == str(user_id), "item_id"])]
    return user_profile(user_id, events, items, as_of=as_of, n_interests=n_interests, segments=segments,
                        item_vectors=item_text_vectors(touched_items, encoder) if len(touched_items) else None)


def workspace_churn(ws, *, precision: float | None = None, budget: int | None = None, horizon_days: float = 90.0,
                    as_of=None, model: RepurchaseModel | None = None) -> tuple[pd.DataFrame, dict]:
    """`shoplens customers churn WS [--precision P | --budget N]`: at-risk customers with reasons and value at risk.
    Trains on (features as of as_of - horizon -> activity in the last horizon), scores as of `as_of`."""
    events, items, last = _tables(ws)
    as_of = last if as_of is None else pd.Timestamp(as_of)
    return churn_report(purchases_from_events(events, items), as_of, horizon_days, events=events, precision=precision,
                        budget=budget, model=model, now=last)


def workspace_segments(ws, *, n_clusters: int = 8, encoder: str = "static", as_of=None) -> dict[str, pd.DataFrame]:
    """`shoplens customers segments WS`: {"rfm": segment table, "customers": segment per customer,
    "clusters": embedding clusters with descriptions (when items exist)}."""
    events, items, last = _tables(ws)
    as_of = last if as_of is None else pd.Timestamp(as_of)
    features = customer_features(purchases_from_events(events, items), as_of, now=last)
    segments = rfm_segments(features)
    out = {"rfm": segment_table(segments, features), "customers": segments}
    if len(items):
        taste = user_taste_vectors(events, items, item_text_vectors(items, encoder), as_of)
        if len(taste) >= n_clusters:
            labels, descriptions = embedding_clusters(taste, events, items, n_clusters=n_clusters)
            out["clusters"] = descriptions
            out["customers"] = segments.join(labels.rename("cluster"))
    return out
