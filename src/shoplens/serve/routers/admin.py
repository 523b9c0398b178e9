"""/admin: fit a recommender in the background (published atomically when done) and force a reload."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from shoplens.recommend.workspace_models import fit_workspace_model
from shoplens.serve.body import StrictJSONRoute
from shoplens.serve.keys import require_key
from shoplens.serve.service import NAME_PATTERN, Service, get_service
from shoplens.workspace import Workspace

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_key)], route_class=StrictJSONRoute)


class FitRequest(BaseModel):
    model: Literal["sasrec", "hstu", "esasrec", "als", "bpr", "itemknn", "popularity"] = "sasrec"
    name: str | None = Field(None, pattern=NAME_PATTERN, description="saved under this name (default: model)")
    max_epochs: int | None = Field(None, ge=1, le=500, description="sequence models only")
    max_seconds: float | None = Field(None, gt=0, le=24 * 3600, allow_inf_nan=False,
                                      description="sequence models only")


def _fit(path, request: FitRequest) -> str:
    params = {k: v for k, v in (("max_epochs", request.max_epochs), ("max_seconds", request.max_seconds))
              if v is not None}
    with Workspace.open(path) as ws:  # its own connection: the server's stays free for requests
        return fit_workspace_model(ws, request.model, name=request.name, **params).version


@router.post("/fit", status_code=202)
def fit(body: FitRequest, service: Service = Depends(get_service)) -> dict:
    """Train a recommender on the workspace's current events, in the background. When it finishes, the new
    version is published and served from the next request on; GET /admin/jobs/{job} tells when. Fits run one
    at a time, in the order asked ("queued" until their turn); with a fit running and two waiting, 409."""
    service.require_writable()
    if body.model in ("als", "bpr", "itemknn", "popularity") and (body.max_epochs or body.max_seconds):
        raise HTTPException(422, "max_epochs and max_seconds apply to sequence models (sasrec, hstu) only")
    return service.fits.submit({"model": body.model, "name": body.name or body.model},
                               lambda: _fit(service.ws.path, body))


@router.get("/jobs/{job_id}")
def job_status(job_id: str, service: Service = Depends(get_service)) -> dict:
    if job_id not in service.fits.jobs:
        raise HTTPException(404, f"no job {job_id!r} in this server process")
    return dict(service.fits.jobs[job_id])


@router.post("/reload")
def reload(service: Service = Depends(get_service)) -> dict:
    """Load the published models now rather than at the next version check."""
    return service.reload()
