"""/search and /suggest over the workspace's search index."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query

from shoplens.serve.app import Service, get_service
from shoplens.serve.keys import require_read_key

router = APIRouter(tags=["search"], dependencies=[Depends(require_read_key)])


@router.get("/search")
def search_items(q: str = Query(min_length=1, max_length=500), k: int = Query(10, ge=1, le=200),
                 user: str | None = Query(None, description="personalise for this user"),
                 filter: list[str] = Query([], description='e.g. "category=家居", "price=10..100", "brand=acme"'),
                 mode: str = Query("hybrid", pattern="^(hybrid|keyword|dense)$"),
                 service: Service = Depends(get_service)) -> dict:
    """Hybrid keyword + embedding search, optionally filtered and personalised."""
    from shoplens.search.workspace import search

    index = service.search_index()
    with service.db_lock:
        try:
            result = search(service.ws, q, k=k, user=user, filters=filter or None, mode=mode, index=index)
        except ValueError as error:  # a filter that does not parse
            raise HTTPException(422, str(error)) from None
    return result.to_json()


@router.get("/suggest")
def suggest_queries(prefix: str = Query("", max_length=200), k: int = Query(10, ge=1, le=100),
                    service: Service = Depends(get_service)) -> dict:
    """Past queries completing `prefix`, most searched first."""
    from shoplens.search.workspace import suggest

    with service.db_lock:
        try:
            completions = suggest(service.ws, prefix, k)
        except FileNotFoundError:
            raise HTTPException(404, f"no query suggester in {service.ws.path}; build one with "
                                     f"`shoplens index {service.ws.path} search`") from None
    return {"prefix": prefix, "suggestions": completions.to_dict(orient="records")}
