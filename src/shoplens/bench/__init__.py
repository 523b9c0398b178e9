"""Benchmarks: `shoplens bench SUITE`. Each suite module exposes `run(...) -> BenchResult`."""
