"""A patch cycle of the fake cluster, run through the replay driver, with handy accessors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rebooter.config import cycle_request, names, settings

from .driver import Instance, ReplayHost
from .fakes import CLUSTER, FakeCluster, two_node_cluster

KEY = names.parse_cluster_id(CLUSTER).key
CYCLE_ID = cycle_request.instance_id(CLUSTER)


@dataclass
class CycleRun:
    host: ReplayHost
    cluster: FakeCluster
    cycle: Instance

    def child(self, node: str) -> Instance:
        return self.host.instances[f"{CYCLE_ID}:{node}"]

    @property
    def lock(self) -> Any:
        return self.host.entity_state("cluster_lock", KEY)

    @property
    def progress(self) -> Any:
        return self.host.entity_state("cluster_progress", KEY)


def run_cycle(cluster: FakeCluster, overrides: dict[str, Any] | None = None, activity_seconds: Any = 1.0,
              lock: dict[str, Any] | None = None) -> CycleRun:
    """One patch cycle with the app's default settings (plus overrides), 1 s per activity.

    ``lock`` is a cluster_lock state to start from (a holder left by someone else).
    """
    cfg = {**settings.load({}), **(overrides or {})}
    job = cycle_request.cycle_input(CLUSTER, cfg, reason="replay test", trigger="http")
    host = ReplayHost(cluster.activities(), activity_seconds=activity_seconds)
    if lock is not None:
        host.seed_entity("cluster_lock", KEY, lock)
    cycle = host.run_orchestration("patch_cycle", job, CYCLE_ID)
    return CycleRun(host, cluster, cycle)



SCENARIOS: dict[str, dict[str, Any]] = {
    "two nodes": {},
    "never healthy": {"never_healthy": {"aks-system-0"}},
    "cordoned by someone else": {"cordoned_after_planning": {"aks-system-0"}},
}
# The second node then waits for room in the budget: a short lock timeout keeps the replay small.
SCENARIO_SETTINGS: dict[str, dict[str, Any]] = {"cordoned by someone else": {"lockTimeoutSeconds": 300}}
_RUNS: dict[str, CycleRun] = {}


def scenario(name: str) -> CycleRun:
    """The named scenario of two_node_cluster(), run once per test session (tests only read it)."""
    if name not in _RUNS:
        _RUNS[name] = run_cycle(two_node_cluster(**SCENARIOS[name]), overrides=SCENARIO_SETTINGS.get(name))
    return _RUNS[name]
