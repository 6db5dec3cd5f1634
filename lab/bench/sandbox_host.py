"""The sandbox clusters of a benchmark, in a process of their own.

The app's local engine and the clusters it patches would fight for one interpreter lock if
they shared a process; in Azure the cluster is another machine. So a benchmark starts this
host (``python -m lab.bench.sandbox_host``), sends one JSON line ``{"scenarios": [...],
"router": bool}`` on stdin and reads back one JSON line describing the clusters
(``clusters: [{id, armUrl, caFile}]``, and with ``router`` one ARM endpoint for all of them:
``router: {url, caFile}``). A later line ``{"cmd": "stop", "timelines": <dir>}`` writes each
cluster's timeline as ``<dir>/<index>.jsonl``, stops everything and answers with the host's
CPU time (its own and its kubectl children's) and peak RSS.

``SandboxHost`` is the benchmark's side of that conversation.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _usage() -> dict[str, float]:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"cpuSeconds": round(me.ru_utime + me.ru_stime, 3),
            "childCpuSeconds": round(kids.ru_utime + kids.ru_stime, 3),
            "peakRssMb": round(me.ru_maxrss / 1024, 1)}


def serve(spec: dict[str, Any], out: Any) -> None:
    """Start the scenarios, answer on ``out``, wait for stop on stdin."""
    from lab.bench.arm_router import ArmRouter, Backend, ca_bundle
    from lab.sandbox.certs import make_certs
    from lab.sandbox.runtime import Sandbox

    began = time.monotonic()
    sandboxes = []
    router = None
    workdir = Path(tempfile.mkdtemp(prefix="bench-host-"))
    try:
        for scenario in spec["scenarios"]:
            sandboxes.append(Sandbox(scenario).start())
        answer: dict[str, Any] = {"clusters": [
            {"id": sb.cluster_resource_id, "armUrl": sb.arm_url, "caFile": str(sb.ca_file),
             "nodes": len(sb.scenario.nodes)} for sb in sandboxes]}
        if spec.get("router"):
            certs = make_certs(workdir)
            backends = [Backend(sb.arm_url, str(sb.ca_file), (sb.scenario.cluster.resource_group.lower(),
                                                              sb.node_resource_group.lower())) for sb in sandboxes]
            router = ArmRouter(backends, certs)
            url = router.start()
            bundle = ca_bundle(str(workdir / "bundle.pem"), [certs.ca_file] + [b.ca_file for b in backends])
            answer["router"] = {"url": url, "caFile": bundle}
        answer["startSeconds"] = round(time.monotonic() - began, 3)
        out.write(json.dumps(answer) + "\n")
        out.flush()
        for line in sys.stdin:
            command = json.loads(line)
            if command.get("cmd") == "stop":
                target = command.get("timelines")
                if target:
                    Path(target).mkdir(parents=True, exist_ok=True)
                    for i, sb in enumerate(sandboxes):
                        sb.timeline.write_jsonl(Path(target) / f"{i}.jsonl")
                break
    finally:
        if router is not None:
            router.stop()
        for sb in sandboxes:
            sb.stop()
    out.write(json.dumps({"stopped": True, **_usage(), **({"armCalls": router.forwarded} if router else {})}) + "\n")
    out.flush()


class SandboxHost:
    """Runs ``serve`` in a subprocess: ``start(scenarios)`` -> description; ``stop(dir)`` -> usage."""

    def __init__(self, scenarios: list[dict[str, Any]], router: bool = False) -> None:
        self.spec = {"scenarios": scenarios, "router": router}
        self.proc: subprocess.Popen[str] | None = None
        self.info: dict[str, Any] = {}

    def start(self, timeout: float = 300) -> dict[str, Any]:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen([sys.executable, "-m", "lab.bench.sandbox_host"], cwd=ROOT, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(self.spec) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"sandbox host exited with {self.proc.wait(timeout)} before it was ready")
        self.info = json.loads(line)
        return self.info

    def stop(self, timelines: str | None = None, timeout: float = 120) -> dict[str, Any]:
        if self.proc is None:
            return {}
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps({"cmd": "stop", "timelines": timelines}) + "\n")
            self.proc.stdin.flush()
            self.proc.stdin.close()
            line = self.proc.stdout.readline()
            self.proc.wait(timeout)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            self.proc.kill()
            line = ""
        self.proc = None
        return json.loads(line) if line else {}

    def __enter__(self) -> SandboxHost:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    first = sys.stdin.readline()
    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # keep stray prints off the protocol channel
    serve(json.loads(first), real_stdout)
