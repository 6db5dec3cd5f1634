"""The 200-node scenario starts well inside its budget and answers through the real clients."""

from __future__ import annotations

import time
from pathlib import Path

from kubernetes import client as k8s

from lab.sandbox.runtime import Sandbox

from .sandbox_testkit import kube

LARGE = Path(__file__).resolve().parents[3] / "lab" / "scenarios" / "large.yaml"


def test_large_scenario_starts_in_under_ten_seconds() -> None:
    began = time.monotonic()
    with Sandbox(LARGE).start() as sb:
        assert time.monotonic() - began < 10
        core = k8s.CoreV1Api(kube(sb))
        assert len(core.list_node().items) == 200
        pods = core.list_pod_for_all_namespaces().items
        assert len(pods) > 500 and all(p.status.phase == "Running" for p in pods)
        assert sum(1 for n in sb.scenario.nodes if sb.cluster.host_facts(n.name).sentinel) == 30
