"""/search, /suggest and /similar-queries over the workspace's search index and past queries."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query

from shoplens.search.workspace import search
from shoplens.serve.body import StrictJSONRoute
from shoplens.serve.keys import require_read_key
from shoplens.serve.routers import json_ready
from shoplens.serve.service import Service, get_service

router = APIRouter(tags=["search"], dependencies=[Depends(require_read_key)], route_class=StrictJSONRoute)


@router.get("/search")
def search_items(q: str = Query(min_length=1, max_length=500), k: int = Query(10, ge=1, le=200),
                 user: str | None = Query(None, description="personalise for this user"),
                 filter: list[str] = Query([], description='e.g. "category=家居", "price=10..100", "brand=acme"'),
                 mode: str = Query("hybrid", pattern="^(hybrid|keyword|dense)$"),
                 service: Service = Depends(get_service)) -> dict:
    """Hybrid keyword + embedding search, optionally filtered and personalised."""
    index = service.search_index()
    recommender = service.personalising_recommender() if user is not None else None
    with service.db_lock:
        try:
            result = search(service.ws, q, k=k, user=user, filters=filter or None, mode=mode, index=index,
                            recommender=recommender)
        except ValueError as error:  # a filter that does not parse
            raise HTTPException(422, str(error)) from None
    return json_ready(result.to_json())


@router.get("/suggest")
def suggest_queries(prefix: str = Query("", max_length=200), k: int = Query(10, ge=1, le=100),
                    service: Service = Depends(get_service)) -> dict:
    """Past queries completing `prefix`, most searched first."""
    completions = service.suggester().complete(prefix, k)
    return {"prefix": prefix, "suggestions": completions.to_dict(orient="records")}


@router.get("/similar-queries")
def similar_queries(q: str = Query(min_length=1, max_length=500), k: int = Query(10, ge=1, le=100),
                    service: Service = Depends(get_service)) -> dict:
    """Past queries like `q`: embedding neighbours and queries searched in the same sessions."""
    suggester = service.suggester()
    with service.db_lock:  # the query is embedded through the workspace's embedding cache
        similar = suggester.similar(q, k)
    return {"query": q, "similar": similar.to_dict(orient="records")}
