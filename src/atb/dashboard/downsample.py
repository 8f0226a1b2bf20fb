"""Downsampling a long series for a chart without losing its extremes.

A session of 100,000 bars would send 100,000 points per chart on every poll. The series is cut
into equal buckets of consecutive points, and each bucket keeps its first, lowest, highest and
last point (the "M4" rule): the drawn line reaches every peak and every trough the full series
has — a drawdown's bottom is never averaged away — and at most four points per bucket remain.
"""

from __future__ import annotations

from collections.abc import Sequence

POINTS_PER_BUCKET = 4
"""First, min, max, last."""


def bucket_bounds(length: int, buckets: int) -> list[tuple[int, int]]:
    """`buckets` consecutive, non-empty index ranges `[start, stop)` covering `range(length)`
    as evenly as possible (fewer when the series is shorter)."""
    count = max(1, min(buckets, length))
    return [(k * length // count, (k + 1) * length // count) for k in range(count)]


def keep_indices(values: Sequence[float], max_points: int) -> list[int]:
    """Indices of the points to draw, in order: all of them when they fit in `max_points`,
    else the first, lowest, highest and last point of each of `max_points // 4` buckets."""
    length = len(values)
    if length <= max_points:
        return list(range(length))
    kept: list[int] = []
    for start, stop in bucket_bounds(length, max(1, max_points // POINTS_PER_BUCKET)):
        low = high = start
        for index in range(start + 1, stop):
            value = values[index]
            if value < values[low]:
                low = index
            elif value > values[high]:
                high = index
        kept.extend(sorted({start, low, high, stop - 1}))
    return kept
