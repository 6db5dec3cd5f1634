"""Fan-out: how long discovery takes with many pools, when each run-command takes L seconds to start.

Two sandbox clusters behind one ARM endpoint (bench.arm_router), same run-command latency L
(``runCommandLatencySeconds``): one pool, then ``pools`` pools, one node each, none needing a
reboot, so a cycle is discovery only. Discovery = the start request until the cycle's custom
status leaves "probe pools" (describe, blockers, probe every pool, list nodes). Done one pool
after another it would take ``pools`` x the one-pool time; the goal is <= 1.2 x L.

The sandbox's timeline says how the parts overlapped: when each run-command was submitted
(the spread shows the fan-out), and how long each script ran once started (bash + kubectl
against the emulator, which the 2 CPUs of this machine share between the ``pools`` commands).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from lab.bench import physical
from lab.bench.engine import BenchEngine
from lab.bench.sandbox_host import SandboxHost
from lab.bench.scenarios import app_settings, pools_cluster, reported

STEP = "probe pools"


def run(pools: int = 10, latency: float = 5.0, poll: float | None = None) -> dict[str, Any]:
    one, many = pools_cluster("fanone", 1, latency=latency), pools_cluster("fanmany", pools, latency=latency, seed=2)
    host = SandboxHost([one, many], router=True)
    info = host.start()
    ids = [c["id"] for c in info["clusters"]]
    settings = app_settings(ids, info["router"]["url"], info["router"]["caFile"], poll)
    timelines = tempfile.mkdtemp(prefix="bench-fanout-")
    results = []
    try:
        with BenchEngine(settings) as engine:
            for cluster_id in ids:
                watch = engine.start_cycle(cluster_id)
                engine.wait([watch], timeout=latency * pools * 4 + 300, interval=0.02)
                results.append(watch)
                time.sleep(0.5)  # let the first cluster's probe pods go before the next run
            counts = engine.instruments.summary()
    finally:
        usage = host.stop(timelines)
    single, fanned = (w.left(STEP) for w in results)
    parts = [physical.run_commands(physical.read_timeline(Path(timelines) / f"{i}.jsonl"), w.started_epoch,
                                   w.left(STEP))
             for i, w in enumerate(results)]
    slowest = parts[1].get("commandSecondsMax")
    return {
        "engine": "local engine + 2 sandboxes (separate process) behind one ARM endpoint",
        "pools": pools, "latencySeconds": latency, "poll": poll,
        "discoverySeconds": fanned, "singlePoolDiscoverySeconds": single,
        "ratioToLatency": round(fanned / latency, 3) if fanned else None,
        "slowestCommandSeconds": slowest,
        "ratioToSlowestCommand": round(fanned / slowest, 3) if fanned and slowest else None,
        "sequentialEstimateSeconds": round(pools * single, 3) if single else None,
        "sequentialLatencyOnlySeconds": pools * latency,
        "statuses": [w.status for w in results],
        "steps": [w.steps for w in results],
        "runCommands": {"onePool": parts[0], "manyPools": parts[1]},
        "settings": reported(settings),
        "invocations": counts,
        "sandbox": usage,
    }
