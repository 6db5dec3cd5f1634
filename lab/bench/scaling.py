"""Cost per patched node at 10, 100 and 1,000 nodes: the replay driver and the local engine, fake activities.

A sandbox would measure the sandbox at 1,000 nodes, and the local engine's timers are real,
so both runs here answer the app's activities with ``tests/replay/fakes.FakeCluster`` (the
shapes the real activities return; a drain finishes in one pass, a node is healthy at the
second health check, a probe at the second poll):

- ``replay(n)``: the production SDK (azure-functions-durable's replay, called the way the
  Functions host calls it) on the replay driver's virtual clock, app default settings, 1 s
  per activity. SDK time is wall time around each orchestrator call (single-threaded: CPU).
- ``local(n)``: the local engine (durabletask's in-memory backend), started over the app's
  HTTP API, every polling interval 0.01 s; orchestrator CPU is thread CPU per episode.

Both count episodes (orchestrator invocations), history events (final histories, summed),
events replayed (summed over episodes: the work of replaying), activities and entity
operations; invocations = episodes + activities + entity operations.
"""

from __future__ import annotations

import json
import resource
import time
from typing import Any

from tests.replay.fakes import CLUSTER, FakeCluster, Node, Pool


def fake_cluster(n: int) -> FakeCluster:
    nodes = [Node(f"aks-user-{i:04d}", "user", True, f"0b9a3c1e-0000-4000-8000-{i:012d}") for i in range(n)]
    nodes.append(Node("aks-system-0000", "system", False, "0b9a3c1e-0000-4000-8000-999999999999"))
    return FakeCluster(pools=[Pool("system", mode="System"), Pool("user")], nodes=nodes,
                       probe_running_polls=1, drain_pending_passes=0, health_pending_checks=1)


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _patched(output: Any) -> int:
    return int(((output or {}).get("counts") or {}).get("patched", 0))


def replay(n: int) -> dict[str, Any]:
    from rebooter.config import cycle_request, settings
    from tests.replay.driver import DEFAULT_START, ReplayHost

    cluster = fake_cluster(n)
    job = cycle_request.cycle_input(CLUSTER, settings.load({}), reason="bench", trigger="http")
    # No determinism re-replay of every finished instance: tests/replay checks that, and here it
    # would add about a tenth to the wall time without entering the SDK seconds measured.
    host = ReplayHost(cluster.activities(), activity_seconds=1.0, max_episodes=60 * n + 1000,
                      check_determinism=False)
    began, cpu = time.perf_counter(), time.process_time()
    cycle = host.run_orchestration("patch_cycle", job, cycle_request.instance_id(CLUSTER))
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    by_name: dict[str, dict[str, float]] = {}
    for inst in host.instances.values():
        agg = by_name.setdefault(inst.name, {"instances": 0, "episodes": 0, "historyEvents": 0, "replayedEvents": 0,
                                             "sdkSeconds": 0.0, "longestHistory": 0})
        agg["instances"] += 1
        agg["episodes"] += len(inst.episodes)
        agg["historyEvents"] += len(inst.history)
        agg["replayedEvents"] += sum(e.history_sent for e in inst.episodes)
        agg["sdkSeconds"] += inst.sdk_seconds
        agg["longestHistory"] = max(agg["longestHistory"], len(inst.history))
    entity_ops: dict[str, int] = {}
    for record in host.entities.records.values():
        entity_ops[record.name] = entity_ops.get(record.name, 0) + len(record.operations)
    activities: dict[str, int] = {}
    for call in host.worker.calls:
        activities[call["name"]] = activities.get(call["name"], 0) + 1
    episodes = sum(int(a["episodes"]) for a in by_name.values())
    parent = [(e.history_sent, e.sdk_seconds) for e in cycle.episodes]
    return _totals("replay driver (azure-functions-durable SDK), fake activities", n, _patched(cycle.output), {
        "status": cycle.status,
        "episodes": episodes,
        "orchestratorCpuSeconds": round(sum(a["sdkSeconds"] for a in by_name.values()), 4),
        "historyEvents": int(sum(a["historyEvents"] for a in by_name.values())),
        "replayedEvents": int(sum(a["replayedEvents"] for a in by_name.values())),
        "activities": sum(activities.values()),
        "entityOperations": sum(entity_ops.values()),
        "byOrchestrator": {k: {kk: round(vv, 4) if isinstance(vv, float) else vv for kk, vv in v.items()}
                           for k, v in by_name.items()},
        "activityCalls": activities,
        "entityOperationsByEntity": entity_ops,
        "parentHistoryBytes": len(json.dumps(cycle.history)),
        "virtualCycleSeconds": (host.now - DEFAULT_START).total_seconds(),
        "parentEpisodes": parent,
        "wallSeconds": round(wall, 2), "processCpuSeconds": round(cpu, 2), "peakRssMb": _rss_mb(),
    })


def local(n: int, poll: float = 0.01) -> dict[str, Any]:
    from lab.bench.engine import BenchEngine, EngineStuck
    from lab.bench.scenarios import poll_settings

    cluster = fake_cluster(n)
    settings = {"REBOOTER_CLUSTERS": CLUSTER, "REBOOTER_CREDENTIAL": "sandbox", **poll_settings(poll)}
    with BenchEngine(settings, cluster.activities()) as engine:
        began, cpu = time.perf_counter(), time.process_time()
        watch = engine.start_cycle(CLUSTER)
        failure = None
        try:
            engine.wait([watch], timeout=3600, interval=0.2, payloads=False)
        except EngineStuck as exc:  # reported as the result: the app cannot go on at this size
            failure = str(exc)
            engine.poll(watch)
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu
        counts = engine.instruments.summary()
        samples = [(events, spent) for name, events, spent in engine.instruments.episode_samples
                   if name == "patch_cycle"]
        replayed = sum(events for _, events, _ in engine.instruments.episode_samples)
    by_name = {name: {"instances": counts["instances"].get(name, 0), "episodes": counts["episodes"].get(name, 0),
                      "historyEvents": counts["historyEvents"].get(name, 0),
                      "longestHistory": counts["longestHistory"].get(name, 0),
                      "cpuSeconds": counts["orchestratorCpuSeconds"].get(name, 0.0)}
               for name in counts["episodes"]}
    done = (watch.custom or {}).get("done", 0) if isinstance(watch.custom, dict) else 0
    return _totals("local engine (durabletask in-memory), fake activities", n, _patched(watch.output), {
        "status": watch.status or "STUCK",
        "failure": failure,
        "nodesDoneAtFailure": done if failure else None,
        "largestHistoryBytes": counts["largestHistoryBytes"],
        "episodes": sum(counts["episodes"].values()),
        "orchestratorCpuSeconds": round(sum(counts["orchestratorCpuSeconds"].values()), 4),
        "historyEvents": sum(counts["historyEvents"].values()),
        "replayedEvents": replayed,
        "activities": sum(counts["activities"].values()),
        "entityOperations": sum(counts["entityOperations"].values()),
        "byOrchestrator": by_name,
        "activityCalls": counts["activities"],
        "entityOperationsByEntity": counts["entityOperations"],
        "parentEpisodes": samples,
        "cycleSeconds": watch.finished,
        "pollSeconds": poll,
        "wallSeconds": round(wall, 2), "processCpuSeconds": round(cpu, 2), "peakRssMb": _rss_mb(),
    })


def _totals(engine: str, n: int, patched: int, data: dict[str, Any]) -> dict[str, Any]:
    """Totals and per-node figures (per node finished: patched, or done when the engine got stuck)."""
    per = max(1, patched or data.get("nodesDoneAtFailure") or 0)
    data.update({
        "engine": engine, "nodes": n, "patched": patched,
        "invocations": data["episodes"] + data["activities"] + data["entityOperations"],
    })
    data["perNode"] = {key: round(data[key] / per, 4) for key in
                       ("orchestratorCpuSeconds", "episodes", "historyEvents", "replayedEvents", "activities",
                        "entityOperations", "invocations")}
    return data
