"""Generation over a workspace: read items, reviews or a profile, run a task, return a table of drafts with
their checks (one row per source record)."""

from __future__ import annotations

import time
from typing import Callable

import pandas as pd

from shoplens.generate.backends import Generator
from shoplens.generate.checks import Check, Checks
from shoplens.generate.tasks import (Drafter, NarrativeTask, ReplyTask, Result, ReviewDraftTask, SummaryTask,
                                     TitleTask)

Progress = Callable[[int, int], None]


def run_batches(task: Callable[[list[dict]], list[Result]], records: list[dict], batch_size: int = 4,
                progress: Progress | None = None, max_seconds: float | None = None) -> list[Result]:
    """The task over `records` in batches (a progress callback after each). With `max_seconds`, no batch after
    the first starts after that time: the records left get no text and status "skipped" (never passed).
    An interrupted run loses nothing generated when the generator caches (CachedGenerator): a rerun resumes."""
    results: list[Result] = []
    start_time = time.perf_counter()
    for start in range(0, len(records), batch_size):
        if max_seconds is not None and start and time.perf_counter() - start_time > max_seconds:  # >= 1 batch
            skipped = Checks([Check("time", False, [f"the {max_seconds:g} s time limit was reached first"])],
                             "skipped", 0)
            return results + [("", skipped)] * (len(records) - len(results))
        results += task(records[start:start + batch_size])
        if progress:
            progress(len(results), len(records))
    return results


def drafts_table(ids: pd.Series, id_name: str, results: list[Result], text_name: str) -> pd.DataFrame:
    return pd.DataFrame({
        id_name: ids.astype(str).tolist(),
        text_name: [text for text, _ in results],
        "status": [c.status for _, c in results],
        "passed": [c.passed for _, c in results],
        "attempts": [c.attempts for _, c in results],
        "problems": [c.problems() for _, c in results],
        "rejected_draft_problems": [c.rejected for _, c in results],
        "checks": [c.to_dict()["checks"] for _, c in results],
    })


def _items(ws, item: str | None, limit: int | None) -> pd.DataFrame:
    items = ws.table("items")
    if items.empty:
        raise ValueError(f"workspace {ws.path} has no items; ingest some with "
                         f"`shoplens ingest {ws.path} FILE --kind items`")
    if item is not None:
        chosen = items[items["item_id"].astype(str) == str(item)]
        if chosen.empty:
            raise KeyError(f"item {item!r} is not in the workspace's items")
        return chosen
    return items.head(limit) if limit else items


def _brands(items: pd.DataFrame) -> tuple:
    return tuple(sorted(items["brand"].dropna().astype(str).unique())) if "brand" in items else ()


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: v for k, v in row.items() if not (isinstance(v, float) and v != v)}
            for row in frame.to_dict(orient="records")]


def workspace_titles(ws, generator: Generator, *, item: str | None = None, limit: int | None = None,
                     on_fail: str = "regenerate", max_tokens: int = 96, max_chars: int | None = None,
                     progress: Progress | None = None, max_seconds: float | None = None) -> pd.DataFrame:
    """`shoplens generate titles WS`: a title per item from its brand, category, title, description, price."""
    catalogue = ws.table("items")
    chosen = _items(ws, item, limit)
    records = [{k: r.get(k) for k in ("brand", "category", "title", "description", "price")} for r in _records(chosen)]
    task = TitleTask(Drafter(generator, on_fail=on_fail, max_tokens=max_tokens), max_chars=max_chars,
                     catalogue_brands=_brands(catalogue))
    return drafts_table(chosen["item_id"], "item_id", run_batches(task, records, progress=progress,
                                                                 max_seconds=max_seconds), "generated_title")


def workspace_summaries(ws, generator: Generator, *, item: str | None = None, limit: int | None = None,
                        on_fail: str = "regenerate", max_tokens: int = 96,
                        progress: Progress | None = None, max_seconds: float | None = None) -> pd.DataFrame:
    catalogue = ws.table("items")
    chosen = _items(ws, item, limit)
    task = SummaryTask(Drafter(generator, on_fail=on_fail, max_tokens=max_tokens),
                       catalogue_brands=_brands(catalogue))
    return drafts_table(chosen["item_id"], "item_id", run_batches(task, _records(chosen), progress=progress,
                                                                 max_seconds=max_seconds), "summary")


def workspace_replies(ws, generator: Generator, *, review: str | None = None, limit: int | None = None,
                      on_fail: str = "regenerate", max_tokens: int = 96,
                      progress: Progress | None = None, max_seconds: float | None = None) -> pd.DataFrame:
    """Merchant replies to reviews (each with its item's title and brand in the source)."""
    reviews, items = ws.table("reviews"), ws.table("items")
    if reviews.empty:
        raise ValueError(f"workspace {ws.path} has no reviews")
    if review is not None:
        reviews = reviews[reviews["review_id"].astype(str) == str(review)]
        if reviews.empty:
            raise KeyError(f"review {review!r} is not in the workspace's reviews")
    elif limit:
        reviews = reviews.head(limit)
    joined = reviews.merge(items[["item_id", "title", "brand"]], on="item_id", how="left")
    task = ReplyTask(Drafter(generator, on_fail=on_fail, max_tokens=max_tokens), catalogue_brands=_brands(items))
    results = run_batches(task, _records(joined), progress=progress, max_seconds=max_seconds)
    return drafts_table(joined["review_id"], "review_id", results, "reply")


def workspace_review_draft(ws, generator: Generator, *, item: str, notes: str, rating: int | None = None,
                           on_fail: str = "regenerate", max_tokens: int = 96) -> pd.DataFrame:
    """A buyer's review draft for `item` from their notes, marked as generated."""
    items = ws.table("items")
    chosen = _items(ws, item, None)
    record = {**_records(chosen)[0], "notes": notes, "rating": rating}
    task = ReviewDraftTask(Drafter(generator, on_fail=on_fail, max_tokens=max_tokens),
                           catalogue_brands=_brands(items))
    table = drafts_table(chosen["item_id"], "item_id", task([record]), "review_draft")
    table.insert(2, "generated", True)
    return table


def narrative_task(items: pd.DataFrame, generator: Generator, *, lang: str = "zh", on_fail: str = "regenerate",
                   max_tokens: int = 96) -> NarrativeTask:
    """A NarrativeTask that may name no catalogue brand or category (full path or leaf) outside the profile."""
    categories = tuple(items["category"].dropna().astype(str).unique()) if "category" in items else ()
    leaves = tuple(dict.fromkeys(c.split(">")[-1].strip() for c in categories))
    return NarrativeTask(Drafter(generator, on_fail=on_fail, max_tokens=max_tokens), lang=lang,
                         catalogue_brands=_brands(items), catalogue_categories=categories + leaves)


def workspace_narrative(ws, generator: Generator, *, user: str, lang: str = "zh", on_fail: str = "regenerate",
                        max_tokens: int = 96) -> pd.DataFrame:
    """One user's interests in words, from `shoplens customers profile WS --user U`, naming only what it holds."""
    from shoplens.customers.jobs import workspace_profile

    profile = workspace_profile(ws, user)
    task = narrative_task(ws.table("items"), generator, lang=lang, on_fail=on_fail, max_tokens=max_tokens)
    return drafts_table(pd.Series([user]), "user_id", task([profile]), "narrative")
