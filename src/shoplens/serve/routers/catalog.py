"""/categorize: a category path with a confidence per level for product titles."""

from __future__ import annotations

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from shoplens.catalog.categorize import NEAREST_MODEL, choose_categorizer, one_category_warning
from shoplens.serve.body import StrictJSONRoute
from shoplens.serve.keys import require_read_key
from shoplens.serve.routers import json_ready
from shoplens.serve.service import Service, get_service

router = APIRouter(tags=["catalog"], dependencies=[Depends(require_read_key)], route_class=StrictJSONRoute)


class Product(BaseModel):
    title: str = Field(min_length=1, max_length=2_000)
    brand: str | None = Field(None, max_length=200)


class CategorizeRequest(BaseModel):
    items: list[Product] = Field(min_length=1, max_length=1_000)


def _fit_categorizer(ws):
    """The model the workspace's categorised items support (`choose_categorizer`), fitted on them, with its
    name, its warnings and the categories too thin to trust."""
    items = ws.table("items")
    labelled = items[items["category"].notna() & (items["category"].astype(str).str.strip() != "")]
    if labelled["category"].nunique() < 2:
        raise ValueError("the workspace needs items in at least two categories to learn from")
    brands = labelled["brand"] if "brand" in labelled else None
    choice = choose_categorizer(labelled["category"])
    return choice, choice.make_model().fit(labelled["title"], labelled["category"], brands=brands)


@router.post("/categorize")
def categorize(body: CategorizeRequest, service: Service = Depends(get_service)) -> dict:
    """Predict categories for titles, with a model learnt from the workspace's categorised items (refitted
    when the items table changes). Low-confidence predictions are flagged for human review; `warnings` says
    what the labelled items cannot support (too few per category: `model` names the fallback used, and
    predictions into a thin category have `reliable` false), as `shoplens catalog categorize` does."""
    try:
        choice, model = service.cached(("categorizer",), ("items",), _fit_categorizer)
    except ValueError as error:
        raise HTTPException(409, str(error)) from None
    titles = pd.Series([item.title for item in body.items])
    brands = pd.Series([item.brand for item in body.items])
    frame = model.predict_frame(titles, brands)
    frame.insert(0, "title", titles)
    frame["reliable"] = ~frame["category"].isin(choice.thin) & (choice.name != NEAREST_MODEL)
    learnt = model.classes_ if hasattr(model, "classes_") else set(model.paths_)
    degenerate = one_category_warning(frame["category"], len(learnt))
    return {"model": choice.name, "warnings": [*choice.warnings, *([degenerate] if degenerate else [])],
            "unreliable_categories": [str(c) for c in choice.thin],
            "predictions": json_ready(frame.to_dict(orient="records"))}


@router.get("/items")
def items(id: list[str] = Query(min_length=1, max_length=500, description="item ids (repeat the parameter)"),
          service: Service = Depends(get_service)) -> dict:
    """Catalogue rows for the given item ids (ids not in the catalogue are listed under `unknown`)."""
    with service.db_lock:
        rows = service.ws.connect().execute(
            "SELECT * EXCLUDE (_row) FROM items WHERE item_id IN (SELECT unnest(?))", [id]).df()
    found = set(rows["item_id"].astype(str))
    return {"items": json_ready(rows.to_dict(orient="records")), "unknown": [i for i in id if i not in found]}
