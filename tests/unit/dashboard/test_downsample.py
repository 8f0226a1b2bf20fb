"""Downsampling keeps every bucket's first, lowest, highest and last point, in order, within
the budget; a series that fits is kept whole."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from atb.dashboard.downsample import bucket_bounds, keep_indices

VALUES = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=0, max_size=3_000)
BUDGET = st.integers(min_value=4, max_value=400)


@given(values=VALUES, budget=BUDGET)
def test_every_bucket_keeps_its_min_and_max_within_the_budget(
    values: list[float], budget: int
) -> None:
    kept = keep_indices(values, budget)
    assert len(kept) <= budget
    assert kept == sorted(set(kept))
    if len(values) <= budget:
        assert kept == list(range(len(values)))
        return
    chosen = set(kept)
    for start, stop in bucket_bounds(len(values), budget // 4):
        bucket = values[start:stop]
        in_bucket = [values[i] for i in chosen if start <= i < stop]
        assert min(bucket) in in_bucket
        assert max(bucket) in in_bucket
        assert start in chosen
        assert stop - 1 in chosen


@given(length=st.integers(0, 10_000), buckets=st.integers(1, 600))
def test_buckets_cover_the_series_in_order_without_gaps(length: int, buckets: int) -> None:
    bounds = bucket_bounds(length, buckets)
    if length == 0:
        assert bounds == [(0, 0)]
        return
    assert bounds[0][0] == 0
    assert bounds[-1][1] == length
    assert all(stop > start for start, stop in bounds)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    assert len(bounds) == min(buckets, length)


def test_a_100k_series_is_cut_to_the_budget_and_keeps_the_global_extremes() -> None:
    values = [float((i * 7919) % 100_003) for i in range(100_000)]
    kept = keep_indices(values, 2_000)
    assert 1_900 <= len(kept) <= 2_000
    assert values.index(min(values)) in kept
    assert values.index(max(values)) in kept
    assert kept[0] == 0
    assert kept[-1] == 99_999
