"""What one server process holds: the open workspace, its loaded models, and results worth keeping.

DuckDB connections are not safe to share between threads and FastAPI runs sync handlers in a thread pool, so
every use of the workspace's connection goes through `db_lock`. Models load once per process and are kept;
each is re-checked against the workspace's published version at most every `check_seconds`, and a newer
version is loaded and swapped in with one assignment — requests already holding the old model finish with
it, later ones get the new one (`Workspace.publish_version` makes the version on disk change atomically).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import threading
import time
from collections import OrderedDict, deque
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
MAX_ANSWERS_PER_USER = 8  # cached recommendation answers per user (model, version, k, explain, ...)
MAX_ERROR_CHARS = 300  # of a load failure, in /healthz
MAX_WAITING_FITS = 2  # fits queued behind the running one; a fit holds the CPU for minutes, more would only wait

log = logging.getLogger("shoplens.serve")


def check_name(name: str, what: str = "model") -> str:
    if not re.fullmatch(NAME_PATTERN, name):
        raise HTTPException(422, f"invalid {what} name {name!r}: use letters, digits, '_' or '-'")
    return name


class ArtifactUnavailable(Exception):
    """A published artifact that could not be loaded while no earlier version of it is held."""


class Published:
    """One published artifact held in memory: `get()` returns it, loading a newer published version first
    when the check interval has passed. version_of() -> str | None reads the version on disk (None: none
    published); load() loads the current version.

    A version that fails to load is not tried again until another one is published (or `reload()` is called):
    the version held before keeps being served, `failure` says what failed, and the log says it once."""
    def __init__(self, label: str, version_of: Callable[[], str | None], load: Callable[[], object],
                 check_seconds: float):
        self.label, self.version_of, self.load, self.check_seconds = label, version_of, load, check_seconds
        self.value, self.version, self.checked = None, None, float("-inf")
        self.failure: dict | None = None  # {"failed": version (or the bad pointer), "error": why}
        self._lock = threading.Lock()  # one loader at a time; readers never wait for it unless nothing is loaded

    def get(self):
        if self.value is not None and time.monotonic() - self.checked < self.check_seconds:
            return self.value
        with self._lock:
            if self.value is not None and time.monotonic() - self.checked < self.check_seconds:
                return self.value  # another thread just checked
            self._check(retry_failed=False)
        return self.value

    def reload(self) -> None:
        """Load the published version again now, even one that failed before."""
        with self._lock:
            self._check(retry_failed=True, force=True)

    def _check(self, retry_failed: bool, force: bool = False) -> None:
        self.checked = time.monotonic()
        try:
            version = self.version_of()
        except Exception as error:  # e.g. a CURRENT file naming something outside the workspace
            return self._failed("CURRENT", error)
        if version is None:  # nothing published (any more): keep what is held
            if self.value is None:
                raise FileNotFoundError
            return
        if version == self.version and not force:
            return self._recovered()  # what is published is what is served
        if not retry_failed and self.failure is not None and self.failure["failed"] == version:
            return self._failed(version, None)
        try:
            value = self.load()
        except Exception as error:
            return self._failed(version, error)
        self.value, self.version = value, version
        self._recovered()

    def _recovered(self) -> None:
        if self.failure is not None:
            log.warning("%s: serving version %s; the failure of %s is over", self.label, self.version,
                        self.failure["failed"])
            self.failure = None

    def _failed(self, version: str, error: Exception | None) -> None:
        """Keep what is held; log a failure the first time it is seen; raise when nothing is held."""
        if error is not None:
            why = f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS]
            if self.failure != {"failed": version, "error": why}:
                log.error("%s: version %s failed to load (%s); %s", self.label, version, why,
                          f"still serving {self.version}" if self.value is not None else "nothing to serve")
            self.failure = {"failed": version, "error": why}
        if self.value is None:
            raise ArtifactUnavailable(f"{self.label} cannot be loaded: {self.failure['error']}")

    def health(self) -> dict:
        return {"serving": self.version, **(self.failure or {})}


class FitQueue:
    """Training jobs of one served workspace, run one at a time in a background thread, in the order asked;
    at most MAX_WAITING_FITS wait behind the running one, and `submit` refuses more with a 409."""

    def __init__(self, max_waiting: int = MAX_WAITING_FITS):
        self.max_waiting = max_waiting
        self.jobs: dict[str, dict] = {}  # job id -> status, as GET /admin/jobs/{job} shows it
        self._waiting: deque[tuple[dict, Callable[[], str]]] = deque()
        self._running: dict | None = None
        self._lock = threading.Lock()

    def submit(self, job: dict, fit: Callable[[], str]) -> dict:
        """Queue `fit()` (returns the published version) under a new job id; `job` describes it."""
        with self._lock:
            if self._running is not None and len(self._waiting) >= self.max_waiting:
                raise HTTPException(409, f"a fit is running (job {self._running['job']}) and {len(self._waiting)} "
                                         f"wait behind it, the most this server queues; ask again when one is done "
                                         f"(GET /admin/jobs/{{job}})")
            job = {"job": secrets.token_hex(6), **job, "status": "queued", "queued": time.time()}
            self.jobs[job["job"]] = job
            self._waiting.append((job, fit))
            if self._running is None:
                self._start_next()
            return dict(job)

    def _start_next(self) -> None:  # with self._lock held
        job, fit = self._waiting.popleft()
        job.update(status="running", started=time.time())
        self._running = job
        threading.Thread(target=self._run, args=(job, fit), daemon=True, name=f"fit-{job['job']}").start()

    def _run(self, job: dict, fit: Callable[[], str]) -> None:
        try:
            job.update(status="done", version=fit())
        except Exception as error:  # reported through GET /admin/jobs/{job}
            job.update(status="failed", error=f"{type(error).__name__}: {error}")
        job["finished"] = time.time()
        with self._lock:
            self._running = None
            if self._waiting:
                self._start_next()


@dataclass
class CachedUser:
    history: tuple  # (item ids, event times)
    answers: dict = field(default_factory=dict)  # e.g. (model, version, k, explain, include_seen, fallback) -> answer


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
        self._history_generation = 0  # +1 whenever events arrive
        self._fallbacks: dict[tuple, tuple[int, object]] = {}  # key -> (history generation, answer)
        self.max_cached_users = max_cached_users
        self.cache_answers = cache_answers
        self._registry_lock = threading.Lock()
        self.fits = FitQueue()  # background fits started through /admin/fit
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
            published = Published(f"recommender {name!r}", lambda: published_version(self.ws, name),
                                  lambda: self._locked(load_workspace_model, self.ws, name), self.check_seconds)
        try:
            model = published.get()
        except FileNotFoundError:
            raise HTTPException(404, f"no recommender {name!r} in the workspace; fit one with "
                                     f"POST /admin/fit or `shoplens rec fit {self.ws.path}`") from None
        except ArtifactUnavailable as error:  # kept, so the failure is remembered and reported, not retried
            with self._registry_lock:
                self._recommenders.setdefault(name, published)
            raise HTTPException(503, str(error)) from None
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
                self._search[part] = Published(f"search {part}", version, load, self.check_seconds)
        try:
            return self._search[part].get()
        except FileNotFoundError:
            raise HTTPException(404, f"no search {part} in the workspace; build one with "
                                     f"`shoplens search index {self.ws.path}`") from None
        except ArtifactUnavailable as error:
            raise HTTPException(503, str(error)) from None

    def reload(self) -> dict:
        """Load every model in use again now, without waiting for the version check; one that fails keeps the
        version it had (`model_health` says so)."""
        for published in [*self._recommenders.values(), *self._search.values()]:
            try:
                published.reload()
            except (FileNotFoundError, ArtifactUnavailable):
                pass  # reported by model_health
        self._results = {}
        return {"recommenders": {name: p.version for name, p in sorted(self._recommenders.items())},
                "search": {part: p.version for part, p in sorted(self._search.items())},
                "models": self.model_health()}

    def model_health(self) -> dict:
        """Per model loaded in this process: the version served and, when the newest failed to load, which and
        why. Read from memory only (/healthz must stay cheap)."""
        return {**{f"recommend/{name}": p.health() for name, p in sorted(self._recommenders.items())},
                **{f"search/{part}": p.health() for part, p in sorted(self._search.items())}}

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

    def fallback_answer(self, key: tuple, compute: Callable[[], object]):
        """`compute()` — an answer for users without a usable history (e.g. the popular items) that depends only
        on the workspace's events and `key` (which must name the model version) — kept until events arrive."""
        if not self.cache_answers:
            return compute()
        with self._registry_lock:
            generation, held = self._history_generation, self._fallbacks.get(key)
        if held is not None and held[0] == generation:
            return held[1]
        answer = compute()
        with self._registry_lock:
            if generation == self._history_generation:  # no event arrived meanwhile that this answer may miss
                self._fallbacks[key] = (generation, answer)
                while len(self._fallbacks) > MAX_CACHED_RESULTS:
                    self._fallbacks.pop(next(iter(self._fallbacks)))
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
