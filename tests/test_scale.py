"""shoplens.scale: whole-group batching, and the same batch callables in a local loop and on a real local Ray."""

import numpy as np
import pandas as pd
import pytest

from shoplens.forecast.batch import ForecastBatch, forecast_in_batches
from shoplens.scale import map_batches, whole_group_batches


def panel(n_series=6, days=60, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2026-01-01", periods=days, freq="D")
    return pd.DataFrame({"unique_id": np.repeat([f"s{i}" for i in range(n_series)], days),
                         "ds": np.tile(ds, n_series),
                         "y": rng.poisson(20, n_series * days).astype(float)})


def test_groups_are_never_split_and_nothing_is_lost():
    frame = panel(7).sample(frac=1.0, random_state=0)  # rows of a series scattered through the frame
    batches = whole_group_batches(frame, "unique_id", rows_per_batch=130)
    assert sum(len(b) for b in batches) == len(frame)
    owners = pd.concat([b.assign(batch=k) for k, b in enumerate(batches)]).groupby("unique_id")["batch"].nunique()
    assert (owners == 1).all() and len(batches) == 4  # 60-row series, 2 per 130-row batch
    assert [len(b) for b in whole_group_batches(frame, rows_per_batch=100)] == [100, 100, 100, 100, 20]
    assert whole_group_batches(frame, "unique_id", rows_per_batch=10)[0]["unique_id"].nunique() == 1  # too big: alone
    with pytest.raises(KeyError, match="no column 'store'"):
        whole_group_batches(frame, "store")
    with pytest.raises(ValueError, match="backend must be"):
        map_batches(len, frame, backend="spark")


@pytest.fixture(scope="module")
def local_ray():
    import ray  # a test dependency (`make test` installs the `ray` extra): never skipped

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_the_same_callables_give_the_same_answer_on_ray(local_ray):
    frame = panel(8)
    fn = ForecastBatch(model="seasonal_naive", horizon=7, season_length=7, freq="D")
    local = map_batches(fn, frame, group="unique_id", rows_per_batch=120)
    on_ray = map_batches(fn, frame, group="unique_id", rows_per_batch=120, backend="ray")
    pd.testing.assert_frame_equal(local, on_ray)
    assert local["unique_id"].nunique() == 8 and len(local) == 8 * 7
    settings = {"model": "seasonal_naive", "horizon": 7, "season_length": 7, "freq": "D"}
    by_actors = map_batches(ForecastBatch, frame, group="unique_id", rows_per_batch=120, backend="ray",
                            fn_constructor_kwargs=settings, concurrency=2)  # a class: a pool of 2 actors
    pd.testing.assert_frame_equal(by_actors, local)
    forecasts, per_s = forecast_in_batches(frame, series_per_batch=3, backend="ray", model="seasonal_naive",
                                           horizon=7, season_length=7, freq="D")
    pd.testing.assert_frame_equal(forecasts, local)  # other batches, the same forecasts
    assert per_s > 0
