"""A real `shoplens serve` process on a free loopback port, and a small shop to serve (for the service tests)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from shoplens.datasets.synthetic import marketplace
from shoplens.recommend.workspace_models import fit_workspace_model
from shoplens.search.workspace import build_index
from shoplens.serve import create_key
from shoplens.workspace import Workspace


def build_shop(path: Path, n_users: int = 200, n_items: int = 60, days: int = 180, seed: int = 0) -> str:
    """A workspace with every table the service reads, a quickly fitted SASRec and a search index;
    returns an API key."""
    market = marketplace(n_users=n_users, n_items=n_items, days=days, seed=seed)
    with Workspace.init(path, exist_ok=True) as ws:
        for table in ("items", "events", "reviews", "sales"):
            ws.ingest(market.tables[table], table)
        fit_workspace_model(ws, "sasrec", encoder="static", max_epochs=3)
        build_index(ws, encoder="static")
        return create_key(ws, "test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`python -m shoplens serve PATH` in a child process; `url` once /healthz answers."""

    def __init__(self, path: Path, *args: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()  # a file, not a pipe: a pipe nobody reads can block the server
        self.process = subprocess.Popen(
            [sys.executable, "-m", "shoplens", "serve", str(path), "--port", str(self.port), *args],
            stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"server exited: {self.log.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not answer /healthz within 120 s")

    def kill(self) -> None:
        """kill -9: no shutdown handlers, no flushing."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
