"""One small interface for text generation, two backends: llama.cpp in-process (xllamacpp) and any
OpenAI-compatible HTTP server (vLLM, Ollama, llama.cpp's server, `shoplens models serve`).

`generate(messages, schema=..., grammar=..., max_tokens=..., temperature=..., seed=...) -> str`. A JSON schema
constrains the output on both backends; a GBNF grammar on llama.cpp servers. Each generator keeps running totals
in `usage` (requests, prompt and completion tokens, seconds) so a caller can report tokens/s.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Protocol

from shoplens.generate.models import model_path

Messages = str | list[dict]


class GenerationError(RuntimeError):
    """The backend refused the request or could not be reached (said in one line)."""


class Generator(Protocol):
    name: str
    usage: dict

    def generate(self, messages: Messages, *, schema: dict | None = None, grammar: str | None = None,
                 max_tokens: int = 128, temperature: float = 0.0, seed: int = 0) -> str: ...


def default_threads() -> int:
    value = os.environ.get("SHOPLENS_LLM_THREADS")
    if value is None:
        return os.cpu_count() or 1
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"SHOPLENS_LLM_THREADS must be a positive integer, got {value!r}")
    return int(value)


def _as_messages(messages: Messages) -> list[dict]:
    return [{"role": "user", "content": messages}] if isinstance(messages, str) else list(messages)


def _request(messages: Messages, schema, grammar, max_tokens, temperature, seed) -> dict:
    if schema is not None and grammar is not None:
        raise ValueError("give a JSON schema or a grammar, not both")
    body = {"messages": _as_messages(messages), "max_tokens": int(max_tokens), "temperature": float(temperature),
            "seed": int(seed)}
    if schema is not None:
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}
    if grammar is not None:
        body["grammar"] = grammar
    return body


def _new_usage() -> dict:
    return {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0, "seconds": 0.0}


def _text(response: dict, usage: dict, seconds: float, where: str) -> str:
    if "error" in response:
        error = response["error"]
        raise GenerationError(f"{where}: {error.get('message', error) if isinstance(error, dict) else error}")
    try:
        text = response["choices"][0]["message"]["content"] or ""
    except (KeyError, IndexError, TypeError):
        raise GenerationError(f"{where}: a reply without choices[0].message.content") from None
    counts = response.get("usage") or {}
    usage["requests"] += 1
    usage["prompt_tokens"] += int(counts.get("prompt_tokens") or 0)
    usage["completion_tokens"] += int(counts.get("completion_tokens") or 0)
    usage["seconds"] += seconds
    return text


class LlamaCppGenerator:
    """A GGUF model run in this process by xllamacpp (llama.cpp's server engine; chat template from the GGUF).

    model: a registered name (fetched), a .gguf path, or None for $SHOPLENS_LLM_MODEL / the default.
    threads: CPU threads (default $SHOPLENS_LLM_THREADS, else all cores). Loads on the first request.
    xllamacpp also serves the OpenAI HTTP API on 127.0.0.1 while loaded (`listening_address`), with no CORS
    origins allowed (a web page must not reach it) and behind `api_key`: a random one unless given, so only
    its owner can use that port; `api_key=""` leaves it open to local processes (`shoplens models serve`)."""

    def __init__(self, model: str | Path | None = None, *, threads: int | None = None, n_ctx: int = 2048,
                 port: int | None = None, api_key: str | None = None):
        self.model_file = model_path(None if model is None else str(model))
        self.name = self.model_file.stem
        self.threads = default_threads() if threads is None else int(threads)
        if self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")
        self.n_ctx = n_ctx
        self.port = port  # of the loopback HTTP API; None: any free port
        self.api_key = secrets.token_urlsafe(24) if api_key is None else api_key
        self.usage = _new_usage()
        self._server = None
        self._lock = threading.Lock()

    def _load(self):
        if self._server is None:
            try:
                import xllamacpp
            except ImportError:
                raise GenerationError("xllamacpp is not installed: pip install 'shoplens[llm]'") from None
            params = xllamacpp.CommonParams()
            params.model.path = str(self.model_file)
            params.n_ctx = self.n_ctx
            params.cpuparams.n_threads = self.threads
            params.cpuparams_batch.n_threads = self.threads
            params.n_parallel = 1
            params.warmup = False
            if self.port is not None:
                params.port = int(self.port)
            params.api_keys = [self.api_key] if self.api_key else []
            params.cors_origins = ""
            params.verbosity = -1  # llama.cpp logs to stderr otherwise, on every request
            self._server = xllamacpp.Server(params)
        return self._server

    @property
    def listening_address(self) -> str:
        return self._load().listening_address

    def generate(self, messages: Messages, *, schema: dict | None = None, grammar: str | None = None,
                 max_tokens: int = 128, temperature: float = 0.0, seed: int = 0) -> str:
        body = _request(messages, schema, grammar, max_tokens, temperature, seed)
        with self._lock:  # one slot: requests queue here rather than inside llama.cpp
            server = self._load()
            start = time.perf_counter()
            response = server.handle_chat_completions(body)
            return _text(response, self.usage, time.perf_counter() - start, self.name)


class OpenAIHTTPGenerator:
    """Any OpenAI-compatible chat-completions server by URL (`http://host:port`, with or without `/v1`).
    The schema goes as `response_format` json_schema; a grammar as llama.cpp's `grammar` field."""

    def __init__(self, url: str, *, model: str = "default", api_key: str | None = None, timeout: float = 120.0):
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the generation server URL must start with http:// or https://, got {url!r}")
        base = url.rstrip("/")
        self.endpoint = base + ("/chat/completions" if base.endswith("/v1") else "/v1/chat/completions")
        self.name = f"{model}@{base}"
        self.model = model
        self.api_key = api_key if api_key is not None else os.environ.get("SHOPLENS_LLM_API_KEY")
        self.timeout = timeout
        self.usage = _new_usage()

    def generate(self, messages: Messages, *, schema: dict | None = None, grammar: str | None = None,
                 max_tokens: int = 128, temperature: float = 0.0, seed: int = 0) -> str:
        body = {"model": self.model, **_request(messages, schema, grammar, max_tokens, temperature, seed)}
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.endpoint, data=json.dumps(body).encode(), headers=headers)
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                response = json.loads(reply.read())
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")[:300]
            raise GenerationError(f"{self.endpoint}: HTTP {e.code}: {' '.join(detail.split())}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
            raise GenerationError(f"{self.endpoint}: {getattr(e, 'reason', e)}") from None
        return _text(response, self.usage, time.perf_counter() - start, self.endpoint)


def make_generator(model: str | None = None, *, url: str | None = None, threads: int | None = None) -> Generator:
    """`--url` (or $SHOPLENS_LLM_URL) picks the HTTP backend; otherwise the model runs in-process."""
    url = url or os.environ.get("SHOPLENS_LLM_URL")
    if url:
        return OpenAIHTTPGenerator(url, model=model or "default")
    return LlamaCppGenerator(model, threads=threads)


class CachedGenerator:
    """A generator whose answers are kept in a SQLite file keyed by (model, request): the same messages with
    the same schema, grammar, max_tokens, temperature and seed are answered from the file, not regenerated
    (llama.cpp is deterministic for a given seed, so a rerun of a batch costs nothing). `hits` counts them."""

    def __init__(self, inner: Generator, path: str | Path):
        import sqlite3

        self.inner, self.name, self.usage, self.hits = inner, inner.name, inner.usage, 0
        model_file = getattr(inner, "model_file", None)  # a local file: its size names the version too
        self.model_id = f"{inner.name}:{model_file.stat().st_size}" if model_file is not None else inner.name
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, model TEXT, text TEXT)")
        self._lock = threading.Lock()

    def generate(self, messages: Messages, **kw) -> str:
        import hashlib

        request = {"model": self.model_id, "messages": _as_messages(messages), **kw}
        key = hashlib.sha256(json.dumps(request, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        with self._lock:
            row = self._db.execute("SELECT text FROM answers WHERE key = ?", (key,)).fetchone()
        if row is not None:
            self.hits += 1
            return row[0]
        text = self.inner.generate(messages, **kw)
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO answers VALUES (?, ?, ?)", (key, self.model_id, text))
            self._db.commit()
        return text
