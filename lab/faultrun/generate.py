"""Seed -> a small random sandbox cluster, fast settings and one or two faults (a run plan).

Everything comes from ``random.Random(seed)``, so a seed is a complete, reproducible
description of a run: ``python -m lab.faultrun generate --seed N`` prints it. The primary fault
cycles through every kind (``FAULT_KINDS[(seed - 1) % len(FAULT_KINDS)]``), so any run of
``len(FAULT_KINDS)`` consecutive seeds covers every kind; a second fault is added at random.

Two families of faults:

* sandbox faults (``sandbox.model.FAULT_TYPES``): written into the scenario's ``faults:``;
* harness faults: done by the runner around the app (``HARNESS_KINDS``), because the sandbox
  cannot express them: a controller that never re-creates pods (the sandbox has no such fault
  kind; the runner stalls its controller), every activity executed twice, an activity that
  fails after doing its work, two cycles started at the same moment (timer and HTTP), and the
  lock holder's orchestration terminated mid-drain.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from lab.faultrun import overrides
from lab.sandbox.model import FAULT_TYPES, KUBELET_FAULTS

HARNESS_KINDS = ("controllerNeverRecreates", "activityFailsAfterWork", "activityTwice", "concurrentStart",
                 "terminateHolder", "terminateAtStep", "breakLock", "operatorCommand", "nodeDeleted",
                 "windowReadFails", *overrides.KINDS)
# KUBELET_FAULTS (nodeRerunsRebootPod) are sandbox faults too, written into the scenario's ``faults:``.
SANDBOX_KINDS = tuple(FAULT_TYPES) + tuple(KUBELET_FAULTS)
FAULT_KINDS = SANDBOX_KINDS + HARNESS_KINDS
NODE_TARGETED = {"nodeNeverReturns", "nodeReturnsNotReady", "nodeRerunsRebootPod", "terminateHolder",
                 "terminateAtStep", "breakLock", "nodeDeleted"}
# Kinds that choreograph the run's start (faultrun.run, faultrun.operator): one per run.
ACTING = ("concurrentStart", "terminateHolder", "terminateAtStep", "breakLock", "operatorCommand", "nodeDeleted",
          "windowReadFails")
# Pairs that would make one run do two different things at its start.
INCOMPATIBLE = {frozenset({a, b}) for a in ACTING for b in ACTING if a != b} | {
    frozenset({"concurrentStart", "cycleOverrides"})}
# The steps of patch_node as its custom status names them (orchestrators/patch_node.py).
NODE_STEPS = ("lock", "cordon", "drain", "reboot", "wait healthy", "uncordon")
# Where each step can be seen from outside (patch_node's custom status), now that neighbouring steps
# share an activity: the reboot is asked by the drain pass that finishes the drain, and the uncordon
# is made by the health check that sees the node healthy, so "reboot" and "uncordon" are never
# published on their own (and "drain" not when the first pass, made with the cordon, finished it).
# A fault "at" a step acts at the first of these statuses it sees.
SEEN_AT = {"drain": ("drain", "reboot", "wait healthy"), "reboot": ("reboot", "wait healthy"),
           "uncordon": ("uncordon", "wait healthy")}
COMMANDS = ("cancel", "pause", "approve", "reject")
# Activities whose completion can be lost after they did their work (the at-least-once case).
FLAKY_ACTIVITIES = ("describe_cluster", "probe_pool", "fetch_probe_result", "list_nodes", "preflight_node",
                    "cordon_node", "drain_node", "reboot_node", "check_node_health", "finish_node")
POOL_NAMES = ("system", "apps", "batch")
NAMESPACE = "shop"

# Short durations: a run that waits out every timeout still ends in seconds.
BASE_SETTINGS = {
    "REBOOTER_SCHEDULE": "0 0 0 1 1 *",  # the timer fires only when the runner fires it
    "REBOOTER_PROBE_POLL_SECONDS": "0.25",
    "REBOOTER_PROBE_TIMEOUT_SECONDS": "8",
    "REBOOTER_PROBE_POD_TIMEOUT_SECONDS": "5",
    "REBOOTER_LOCK_RETRY_SECONDS": "0.25",
    "REBOOTER_LOCK_TIMEOUT_SECONDS": "2",
    "REBOOTER_LOCK_TTL_SECONDS": "3",
    "REBOOTER_DRAIN_TIMEOUT_SECONDS": "2.5",
    "REBOOTER_DRAIN_RETRY_SECONDS": "0.25",
    "REBOOTER_HEALTH_POLL_SECONDS": "0.25",
    "REBOOTER_HEALTH_TIMEOUT_SECONDS": "2.5",
    "REBOOTER_ACTIVITY_RETRY_SECONDS": "0.25",
    "REBOOTER_BLOCKER_RETRY_SECONDS": "0.25",
    "REBOOTER_BLOCKER_TIMEOUT_SECONDS": "2",
}


@dataclass
class RunPlan:
    """What one seed runs: the scenario (valid for ``sandbox.scenario.load``), app settings
    and every fault with its parameters (sandbox ones also sit in ``scenario["faults"]``)."""

    seed: int
    scenario: dict[str, Any]
    settings: dict[str, str]
    faults: list[dict[str, Any]] = field(default_factory=list)

    @property
    def kinds(self) -> list[str]:
        return [f["kind"] for f in self.faults]

    def harness(self, kind: str) -> dict[str, Any] | None:
        """The parameters of a harness fault of this kind, or None when the plan has none."""
        return next((f for f in self.faults if f["kind"] == kind), None)

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "faults": self.faults, "settings": self.settings, "scenario": self.scenario}


def primary_kind(seed: int) -> str:
    return FAULT_KINDS[(seed - 1) % len(FAULT_KINDS)]


def generate(seed: int) -> RunPlan:
    """The run plan of ``seed`` (the same plan on every machine and Python 3.11+)."""
    rng = random.Random(seed)
    kinds = [primary_kind(seed)]
    if rng.random() < 0.5:
        options = [k for k in FAULT_KINDS if k != kinds[0] and frozenset({k, kinds[0]}) not in INCOMPATIBLE]
        kinds.append(rng.choice(options))

    pools = _pools(rng)
    nodes = _node_facts(rng, pools)
    if NODE_TARGETED & set(kinds):
        _leave_room(nodes)
    # In the order the app patches them (pool name, then index), so a node fault hits the first one.
    eligible = sorted((ref for ref, facts in nodes.items() if _eligible(facts)),
                      key=lambda ref: (ref.split("/")[0], int(ref.split("/")[1])))
    targeted = bool(NODE_TARGETED & set(kinds))
    scenario: dict[str, Any] = {
        "name": f"faultrun-{seed}",
        "description": "faultrun plan for seed " + str(seed) + ": " + ", ".join(kinds),
        "seed": seed,
        "cluster": {"resourceGroup": "rg-faultrun", "name": f"aks-fr-{seed}"},
        "pools": [{"name": name, "mode": "System" if i == 0 else "User", "count": count}
                  for i, (name, count) in enumerate(pools)],
        "nodes": [{"node": ref, **facts} for ref, facts in nodes.items() if facts],
        "workloads": _workloads(rng, pools, "controllerNeverRecreates" in kinds, len(eligible), targeted),
        "timings": {key: round(rng.uniform(0.05, 0.3), 2) for key in (
            "podStartSeconds", "podTerminationSeconds", "rebootSeconds", "recreateDelaySeconds",
            "runCommandLatencySeconds", "probeCompletionSeconds", "armOperationSeconds")},
        "faults": [],
    }
    scenario["timings"]["runCommandTimeoutSeconds"] = 20
    # Nodes already out by someone else's hand use up the app's budget (as in OpenShift's MCO), so
    # the budget leaves room for them and for one or two of ours: the faults need nodes in flight.
    already_out = sum(1 for facts in nodes.values() if "cordonedBy" in facts or facts.get("ready") is False)
    settings = {
        **BASE_SETTINGS,
        "REBOOTER_MAX_UNAVAILABLE": str(already_out + rng.choice([1, 1, 2])),
        "REBOOTER_FORCE": rng.choice(["false", "true"]),
        "REBOOTER_UNDRAINABLE_POLICY": rng.choice(["skip", "skip", "quarantine", "force"]),
        "REBOOTER_REBOOT_METHOD": rng.choice(["pod", "pod", "pod", "vmss"]),
    }
    faults = []
    for i, kind in enumerate(kinds):
        if kind in overrides.KINDS:
            fault = {"kind": kind, **overrides.params(rng, kind, settings, eligible)}
            overrides.apply(settings, scenario, fault)
        else:
            fault = {"kind": kind, **_fault_params(rng, kind, eligible, primary=i == 0)}
        faults.append(fault)
        if kind in SANDBOX_KINDS:
            scenario["faults"].append({"type": kind, **{k: v for k, v in fault.items() if k != "kind"}})
        settings.update(_kind_settings(fault, scenario))
    return RunPlan(seed, scenario, settings, faults)


def _kind_settings(fault: dict[str, Any], scenario: dict[str, Any]) -> dict[str, str]:
    """App settings (and sandbox faults) a harness kind needs to act."""
    if fault["kind"] == "operatorCommand":
        # One node per execution, so commands race continue-as-new too; an approval timeout longer
        # than the run's bound, so a timer left behind shows as a cycle that never ends.
        out = {"REBOOTER_NODES_PER_EXECUTION": "1"}
        if fault["when"] == "approval":
            out.update({"REBOOTER_APPROVAL": "first", "REBOOTER_APPROVAL_TIMEOUT_SECONDS": "3600"})
        return out
    if fault["kind"] == "nodeRerunsRebootPod":  # only a reboot pod can be re-run (vmss reboots have none)
        return {"REBOOTER_REBOOT_METHOD": "pod"}
    if fault["kind"] == "windowReadFails":
        scenario["faults"].append({"type": "armError", "status": 500, "count": 1000, "path": "maintenanceConfigurations"})
        return {"REBOOTER_WINDOW_SOURCE": "aks"}
    return {}


def _pools(rng: random.Random) -> list[tuple[str, int]]:
    total = rng.randint(2, 5)
    count = rng.randint(1, min(3, total))
    sizes = [1] * count
    for _ in range(total - count):
        sizes[rng.randrange(count)] += 1
    return list(zip(POOL_NAMES[:count], sizes, strict=True))


def _eligible(facts: dict[str, Any]) -> bool:
    """Needs a reboot and nothing stops the app from taking it (not cordoned by others, Ready)."""
    return bool(facts.get("rebootRequired")) and "cordonedBy" not in facts and facts.get("ready", True)


def _node_facts(rng: random.Random, pools: list[tuple[str, int]]) -> dict[str, dict[str, Any]]:
    nodes: dict[str, dict[str, Any]] = {}
    for pool, size in pools:
        for i in range(size):
            facts: dict[str, Any] = {}
            if rng.random() < 0.75:
                facts["rebootRequired"] = True
            roll = rng.random()
            if roll < 0.15:
                facts["cordonedBy"] = rng.choice(["ops on-call (disk pressure)", "cluster-autoscaler", "kubectl"])
            elif roll < 0.25:
                facts["ready"] = False
            nodes[f"{pool}/{i}"] = facts
    if not any(_eligible(f) for f in nodes.values()):
        ref = rng.choice(sorted(nodes))
        nodes[ref] = {"rebootRequired": True}
    return nodes


def _leave_room(nodes: dict[str, dict[str, Any]]) -> None:
    """At least two nodes in service, so the target's pods have somewhere to go and the drain
    gets the node as far as the reboot the fault is about."""
    out = [ref for ref, facts in nodes.items() if "cordonedBy" in facts or facts.get("ready") is False]
    while len(nodes) - len(out) < 2 and out:
        facts = nodes[out.pop()]
        facts.pop("cordonedBy", None)
        facts.pop("ready", None)


def _workloads(rng: random.Random, pools: list[tuple[str, int]], stalled: bool, eligible: int,
               drainable: bool) -> dict[str, Any]:
    """Deployments (replicas, PDBs), a DaemonSet and sometimes a bare pod. ``drainable``: no
    single replica under a PDB (it cannot move), so a node fault's target gets as far as its reboot."""
    names = [p for p, _ in pools]
    deployments = []
    for name in ("web", "api")[: rng.randint(1, 2)]:
        single = rng.random() < 0.15 and not drainable  # one replica under a PDB cannot move
        replicas = 1 if single else rng.randint(2, 4)
        deployment: dict[str, Any] = {"name": name, "namespace": NAMESPACE, "replicas": replicas}
        pdb = rng.choice([None, {"minAvailable": 1}, {"maxUnavailable": 1}, {"minAvailable": "50%"}])
        if pdb:
            deployment["pdb"] = pdb
        if rng.random() < 0.3:
            deployment["pools"] = sorted(rng.sample(names, rng.randint(1, len(names))))
        if rng.random() < 0.2:
            deployment["emptyDir"] = True
        deployments.append(deployment)
    if stalled:
        # With the controller stalled, the first eviction's pod is never replaced: the budget stays used up.
        deployments.append({"name": "stuck", "namespace": NAMESPACE, "replicas": max(2, eligible),
                            "pdb": {"maxUnavailable": 1}})
    workloads: dict[str, Any] = {"deployments": deployments,
                                 "daemonsets": [{"name": "node-agent", "namespace": NAMESPACE}]}
    if rng.random() < 0.2 and not drainable:  # a bare pod: drain needs REBOOTER_FORCE
        workloads["pods"] = [{"name": "debug-shell", "namespace": NAMESPACE, "pool": rng.choice(names)}]
    return workloads


def _fault_params(rng: random.Random, kind: str, eligible: list[str], primary: bool) -> dict[str, Any]:
    """Parameters of one fault (sandbox ones are scenario ``faults:`` fields, docs/scenarios.md).
    A primary request fault has a wide window and no path filter, so it very likely acts."""
    window = {"start": round(rng.uniform(0.0, 3.0), 2), "duration": round(rng.uniform(0.5, 3.0), 2)}
    if primary:
        window = {"start": round(rng.uniform(0.3, 2.0), 2), "duration": round(rng.uniform(3.0, 6.0), 2)}
    if kind == "kubeApiError":
        return {**window, "status": rng.choice([500, 502, 503]), "count": rng.randint(2, 8),
                **_request_filter(rng, primary, ["", "/api/v1/nodes", "/pods", "/eviction"])}
    if kind == "kubeApiTimeout":
        return {"start": window["start"], "delay": round(rng.uniform(0.5, 2.5), 2), "count": rng.randint(1, 3),
                **_request_filter(rng, primary, ["", "/api/v1/nodes", "/pods"])}
    if kind == "kubeApiThrottle":
        return {**window, "retryAfter": 1, "count": rng.randint(5, 20),
                **_request_filter(rng, primary, ["", "/api/v1/nodes", "/pods", "/eviction"])}
    if kind == "armThrottle":
        return {"retryAfter": rng.choice([0, 1]), "count": rng.randint(1, 3),
                **_request_filter(rng, primary, ["", "runCommand", "commandResults", "agentPools"], methods=False)}
    if kind == "armError":
        return {"status": rng.choice([500, 503]), "count": rng.randint(1, 2),
                **_request_filter(rng, primary, ["", "runCommand", "commandResults", "agentPools"], methods=False)}
    if kind == "runCommandFailed":
        return {"reason": rng.choice(["ImagePullBackOff", "DeadlineExceeded", "Unschedulable"]), "count": 1}
    if kind == "runCommandNeverStarts":
        return {"count": 1}
    if kind == "runCommandSlow":
        return {"extraSeconds": round(rng.uniform(0.5, 2.0), 2), "count": rng.randint(1, 2)}
    if kind in ("nodeNeverReturns", "nodeReturnsNotReady", "nodeRerunsRebootPod"):
        return {"node": eligible[0] if primary else rng.choice(eligible)}
    if kind == "activityFailsAfterWork":
        return {"activity": rng.choice(FLAKY_ACTIVITIES), "count": rng.randint(1, 3)}
    if kind == "terminateHolder":
        return {"waitTtl": rng.random() < 0.5}
    if kind == "terminateAtStep":
        return {"target": rng.choice(["node", "node", "cycle"]), "step": rng.choice(NODE_STEPS)}
    if kind == "breakLock":
        return {"step": rng.choice(NODE_STEPS)}
    if kind == "nodeDeleted":
        return {"step": rng.choice(("lock", "cordon", "drain", "wait healthy"))}
    if kind == "operatorCommand":
        action = rng.choice(COMMANDS)
        when = "approval" if action in ("approve", "reject") else rng.choice(("uncordon", "wait healthy", "drain"))
        return {"action": action, "when": when, "pauseSeconds": round(rng.uniform(0.2, 1.0), 2)}
    if kind in HARNESS_KINDS:
        return {}
    raise ValueError(f"no generator for fault kind {kind!r}: add it to faultrun.generate._fault_params")


def _request_filter(rng: random.Random, primary: bool, paths: list[str], methods: bool = True) -> dict[str, Any]:
    """Which requests a fault hits (a path part, a method); none for a primary fault."""
    out: dict[str, Any] = {}
    if primary:
        return out
    path = rng.choice(paths)
    if path:
        out["path"] = path
    if methods and rng.random() < 0.3:
        out["methods"] = [rng.choice(["GET", "PATCH", "POST"])]
    return out
