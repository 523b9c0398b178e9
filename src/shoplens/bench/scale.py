"""`shoplens bench scale`: one batch callable in a local loop and on Ray, side by side, with the same output.

Walmart weekly store x department series (the first `n_series` with full history), statsforecast AutoETS with
a 52-week season (about a quarter of a second per series: the kind of per-group work that parallelises), a
39-week forecast, `series_per_batch` series per batch. Local: the batches one after another in this process
(statsforecast on one core). Ray: a local Ray cluster started with `num_cpus` workers runs the same
`ForecastBatch` through Ray Data `map_batches`; Ray's start-up is timed apart. The forecasts must be identical.
"""

from __future__ import annotations

import os
import time

import pandas as pd

from shoplens.bench.harness import BenchResult
from shoplens.forecast.batch import ForecastBatch
from shoplens.scale import map_batches


def run(n_series: int = 400, series_per_batch: int = 25, num_cpus: int | None = None, quick: bool = False,
        data=None) -> BenchResult:
    import ray

    from shoplens.bench.forecast_walmart import walmart_frame

    started = time.perf_counter()
    if quick:
        n_series, series_per_batch = 24, 6
    num_cpus = num_cpus or os.cpu_count() or 1
    df = walmart_frame(data)
    df = df[df["ds"] < df["ds"].max() - pd.Timedelta(weeks=39)]
    full = df.groupby("unique_id")["ds"].count()
    ids = full[full == full.max()].index[:n_series]
    df = df[df["unique_id"].isin(ids)][["unique_id", "ds", "y"]].reset_index(drop=True)
    rows_per_batch = int(full.max()) * series_per_batch
    fn = ForecastBatch(model="auto_ets", horizon=39, season_length=52, freq="W-FRI", levels=())
    timings, outputs = {}, {}
    start = time.perf_counter()
    outputs["local"] = map_batches(fn, df, group="unique_id", rows_per_batch=rows_per_batch)
    timings["local"] = time.perf_counter() - start
    start = time.perf_counter()
    ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    timings["ray start-up"] = time.perf_counter() - start
    try:
        start = time.perf_counter()
        outputs["ray"] = map_batches(fn, df, group="unique_id", rows_per_batch=rows_per_batch, backend="ray")
        timings["ray"] = time.perf_counter() - start
    finally:
        ray.shutdown()
    identical = outputs["local"].equals(outputs["ray"])
    result = BenchResult("scale", f"walmart-store-sales ({len(ids)} full-history series, AutoETS(52), 39 weeks)",
                         f"{series_per_batch} series per batch; local loop vs Ray Data map_batches on a local "
                         f"cluster of {num_cpus} CPUs; the same ForecastBatch callable")
    for backend in ("local", "ray"):
        result.rows.append({"backend": backend, "seconds": round(timings[backend], 1),
                            "series/s": round(len(ids) / timings[backend], 1),
                            "speed-up": round(timings["local"] / timings[backend], 2)})
    result.metrics = {"series": len(ids), "batches": -(-len(ids) // series_per_batch), "num_cpus": num_cpus,
                      "seconds": {k: round(v, 2) for k, v in timings.items()},
                      "series_per_s": {b: round(len(ids) / timings[b], 2) for b in ("local", "ray")},
                      "ray_speed_up": round(timings["local"] / timings["ray"], 3),
                      "identical_forecasts": bool(identical), "quick": quick}
    if not identical:
        raise AssertionError("Ray and the local loop gave different forecasts")
    result.seconds = time.perf_counter() - started
    return result
