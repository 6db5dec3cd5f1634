"""The benchmark's figures: fitted exponents, the kured model and the summary rows with their goals,
added to the raw results of lab/bench/run.py (``summarize``); lab/bench/report.py renders them.
"""

from __future__ import annotations

from typing import Any

from lab.bench import kured_model
from lab.bench.fit import exponent, linear

TYPICAL_NODE = {"drain": 60.0, "reboot": 180.0, "ready": 60.0}  # seconds, for the modelled kured rows
# Defaults of REBOOTER_HEALTH_POLL_SECONDS, REBOOTER_DRAIN_RETRY_SECONDS, REBOOTER_PROBE_POLL_SECONDS: a poll
# finds a change half an interval late on average.


def verdict_of(value: float | None, goal: float) -> str:
    if value is None:
        return "not measured"
    return "met" if value <= goal else "**missed**"


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def hours(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def scaling_rows(jobs: dict[str, Any], engine: str) -> list[dict[str, Any]]:
    rows = [v for k, v in jobs.items() if k.startswith(f"scaling-{engine}-") and isinstance(v, dict) and "nodes" in v]
    return sorted(rows, key=lambda r: r["nodes"])


def parent_cpu(row: dict[str, Any]) -> float:
    parent = (row.get("byOrchestrator") or {}).get("patch_cycle") or {}
    return float(parent.get("sdkSeconds", parent.get("cpuSeconds", 0.0)))


def fits(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    """Exponent k (total ~ nodes^k) per metric, over the runs that patched every node."""
    done = [r for r in rows if r.get("patched") == r["nodes"]]
    sizes = [r["nodes"] for r in done]
    out: dict[str, float | None] = {}
    for key in ("orchestratorCpuSeconds", "episodes", "historyEvents", "replayedEvents", "invocations"):
        out[key] = exponent(sizes, [float(r[key]) for r in done])
    out["parentCpuSeconds"] = exponent(sizes, [parent_cpu(r) for r in done])
    out["childCpuSeconds"] = exponent(sizes, [float(r["orchestratorCpuSeconds"]) - parent_cpu(r) for r in done])
    out["sizes"] = sizes  # type: ignore[assignment]
    return out


def per_episode(row: dict[str, Any], buckets: int = 10) -> dict[str, float]:
    """patch_cycle's cost per episode against the history it replayed (unprofiled run).

    Fitted on the medians of ``buckets`` equal-count groups of episodes (by history length),
    so a few episodes stretched by garbage collection or a busy machine do not tilt the line.
    """
    points = sorted((float(x), float(y)) for x, y in row.get("parentEpisodes") or [])
    size = max(1, len(points) // buckets)
    groups = [points[i:i + size] for i in range(0, len(points), size)]
    medians = [(sum(x for x, _ in g) / len(g), sorted(y for _, y in g)[len(g) // 2]) for g in groups if g]
    slope, intercept, r2 = linear(medians)
    return {"microsecondsPerEvent": round(slope * 1e6, 2), "interceptMs": round(intercept * 1e3, 3),
            "r2": round(r2, 3), "episodes": len(points)}


def kured(jobs: dict[str, Any]) -> list[dict[str, Any]]:
    """Ours (measured where a cycle ran) beside kured's model for the same node durations."""
    rows = []
    over = jobs.get("overhead")
    if isinstance(over, dict) and over.get("perNodePhysical"):
        durations = [n["physical"] for n in over["perNodePhysical"]]
        model = kured_model.simulate(durations, runs=1000)
        rows.append({"cluster": f"overhead cluster: {len(durations)} nodes, measured node times",
                     "ours": over["cycleSeconds"], "oursHow": "measured (local engine + sandbox)", "kured": model})
    fleet = jobs.get("fleet")
    if isinstance(fleet, dict) and fleet.get("perNodePhysical"):
        clusters = fleet["perNodePhysical"]
        model = kured_model.fleet(clusters, runs=200)
        model["nodeSecondsTotal"] = max(sum(c) for c in clusters)  # the busiest cluster's own time
        rows.append({"cluster": f"fleet: {len(clusters)} clusters x {len(clusters[0])} nodes, measured node times",
                     "ours": fleet["fleetSeconds"], "oursHow": "measured (local engine + sandboxes)", "kured": model})
    per_node = None
    if isinstance(over, dict) and over.get("cycleSeconds") and over.get("physicalSeconds"):
        split = over.get("overheadSplit") or {}
        per_node = (over["cycleSeconds"] - over["physicalSeconds"] - split.get("discoverySeconds", 0.0)) / over["nodes"]
    fan = jobs.get("fanout")
    discovery = fan.get("discoverySeconds") if isinstance(fan, dict) else None
    node = sum(TYPICAL_NODE.values())
    for n in (10, 100, 1000):
        model = kured_model.simulate([node] * n, runs=300 if n < 1000 else 40, seed=n)
        ours = None
        if per_node is not None and discovery is not None:
            # The waits are event-driven (watches, ARM read about once a second): the measured
            # per-node overhead already holds the lateness; no half poll interval is added.
            ours = discovery + n * (node + per_node)
        rows.append({"cluster": f"{n} nodes of {node:.0f} s (drain {TYPICAL_NODE['drain']:.0f} + reboot "
                                f"{TYPICAL_NODE['reboot']:.0f} + Ready {TYPICAL_NODE['ready']:.0f})",
                     "ours": ours, "oursHow": "modelled: measured discovery (10 pools, L 10 s) + n x (node + measured "
                                              "overhead per node, lateness included: the waits are event-driven)", "kured": model})
    return rows


def _load_range(jobs: dict[str, Any]) -> str:
    """Lowest to highest 1-minute load average seen at the jobs' starts and ends."""
    loads = [v["job"][k] for v in jobs.values() if isinstance(v, dict) and "job" in v for k in ("loadBefore", "loadAfter")]
    return f"{min(loads):g}-{max(loads):g}" if loads else "-"


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    jobs = results["jobs"]
    replay, local = scaling_rows(jobs, "replay"), scaling_rows(jobs, "local")
    results["fits"] = {"replay": fits(replay), "local": fits(local)}
    results["perEpisode"] = {}
    if replay:
        results["perEpisode"]["replay"] = per_episode(replay[-1])
    done_local = [r for r in local if r.get("patched") == r["nodes"]]
    if done_local:
        results["perEpisode"]["local"] = per_episode(done_local[-1])
    results["kured"] = kured(jobs)
    rows = []
    if results.get("fullRun"):
        rows.append({"measure": "bench: wall time of the full run (`make bench`)", "engine": "this machine",
                     "result": results.get("seconds"), "goal": results.get("goalSeconds"), "unit": "s",
                     "detail": f"{len(jobs)} jobs, one after another; 1-minute load average "
                               f"{_load_range(jobs)} over the run"})
    for job, how in (("overhead", "default settings"), ("overhead-poll", "every poll 0.2 s"),
                     ("overhead-poll-20", "every poll 0.2 s"),
                     ("dispatch-0.05", "default settings, dispatch latency 0.05 s"),
                     ("dispatch-1", "default settings, dispatch latency 1 s")):
        over = jobs.get(job) or {}
        if job != "overhead" and not over:
            continue
        late = over.get("lateness") or {}
        lat = ", ".join(f"{k} {late[k]['median']} s" for k in ("drain", "health") if late.get(k))
        rows.append({"measure": f"overhead: cycle / physical bound, {over.get('nodes', '?')} nodes, concurrency 1, "
                                f"{how}",
                     "engine": "local engine + sandbox", "result": over.get("ratio"), "goal": 1.05,
                     "detail": f"{fmt(over.get('cycleSeconds'))} s / {fmt(over.get('physicalSeconds'))} s (timeline)"
                               + (f"; median lateness {lat}" if lat else "")})
    head = jobs.get("overhead") or {}
    if head.get("invocations"):
        per = {k: sum((head["invocations"].get(k) or {}).values()) / max(1, head.get("patched") or 1)
               for k in ("episodes", "activities", "entityOperations")}
        rows.append({"measure": f"overhead: invocations per patched node, {head.get('nodes', '?')} nodes, real activities "
                                "(episodes + activities + entity operations)",
                     "engine": "local engine + sandbox", "result": round(sum(per.values()), 2), "goal": 12,
                     "detail": f"{per['episodes']:.1f} + {per['activities']:.1f} + {per['entityOperations']:.1f}; each "
                               "wait watched to its event in one call (the scaling rows' fakes answer one drain "
                               "pass and one health check 'pending' per node, each then a durable timer)"})
    for job, how in (("fanout", "default settings"), ("fanout-poll", "every poll 0.2 s")):
        fan = jobs.get(job) or {}
        if job != "fanout" and not fan:
            continue
        rows.append({"measure": f"fan-out: discovery / L, {fan.get('pools', '?')} pools, L = {fan.get('latencySeconds')}"
                                f" s, {how}",
                     "engine": "local engine + sandbox", "result": fan.get("ratioToLatency"), "goal": 1.2,
                     "detail": f"{fmt(fan.get('discoverySeconds'))} s; one pool "
                               f"{fmt(fan.get('singlePoolDiscoverySeconds'))} s; one after another "
                               f"{fmt(fan.get('sequentialEstimateSeconds'))} s; against the slowest command as the "
                               f"sandbox ran it {fmt(fan.get('ratioToSlowestCommand'), 3)}"})
    for name, data in (("replay", replay), ("local", local)):
        fit = results["fits"][name]
        engine = "replay driver (production SDK)" if name == "replay" else "local engine, fake activities"
        sizes = "/".join(str(s) for s in fit.get("sizes") or []) or "-"
        rows.append({"measure": f"scaling: orchestrator CPU exponent k ({sizes} nodes)", "engine": engine,
                     "result": fit.get("orchestratorCpuSeconds"), "goal": 1.1,
                     "detail": f"patch_cycle alone k = {fmt(fit.get('parentCpuSeconds'))}, patch_node k = "
                               f"{fmt(fit.get('childCpuSeconds'))}, replayed events k = {fmt(fit.get('replayedEvents'))}"})
        complete = [r for r in data if r.get("patched") == r["nodes"]]
        biggest = complete[-1] if complete else {}
        stuck = [r for r in data if r.get("failure")]
        rows.append({"measure": f"scaling: invocations per patched node ({biggest.get('nodes', '?')} nodes)",
                     "engine": engine, "result": (biggest.get("perNode") or {}).get("invocations"), "goal": 12,
                     "detail": ", ".join(f"{r['nodes']}: {fmt(r['perNode']['invocations'], 1)}" for r in data)
                               + "".join(f"; **{r['nodes']} nodes did not finish** ({r['nodesDoneAtFailure']} done): "
                                         f"{r['failure'][:160]}" for r in stuck)})
    for job in ("fleet", "fleet-50"):
        fleet = jobs.get(job) or {}
        if job != "fleet" and not fleet:
            continue
        how = "the app's default intervals" if fleet.get("poll", "") is None else f"every poll {fleet.get('poll', '?')} s"
        rows.append({"measure": f"fleet: {fleet.get('clusters', '?')} x {fleet.get('nodesPerCluster', '?')} nodes at "
                                f"once / one cluster alone, {how}", "engine": "local engine + sandboxes",
                     "result": fleet.get("ratio"), "goal": None,
                     "detail": f"{fmt(fleet.get('fleetSeconds'))} s / {fmt(fleet.get('aloneSeconds'))} s"})
    biggest_local = local[-1] if local else {}
    biggest_replay = replay[-1] if replay else {}
    rows.append({"measure": f"memory: peak RSS at {biggest_local.get('nodes', '?')} nodes", "engine":
                 "local engine process (fake activities)", "result": biggest_local.get("peakRssMb"), "goal": None,
                 "detail": f"status {biggest_local.get('status')}; replay driver process at {biggest_replay.get('nodes')}"
                           f" nodes: {fmt(biggest_replay.get('peakRssMb'))} MB", "unit": "MB"})
    results["summary"] = rows
    return results
