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


class HistoryRequest(BaseModel):
    history: list[str] = Field(min_length=1, max_length=10_000, description="item ids, oldest first")
    event_types: list[str] | None = Field(None, max_length=10_000, description="one event type per history item "
                                          "(view, click, cart, purchase ...), for the models that read them (HSTU)")
    k: int = Field(10, ge=1, le=500)
    model: str = Field("sasrec", pattern=NAME_PATTERN)
    explain: bool = False

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


def _recommend(service: Service, model: str, k: int, explain: bool, user: str | None = None,
               history: list[str] | None = None, event_types: list[str] | None = None) -> dict:
    recommender = service.recommender(model)
    times = None
    if user is not None:  # a stored user: their current events, from the service's history cache
        try:
            history, times, event_types = service.user_history(user)
        except KeyError as error:
            raise HTTPException(404, error.args[0]) from None
    with service.model_slots:
        items = recommender.recommend(history=history, times=times, event_types=event_types, k=k)
        recommendations = _records(items)
        if explain:  # why each item: the past items whose removal lowers its score most
            for row in recommendations:
                row["because"] = _records(recommender.explain(item_id=row["item_id"], history=history).head(3))
    return {"model": model, "version": recommender.version, "recommendations": recommendations}


def _answer_for_user(service: Service, user: str, model: str, k: int, explain: bool) -> dict:
    recommender = service.recommender(model)  # the version it names is part of the cached answer's key
    return service.user_answer(user, (model, recommender.version, k, explain),
                               lambda: _recommend(service, model, k, explain, user=user))


@router.get("/recommend", response_class=JSONResponse)
async def recommend_for_user(user: str = Query(min_length=1, description="a user id with events in the workspace"),
                             k: int = TopK, model: str = ModelName, explain: bool = False,
                             service: Service = Depends(get_service)) -> JSONResponse:
    """Top-k items for a stored user, from their current events (new events count at once, no retraining)."""
    # The hottest route: an answer already computed for the user's current events and the loaded model version
    # is returned from the event loop; anything that reads the disk or runs a model goes to the thread pool.
    version = service.loaded_version(model)
    answer = service.cached_user_answer(user, (model, version, k, explain)) if version else None
    if answer is None:
        answer = await run_in_threadpool(_answer_for_user, service, user, model, k, explain)
    return JSONResponse({"user": user, **answer})  # built here, not by FastAPI's generic encoder


@router.post("/recommend")
def recommend_for_history(body: HistoryRequest, service: Service = Depends(get_service)) -> dict:
    """Top-k items for a raw history of item ids (items the model does not know are skipped)."""
    items = service.recommender(body.model).items
    if not any(item in items for item in body.history):
        raise HTTPException(404, f"none of the {len(body.history)} history items is known to model {body.model!r}")
    # items the model does not know are skipped (with their event types) by the recommender
    return _recommend(service, body.model, body.k, body.explain, history=body.history, event_types=body.event_types)


@router.get("/similar-items")
def similar_items(item: str = Query(min_length=1), k: int = TopK, model: str = ModelName,
                  service: Service = Depends(get_service)) -> dict:
    """Items whose learned vectors are closest to `item`'s."""
    recommender = service.recommender(model)
    if item not in recommender.items:
        raise HTTPException(404, f"item {item!r} is unknown to model {model!r}")
    return {"item": item, "model": model, "similar": _records(recommender.similar_items(item, k))}
