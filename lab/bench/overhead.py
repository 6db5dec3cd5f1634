"""Overhead: a whole patch cycle's wall time against the nodes' own time (concurrency 1).

One sandbox cluster (bench.scenarios.patch_cluster) in its own process, the app on the
local engine in this one, a cycle started over the app's HTTP API and watched until it
finishes. The physical bound is read from the sandbox's timeline (bench.physical): the sum
over the patched nodes of drain + reboot + back to Ready. The scenario's timings give a
second, a-priori bound (termination + reboot per node), reported beside it.
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path
from statistics import fmean
from typing import Any

from lab.bench import physical
from lab.bench.engine import BenchEngine
from lab.bench.sandbox_host import SandboxHost
from lab.bench.scenarios import app_settings, patch_cluster, reported


def step_means(output: dict[str, Any]) -> dict[str, float]:
    """Mean seconds per patch_node step over the patched nodes (from the cycle's output)."""
    steps: dict[str, list[float]] = {}
    for node in (output or {}).get("nodes", []):
        for step in node.get("steps", []):
            steps.setdefault(step["step"], []).append(float(step.get("seconds", 0.0)))
    return {name: round(fmean(values), 3) for name, values in steps.items()}


def run(nodes: int = 20, reboot: float = 8.0, termination: float = 2.0, poll: float | None = None,
        pod_start: float = 0.2, dispatch: float = 0.0) -> dict[str, Any]:
    """``dispatch``: seconds the local engine waits before every orchestrator episode and entity
    operation (a backend's dispatch latency); 0 is the engine as it is."""
    scenario = patch_cluster("overhead", nodes, reboot=reboot, termination=termination, pod_start=pod_start)
    host = SandboxHost([scenario])
    info = host.start()
    cluster = info["clusters"][0]
    settings = app_settings([cluster["id"]], cluster["armUrl"], cluster["caFile"], poll)
    timelines = tempfile.mkdtemp(prefix="bench-overhead-")
    try:
        with BenchEngine(settings, dispatch_delay=dispatch) as engine:
            cpu = time.process_time()
            watch = engine.start_cycle(cluster["id"])
            engine.wait([watch], timeout=nodes * (reboot + termination) * 3 + 300, interval=0.05)
            cpu = time.process_time() - cpu
            counts = engine.instruments.summary()
    finally:
        usage = host.stop(timelines)
    events = physical.read_timeline(Path(timelines) / "0.jsonl")
    bound = physical.bound(events)
    wall = float(watch.finished or 0.0)
    split = physical.overhead_split(events, watch.started_epoch, watch.started_epoch + wall)
    probe = physical.run_commands(events, watch.started_epoch, watch.left("probe pools"))
    patched = int(((watch.output or {}).get("counts") or {}).get("patched", 0))
    a_priori = nodes * (reboot + termination)
    per_node = bound.pop("perNode")
    return {
        "engine": "local engine + sandbox (separate process)",
        "nodes": nodes, "patched": patched, "status": watch.status,
        "cycleSeconds": wall,
        "physicalSeconds": bound["physicalSeconds"],
        "ratio": round(wall / bound["physicalSeconds"], 4) if bound["physicalSeconds"] else None,
        "scenarioBoundSeconds": a_priori,
        "ratioScenarioBound": round(wall / a_priori, 4),
        "bound": bound,
        "overheadSplit": split,
        "discovery": {"leftProbePoolsSeconds": watch.left("probe pools"), "runCommands": probe},
        "stepMeans": step_means(watch.output),
        "lateness": physical.lateness(events, watch.output),
        "poll": poll,
        "dispatchSeconds": dispatch,
        "perNodePhysical": [{k: n[k] for k in ("node", "drain", "reboot", "ready", "physical")} for n in per_node],
        "timings": scenario["timings"],
        "settings": reported(settings),
        "invocations": counts,
        "engineCpuSeconds": round(cpu, 2),
        "enginePeakRssMb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "sandbox": usage,
    }
