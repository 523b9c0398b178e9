"""One router per domain; each is included by `shoplens.serve.app.create_app`."""

from __future__ import annotations

import json

import pandas as pd


def json_ready(value):
    """Timestamps, numpy numbers and NaN -> plain JSON, through pandas' own encoder."""
    return json.loads(pd.Series([value]).to_json(orient="records", date_format="iso", default_handler=str))[0]
