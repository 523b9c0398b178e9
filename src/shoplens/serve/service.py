"""What one server process holds: the open workspace, its loaded models, and results worth keeping.

DuckDB connections are not safe to share between threads and FastAPI runs sync handlers in a thread pool, so
every use of the workspace's connection goes through `db_lock`. Models load once per process and are kept;
each is re-checked against the workspace's published version at most every `check_seconds`, and a newer
version is loaded and swapped in with one assignment — requests already holding the old model finish with
it, later ones get the new one (`Workspace.publish_version` makes the version on disk change atomically).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import HTTPException, Request

from shoplens.data.ingest import LOG_TABLE
from shoplens.recommend.workspace_models import load_workspace_model, published_version, stored_history
from shoplens.search.index import cached_encoder
from shoplens.search.suggest import QuerySuggester
from shoplens.search.workspace import load_index, preferred_recommender, published_path
from shoplens.workspace import Workspace

NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"  # model names from requests: never a path
MAX_CACHED_RESULTS = 256  # forecasts, churn lists, review summaries kept per process
MAX_ANSWERS_PER_USER = 8  # cached recommendation answers per user (model, version, k, explain)


def check_name(name: str, what: str = "model") -> str:
    if not re.fullmatch(NAME_PATTERN, name):
        raise HTTPException(422, f"invalid {what} name {name!r}: use letters, digits, '_' or '-'")
    return name


class Published:
    """One published artifact held in memory: `get()` returns it, loading a newer published version first
    when the check interval has passed. version_of() -> str | None reads the version on disk (None: none
    published); load() loads the current version."""
    def __init__(self, version_of: Callable[[], str | None], load: Callable[[], object], check_seconds: float):
        self.version_of, self.load, self.check_seconds = version_of, load, check_seconds
        self.value, self.version, self.checked = None, None, float("-inf")
        self._lock = threading.Lock()  # one loader at a time; readers never wait for it unless nothing is loaded

    def get(self):
        if self.value is not None and time.monotonic() - self.checked < self.check_seconds:
            return self.value
        with self._lock:
            if self.value is not None and time.monotonic() - self.checked < self.check_seconds:
                return self.value  # another thread just checked
            version = self.version_of()
            self.checked = time.monotonic()
            if version is None and self.value is None:
                raise FileNotFoundError
            if version is not None and version != self.version:
                self.value, self.version = self.load(), version
        return self.value

    def reload(self) -> None:
        with self._lock:
            self.value, self.version, self.checked = self.load(), self.version_of(), time.monotonic()


@dataclass
class CachedUser:
    history: tuple  # (item ids, event times)
    answers: dict = field(default_factory=dict)  # e.g. (model, version, k, explain) -> recommendations


class Service:
    """The workspace and what is served from it, shared by all requests of one process."""

    def __init__(self, ws: Workspace, read_key_required: bool = False, check_seconds: float = 1.0,
                 max_cached_users: int = 100_000, cache_answers: bool = True, model_slots: int | None = None):
        self.ws = ws
        self.read_key_required = read_key_required
        self.check_seconds = check_seconds
        self.db_lock = threading.RLock()
        self._recommenders: dict[str, Published] = {}
        self._search: dict[str, Published] = {}
        self._results: dict[tuple, tuple[tuple, object]] = {}  # key -> (data version, result)
        self._users: OrderedDict[str, CachedUser] = OrderedDict()  # least recently used first
        self._history_generation = 0
        self.max_cached_users = max_cached_users
        self.cache_answers = cache_answers
        self._registry_lock = threading.Lock()
        self.jobs: dict[str, dict] = {}  # background fits started through /admin/fit
        # Model calls at once per process, one per core by default. A torch call gives up the GIL at every op:
        # 32 request threads taking it back in turn spent more CPU handing it over than computing (measured
        # here: 7.9 ms of CPU per /recommend with no limit, 3.2 ms with two slots).
        self.model_slots = threading.BoundedSemaphore(model_slots or os.cpu_count() or 1)

    # ------------------------------------------------------------------------------------------------ models
    def recommender(self, name: str):
        """The published recommender `name` (404 when none is fitted)."""
        check_name(name)
        published = self._recommenders.get(name)
        if published is None:
            published = Published(lambda: published_version(self.ws, name),
                                  lambda: self._locked(load_workspace_model, self.ws, name), self.check_seconds)
        try:
            model = published.get()
        except FileNotFoundError:
            raise HTTPException(404, f"no recommender {name!r} in the workspace; fit one with "
                                     f"POST /admin/fit or `shoplens fit {self.ws.path} recommend`") from None
        with self._registry_lock:
            self._recommenders.setdefault(name, published)
        return model

    def personalising_recommender(self):
        """The recommender search personalises with (`preferred_recommender`), as loaded in this process."""
        name = preferred_recommender(self.ws)
        return self.recommender(name) if name else None

    def search_index(self):
        return self._search_artifact("index", lambda: self._locked(load_index, self.ws))

    def suggester(self):
        def load():
            suggester = QuerySuggester.load(published_path(self.ws, "suggest"))
            if suggester.encoder:
                suggester.use_encoder(cached_encoder(suggester.encoder, self.ws.connect()))
            return suggester

        return self._search_artifact("suggest", lambda: self._locked(load))

    def _search_artifact(self, part: str, load: Callable[[], object]):
        with self._registry_lock:
            if part not in self._search:
                version = lambda: getattr(self.ws.current_version("search", part), "name", None)  # noqa: E731
                self._search[part] = Published(version, load, self.check_seconds)
        try:
            return self._search[part].get()
        except FileNotFoundError:
            raise HTTPException(404, f"no search {part} in the workspace; build one with "
                                     f"`shoplens index {self.ws.path} search`") from None

    def reload(self) -> dict:
        """Load every model in use again now, without waiting for the version check."""
        for published in [*self._recommenders.values(), *self._search.values()]:
            published.reload()
        self._results = {}
        return {"recommenders": {name: p.version for name, p in sorted(self._recommenders.items())},
                "search": {part: p.version for part, p in sorted(self._search.items())}}

    # ------------------------------------------------------------------------------------------- histories
    def user_history(self, user: str) -> tuple[list[str], object, list[str]]:
        """A stored user's item ids, event times and event types (`stored_history`), kept in memory until
        POST /events changes that user's events: reading them is most of what /recommend would otherwise spend
        on DuckDB."""
        with self._registry_lock:
            held = self._users.get(user)
            if held is not None:
                self._users.move_to_end(user)
                return held.history
        generation = self._history_generation
        with self.db_lock:
            history = stored_history(self.ws, user)  # KeyError for an unknown user
        with self._registry_lock:
            if generation == self._history_generation:  # no event arrived meanwhile that this read may miss
                self._users[user] = CachedUser(history)
                while len(self._users) > self.max_cached_users:
                    self._users.popitem(last=False)
        return history

    def loaded_version(self, name: str) -> str | None:
        """The version of recommender `name` when it is loaded and not due for a version check, else None:
        a lookup that never touches the disk (callers on the event loop use it)."""
        published = self._recommenders.get(name)
        if published is None or published.value is None:
            return None
        return published.version if time.monotonic() - published.checked < published.check_seconds else None

    def cached_user_answer(self, user: str, key: tuple) -> dict | None:
        with self._registry_lock:
            held = self._users.get(user)
            return held.answers.get(key) if held is not None and self.cache_answers else None

    def user_answer(self, user: str, key: tuple, compute: Callable[[], dict]) -> dict:
        """`compute()` — an answer that depends only on the user's stored events and `key` (which must name the
        model version) — kept beside the user's cached history and dropped with it when their events change."""
        if not self.cache_answers:
            return compute()
        held = self.cached_user_answer(user, key)
        if held is not None:
            return held
        generation = self._history_generation
        answer = compute()
        with self._registry_lock:
            held = self._users.get(user)
            if held is not None and generation == self._history_generation:
                held.answers[key] = answer
                if len(held.answers) > MAX_ANSWERS_PER_USER:
                    held.answers.pop(next(iter(held.answers)))
        return answer

    def forget_histories(self, users=None) -> None:
        """Called after new events are committed for `users` (None: for anyone, e.g. after replacements)."""
        with self._registry_lock:
            self._history_generation += 1
            if users is None:
                self._users.clear()
            for user in users if users is not None else ():
                self._users.pop(str(user), None)

    def count(self, table: str) -> int:
        with self.db_lock:
            return self.ws.count(table)

    # ---------------------------------------------------------------------------------------- derived results
    def cached(self, key: tuple, tables: tuple[str, ...], compute: Callable[[Workspace], object]):
        """`compute(ws)`, kept until one of `tables` receives new rows. It runs on a DuckDB connection of its
        own: a forecast or a churn model takes seconds, and other requests keep using the shared one."""
        with self.db_lock:
            marks = [f"'{t}'" for t in tables]
            version = tuple(self.ws.connect().execute(
                f"SELECT count(*), max(ingested_at) FROM {LOG_TABLE} WHERE table_name IN ({', '.join(marks)})"
            ).fetchall()[0])
        held = self._results.get(key)
        if held is not None and held[0] == version:
            return held[1]
        with self.own_workspace() as own:
            result = compute(own)
        kept = list(self._results.items())[-(MAX_CACHED_RESULTS - 1):]  # the oldest answers go first
        self._results = {**dict(kept), key: (version, result)}
        return result

    def own_workspace(self) -> Workspace:
        """The served workspace on a new connection of its own, for slow reads that must not hold `db_lock`
        (connections to one DuckDB database may be used from different threads, one each)."""
        return Workspace.open(self.ws.path, read_only=self.ws.read_only)

    def require_writable(self) -> None:
        if self.ws.read_only:
            raise HTTPException(503, "this server opened the workspace read-only (several worker processes): it "
                                     "takes no writes; ingest and fit with a single-process server or the CLI")

    def _locked(self, function, *args):
        with self.db_lock:
            return function(*args)


async def get_service(request: Request) -> Service:
    """Dependency: the process's Service (async: no thread-pool hop for a lookup)."""
    return request.app.state.service
