"""One router per domain; each is included by `shoplens.serve.app.create_app`."""

from __future__ import annotations

import json

import pandas as pd


def json_ready(value):
    """Timestamps, numpy numbers and NaN -> plain JSON, through pandas' own encoder."""
    return json.loads(pd.Series([value]).to_json(orient="records", date_format="iso", default_handler=str))[0]


def frame_records(frame: pd.DataFrame) -> list[dict]:
    """A table as JSON records, as the CLI's --json writes it: a named index (user_id, segment ...) becomes a
    column, a plain row number is dropped."""
    named = any(name is not None for name in frame.index.names)
    return json_ready(frame.reset_index(drop=not named).to_dict(orient="records"))
