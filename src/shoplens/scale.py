"""Scale-out: one `batch -> batch` callable (DESIGN.md) over a large frame, in a local loop or on Ray.

    out = map_batches(ForecastBatch(horizon=28), sales, group="unique_id")                   # this process
    out = map_batches(ForecastBatch(horizon=28), sales, group="unique_id", backend="ray")    # a Ray cluster
    out = map_batches(ScoreImpressions, impressions, fn_constructor_args=(path,), backend="ray")  # actors

The frame is cut into batches of about `rows_per_batch` rows; with `group`, every group (a series, a user)
lies whole in one batch, so a batch function that fits per group sees all of it. Locally the batches run one
after another. With `backend="ray"` each batch becomes one block of a Ray Data dataset and the same callable
runs through `Dataset.map_batches` on every worker the cluster has (`address`: an existing cluster; none
starts a local one). A function or callable object runs as Ray tasks; a class runs as a pool of `concurrency`
actors, built once each with `fn_constructor_args` / `fn_constructor_kwargs` (load a model once, score many
batches); the class must be importable on the workers (a module of an installed package, not a script). Output
rows come back in batch order either way.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

BACKENDS = ("local", "ray")


def whole_group_batches(frame: pd.DataFrame, group: str | None = None,
                        rows_per_batch: int = 100_000) -> list[pd.DataFrame]:
    """Consecutive batches of about `rows_per_batch` rows; with `group`, no group is split between batches (a
    group larger than `rows_per_batch` makes a batch of its own). Groups keep their first-appearance order."""
    if rows_per_batch < 1:
        raise ValueError(f"rows_per_batch must be >= 1, got {rows_per_batch}")
    if frame.empty:
        return []
    if group is None:
        return [frame.iloc[start:start + rows_per_batch] for start in range(0, len(frame), rows_per_batch)]
    if group not in frame.columns:
        raise KeyError(f"no column {group!r} to group by (columns: {list(frame.columns)})")
    codes, _ = pd.factorize(frame[group])
    sizes = np.bincount(codes)
    batch_of_group = np.zeros(len(sizes), dtype=np.int64)
    batch, filled = 0, 0
    for g, size in enumerate(sizes):
        if filled and filled + size > rows_per_batch:
            batch, filled = batch + 1, 0
        batch_of_group[g], filled = batch, filled + size
    rows_batch = batch_of_group[codes]
    order = np.argsort(rows_batch, kind="stable")
    bounds = np.flatnonzero(np.diff(rows_batch[order])) + 1
    return [frame.iloc[part] for part in np.split(order, bounds)]


def map_batches(fn: Callable[[pd.DataFrame], pd.DataFrame] | type, frame: pd.DataFrame, *, group: str | None = None,
                rows_per_batch: int = 100_000, backend: str = "local", fn_constructor_args: tuple = (),
                fn_constructor_kwargs: dict | None = None, concurrency: int | None = None,
                address: str | None = None, num_cpus: int | None = None) -> pd.DataFrame:
    """Apply `fn` to whole-group batches of `frame` and concatenate the results (see the module doc)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    batches = whole_group_batches(frame, group, rows_per_batch)
    constructor = {"fn_constructor_args": fn_constructor_args, "fn_constructor_kwargs": fn_constructor_kwargs or {}}
    if backend == "local" or not batches:
        call = fn(*fn_constructor_args, **constructor["fn_constructor_kwargs"]) if isinstance(fn, type) else fn
        return pd.concat([call(batch) for batch in batches], ignore_index=True) if batches else call(frame)
    return _ray_map_batches(fn, batches, constructor, concurrency, address, num_cpus)


def _ray_map_batches(fn, batches, constructor: dict, concurrency, address, num_cpus) -> pd.DataFrame:
    import ray

    if not ray.is_initialized():
        ray.init(address=address, num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                 ignore_reinit_error=True)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # results in batch order, as the local loop returns them
    context.enable_progress_bars = False
    options = {"batch_format": "pandas", "batch_size": None}  # one block = one whole-group batch
    if isinstance(fn, type):
        workers = concurrency or max(1, int(ray.available_resources().get("CPU", 1)))
        options |= {**constructor, "concurrency": workers}
    dataset = ray.data.from_pandas([batch.reset_index(drop=True) for batch in batches]).map_batches(fn, **options)
    # through Arrow's own conversion, not Ray's to_pandas: plain numpy dtypes, as the local loop returns them
    return pa.concat_tables(ray.get(dataset.to_arrow_refs())).to_pandas()
