"""/profile/{user} and /churn: who a customer is, and who is about to leave."""

from __future__ import annotations

import json

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query

from shoplens.serve.app import Service, get_service
from shoplens.serve.keys import require_read_key

router = APIRouter(tags=["customers"], dependencies=[Depends(require_read_key)])


def _json_ready(value):
    """Timestamps, numpy numbers and NaN -> plain JSON, through pandas' own encoder."""
    return json.loads(pd.Series([value]).to_json(orient="records", date_format="iso", default_handler=str))[0]


@router.get("/profile/{user}")
def profile(user: str, service: Service = Depends(get_service)) -> dict:
    """A user's interests, history summary and RFM segment."""
    from shoplens.customers.jobs import workspace_profile

    with service.db_lock:
        try:
            result = workspace_profile(service.ws, user)
        except KeyError as error:
            raise HTTPException(404, error.args[0] if error.args else str(error)) from None
    return _json_ready(result)


@router.get("/churn")
def churn(budget: int | None = Query(None, ge=1, description="flag at most this many customers"),
          precision: float | None = Query(None, gt=0, le=1, description="flag down to this precision"),
          horizon_days: float = Query(90.0, gt=0, le=3650, description="no purchase within this many days = churned"),
          service: Service = Depends(get_service)) -> dict:
    """Customers at risk of not buying again, with reasons and value at risk."""
    from shoplens.customers.jobs import workspace_churn

    if budget is not None and precision is not None:
        raise HTTPException(422, "give budget or precision, not both")
    with service.db_lock:
        try:
            at_risk, summary = workspace_churn(service.ws, budget=budget, precision=precision,
                                                 horizon_days=horizon_days)
        except ValueError as error:  # e.g. too little purchase history to train on
            raise HTTPException(422, str(error)) from None
    return {"summary": _json_ready(summary), "at_risk": _json_ready(at_risk.to_dict(orient="records"))}
