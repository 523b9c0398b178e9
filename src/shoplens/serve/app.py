"""The REST service: `create_app(workspace_path)` returns a FastAPI app serving one workspace.

One router per domain (serve/routers/) and one panel per domain in the dashboard (serve/static/), both over
one `Service` per process (serve/service.py): the open workspace, its models and cached results.
"""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from shoplens.data.readers import InputError
from shoplens.serve.body import StrictJSONRoute, validation_error
from shoplens.serve.keys import require_read_key
from shoplens.serve.service import Service, get_service
from shoplens.workspace import Workspace

STATIC = Path(__file__).parent / "static"
DOCS_ASSETS = "/docs-assets"  # Swagger UI, served from the fastapi-offline package: no CDN


def docs_assets_folder() -> Path:
    """The folder of Swagger UI's JavaScript, CSS and favicon that the fastapi-offline package ships (it depends
    on fastapi only; its FastAPIOffline class is not used)."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


class BodySizeLimit:
    """ASGI middleware: 413 for request bodies over `max_bytes`, whether or not Content-Length is sent."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._too_large(scope, receive, send)
        # Read the body here (it is at most max_bytes) and replay it to the app.
        messages, size = [], 0
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                return await self._too_large(scope, receive, send)
            if message["type"] != "http.request" or not message.get("more_body"):
                break

        async def replay():
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope, receive, send):
        response = JSONResponse({"detail": f"request body over the {self.max_bytes:,}-byte limit"}, status_code=413)
        await response(scope, receive, send)


class RequestMetrics:
    """ASGI middleware: latency histogram and request counter per route template (not per raw path, so ids
    don't explode the label set). Plain ASGI: Starlette's BaseHTTPMiddleware costs more than a request itself."""

    def __init__(self, app, registry: CollectorRegistry):
        self.app = app
        self.latency = Histogram("shoplens_request_duration_seconds", "Request latency by route",
                                 ["method", "route"], registry=registry)
        self.requests = Counter("shoplens_requests_total", "Requests by route and status",
                                ["method", "route", "status"], registry=registry)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start, status = time.perf_counter(), [500]

        async def send_and_record_status(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")  # set by the router once matched
            self.latency.labels(scope["method"], route).observe(time.perf_counter() - start)
            self.requests.labels(scope["method"], route, str(status[0])).inc()


def create_app(workspace_path, *, read_key_required: bool = False, max_body_bytes: int = 1_000_000,
               cors_origins=(), check_seconds: float = 1.0, cache_answers: bool = True,
               read_only: bool = False) -> FastAPI:
    """The service for the workspace at `workspace_path`. Reads need a key only with read_key_required;
    writes (/events) and admin (/admin/...) always do. cors_origins: origins allowed by CORS. check_seconds:
    how often a model in use is checked for a newer published version. cache_answers: keep a stored user's
    recommendations until their events or the model change. read_only: open the workspace read-only (what lets
    several worker processes serve it at once; writes then get a 503)."""
    from shoplens.serve.routers import (admin, ads, catalog, customers, demand, events, forecast, generate, recommend,
                                        reviews, search)

    app = FastAPI(title="ShopLens", docs_url=None, redoc_url=None,  # /docs is made below, without a CDN
                  description="Recommendations, search, reviews, categories, customers, forecasts, prices, "
                              "inventory, ad CTR and targeting, and event ingestion for one ShopLens workspace. "
                              "Reads are GET with query parameters; batches, documents and writes are POST with a "
                              "JSON body.")
    app.state.service = Service(Workspace.open(workspace_path, read_only=read_only), read_key_required,
                                check_seconds, cache_answers=cache_answers)

    app.add_exception_handler(RequestValidationError, validation_error)

    @app.exception_handler(InputError)
    async def bad_input(request: Request, error: InputError):
        return JSONResponse({"detail": str(error), "column": error.column, "rows": error.rows,
                             "reason": error.reason}, status_code=422)

    @app.get("/healthz", tags=["admin"])
    async def healthz(service: Service = Depends(get_service)) -> dict:
        """status "degraded" when a model in use could not load its newest published version (it is still
        served at the version it had); `models` says which version each loaded model serves and what failed."""
        models = service.model_health()
        return {"status": "degraded" if any("failed" in m for m in models.values()) else "ok",
                "workspace": service.ws.path.name, "models": models}

    @app.get("/info", tags=["admin"], dependencies=[Depends(require_read_key)])
    def info(service: Service = Depends(get_service)) -> dict:
        """Row counts of every table in the workspace, as `shoplens info --json`."""
        with service.db_lock:
            return service.ws.counts()

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    add_offline_docs(app)
    for module in (recommend, search, reviews, catalog, customers, forecast, demand, ads, generate, events, admin):
        app.include_router(module.router)
    lax = [path for path, route in served_routes(app) if getattr(route, "body_field", None) is not None
           and not isinstance(route, StrictJSONRoute)]
    if lax:  # a router made without route_class=StrictJSONRoute would let NaN and lone surrogates in again
        raise TypeError(f"routes {lax} take a JSON body but are not StrictJSONRoute")
    registry = CollectorRegistry()  # per app: several apps in one process (tests) must not clash

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(RequestMetrics, registry=registry)
    if cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["*"],
                           allow_headers=["*"])
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    return app


def served_routes(app: FastAPI) -> list[tuple[str, object]]:
    """(full path, route) of every route, those of included routers too: since FastAPI 0.16x `app.routes` holds
    one entry per included router, not its routes."""
    from fastapi.routing import iter_route_contexts

    return [(context.path, context.original_route) for context in iter_route_contexts(app.routes)]


def add_offline_docs(app: FastAPI) -> None:
    """/docs (Swagger UI) with every asset served by the app itself: FastAPI's own page loads its JavaScript from
    a CDN and is blank on a machine without internet access. There is no /redoc: ReDoc loads its logo from its
    CDN whatever it is told."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=docs_assets_folder()), name="docs-assets")
    redirect = app.swagger_ui_oauth2_redirect_url

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=root + app.openapi_url, title=f"{app.title} - Swagger UI", oauth2_redirect_url=root + redirect,
            swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            # no "valid" badge: Swagger UI would send the schema to the public validator for it
            swagger_ui_parameters={"validatorUrl": None})

    @app.get(redirect, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()


SETTINGS_ENV = "SHOPLENS_SERVE_SETTINGS"  # create_app keywords as JSON, for worker processes


def app_from_environment() -> FastAPI:
    """`create_app(**json.loads($SHOPLENS_SERVE_SETTINGS))`: the factory uvicorn calls in each worker process."""
    import json
    import os

    import torch

    torch.set_num_threads(1)
    return create_app(**json.loads(os.environ[SETTINGS_ENV]))
