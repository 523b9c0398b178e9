"""Service commands: serve (REST API) and keys (API keys for writes and admin)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from shoplens.cli import app, bench_app, console, fail, open_workspace
from shoplens.workspace import SERVER_FILE

keys_app = typer.Typer(help="API keys: required by the service for writes and admin.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@app.command()
def serve(workspace: Path = typer.Argument(..., help="workspace folder"),
          host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8000),
          workers: int = typer.Option(1, min=1, help="processes; more than one opens the workspace read-only"),
          read_key_required: bool = typer.Option(False, help="require an API key for reads too"),
          cors_origin: Optional[list[str]] = typer.Option(None, help="allowed CORS origin (repeatable)"),
          max_body_bytes: int = typer.Option(1_000_000, help="larger request bodies get a 413"),
          check_seconds: float = typer.Option(1.0, help="how often served models are checked for a newer version"),
          cache_answers: bool = typer.Option(True, help="keep a user's recommendations until their events or the model change")):
    """The REST API and the dashboard over one workspace.

    OpenAPI at /docs, Prometheus at /metrics, the dashboard at /.

    DuckDB admits one writing process per file or many read-only ones: with --workers 1 (the default) the
    server takes events and refits; with more, every worker opens the workspace read-only and writes get a 503."""
    import os
    import signal
    import sys

    import uvicorn

    from shoplens.serve.app import SETTINGS_ENV

    open_workspace(workspace).close()  # a clear error for a wrong path, before the server starts
    settings = {"workspace_path": str(workspace), "read_key_required": read_key_required,
                "cors_origins": list(cors_origin or ()), "max_body_bytes": max_body_bytes,
                "check_seconds": check_seconds, "cache_answers": cache_answers, "read_only": workers > 1}
    os.environ[SETTINGS_ENV] = json.dumps(settings)  # inherited by the worker processes
    console.print(f"dashboard: [cyan]http://{host}:{port}/[/]  ·  API docs: [cyan]http://{host}:{port}/docs[/]"
                  + (f"  ·  {workers} workers, workspace read-only" if workers > 1 else ""))
    # Commands run beside the server meet DuckDB's lock; this file lets them say who holds it and where.
    server_file = Path(workspace) / SERVER_FILE
    server_file.write_text(json.dumps({"pid": os.getpid(), "url": f"http://{host}:{port}/"}))
    # uvicorn shuts down on SIGTERM, then raises the signal again: exit through Python so `finally` runs
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        uvicorn.run("shoplens.serve.app:app_from_environment", factory=True, host=host, port=port, workers=workers,
                    log_level="warning")
    finally:
        server_file.unlink(missing_ok=True)


@keys_app.command("create")
def keys_create(workspace: Path = typer.Argument(..., help="workspace folder"), name: str = typer.Option("", help="a label")):
    """Create a key; it is printed once and stored only as a salted hash."""
    from shoplens.serve.keys import create_key

    with open_workspace(workspace) as ws:
        print(create_key(ws, name))


@keys_app.command("list")
def keys_list(workspace: Path = typer.Argument(..., help="workspace folder")):
    """Key ids, labels, creation and revocation times (never the secrets)."""
    from shoplens.serve.keys import list_keys

    with open_workspace(workspace) as ws:
        print(json.dumps(list_keys(ws), default=str, ensure_ascii=False, indent=2))


@keys_app.command("revoke")
def keys_revoke(workspace: Path = typer.Argument(..., help="workspace folder"), key_id: str = typer.Argument(...)):
    """Revoke a key by its id."""
    from shoplens.serve.keys import revoke_key

    with open_workspace(workspace) as ws:
        if not revoke_key(ws, key_id):
            fail(f"no active key with id {key_id!r}")
    console.print(f"revoked {key_id}")


@bench_app.command("service")
def bench_service(endpoint: str = typer.Option("recommend", help="recommend | search"),
                  seconds: int = typer.Option(30, help="load duration"),
                  connections: int = typer.Option(32, help="concurrent connections"),
                  workspace: Optional[Path] = typer.Option(None, help="serve this workspace (default: build the demo shop)"),
                  quick: bool = typer.Option(False, help="a small shop, 5 s of load"),
                  out: Optional[Path] = typer.Option(None, help="save the result JSON here")):
    """Requests/s and latency percentiles of one endpoint under wrk on loopback, beside /healthz's ceiling."""
    from shoplens.bench import service as suite
    from shoplens.bench.harness import print_result

    print_result(suite.run(endpoint=endpoint, seconds=seconds, connections=connections, workspace=workspace,
                           quick=quick), console, out)
