"""/reviews/analyze: pros and cons, aspects and keywords — of a product's stored reviews or of posted ones.

Both routes read polarity the way the CLI does: with the workspace's extractor (`workspace_extractor`: its
reviews' aspect vocabulary, the clause model trained on their ratings, its catalogue's brands kept out), so a
review gets the same aspects and polarities here as from `shoplens reviews analyze WS`. Only a workspace
without reviews falls back to learning from the posted reviews themselves."""

from __future__ import annotations

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from shoplens.reviews import analyze_workspace
from shoplens.reviews.summary import analyze_reviews, workspace_extractor
from shoplens.serve.body import StrictJSONRoute
from shoplens.serve.keys import require_read_key
from shoplens.serve.routers import json_ready
from shoplens.serve.service import Service, get_service

router = APIRouter(tags=["reviews"], dependencies=[Depends(require_read_key)], route_class=StrictJSONRoute)


class Review(BaseModel):
    text: str = Field(max_length=20_000)
    rating: float | None = Field(None, ge=0, le=10)
    item_id: str | None = Field(None, max_length=200)


class ReviewsRequest(BaseModel):
    reviews: list[Review] = Field(min_length=1, max_length=5_000)
    top: int = Field(5, ge=1, le=50)


@router.get("/reviews/analyze")
def analyze_stored(item: str | None = Query(None, max_length=200, description="one product (default: all)"),
                   top: int = Query(5, ge=1, le=50), service: Service = Depends(get_service)) -> dict:
    """Aspects with polarity, counts and examples, keywords and mean rating of the workspace's reviews."""
    if not service.count("reviews"):
        raise HTTPException(404, "the workspace has no reviews; ingest some first")
    extractor = _extractor(service)
    try:
        summary = service.cached(("reviews", item, top), ("reviews", "items"),
                                 lambda ws: analyze_workspace(ws, item, top, extractor=extractor))
    except ValueError:  # an item without reviews
        raise HTTPException(404, f"item {item!r} has no reviews") from None
    return json_ready(summary)


@router.post("/reviews/analyze")
def analyze_posted(body: ReviewsRequest, service: Service = Depends(get_service)) -> dict:
    """The same summary for reviews sent in the request (nothing is stored), read with the workspace's
    extractor; from the posted reviews alone when the workspace has none."""
    frame = pd.DataFrame([review.model_dump() for review in body.reviews])
    frame.insert(0, "review_id", [str(i) for i in range(len(frame))])
    return json_ready(analyze_reviews(frame, top=body.top, extractor=_extractor(service)))


def _extractor(service: Service):
    """The workspace's extractor, kept until reviews or items change (training it takes seconds)."""
    return service.cached(("reviews-extractor",), ("reviews", "items"), workspace_extractor)
