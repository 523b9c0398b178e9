"""/ctr and /target: a saved CTR model's click probability for one user and item, and campaign targeting — the
library calls of `shoplens ctr` and `shoplens target`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query

from shoplens.ads.jobs import ctr_report, target_campaign
from shoplens.serve.body import StrictJSONRoute
from shoplens.serve.keys import require_read_key
from shoplens.serve.routers import json_ready
from shoplens.serve.service import NAME_PATTERN, Service, get_service

router = APIRouter(tags=["ads"], dependencies=[Depends(require_read_key)], route_class=StrictJSONRoute)

CTRModel = Query("deepfm", pattern=NAME_PATTERN, description="a CTR model saved with `shoplens ads fit WS`")
MAX_BUDGET = 100_000  # impressions in one answer: one row each


def _refused(error: Exception) -> HTTPException:
    """No saved model: 404; an unknown id: 404; anything the data cannot support: 422 — each with the reason."""
    status = 422 if isinstance(error, ValueError) else 404
    return HTTPException(status, str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error))


@router.get("/ctr")
def ctr(user: str = Query(min_length=1, max_length=200), item: str = Query(min_length=1, max_length=200),
        model: str = CTRModel, service: Service = Depends(get_service)) -> dict:
    """Calibrated probability that `user` clicks `item` when shown (ids the model never saw use its
    out-of-vocabulary bucket). `fitted_as` names the model stored under `model` (e.g. "prior (fallback)" for a
    log too thin to learn from) and `warnings` why, as `shoplens ads ctr --json` does."""
    with service.own_workspace() as ws:
        try:
            return ctr_report(ws, user, item, model=model)
        except (FileNotFoundError, ValueError, KeyError) as error:
            raise _refused(error) from None


@router.get("/target")
def target(category: str | None = Query(None, min_length=1, max_length=500,
                                        description="campaign = every item of this category: a path or a prefix "
                                                    "of whole levels (美妆 > 面霜, also 美妆/面霜), or its last level"),
           item: list[str] = Query([], max_length=1_000, description="or these item ids (repeat the parameter)"),
           budget: int = Query(1000, ge=1, le=MAX_BUDGET, description="impressions to buy"),
           frequency_cap: int = Query(1, ge=1, le=1_000, description="impressions per user at most"),
           model: str = CTRModel, service: Service = Depends(get_service)) -> dict:
    """Whom to show a campaign to, best impressions first, by expected clicks (CTR x the chance the user shows up
    during the campaign). `budget` counts impressions. `fitted_as` and `warnings` as for /ctr, plus a warning
    when the CTR is the same for every candidate (then only the chance of showing up ranks them)."""
    if (category is None) == (not item):
        raise HTTPException(422, "give category or item (one or more), not both")
    with service.own_workspace() as ws:
        try:
            chosen = target_campaign(ws, items=item or None, category=category, budget=budget,
                                     frequency_cap=frequency_cap, model=model)
        except (FileNotFoundError, ValueError, KeyError) as error:
            raise _refused(error) from None
    return {"model": model, "fitted_as": chosen.attrs["fitted_as"], "warnings": chosen.attrs["warnings"],
            "impressions_chosen": len(chosen), "users": int(chosen["user_id"].nunique()),
            "expected_clicks": float(chosen["expected_clicks"].sum()),
            "impressions": json_ready(chosen.to_dict(orient="records"))}
