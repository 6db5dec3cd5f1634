"""The sandbox clusters and app settings the benchmarks use (scenario dicts, see docs/scenarios.md).

Every duration that decides a result is a parameter here and is written into the results, so
a reader can tell what the node's own time was and how often the app polled.
"""

from __future__ import annotations

from typing import Any

POLL_KEYS = ("REBOOTER_PROBE_POLL_SECONDS", "REBOOTER_HEALTH_POLL_SECONDS", "REBOOTER_DRAIN_RETRY_SECONDS",
             "REBOOTER_LOCK_RETRY_SECONDS")


# Generous timeouts: a benchmark measures how long things take, it should not give up on them.
TIMEOUTS = {
    "REBOOTER_PROBE_TIMEOUT_SECONDS": "600",
    "REBOOTER_PROBE_POD_TIMEOUT_SECONDS": "120",
    "REBOOTER_LOCK_TIMEOUT_SECONDS": "3600",
    "REBOOTER_DRAIN_TIMEOUT_SECONDS": "600",
    "REBOOTER_HEALTH_TIMEOUT_SECONDS": "600",
}


def poll_settings(poll: float | None) -> dict[str, str]:
    """The app's polling intervals (durable timers) all set to ``poll`` seconds, with generous timeouts.

    ``poll`` None keeps the app's own defaults for every interval, the activity retry back-off
    included (what a user deploys): only the timeouts are set, so the headline rows measure the
    defaults."""
    if poll is None:
        return dict(TIMEOUTS)
    value = f"{poll:g}"
    return {**{key: value for key in POLL_KEYS}, "REBOOTER_ACTIVITY_RETRY_SECONDS": "0.5", **TIMEOUTS}


def app_settings(clusters: list[str], arm_url: str, ca_file: str, poll: float | None) -> dict[str, str]:
    """Settings pointing the app's production code at sandbox ARM (one endpoint, as in Azure)."""
    return {
        "REBOOTER_CLUSTERS": " ".join(clusters),
        "REBOOTER_ARM_ENDPOINT": arm_url,
        "REBOOTER_ARM_CA_BUNDLE": ca_file,
        "REBOOTER_CREDENTIAL": "sandbox",
        "REBOOTER_SCHEDULE": "0 0 * * * *",  # the timer function resolves it even when fired by hand
        **poll_settings(poll),
    }


def reported(settings: dict[str, str]) -> dict[str, str]:
    """The settings worth printing beside a result (durations and limits, no endpoints)."""
    return {k: v for k, v in sorted(settings.items()) if k.endswith("_SECONDS") or k == "REBOOTER_MAX_UNAVAILABLE"}


def patch_cluster(name: str, nodes: int, *, reboot: float, termination: float, pod_start: float = 0.2,
                  latency: float = 0.3, seed: int = 1) -> dict[str, Any]:
    """A system pool plus a user pool of ``nodes`` nodes that all need a reboot.

    A Deployment with two replicas per node and a PDB allowing half of them to be down: each
    drain evicts a node's pods at once (no 429 wait in practice), so a node's drain takes the
    pods' termination time, its reboot ``reboot`` seconds.
    """
    return {
        "name": name,
        "seed": seed,
        "cluster": {"resourceGroup": f"rg-{name}", "name": f"aks-{name}"},
        "pools": [{"name": "system", "mode": "System", "count": 1}, {"name": "user", "count": nodes}],
        "nodes": [{"node": "user/*", "rebootRequired": True}],
        "workloads": {
            "deployments": [{"name": "web", "replicas": 2 * nodes, "pools": ["user"],
                             "pdb": {"maxUnavailable": "50%"}}],
            "daemonsets": [{"name": "kube-proxy", "namespace": "kube-system"}],
        },
        "timings": {"podStartSeconds": pod_start, "podTerminationSeconds": termination, "rebootSeconds": reboot,
                    "recreateDelaySeconds": 0.3, "runCommandLatencySeconds": latency, "probeCompletionSeconds": 0.2},
    }


def pools_cluster(name: str, pools: int, *, latency: float, seed: int = 1) -> dict[str, Any]:
    """``pools`` Linux pools of one node each (none needs a reboot): a cycle is discovery only."""
    names = ["system"] + [f"pool{i}" for i in range(1, pools)]
    return {
        "name": name,
        "seed": seed,
        "cluster": {"resourceGroup": f"rg-{name}", "name": f"aks-{name}"},
        "pools": [{"name": p, "mode": "System" if p == "system" else "User", "count": 1} for p in names],
        "timings": {"runCommandLatencySeconds": latency, "podStartSeconds": 0.2, "probeCompletionSeconds": 0.2},
    }
