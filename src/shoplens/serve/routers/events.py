"""POST /events: one event or a batch, validated exactly as file ingest (and no text field over 1,000
characters), committed before the reply."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from shoplens.serve.body import StrictJSONRoute
from shoplens.serve.keys import require_key
from shoplens.serve.service import Service, get_service

router = APIRouter(tags=["events"], dependencies=[Depends(require_key)], route_class=StrictJSONRoute)

MAX_BATCH = 10_000
MAX_TEXT = 1_000  # characters in one field: an id, an event type or a search query, never a document
Text = Annotated[str, Field(max_length=MAX_TEXT)]
Scalar = Text | int | float | bool | None  # types are checked by the ingest validator, as for a file


class Event(BaseModel):
    """One row of the events table. user_id, event and ts are required (the validator says so)."""

    model_config = ConfigDict(extra="forbid")  # unknown fields would otherwise become new table columns

    user_id: Scalar = None
    item_id: Scalar = None
    event: Scalar = Field(None, examples=["view"])
    ts: Scalar = Field(None, examples=["2025-03-01T12:00:00"])
    session_id: Scalar = None
    query: Scalar = None
    value: Scalar = None
    event_id: Scalar = Field(None, description="client id: re-sending the same event_id stores it once")


@router.post("/events")
def post_events(body: Event | list[Event], service: Service = Depends(get_service)) -> dict:
    """Append events in one transaction; the reply comes after the commit, so an acknowledged event is on disk.
    Bad input is a 422 naming the rows (1-based within the batch), the column and the reason."""
    service.require_writable()
    events = body if isinstance(body, list) else [body]
    if not 1 <= len(events) <= MAX_BATCH:
        raise HTTPException(422, f"send between 1 and {MAX_BATCH:,} events per request, got {len(events):,}")
    frame = pd.DataFrame([event.model_dump(exclude_unset=True) for event in events])
    with service.db_lock:
        report = service.ws.ingest(frame, "events")
    # a replaced event (same event_id) may have belonged to another user: then forget every cached history
    service.forget_histories(None if report.replaced else frame["user_id"].dropna().astype(str).unique())
    return {"received": report.rows, "inserted": report.inserted, "replaced": report.replaced,
            "duplicate_batch": report.skipped_file}
