"""Where patch_cycle's time goes as the cluster grows: cProfile of its SDK calls, and cost per episode.

The replay driver runs a cycle of ``n`` fake nodes (bench.scaling.fake_cluster); only the
calls of patch_cycle's SDK handle (the function the Functions worker calls per episode) are
profiled. Two pieces of evidence come out:

- per episode, SDK seconds against the number of history events handed to the SDK: a
  straight line through the origin means every episode replays the whole history, so a
  cycle of n nodes (one episode per node, history growing per node) costs O(n^2);
- the profile grouped by where the code lives (the SDK, the app's orchestrators and domain,
  json, the rest) and the top functions by own time.
"""

from __future__ import annotations

import cProfile
import pstats
from pathlib import Path
from typing import Any

from lab.bench.fit import linear


def _area(filename: str) -> str:
    if "azure/durable_functions" in filename:
        return "azure-functions-durable SDK"
    if "/orchestrators/" in filename:
        return "app: orchestrators/"
    if "/rebooter/" in filename:
        return "app: rebooter/"
    if "/json/" in filename or filename.startswith("~"):
        return "json + builtins"
    if "dateutil" in filename or "datetime" in filename or "_strptime" in filename:
        return "date parsing"
    return "other"


def run(n: int = 200, top: int = 12) -> dict[str, Any]:
    from lab.bench.scaling import fake_cluster
    from rebooter.config import cycle_request, settings
    from tests.replay.driver import ReplayHost
    from tests.replay.fakes import CLUSTER

    cluster = fake_cluster(n)
    job = cycle_request.cycle_input(CLUSTER, settings.load({}), reason="bench", trigger="http")
    host = ReplayHost(cluster.activities(), activity_seconds=1.0, max_episodes=60 * n + 1000,
                      check_determinism=False)
    profile = cProfile.Profile()
    handles = host.functions.orchestrators
    original = handles["patch_cycle"]

    def profiled(context: Any) -> Any:
        profile.enable()
        try:
            return original(context)
        finally:
            profile.disable()

    handles["patch_cycle"] = profiled
    try:
        cycle = host.run_orchestration("patch_cycle", job, cycle_request.instance_id(CLUSTER))
    finally:
        handles["patch_cycle"] = original
    stats = pstats.Stats(profile)
    total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
    areas: dict[str, float] = {}
    rows = []
    for (filename, line, func), (_cc, calls, own, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        areas[_area(filename)] = areas.get(_area(filename), 0.0) + own
        rows.append({"function": f"{_short(filename)}:{line}({func})", "calls": calls, "ownSeconds": round(own, 4),
                     "cumulativeSeconds": round(cumulative, 4)})
    rows.sort(key=lambda r: r["ownSeconds"], reverse=True)
    points = [(float(e.history_sent), e.sdk_seconds) for e in cycle.episodes]
    slope, intercept, r2 = linear(points)
    return {
        "engine": "replay driver (azure-functions-durable SDK), fake activities, cProfile on patch_cycle only",
        "nodes": n, "status": cycle.status, "episodes": len(cycle.episodes), "historyEvents": len(cycle.history),
        "profiledSeconds": round(total, 3),
        "byArea": {k: round(v, 3) for k, v in sorted(areas.items(), key=lambda kv: -kv[1])},
        "top": rows[:top],
        "perEpisode": {"microsecondsPerHistoryEvent": round(slope * 1e6, 2),
                       "interceptMilliseconds": round(intercept * 1e3, 3), "r2": round(r2, 4),
                       "lastEpisodeHistory": points[-1][0] if points else 0,
                       "lastEpisodeSeconds": round(points[-1][1], 4) if points else 0},
    }


_REPO = str(Path(__file__).resolve().parents[1]) + "/"  # the clone, wherever it is


def _short(filename: str) -> str:
    for marker in ("site-packages/", _REPO):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename
