"""The REST service: `create_app(workspace_path)` returns a FastAPI app serving one workspace.

One `Service` per process holds the open workspace, a lock around its single DuckDB connection (DuckDB
connections are not safe to share between threads, and FastAPI runs sync handlers in a thread pool),
and the loaded models. Models load on first use and stay cached; `reload()` loads fresh copies and
swaps the whole cache in one assignment, so requests already holding the old model finish with it.
"""

from __future__ import annotations

import re
import threading
import time

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from shoplens.data.readers import InputError
from shoplens.serve.keys import require_key
from shoplens.workspace import Workspace

NAME_PATTERN = r"^[A-Za-z0-9_-]+$"  # model names from requests: never a path


def check_name(name: str, what: str = "model") -> str:
    if not re.fullmatch(NAME_PATTERN, name):
        raise HTTPException(422, f"invalid {what} name {name!r}: use letters, digits, '_' or '-'")
    return name


class Service:
    """The workspace and the models served from it, shared by all requests of one process."""

    def __init__(self, ws: Workspace, read_key_required: bool):
        self.ws = ws
        self.read_key_required = read_key_required
        self.db_lock = threading.RLock()
        self._recommenders: dict = {}
        self._search_index = None

    def recommender(self, name: str):
        from shoplens.recommend.workspace_models import load_workspace_model

        check_name(name)
        model = self._recommenders.get(name)
        if model is None:
            with self.db_lock:
                try:
                    model = load_workspace_model(self.ws, name)
                except FileNotFoundError as error:
                    raise HTTPException(404, str(error)) from None
            self._recommenders = {**self._recommenders, name: model}
        return model

    def search_index(self):
        from shoplens.search.workspace import load_index

        index = self._search_index
        if index is None:
            with self.db_lock:
                try:
                    index = load_index(self.ws)
                except FileNotFoundError:
                    raise HTTPException(404, f"no search index in {self.ws.path}; build one with "
                                             f"`shoplens index {self.ws.path} search`") from None
            self._search_index = index
        return index

    def reload(self) -> dict:
        """Reload every cached model from disk (e.g. after a refit) and swap them in atomically."""
        from shoplens.recommend.workspace_models import load_workspace_model
        from shoplens.search.workspace import load_index

        with self.db_lock:
            fresh = {name: load_workspace_model(self.ws, name) for name in self._recommenders}
            index = load_index(self.ws) if self._search_index is not None else None
        self._recommenders, self._search_index = fresh, index
        return {"recommenders": sorted(fresh), "search_index": index is not None}


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


def _add_metrics(app: FastAPI) -> None:
    """Request latency histograms per route template (not per raw path, so ids don't explode the label set)."""
    registry = CollectorRegistry()  # per app: several apps in one process (tests) must not clash
    latency = Histogram("shoplens_request_duration_seconds", "Request latency by route", ["method", "route"],
                        registry=registry)
    requests = Counter("shoplens_requests_total", "Requests by route and status", ["method", "route", "status"],
                       registry=registry)

    @app.middleware("http")
    async def measure(request: Request, call_next):
        start = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        name = getattr(route, "path", "unmatched")
        latency.labels(request.method, name).observe(time.perf_counter() - start)
        requests.labels(request.method, name, str(response.status_code)).inc()
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def create_app(workspace_path, *, read_key_required: bool = False, max_body_bytes: int = 1_000_000,
               cors_origins=()) -> FastAPI:
    """The service for the workspace at `workspace_path`. Reads need a key only with read_key_required;
    writes (/events) and admin (/admin/reload) always do. cors_origins: origins allowed by CORS."""
    from shoplens.serve.routers import customers, events, recommend, search

    app = FastAPI(title="ShopLens", description="Recommendations, search, customers and event ingestion "
                                                "for one ShopLens workspace.")
    app.state.service = Service(Workspace.open(workspace_path), read_key_required)

    @app.exception_handler(InputError)
    async def bad_input(request: Request, error: InputError):
        return JSONResponse({"detail": str(error), "column": error.column, "rows": error.rows,
                             "reason": error.reason}, status_code=422)

    @app.get("/healthz", tags=["admin"])
    def healthz() -> dict:
        return {"status": "ok", "workspace": str(app.state.service.ws.path)}

    @app.post("/admin/reload", tags=["admin"], dependencies=[Depends(require_key)])
    def reload() -> dict:
        """Swap in the models now on disk (after `shoplens fit`) without a restart."""
        return app.state.service.reload()

    for router in (recommend.router, search.router, customers.router, events.router):
        app.include_router(router)
    _add_metrics(app)
    if cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["*"],
                           allow_headers=["*"])
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    return app


def get_service(request: Request) -> Service:
    """Dependency: the process's Service."""
    return request.app.state.service
