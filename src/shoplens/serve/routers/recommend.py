"""/recommend and /similar-items: a fitted recommender, for a stored user or a raw history."""

from __future__ import annotations

import math

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator

from shoplens.serve.body import StrictJSONRoute
from shoplens.serve.keys import require_read_key
from shoplens.serve.service import NAME_PATTERN, Service, get_service

router = APIRouter(tags=["recommend"], dependencies=[Depends(require_read_key)], route_class=StrictJSONRoute)

ModelName = Query("sasrec", pattern=NAME_PATTERN, description="a recommender fitted in the workspace")
TopK = Query(10, ge=1, le=500)
IncludeSeen = Query(False, description="allow items the user already has (buy again: groceries, refills)")
Fallback = Query(True, description="a user with no events (or a history of items the model does not know) gets "
                                   "the workspace's most popular items, `source` saying so; false: a 404")


class HistoryRequest(BaseModel):
    history: list[str] = Field(min_length=1, max_length=10_000, description="item ids, oldest first")
    event_types: list[str] | None = Field(None, max_length=10_000, description="one event type per history item "
                                          "(view, click, cart, purchase ...), for the models that read them (HSTU)")
    k: int = Field(10, ge=1, le=500)
    model: str = Field("sasrec", pattern=NAME_PATTERN)
    explain: bool = False
    include_seen: bool = Field(False, description="allow the history's own items (buy again)")
    fallback: bool = Field(True, description="no known history item: the most popular items instead of a 404")

    @model_validator(mode="after")
    def one_event_type_per_item(self) -> "HistoryRequest":
        if self.event_types is not None and len(self.event_types) != len(self.history):
            raise ValueError(f"event_types has {len(self.event_types)} entries for {len(self.history)} history items")
        return self


def _records(frame) -> list[dict]:
    """Rows as dicts; a non-finite score (an item the model cannot score) becomes null. Plain Python: this is
    the hot path of /recommend."""
    columns = {name: frame[name].tolist() for name in frame.columns}
    rows = [dict(zip(columns, values)) for values in zip(*columns.values())]
    for row in rows:
        for name, value in row.items():
            if isinstance(value, float) and not math.isfinite(value):
                row[name] = None
    return rows


def _popular(service: Service, model: str, recommender, k: int, why: str) -> dict:
    """The named fallback of `WorkspaceRecommender.recommend(fallback="popular")`: the workspace's most popular
    items the model knows, kept until the next event arrives (most visitors of a shop have no events). `why` is
    worded as the library words it: tests/test_serve_parity.py compares the two."""
    def compute() -> list[dict]:
        with service.db_lock:  # `popular` counts events on the workspace's shared connection
            return _records(recommender.popular(k))

    items = service.fallback_answer(("popular", model, recommender.version, k), compute)
    return {"model": model, "version": recommender.version, "source": f"popular (fallback: {why})",
            "recommendations": items}


def _recommend(service: Service, model: str, k: int, explain: bool, include_seen: bool, fallback: bool,
               user: str | None = None, history: list[str] | None = None,
               event_types: list[str] | None = None) -> dict:
    recommender = service.recommender(model)
    times = None
    if user is not None:  # a stored user: their current events, from the service's history cache
        try:
            history, times, event_types = service.user_history(user)
        except KeyError as error:
            if not fallback:
                raise HTTPException(404, error.args[0]) from None
            return _popular(service, model, recommender, k, f"user {user!r} has no events")
    if not any(item in recommender.items for item in history):
        if not fallback:
            whose = f"user {user!r}'s" if user is not None else f"the {len(history)}"
            raise HTTPException(404, f"none of {whose} history items is known to model {model!r}")
        return _popular(service, model, recommender, k, "no item of the history is known")
    with service.model_slots:  # items the model does not know are skipped (with their event types)
        items = recommender.recommend(history=history, times=times, event_types=event_types, k=k,
                                      exclude_seen=not include_seen)
        recommendations = _records(items)
        if explain:  # why each item: the past items whose removal lowers its score most
            for row in recommendations:
                row["because"] = _records(recommender.explain(item_id=row["item_id"], history=history).head(3))
    return {"model": model, "version": recommender.version, "source": recommender.model_name,
            "recommendations": recommendations}


def _answer_for_user(service: Service, user: str, model: str, k: int, explain: bool, include_seen: bool,
                     fallback: bool) -> dict:
    recommender = service.recommender(model)  # the version it names is part of the cached answer's key
    return service.user_answer(user, (model, recommender.version, k, explain, include_seen, fallback),
                               lambda: _recommend(service, model, k, explain, include_seen, fallback, user=user))


@router.get("/recommend", response_class=JSONResponse)
async def recommend_for_user(user: str = Query(min_length=1, description="a user id (one without events gets the "
                                                                         "popular fallback unless fallback=false)"),
                             k: int = TopK, model: str = ModelName, explain: bool = False,
                             include_seen: bool = IncludeSeen, fallback: bool = Fallback,
                             service: Service = Depends(get_service)) -> JSONResponse:
    """Top-k items for a user, from their current events (new events count at once, no retraining). `source`
    names what answered: the model, or `popular (fallback: ...)` and why."""
    # The hottest route: an answer already computed for the user's current events and the loaded model version
    # is returned from the event loop; anything that reads the disk or runs a model goes to the thread pool.
    version = service.loaded_version(model)
    key = (model, version, k, explain, include_seen, fallback)
    answer = service.cached_user_answer(user, key) if version else None
    if answer is None:
        answer = await run_in_threadpool(_answer_for_user, service, user, model, k, explain, include_seen, fallback)
    return JSONResponse({"user": user, **answer})  # built here, not by FastAPI's generic encoder


@router.post("/recommend")
def recommend_for_history(body: HistoryRequest, service: Service = Depends(get_service)) -> dict:
    """Top-k items for a raw history of item ids (items the model does not know are skipped; with none known,
    the popular fallback unless `"fallback": false`)."""
    return _recommend(service, body.model, body.k, body.explain, body.include_seen, body.fallback,
                      history=body.history, event_types=body.event_types)


@router.get("/similar-items")
def similar_items(item: str = Query(min_length=1), k: int = TopK, model: str = ModelName,
                  service: Service = Depends(get_service)) -> dict:
    """Items whose learned vectors are closest to `item`'s."""
    recommender = service.recommender(model)
    if item not in recommender.items:
        raise HTTPException(404, f"item {item!r} is unknown to model {model!r}")
    return {"item": item, "model": model, "similar": _records(recommender.similar_items(item, k))}
