"""`shoplens bench simulator`: how fast the marketplace simulator produces a realistic workspace."""

from __future__ import annotations

from shoplens.bench.harness import BenchResult, Stopwatch
from shoplens.datasets.synthetic import marketplace_for_events


def run(quick: bool = False, seed: int = 0) -> BenchResult:
    sizes = (100_000,) if quick else (100_000, 300_000, 1_000_000)
    rows, metrics = [], {}
    with Stopwatch() as total:
        for target in sizes:
            with Stopwatch() as sw:
                market = marketplace_for_events(target, seed=seed)
            n = {name: len(frame) for name, frame in market.tables.items()}
            rows.append({"target events": f"{target:,}", "events": f"{n['events']:,}", "users": f"{n['users']:,}",
                         "items": f"{n['items']:,}", "reviews": f"{n['reviews']:,}", "sales rows": f"{n['sales']:,}",
                         "ad impressions": f"{n['ad_impressions']:,}", "seconds": round(sw.seconds, 2),
                         "events/s": f"{n['events'] / sw.seconds:,.0f}"})
            metrics[f"seconds_{target}"] = round(sw.seconds, 2)
            metrics[f"events_per_s_{target}"] = round(n["events"] / sw.seconds)
    return BenchResult(suite="simulator", dataset="marketplace simulator (marketplace_for_events, 180 days)",
                       protocol=f"wall time to generate all tables, seed {seed}; target: 1M events < 60 s",
                       metrics=metrics, seconds=total.seconds, rows=rows)
