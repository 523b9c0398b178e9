"""A workspace: one DuckDB file for tables, one folder for model artifacts, one JSON config."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd

from shoplens.config import Settings

DB_FILE = "shoplens.duckdb"
CONFIG_FILE = "shoplens.json"
ARTIFACTS_DIR = "artifacts"
CURRENT_FILE = "CURRENT"  # names the published version folder of a versioned artifact
SERVER_FILE = "server.json"  # written by a running `shoplens serve` (pid, address): the CLI names who holds the file
VERSION_NAME = re.compile(r"v\d{8}T\d{6}-[0-9a-f]{6}")  # what new_version_dir names a version folder
MAX_POINTER_BYTES = 256  # a CURRENT file holds one version name; reading stops here whatever it is
KEEP_VERSIONS = 3  # older versions are pruned; a server still loading one of the last few is not disturbed


class WorkspaceError(Exception):
    pass


class Workspace:
    """Open with `Workspace.open(path)`; create with `Workspace.init(path)`."""

    def __init__(self, path: Path, settings: Settings, read_only: bool = False):
        self.path = Path(path)
        self.settings = settings
        self.read_only = read_only  # DuckDB admits many read-only processes or one writing process per file
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
    def open(cls, path: str | Path, read_only: bool = False) -> "Workspace":
        path = Path(path)
        config = path / CONFIG_FILE
        if not config.exists():
            raise WorkspaceError(f"{path} is not a ShopLens workspace (no {CONFIG_FILE}); create it with `shoplens init {path}`")
        return cls(path, Settings.from_dict(json.loads(config.read_text())), read_only=read_only)

    def connect(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = duckdb.connect(str(self.db_path), read_only=self.read_only)
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

    def save_settings(self) -> None:
        """Write the settings back to shoplens.json (atomically: a reader sees the old file or the new one)."""
        staging = self.path / f".{CONFIG_FILE}.{secrets.token_hex(3)}"
        staging.write_text(json.dumps(self.settings.to_dict(), indent=2, ensure_ascii=False))
        os.replace(staging, self.path / CONFIG_FILE)

    def ingest(self, source, kind: str, mapping: dict[str, str] | None = None, **kw):
        from shoplens.data.ingest import ingest

        return ingest(self, source, kind, mapping=mapping, **kw)

    def artifact_path(self, *parts: str) -> Path:
        """The path of an artifact under artifacts/ (not created); names may not climb out of the workspace."""
        target = (self.artifacts.joinpath(*parts)).resolve()
        if not target.is_relative_to(self.artifacts.resolve()):
            raise WorkspaceError(f"artifact path {'/'.join(parts)!r} leaves the workspace")
        return target

    def artifact_dir(self, *parts: str) -> Path:
        """A folder under artifacts/, created on demand; names may not climb out of the workspace."""
        target = self.artifact_path(*parts)
        target.mkdir(parents=True, exist_ok=True)
        return target

    # Versioned artifacts: a fitted model is written into a fresh folder, then published by replacing the small
    # CURRENT file (os.replace is atomic), so a reader sees the old version or the new one, never half of one.
    def new_version_dir(self, *parts: str) -> Path:
        """An empty folder for the next version of the artifact at `parts` (published by `publish_version`)."""
        folder = self.artifact_dir(*parts) / f"v{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
        folder.mkdir()
        return folder

    def publish_version(self, folder: Path, check: Callable[[Path], object] | None = None) -> str:
        """Make `folder` (from `new_version_dir`) the current version; prune all but the newest few.
        check: called with the folder first (e.g. the artifact's loader); when it raises, nothing is published,
        the folder is removed and a WorkspaceError says why — a running server never sees a version that
        cannot load."""
        folder = Path(folder)
        if not VERSION_NAME.fullmatch(folder.name) or not folder.resolve().is_relative_to(self.artifacts.resolve()):
            raise WorkspaceError(f"{folder} is not a version folder made by new_version_dir in {self.artifacts}")
        if check is not None:
            try:
                check(folder)
            except Exception as error:
                shutil.rmtree(folder, ignore_errors=True)
                raise WorkspaceError(f"{folder.relative_to(self.artifacts)} was not published: it failed to load "
                                     f"({type(error).__name__}: {error})") from error
        staging = folder.parent / f".{CURRENT_FILE}.{secrets.token_hex(3)}"
        staging.write_text(folder.name)
        os.replace(staging, folder.parent / CURRENT_FILE)
        versions = sorted((d for d in folder.parent.glob("v*") if d.is_dir()), key=lambda d: d.stat().st_mtime)
        for old in versions[:-KEEP_VERSIONS]:
            if old != folder:
                shutil.rmtree(old, ignore_errors=True)
        return folder.name

    def current_version(self, *parts: str) -> Path | None:
        """The published version folder of the artifact at `parts`, or None when nothing was published.
        WorkspaceError when the CURRENT file names anything but a version folder of this artifact (a name like
        `../../elsewhere`, a link, a missing folder): a model is never loaded from outside the workspace."""
        base = self.artifact_path(*parts)
        pointer = base / CURRENT_FILE
        if pointer.is_symlink() or (pointer.exists() and not pointer.is_file()):
            raise WorkspaceError(f"{pointer} is not a plain file (a link or a folder); publish a version again")
        try:
            with open(pointer, "rb") as file:
                name = file.read(MAX_POINTER_BYTES).decode("utf-8", "replace").strip()
        except FileNotFoundError:
            return None
        if not VERSION_NAME.fullmatch(name):
            raise WorkspaceError(f"{pointer} names {name[:80]!r}, not a version folder such as "
                                 f"v20250301T120000-1a2b3c; refusing to load from it")
        folder = base / name
        if folder.is_symlink() or not folder.resolve().is_relative_to(self.path.resolve()):
            raise WorkspaceError(f"{folder} is a link (or lies outside the workspace); refusing to load from it")
        if not folder.is_dir():
            raise WorkspaceError(f"{pointer} names {name}, which is not a folder in {base}")
        return folder

    # Predicted categories (`shoplens categorize WS --write`): a derived table, not a canonical one — ingest
    # never writes it, and a new prediction for an item replaces its old one.
    PREDICTED_CATEGORIES = "predicted_categories"

    def save_predicted_categories(self, predictions: pd.DataFrame, model: str) -> int:
        """Store item_id, category and score (the prediction's confidence) per item, with the model's name and
        the time, replacing earlier predictions for the same items (one transaction); returns the rows written."""
        rows = pd.DataFrame({"item_id": predictions["item_id"].astype(str),
                             "category": predictions["category"].astype(str),
                             "score": pd.to_numeric(predictions["confidence"], errors="coerce").astype("float64"),
                             "model": model, "predicted_at": pd.Timestamp.now().floor("s")})
        con = self.connect()
        con.execute(f"""CREATE TABLE IF NOT EXISTS {self.PREDICTED_CATEGORIES} (item_id VARCHAR PRIMARY KEY,
                        category VARCHAR, score DOUBLE, model VARCHAR, predicted_at TIMESTAMP)""")
        con.register("_predicted_categories", rows)
        try:
            con.execute("BEGIN TRANSACTION")
            con.execute(f"DELETE FROM {self.PREDICTED_CATEGORIES} WHERE item_id IN "
                        "(SELECT item_id FROM _predicted_categories)")
            con.execute(f"INSERT INTO {self.PREDICTED_CATEGORIES} SELECT item_id, category, score, model, predicted_at "
                        "FROM _predicted_categories")
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        finally:
            con.unregister("_predicted_categories")
        return len(rows)

    def predicted_categories(self) -> pd.DataFrame:
        """The stored predictions (item_id, category, score, model, predicted_at); empty when none were written."""
        con = self.connect()
        if not con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = ?", [self.PREDICTED_CATEGORIES]).fetchall():
            return pd.DataFrame(columns=["item_id", "category", "score", "model", "predicted_at"])
        return con.execute(f"SELECT * FROM {self.PREDICTED_CATEGORIES} ORDER BY item_id").df()
