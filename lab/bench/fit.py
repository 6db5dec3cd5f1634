"""Least-squares fits for the scaling results (no numpy needed)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def linear(points: Sequence[tuple[float, float]]) -> tuple[float, float, float]:
    """y = slope * x + intercept; returns (slope, intercept, r squared); degenerate input gives zeros."""
    if len(points) < 2:
        return 0.0, points[0][1] if points else 0.0, 0.0
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return 0.0, my, 0.0
    sxy = sum((x - mx) * (y - my) for x, y in points)
    slope = sxy / sxx
    intercept = my - slope * mx
    ss_tot = sum((y - my) ** 2 for _, y in points)
    ss_res = sum((y - (slope * x + intercept)) ** 2 for x, y in points)
    return slope, intercept, (1 - ss_res / ss_tot) if ss_tot else 1.0


def exponent(sizes: Sequence[float], totals: Sequence[float]) -> float | None:
    """k in total ~ size^k, fitted on log-log (None with fewer than two positive points).

    Per-node cost is flat exactly when k is 1; k near 2 is the square law of replaying a
    history that grows with the work.
    """
    points = [(math.log(s), math.log(t)) for s, t in zip(sizes, totals, strict=True) if s > 0 and t > 0]
    if len(points) < 2:
        return None
    return round(linear(points)[0], 3)
