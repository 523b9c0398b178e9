"""/generate/...: drafts from a local LLM, each with its faithfulness checks.

Served only when the server is told which model to use: $SHOPLENS_LLM_MODEL (a fetched model name or a .gguf
path), or $SHOPLENS_LLM_URL (an OpenAI-compatible server), set before `shoplens serve`; otherwise every
/generate route answers 404 saying so (a server does not load a 1 GB model nobody asked for). The model loads
once per process, on the first request; one that is not fetched is a 503 naming `shoplens models fetch`."""

from __future__ import annotations

import os
import threading
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from shoplens.generate.backends import GenerationError, Generator, make_generator
from shoplens.generate.jobs import narrative_task
from shoplens.generate.models import ModelError
from shoplens.generate.tasks import Drafter, ReplyTask, Result, ReviewDraftTask, SummaryTask, TitleTask
from shoplens.serve.body import StrictJSONRoute
from shoplens.serve.keys import require_read_key
from shoplens.serve.service import Service, get_service

router = APIRouter(tags=["generate"], dependencies=[Depends(require_read_key)], route_class=StrictJSONRoute)
MAX_RECORDS = 20  # a draft takes seconds on a CPU: a request holds a few, not a catalogue
OnFail = Literal["regenerate", "mark", "reject"]
_loaded: dict[str, Generator] = {}
_lock = threading.Lock()


def generator() -> Generator:
    if not (os.environ.get("SHOPLENS_LLM_MODEL") or os.environ.get("SHOPLENS_LLM_URL")):
        raise HTTPException(404, "generation is not configured on this server: set SHOPLENS_LLM_MODEL (a model "
                                 "name from `shoplens models list`, fetched, or a .gguf path) or SHOPLENS_LLM_URL "
                                 "before `shoplens serve`")
    with _lock:
        if "model" not in _loaded:
            try:
                _loaded["model"] = make_generator()
            except ModelError as e:
                raise HTTPException(503, str(e)) from None
        return _loaded["model"]


def _brands(service: Service) -> tuple:
    with service.db_lock:
        items = service.ws.table("items")
    return tuple(sorted(items["brand"].dropna().astype(str).unique())) if "brand" in items else ()


def _answer(task, records: list[dict], ids: list) -> dict:
    try:
        results: list[Result] = task(records)
    except GenerationError as e:
        raise HTTPException(502, str(e)) from None
    return {"drafts": [{"id": i, "text": text, **checks.to_dict()} for i, (text, checks) in zip(ids, results)]}


class Item(BaseModel):
    item_id: str | None = Field(None, max_length=200)
    title: str | None = Field(None, max_length=2_000)
    brand: str | None = Field(None, max_length=200)
    category: str | None = Field(None, max_length=500)
    description: str | None = Field(None, max_length=10_000)
    price: float | None = Field(None, ge=0)
    attributes: dict[str, str] | None = Field(None, max_length=100, description="attribute key -> value")


class ItemsRequest(BaseModel):
    items: list[Item] = Field(min_length=1, max_length=MAX_RECORDS)
    on_fail: OnFail = "regenerate"
    max_chars: int | None = Field(None, ge=4, le=200)


@router.post("/generate/titles")
def titles(body: ItemsRequest, service: Service = Depends(get_service)) -> dict:
    """A title per posted item from its attributes (or brand, category, title, description, price); brands
    other than the item's are checked against the workspace's catalogue."""
    task = TitleTask(Drafter(generator(), on_fail=body.on_fail), max_chars=body.max_chars,
                     catalogue_brands=_brands(service))
    records = [i.model_dump(exclude_none=True) for i in body.items]
    return _answer(task, records, [i.item_id for i in body.items])


@router.post("/generate/summaries")
def summaries(body: ItemsRequest, service: Service = Depends(get_service)) -> dict:
    """A short summary of each posted item's description, every sentence checked against it."""
    task = SummaryTask(Drafter(generator(), on_fail=body.on_fail), max_chars=body.max_chars,
                       catalogue_brands=_brands(service))
    return _answer(task, [i.model_dump(exclude_none=True) for i in body.items], [i.item_id for i in body.items])


class Review(BaseModel):
    review_id: str | None = Field(None, max_length=200)
    text: str = Field(min_length=1, max_length=10_000)
    rating: float | None = Field(None, ge=1, le=5)
    title: str | None = Field(None, max_length=2_000, description="the item's title")
    brand: str | None = Field(None, max_length=200)


class RepliesRequest(BaseModel):
    reviews: list[Review] = Field(min_length=1, max_length=MAX_RECORDS)
    on_fail: OnFail = "regenerate"


@router.post("/generate/replies")
def replies(body: RepliesRequest, service: Service = Depends(get_service)) -> dict:
    """A merchant's reply to each posted review: thanks, or an apology for a low rating."""
    task = ReplyTask(Drafter(generator(), on_fail=body.on_fail), catalogue_brands=_brands(service))
    return _answer(task, [r.model_dump(exclude_none=True) for r in body.reviews], [r.review_id for r in body.reviews])


class DraftRequest(BaseModel):
    notes: str = Field(min_length=1, max_length=2_000, description="the buyer's own points")
    rating: int | None = Field(None, ge=1, le=5)
    title: str | None = Field(None, max_length=2_000)
    brand: str | None = Field(None, max_length=200)
    on_fail: OnFail = "regenerate"


@router.post("/generate/review-draft")
def review_draft(body: DraftRequest, service: Service = Depends(get_service)) -> dict:
    """A buyer's review draft from their notes, always marked as generated."""
    task = ReviewDraftTask(Drafter(generator(), on_fail=body.on_fail), catalogue_brands=_brands(service))
    answer = _answer(task, [body.model_dump(exclude_none=True)], [None])
    return {**answer["drafts"][0], "generated": True}


@router.get("/generate/narrative")
def narrative(user: str = Query(..., max_length=200), lang: Literal["zh", "en"] = "zh",
              service: Service = Depends(get_service)) -> dict:
    """A stored user's interests in words, naming only their profile's categories, brands and price band."""
    from shoplens.customers.jobs import workspace_profile

    model = generator()
    try:
        with service.db_lock:  # the profile under the lock; the (slow) generation outside it
            profile = workspace_profile(service.ws, user)
            items = service.ws.table("items")
    except (KeyError, ValueError) as e:
        raise HTTPException(404, str(e.args[0]) if e.args else str(e)) from None
    answer = _answer(narrative_task(items, model, lang=lang), [profile], [user])
    return {"user_id": user, **answer["drafts"][0]}
