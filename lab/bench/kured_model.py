"""A model of kured's timing (kured 1.x, cmd/kured's rebootAsRequired), to set beside our measurements.

Not a measurement: kured is not run here. What the model keeps from kured's code:

- every node's daemon checks its sentinel on a ticker of ``period`` (default 1 h), the first
  check after a random delay of 0.5-1.5 x period (kured
  pkg/delaytick/delaytick.go: the first tick after d/2 + d x rand, then every d);
- a check that finds the sentinel tries the cluster lock (an annotation on the DaemonSet,
  ``concurrency`` holders); held by others -> nothing until the next tick (lock contention);
- with the lock: drain, reboot, back to Ready; the restarted kured pod on that node then
  releases the lock (at start-up, before its first tick); ``lock-release-delay`` 0;
- nothing else is modelled (windows, blocking pods and alerts are open; drains succeed).

``phase="restart"`` (the default) is the brief's reading: the sentinel appears at t = 0 and
each first check comes 0.5-1.5 x period later. ``phase="steady"`` assumes the daemons have run
for a long time, so each node's next tick is uniform in [0, period).
"""

from __future__ import annotations

import heapq
import random
import statistics
from collections.abc import Sequence
from typing import Any

HOUR = 3600.0


def simulate_once(durations: Sequence[float], rng: random.Random, period: float = HOUR, concurrency: int = 1,
                  phase: str = "restart") -> float:
    """Seconds from t = 0 until the last node is patched, for one draw of the tickers."""
    events: list[tuple[float, int, int]] = []  # (time, kind 0 = release first, node)
    for node in range(len(durations)):
        first = rng.uniform(0.5 * period, 1.5 * period) if phase == "restart" else rng.uniform(0.0, period)
        heapq.heappush(events, (first, 1, node))
    holders = 0
    done = 0
    finished = 0.0
    while done < len(durations):
        at, kind, node = heapq.heappop(events)
        if kind == 0:
            holders -= 1
            continue
        if holders < concurrency:
            holders += 1
            end = at + durations[node]
            heapq.heappush(events, (end, 0, node))
            finished = max(finished, end)
            done += 1
        else:
            heapq.heappush(events, (at + period, 1, node))
    return finished


def simulate(durations: Sequence[float], runs: int = 500, seed: int = 1, period: float = HOUR,
             concurrency: int = 1, phase: str = "restart") -> dict[str, Any]:
    """Distribution over ``runs`` draws: mean, median, 95th percentile, in seconds."""
    rng = random.Random(seed)
    samples = sorted(simulate_once(durations, rng, period, concurrency, phase) for _ in range(runs))
    return {
        "runs": runs, "periodSeconds": period, "concurrency": concurrency, "phase": phase,
        "meanSeconds": round(statistics.fmean(samples), 1),
        "p50Seconds": round(samples[len(samples) // 2], 1),
        "p95Seconds": round(samples[min(len(samples) - 1, int(0.95 * len(samples)))], 1),
        "nodeSecondsTotal": round(sum(durations), 1),
    }


def fleet(clusters: Sequence[Sequence[float]], runs: int = 200, seed: int = 1, period: float = HOUR,
          phase: str = "restart") -> dict[str, Any]:
    """Clusters patch independently (one lock each): the fleet is done when its slowest cluster is."""
    rng = random.Random(seed)
    samples = sorted(max(simulate_once(c, rng, period, 1, phase) for c in clusters) for _ in range(runs))
    return {
        "runs": runs, "periodSeconds": period, "phase": phase, "clusters": len(clusters),
        "meanSeconds": round(statistics.fmean(samples), 1),
        "p50Seconds": round(samples[len(samples) // 2], 1),
        "p95Seconds": round(samples[min(len(samples) - 1, int(0.95 * len(samples)))], 1),
    }
