"""Request bodies are read as strict JSON (RFC 8259) before FastAPI and the models see them, and validation
errors are written back safely.

Python's json module accepts NaN, Infinity and -Infinity, reads 1e999 as inf and "\\ud800" as a lone UTF-16
surrogate: none of them is JSON, a model cannot use them and FastAPI's own 422 handler cannot write them back
(a 500). Each is refused here with a 422 whose `loc` names the field, as for any other invalid value:
    {"detail": [{"type": "json_invalid", "loc": ["body", "k"], "msg": "1e999 is too large for a 64-bit float", ...}]}
"""

from __future__ import annotations

import json
import math
import re

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1  # what DuckDB, numpy and torch hold
MAX_ECHO_CHARS = 200  # of a refused value, in the error reply
MAX_ERRORS = 50  # listed in one 422 reply (a batch of 10,000 bad events would otherwise echo all of them)
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # a surrogate can only enter JSON text as an escape
SURROGATE = re.compile("[\ud800-\udfff]")


class Refused:
    """Stands, in the parsed body, for a token that is refused; the walk after parsing finds it, so the error can
    name its field."""

    def __init__(self, token: str, reason: str):
        self.token, self.reason = token, reason


def _echo(text: str, limit: int = MAX_ECHO_CHARS) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _parse(text: str) -> tuple[object, bool]:
    """json.loads(text), with refused numbers as `Refused`; and whether any was refused."""
    refused = []

    def constant(token: str) -> Refused:
        refused.append(Refused(token, f"{token} is not a JSON number: send a finite number, or null for none"))
        return refused[-1]

    def floating(token: str) -> float | Refused:
        value = float(token)
        if math.isfinite(value):
            return value
        refused.append(Refused(token, f"{_echo(token, 30)} is too large for a 64-bit float"))
        return refused[-1]

    def integer(token: str) -> int | Refused:
        # the length is checked before int(): over 4,300 digits Python refuses to convert, with its own error
        if len(token) <= 20 and INT64_MIN <= (value := int(token)) <= INT64_MAX:
            return value
        refused.append(Refused(token, f"{_echo(token, 30)} does not fit in a 64-bit integer"))
        return refused[-1]

    value = json.loads(text, parse_constant=constant, parse_float=floating, parse_int=integer)
    return value, bool(refused)


def _first_refused(value) -> tuple[tuple, str, str] | None:
    """(path, reason, input) of the first refused number or lone surrogate in a parsed body, or None."""
    stack = [((), value)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, Refused):
            return path, value.reason, value.token
        if isinstance(value, str) and SURROGATE.search(value):
            return path, "a lone UTF-16 surrogate (\\ud800-\\udfff) is not text: send valid Unicode", value
        if isinstance(value, dict):
            for key, item in reversed(value.items()):
                if SURROGATE.search(key):
                    return (*path, key), "a lone UTF-16 surrogate (\\ud800-\\udfff) in a field name", key
                stack.append(((*path, key), item))
        elif isinstance(value, list):
            stack.extend(((*path, i), item) for i, item in reversed(list(enumerate(value))))
    return None


def _invalid(loc: tuple, msg: str, input="", error: str | None = None) -> RequestValidationError:
    detail = {"type": "json_invalid", "loc": ("body", *loc), "msg": msg, "input": input}
    return RequestValidationError([{**detail, "ctx": {"error": error}} if error else detail])


def strict_json(body: bytes):
    """The JSON value in `body`; RequestValidationError for anything that is not strict JSON in UTF-8 or holds a
    number or string no model can take (NaN, Infinity, overflowing numbers, lone surrogates)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _invalid((error.start,), "the body is not UTF-8 text", error="send JSON encoded as UTF-8") from None
    try:
        value, any_refused = _parse(text)
    except json.JSONDecodeError as error:  # the same reply FastAPI gives for malformed JSON
        raise _invalid((error.pos,), "JSON decode error", error=error.msg) from None
    except RecursionError:
        raise _invalid((), "JSON nested too deeply", error="the body nests arrays or objects about 1,000 levels "
                                                             "deep or more; no field takes that") from None
    # walk the value only when something is there to find: a surrogate can enter JSON text only as an escape
    if any_refused or SURROGATE_ESCAPE.search(text):
        refused = _first_refused(value)
        if refused is not None:
            path, reason, token = refused
            raise _invalid(tuple(safe_text(p) if isinstance(p, str) else p for p in path), reason,
                           input=_echo(safe_text(token)))
    return value


def safe_text(text: str) -> str:
    """`text` with any lone surrogate written as its escape, so it can be encoded as UTF-8."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class StrictJSONRoute(APIRoute):
    """A route whose JSON body is parsed by `strict_json` (FastAPI then reads the parsed value, not the bytes)."""

    def get_route_handler(self):
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def strict_handler(request: Request):
            kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
            if kind == "application/json" or kind.endswith("+json"):
                body = await request.body()
                if body:
                    request._json = strict_json(body)  # Starlette's cache of request.json(), which FastAPI calls
            return await handler(request)

        return strict_handler


def _writable(value):
    """`value` (from a validation error) as something JSON can hold: non-finite floats and objects as text,
    lone surrogates escaped, long text shortened."""
    if isinstance(value, str):
        return _echo(safe_text(value))
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, dict):
        return {_writable(str(k)): _writable(v) for k, v in list(value.items())[:50]}
    if isinstance(value, (list, tuple)):
        return [_writable(v) for v in list(value)[:50]]
    return _echo(safe_text(str(value)))


async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 reply for invalid requests, written so that no input value can make it fail."""
    errors = error.errors()
    detail = [_writable(e) for e in errors[:MAX_ERRORS]]
    if len(errors) > MAX_ERRORS:
        detail.append({"type": "more_errors", "loc": [], "msg": f"and {len(errors) - MAX_ERRORS:,} more errors"})
    return JSONResponse({"detail": detail}, status_code=422)
