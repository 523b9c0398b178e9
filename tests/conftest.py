import os
from pathlib import Path

import pytest

from shoplens.config import data_root
from shoplens.workspace import Workspace


@pytest.fixture
def ws(tmp_path):
    workspace = Workspace.init(tmp_path / "ws")
    yield workspace
    workspace.close()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return data_root()


def dataset_dir(name: str) -> Path:
    """A public dataset folder, or a skip that says which folder is absent."""
    path = data_root() / name
    if not path.is_dir():
        pytest.skip(f"dataset folder {path} not present")
    return path


def snapshot(ws):
    """Everything ingest could change: every table's rows and columns, and the ingest log."""
    con = ws.connect()
    tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()]
    return {t: con.execute(f'SELECT * FROM "{t}" ORDER BY ALL').fetchall() for t in tables} | {
        "_columns": con.execute("SELECT table_name, column_name FROM information_schema.columns ORDER BY 1, 2").fetchall()}


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


os.environ.setdefault("HF_HUB_OFFLINE", "1")
