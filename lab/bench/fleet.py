"""Fleet: many clusters patched at once by one app (one engine), against one cluster alone.

Each cluster is its own sandbox (bench.scenarios.patch_cluster, same shape for all), all of
them in one host process behind one ARM endpoint (bench.arm_router), since the app has one
ARM endpoint setting. First one cluster of that shape alone, then all of them: both started
by the app's timer function (the hourly path: one cycle per configured cluster). The fleet's
total is the timer firing until the last cycle finished; the clusters do not share anything
but the app and this machine's 2 CPUs, so the gap to the single cluster is what one engine
(and one machine running every simulated cluster too) costs.
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from lab.bench import physical
from lab.bench.engine import BenchEngine
from lab.bench.sandbox_host import SandboxHost
from lab.bench.scenarios import app_settings, patch_cluster, reported


def _cycle(scenarios: list[dict[str, Any]], poll: float | None, timeout: float) -> dict[str, Any]:
    host = SandboxHost(scenarios, router=True)
    info = host.start(timeout=600)
    ids = [c["id"] for c in info["clusters"]]
    settings = app_settings(ids, info["router"]["url"], info["router"]["caFile"], poll)
    timelines = tempfile.mkdtemp(prefix="bench-fleet-")
    try:
        with BenchEngine(settings) as engine:
            cpu = time.process_time()
            began = time.monotonic()
            watches = engine.fire_timer()
            fired = time.monotonic() - began
            engine.wait(watches, timeout=timeout, interval=0.25, payloads=False)
            cpu = time.process_time() - cpu
            counts = engine.instruments.summary()
    finally:
        usage = host.stop(timelines)
    finished = sorted(float(w.finished or 0.0) for w in watches)
    patched = sum(int(((w.output or {}).get("counts") or {}).get("patched", 0)) for w in watches)
    bounds = [physical.bound(physical.read_timeline(Path(timelines) / f"{i}.jsonl")) for i in range(len(ids))]
    return {
        "clusters": len(ids), "patched": patched,
        "statuses": sorted({w.status for w in watches}),
        "totalSeconds": finished[-1] if finished else None,
        "fastestSeconds": finished[0] if finished else None,
        "medianSeconds": finished[len(finished) // 2] if finished else None,
        "timerSeconds": round(fired, 3),
        "physicalSecondsMax": max(b["physicalSeconds"] for b in bounds),
        "perNodePhysical": [[n["physical"] for n in b["perNode"]] for b in bounds],
        "hostStartSeconds": info.get("startSeconds"),
        "engineCpuSeconds": round(cpu, 2),
        "enginePeakRssMb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "sandbox": usage,
        "invocations": counts,
        "settings": reported(settings),
    }


def run(clusters: int = 50, nodes: int = 10, reboot: float = 2.0, termination: float = 0.5,
        poll: float | None = None) -> dict[str, Any]:
    """``poll`` None: the app's default intervals; a number: every poll at that many seconds."""

    def shape(name: str, seed: int) -> dict[str, Any]:
        return patch_cluster(name, nodes, reboot=reboot, termination=termination, seed=seed)

    timeout = clusters * nodes * (reboot + termination) + 600
    alone = _cycle([shape("solo", 1)], poll, timeout)
    fleet = _cycle([shape(f"fleet{i:02d}", i + 1) for i in range(clusters)], poll, timeout)
    return {
        "engine": f"local engine + {clusters} sandboxes (one separate process) behind one ARM endpoint",
        "clusters": clusters, "nodesPerCluster": nodes, "poll": poll,
        "timings": shape("x", 1)["timings"],
        "aloneSeconds": alone["totalSeconds"],
        "fleetSeconds": fleet["totalSeconds"],
        "ratio": round(fleet["totalSeconds"] / alone["totalSeconds"], 3)
        if fleet["totalSeconds"] and alone["totalSeconds"] else None,
        "alone": {k: v for k, v in alone.items() if k != "perNodePhysical"},
        "fleet": {k: v for k, v in fleet.items() if k != "perNodePhysical"},
        "perNodePhysical": fleet["perNodePhysical"],
    }
