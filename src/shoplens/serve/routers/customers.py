"""/profile/{user}, /churn and /segments: who a customer is, who is about to leave, and the groups they form."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query

from shoplens.customers.jobs import workspace_churn, workspace_profile, workspace_segments
from shoplens.serve.body import StrictJSONRoute
from shoplens.serve.keys import require_read_key
from shoplens.serve.routers import frame_records, json_ready
from shoplens.serve.service import Service, get_service

router = APIRouter(tags=["customers"], dependencies=[Depends(require_read_key)], route_class=StrictJSONRoute)


@router.get("/profile/{user}")
def profile(user: str, service: Service = Depends(get_service)) -> dict:
    """A user's interests, history summary and RFM segment."""
    with service.own_workspace() as ws:
        try:
            result = workspace_profile(ws, user)
        except KeyError as error:
            raise HTTPException(404, error.args[0] if error.args else str(error)) from None
    return json_ready(result)


@router.get("/churn")
def churn(budget: int | None = Query(None, ge=1, description="flag at most this many customers"),
          precision: float | None = Query(None, gt=0, le=1, description="flag down to this precision"),
          horizon: float | None = Query(None, gt=0, le=3650, description="no purchase within this many days = "
                                        "churned (default 90), as `shoplens customers churn --horizon`"),
          horizon_days: float | None = Query(None, gt=0, le=3650, deprecated=True, description="the old name of horizon"),
          service: Service = Depends(get_service)) -> dict:
    """Customers at risk of not buying again, with reasons and value at risk."""
    if budget is not None and precision is not None:
        raise HTTPException(422, "give budget or precision, not both")
    if horizon is not None and horizon_days is not None:
        raise HTTPException(422, "give horizon or its old name horizon_days, not both")
    horizon_days = horizon or horizon_days or 90.0
    try:  # a model is trained per request kind: keep its answer until new events arrive
        at_risk, summary = service.cached(
            ("churn", budget, precision, horizon_days), ("events",),
            lambda ws: workspace_churn(ws, budget=budget, precision=precision, horizon_days=horizon_days))
    except ValueError as error:  # e.g. too little purchase history to train on
        raise HTTPException(422, str(error)) from None
    return {"summary": json_ready(summary), "at_risk": json_ready(at_risk.reset_index().to_dict(orient="records"))}


@router.get("/segments")
def segments(clusters: int = Query(8, ge=1, le=100, description="embedding clusters"),
             service: Service = Depends(get_service)) -> dict:
    """Named RFM segments (size, recency, frequency, value) and embedding-based interest clusters with
    descriptions, as `shoplens segments --json` (each customer's segment: /profile/{user})."""
    try:
        result = service.cached(("segments", clusters), ("events", "items"),
                                lambda ws: workspace_segments(ws, n_clusters=clusters))
    except ValueError as error:  # e.g. no purchases to segment
        raise HTTPException(422, str(error)) from None
    return {name: frame_records(table) for name, table in result.items() if name != "customers"}


@router.get("/users")
def users(limit: int = Query(20, ge=1, le=1000), service: Service = Depends(get_service)) -> dict:
    """The most active users (by event count), with their last activity."""
    with service.db_lock:
        rows = service.ws.connect().execute(
            "SELECT user_id, count(*) AS events, max(ts) AS last_event FROM events "
            "GROUP BY user_id ORDER BY events DESC, user_id LIMIT ?", [limit]).df()
    return {"users": json_ready(rows.to_dict(orient="records"))}


@router.get("/history/{user}")
def history(user: str, limit: int = Query(20, ge=1, le=1000), service: Service = Depends(get_service)) -> dict:
    """A user's most recent events, newest first, with the item's title and category."""
    with service.db_lock:
        rows = service.ws.connect().execute(
            "SELECT e.ts, e.event, e.item_id, i.title, i.category FROM events e "
            "LEFT JOIN items i ON i.item_id = e.item_id WHERE e.user_id = ? "
            "ORDER BY e.ts DESC, e._row DESC LIMIT ?", [user, limit]).df()
    if rows.empty:
        raise HTTPException(404, f"user {user!r} has no events in the workspace")
    return {"user": user, "events": json_ready(rows.to_dict(orient="records"))}
