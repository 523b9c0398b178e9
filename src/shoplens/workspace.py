"""A workspace: one DuckDB file for tables, one folder for model artifacts, one JSON config."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd

from shoplens.config import Settings

DB_FILE = "shoplens.duckdb"
CONFIG_FILE = "shoplens.json"
ARTIFACTS_DIR = "artifacts"


class WorkspaceError(Exception):
    pass


class Workspace:
    """Open with `Workspace.open(path)`; create with `Workspace.init(path)`."""

    def __init__(self, path: Path, settings: Settings):
        self.path = Path(path)
        self.settings = settings
        self._con: duckdb.DuckDBPyConnection | None = None

    @property
    def db_path(self) -> Path:
        return self.path / DB_FILE

    @property
    def artifacts(self) -> Path:
        return self.path / ARTIFACTS_DIR

    @classmethod
    def init(cls, path: str | Path, exist_ok: bool = False) -> "Workspace":
        path = Path(path)
        if (path / CONFIG_FILE).exists():
            if not exist_ok:
                raise WorkspaceError(f"{path} is already a ShopLens workspace")
            return cls.open(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / ARTIFACTS_DIR).mkdir(exist_ok=True)
        settings = Settings()
        (path / CONFIG_FILE).write_text(json.dumps(settings.to_dict(), indent=2))
        ws = cls(path, settings)
        from shoplens.data.ingest import create_tables  # ingest owns the table DDL

        create_tables(ws.connect())
        return ws

    @classmethod
    def open(cls, path: str | Path) -> "Workspace":
        path = Path(path)
        config = path / CONFIG_FILE
        if not config.exists():
            raise WorkspaceError(f"{path} is not a ShopLens workspace (no {CONFIG_FILE}); create it with `shoplens init {path}`")
        return cls(path, Settings.from_dict(json.loads(config.read_text())))

    def connect(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = duckdb.connect(str(self.db_path))
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def table(self, name: str) -> pd.DataFrame:
        """A whole canonical table as a DataFrame (rows in ingest order)."""
        from shoplens.data.schema import table_spec

        table_spec(name)  # refuse anything that is not a canonical table name
        return self.connect().execute(f'SELECT * FROM "{name}" ORDER BY _row').df().drop(columns="_row")

    def count(self, name: str) -> int:
        from shoplens.data.schema import table_spec

        table_spec(name)
        return self.connect().execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0]

    def counts(self) -> dict[str, int]:
        from shoplens.data.schema import TABLES

        return {name: self.count(name) for name in TABLES}

    def ingest(self, source, kind: str, mapping: dict[str, str] | None = None, **kw):
        from shoplens.data.ingest import ingest

        return ingest(self, source, kind, mapping=mapping, **kw)

    def artifact_dir(self, *parts: str) -> Path:
        """A folder under artifacts/, created on demand; names may not climb out of the workspace."""
        target = (self.artifacts.joinpath(*parts)).resolve()
        if not target.is_relative_to(self.artifacts.resolve()):
            raise WorkspaceError(f"artifact path {'/'.join(parts)!r} leaves the workspace")
        target.mkdir(parents=True, exist_ok=True)
        return target
