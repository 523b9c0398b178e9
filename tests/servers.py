"""A small shop for the service tests: every table the service reads, a fitted SASRec, a search index."""

from __future__ import annotations

from pathlib import Path

from shoplens.datasets.synthetic import marketplace
from shoplens.recommend.workspace_models import fit_workspace_model
from shoplens.search.workspace import build_index
from shoplens.serve import create_key
from shoplens.workspace import Workspace


def build_shop(path: Path, n_users: int = 200, n_items: int = 60, days: int = 180, seed: int = 0) -> str:
    """A workspace with every table the service reads, a quickly fitted SASRec and a search index;
    returns an API key."""
    market = marketplace(n_users=n_users, n_items=n_items, days=days, seed=seed)
    with Workspace.init(path, exist_ok=True) as ws:
        for table in ("items", "events", "reviews", "sales"):
            ws.ingest(market.tables[table], table)
        fit_workspace_model(ws, "sasrec", encoder="static", max_epochs=3)
        build_index(ws, encoder="static")
        return create_key(ws, "test")
