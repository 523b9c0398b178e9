"""API keys, stored hashed in the workspace's `_api_keys` table.

A key looks like `sl_<key_id>_<secret>`. Only `key_id` (to find the row), a random per-key salt and
sha256(salt + secret) are stored, so a copy of the workspace file does not leak usable keys. The
plaintext key is returned once, by `create_key`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import duckdb

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader

KEYS_TABLE = "_api_keys"
KEY_PREFIX = "sl"
API_KEY_HEADER = "X-API-Key"


def _ensure_table(con) -> bool:
    """Create the keys table if missing; False when it is missing and cannot be (a read-only workspace)."""
    if con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = ?", [KEYS_TABLE]).fetchall():
        return True
    try:
        con.execute(f"""CREATE TABLE IF NOT EXISTS {KEYS_TABLE} (
            key_id VARCHAR PRIMARY KEY, name VARCHAR, salt VARCHAR, secret_hash VARCHAR,
            created_at TIMESTAMP DEFAULT current_timestamp, revoked_at TIMESTAMP)""")
    except duckdb.InvalidInputException:  # attached read-only
        return False
    return True


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256((salt + secret).encode()).hexdigest()


def create_key(ws, name: str = "") -> str:
    """Store a new key under a label `name`; returns the plaintext key (the only time it is visible)."""
    con = ws.connect()
    _ensure_table(con)
    key_id, secret, salt = secrets.token_hex(6), secrets.token_urlsafe(24), secrets.token_hex(16)
    con.execute(f"INSERT INTO {KEYS_TABLE} (key_id, name, salt, secret_hash) VALUES (?, ?, ?, ?)",
                [key_id, name, salt, _hash(salt, secret)])
    return f"{KEY_PREFIX}_{key_id}_{secret}"


def list_keys(ws) -> list[dict]:
    """Every key's id, label, creation and revocation time (never the secret or its hash)."""
    con = ws.connect()
    _ensure_table(con)
    rows = con.execute(f"SELECT key_id, name, created_at, revoked_at FROM {KEYS_TABLE} ORDER BY created_at").fetchall()
    return [{"key_id": r[0], "name": r[1], "created_at": r[2], "revoked_at": r[3]} for r in rows]


def revoke_key(ws, key_id: str) -> bool:
    """Revoke a key by its id; False when no active key has that id."""
    con = ws.connect()
    _ensure_table(con)
    found = con.execute(f"SELECT 1 FROM {KEYS_TABLE} WHERE key_id = ? AND revoked_at IS NULL", [key_id]).fetchall()
    if found:
        con.execute(f"UPDATE {KEYS_TABLE} SET revoked_at = current_timestamp WHERE key_id = ?", [key_id])
    return bool(found)


def verify_key(ws, key: str) -> bool:
    """True when `key` is a stored, unrevoked key."""
    prefix, _, rest = key.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != KEY_PREFIX or not key_id or not secret:
        return False
    con = ws.connect()
    if not _ensure_table(con):
        return False
    row = con.execute(f"SELECT salt, secret_hash FROM {KEYS_TABLE} WHERE key_id = ? AND revoked_at IS NULL",
                      [key_id]).fetchall()
    return bool(row) and hmac.compare_digest(_hash(row[0][0], secret), row[0][1])


_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="a key from `shoplens keys create`")


def _check(request: Request, key: str | None) -> None:
    service = request.app.state.service
    if not key:
        raise HTTPException(401, f"missing API key: send it in the {API_KEY_HEADER} header")
    with service.db_lock:
        valid = verify_key(service.ws, key)
    if not valid:
        raise HTTPException(401, "invalid or revoked API key")


# Dependencies are `async def` so FastAPI runs them on the event loop instead of a thread-pool hop each.
async def require_key(request: Request, key: str | None = Depends(_key_header)) -> None:
    """Dependency for writes and admin: a valid key is always required."""
    _check(request, key)


async def require_read_key(request: Request, key: str | None = Depends(_key_header)) -> None:
    """Dependency for reads: a valid key only when the app was created with read_key_required=True."""
    if request.app.state.service.read_key_required:
        _check(request, key)
