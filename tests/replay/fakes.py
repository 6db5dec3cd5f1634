"""A fake AKS cluster answering the app's activities with the shapes the real ones return.

Shapes follow activities/cluster.py and activities/nodes.py (and the rebooter modules they
call): describe_cluster -> rebooter.aks.describe_cluster, probe_pool/fetch_probe_result ->
submit_probe/fetch_probe (+ rebooter.probe.parse_result), list_nodes ->
rebooter.inventory.node_facts without labels, cordon/uncordon -> rebooter.cordon,
drain_node -> rebooter.eviction.drain_pass, reboot_node -> rebooter.reboot.request_reboot,
check_node_health -> rebooter.health.check_health. Behaviour knobs make a node slow, stuck
or cordoned by someone else; every call is recorded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rebooter.contract import LAST_RESULT_ANNOTATION
from rebooter.outcomes import PATCHED_STILL_REQUIRED

CLUSTER = ("/subscriptions/00000000-0000-0000-0000-00000000c0de/resourceGroups/rg-shop"
           "/providers/Microsoft.ContainerService/managedClusters/aks-shop")


@dataclass
class Pool:
    name: str
    os_type: str = "Linux"
    count: int = 0
    mode: str = "User"


@dataclass
class Node:
    name: str
    pool: str
    reboot_required: bool
    boot_id: str
    kernel: str = "5.15.0-1079-azure"
    new_kernel: str = "5.15.0-1081-azure"
    zone: str = ""
    unschedulable: bool = False
    cordoned_by_us: bool = False
    ready: str = "True"
    rebooted: bool = False
    pending_taint: bool = False


@dataclass
class FakeCluster:
    """The cluster as the activities see it; ``activities()`` gives the fakes for the driver."""

    pools: list[Pool]
    nodes: list[Node]
    cluster_id: str = CLUSTER
    probe_running_polls: int = 1  # fetch_probe_result answers "running" this many times per pool
    drain_pending_passes: int = 1  # drain_node answers "pending" (a PDB refuses) this many times per node
    drain_watches_to_bound: bool = False  # each such pending pass says it watched for its whole waitSeconds
    health_pending_checks: int = 1  # check_node_health answers "pending" this many times per node
    watches_to_bound: bool = False  # a pending answer to a call with waitSeconds > 0 says it watched that long
    never_healthy: set[str] = field(default_factory=set)
    still_required: set[str] = field(default_factory=set)  # the sentinel is back after their reboot
    cordoned_after_planning: set[str] = field(default_factory=set)  # someone else cordons these
    failing: dict[str, Callable[[dict[str, Any]], Exception | None]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    counters: Counter = field(default_factory=Counter)

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def called(self, activity: str, node: str | None = None) -> list[dict[str, Any]]:
        return [p for a, p in self.calls if a == activity and (node is None or p.get("node") == node)]

    def activities(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        handlers = {
            "describe_cluster": self.describe_cluster, "probe_pool": self.probe_pool,
            "fetch_probe_result": self.fetch_probe_result, "list_nodes": self.list_nodes,
            "cordon_node": self.cordon_node, "uncordon_node": self.uncordon_node, "drain_node": self.drain_node,
            "reboot_node": self.reboot_node, "check_node_health": self.check_node_health,
            "check_blockers": self.check_blockers, "preflight_node": self.preflight_node,
            "mark_node": self.mark_node, "set_pending_taint": self.set_pending_taint,
            "finish_node": self.finish_node,
        }
        return {name: self._recorded(name, fn) for name, fn in handlers.items()}

    def _recorded(self, name: str, fn: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
        def call(payload: dict[str, Any]) -> Any:
            self.calls.append((name, payload))
            fault = self.failing.get(name)
            error = fault(payload) if fault else None
            if error is not None:
                # The probe activities report failures as data (activities/cluster.py); the rest raise.
                if name == "probe_pool":
                    return {"pool": payload["pool"], "error": f"{type(error).__name__}: {error}"}
                if name == "fetch_probe_result":
                    final = "ended" in str(error)  # a failed command (ProbeError) vs a transient error
                    return {"pool": payload["pool"], "status": "failed" if final else "error",
                            "error": str(error)}
                raise error
            return fn(payload)

        return call

    # ---- ARM ---------------------------------------------------------------------------------
    def describe_cluster(self, payload: dict[str, Any]) -> dict[str, Any]:
        pools = [{"name": p.name, "osType": p.os_type, "mode": p.mode,
                  "count": p.count or sum(1 for n in self.nodes if n.pool == p.name),
                  "provisioningState": "Succeeded", "powerState": "Running", "zones": []}
                 for p in sorted(self.pools, key=lambda p: p.name)]
        return {"id": self.cluster_id, "name": "aks-shop", "provisioningState": "Succeeded", "powerState": "Running",
                "kubernetesVersion": "1.33.2", "nodeResourceGroup": "MC_rg-shop_aks-shop_westeurope",
                "nodeOsUpgradeChannel": "Unmanaged", "aad": True, "pools": pools}

    def probe_pool(self, payload: dict[str, Any]) -> dict[str, str]:
        pool = payload["pool"]
        return {"pool": pool, "commandId": f"cmd{pool}0001", "runId": f"p{pool}"}

    def fetch_probe_result(self, payload: dict[str, Any]) -> dict[str, Any]:
        pool = payload["pool"]
        self.counters[f"fetch/{pool}"] += 1
        if self.counters[f"fetch/{pool}"] <= self.probe_running_polls:
            if self.watches_to_bound and payload.get("waitSeconds", 0) > 0:
                return {"pool": pool, "status": "running", "waited": True}
            return {"pool": pool, "status": "running"}
        facts = [{"node": n.name, "pool": pool, "rebootRequired": n.reboot_required,
                  "packages": ["linux-image-azure"] if n.reboot_required else [], "bootId": n.boot_id,
                  "kernel": n.kernel} for n in self.nodes if n.pool == pool]
        return {"status": "done", "pool": pool, "nodes": facts, "errors": []}

    def set_pending_taint(self, payload: dict[str, Any]) -> dict[str, Any]:
        results = []
        for name in payload["nodes"]:
            node = self.node(name)
            changed = node.pending_taint != payload["pending"]
            node.pending_taint = payload["pending"]
            results.append({"node": name, "tainted": node.pending_taint, "changed": changed, "reason": ""})
        return {"results": results}

    # ---- safety and marks --------------------------------------------------------------------
    def check_blockers(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"blocked": False, "verdict": "ok", "reasons": [], "alerts": [], "pods": [], "drain": None}

    def preflight_node(self, payload: dict[str, Any]) -> dict[str, Any]:
        from rebooter.kube import inventory

        facts = [{"name": n.name, "pool": n.pool, "ready": n.ready, "unschedulable": n.unschedulable,
                  "cordonedByUs": n.cordoned_by_us, "quarantined": False} for n in self.nodes]
        return {**self.check_blockers(payload), "unavailable": inventory.unavailable(facts)}

    def mark_node(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"node": payload["node"], "labels": payload.get("labels") or {},
                "annotations": payload.get("annotations") or {}}

    def finish_node(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Like activities.nodes.finish_node: its parts are recorded (and fail) under their own
        activity names, so a test sees the marks, the uncordon, the taint and the next preflight."""
        answer: dict[str, Any] = {}
        notes = payload.get("annotations")
        if notes and LAST_RESULT_ANNOTATION in notes and payload.get("stillRequired"):
            payload = {**payload, "annotations": {**notes, LAST_RESULT_ANNOTATION: PATCHED_STILL_REQUIRED}}
        if payload.get("labels") or payload.get("annotations"):
            answer["marks"] = self._recorded("mark_node", self.mark_node)(payload)
        answer["uncordon"] = self._recorded("uncordon_node", self.uncordon_node)(payload)
        if payload.get("untaint"):
            try:
                answer["taint"] = self._recorded("set_pending_taint", self.set_pending_taint)(
                    {**payload, "nodes": [payload["node"]], "pending": False})["results"][0]
            except Exception as exc:  # noqa: BLE001 - reported, like the real activity
                answer["taint"] = {"node": payload["node"], "error": str(exc)}
        if payload.get("next"):
            try:
                answer["next"] = self._recorded("preflight_node", self.preflight_node)({**payload, "node": payload["next"]})
            except Exception as exc:  # noqa: BLE001
                answer["next"] = {"node": payload["next"], "error": str(exc)}
        return answer

    # ---- Kubernetes --------------------------------------------------------------------------
    def list_nodes(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"name": n.name, "pool": n.pool, "os": "linux", "zone": n.zone, "unschedulable": n.unschedulable,
                 "cordonedByUs": n.cordoned_by_us, "ready": n.ready, "bootId": n.boot_id, "kernel": n.kernel,
                 "taints": []} for n in sorted(self.nodes, key=lambda n: n.name)]

    def cordon_node(self, payload: dict[str, Any]) -> dict[str, Any]:
        node = self.node(payload["node"])
        if node.name in self.cordoned_after_planning:
            node.unschedulable = True
        if node.unschedulable and not node.cordoned_by_us:
            return {"cordonedByUs": False, "alreadyCordoned": True, "unschedulable": True, "owner": ""}
        already = node.cordoned_by_us
        node.unschedulable, node.cordoned_by_us = True, True
        return {"cordonedByUs": True, "alreadyCordoned": already, "unschedulable": True,
                "owner": payload.get("owner") or "rebooter"}

    def uncordon_node(self, payload: dict[str, Any]) -> dict[str, Any]:
        node = self.node(payload["node"])
        if node.cordoned_by_us:
            node.unschedulable, node.cordoned_by_us = False, False
            return {"uncordoned": True, "unschedulable": False, "reason": "cordoned by us"}
        if node.unschedulable:
            return {"uncordoned": False, "unschedulable": True, "reason": "cordoned by someone else"}
        return {"uncordoned": True, "unschedulable": False, "reason": "already schedulable"}

    def drain_node(self, payload: dict[str, Any]) -> dict[str, Any]:
        if payload.get("cordonOwner") is not None:  # cordon + first pass (recorded as both)
            cordoned = self._recorded("cordon_node", self.cordon_node)({**payload, "owner": payload["cordonOwner"]})
            if cordoned["alreadyCordoned"] and not cordoned["cordonedByUs"]:
                return {"status": "not ours", "cordon": cordoned}
            return {**self.drain_node({k: v for k, v in payload.items() if k != "cordonOwner"}), "cordon": cordoned}
        drained = self._drain_pass(payload)
        if payload.get("rebootAfter") and drained["status"] == "done":  # like activities.nodes: recorded as reboot_node
            drained["reboot"] = _answer_or_error(
                lambda: self._recorded("reboot_node", self.reboot_node)({**payload, **payload["rebootAfter"]}))
        return drained

    def _drain_pass(self, payload: dict[str, Any]) -> dict[str, Any]:
        name = payload["node"]
        self.counters[f"drain/{name}"] += 1
        result: dict[str, Any] = {"method": "eviction", "evicted": [], "deleted": [], "blocked": [],
                                  "terminating": [], "errors": [], "warnings": [], "skipped": [], "remaining": 0}
        if self.counters[f"drain/{name}"] <= self.drain_pending_passes:
            blocked = {"pod": "shop/web-7d9f-abcde", "reason": "Cannot evict pod as it would violate the pod's "
                       "disruption budget."}
            pending = {**result, "status": "pending", "evicted": ["shop/cart-0"], "blocked": [blocked], "remaining": 1}
            return {**pending, "waited": True} if self.drain_watches_to_bound and payload.get("waitSeconds", 0) > 0 else pending
        return {**result, "status": "done", "evicted": ["shop/web-7d9f-abcde"]}

    def reboot_node(self, payload: dict[str, Any]) -> dict[str, Any]:
        node = self.node(payload["node"])
        node.rebooted = True
        return {"status": "requested", "method": payload.get("method", "pod"), "bootId": payload["bootId"],
                "pod": f"rebooter-reboot-{node.name}", "created": True}

    def check_node_health(self, payload: dict[str, Any]) -> dict[str, Any]:
        health = self._health(payload)
        finish = payload.get("finish")
        if finish and health["healthy"]:  # like activities.nodes: the parts recorded under their own names
            health["finish"] = _answer_or_error(
                lambda: self.finish_node({**payload, **finish, "stillRequired": bool(health["rebootRequired"])}))
        return health

    def _health(self, payload: dict[str, Any]) -> dict[str, Any]:
        node = self.node(payload["node"])
        self.counters[f"health/{node.name}"] += 1
        waiting = {"healthy": False, "pending": True, "ready": "Unknown", "bootId": node.boot_id,
                   "kernel": node.kernel, "rebootRequired": None,
                   "reasons": ["node is not Ready (Kubelet stopped posting node status.)"]}
        if self.watches_to_bound and payload.get("waitSeconds", 0) > 0:
            waiting["waited"] = True
        if node.name in self.never_healthy or not node.rebooted:
            return waiting
        if self.counters[f"health/{node.name}"] <= self.health_pending_checks:
            return waiting
        after = f"{node.boot_id[:-12]}beef0000{node.boot_id[-4:]}"
        still = node.name in self.still_required
        return {"healthy": True, "pending": False, "ready": "True", "bootId": after, "kernel": node.new_kernel,
                "rebootRequired": still, "packages": ["kpatch-loop"] if still else [], "reasons": []}


def _answer_or_error(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """As activities.nodes: a folded second step's failure is handed back as {error}, not raised."""
    try:
        return call()
    except Exception as exc:  # noqa: BLE001
        return {"error": f"{type(exc).__name__}: {exc}"}


def two_node_cluster(**knobs: Any) -> FakeCluster:
    """Linux pools ``system`` (1 node) and ``user`` (2 nodes) and a Windows pool ``win``.

    ``aks-system-0`` and ``aks-user-0`` need a reboot; ``aks-user-1`` is up to date.
    """
    return FakeCluster(
        pools=[Pool("system", mode="System"), Pool("user"), Pool("win", os_type="Windows", count=1)],
        nodes=[
            Node("aks-system-0", "system", True, "0b9a3c1e-0000-4000-8000-00000000a001", zone="1"),
            Node("aks-user-0", "user", True, "0b9a3c1e-0000-4000-8000-00000000b001", zone="2"),
            Node("aks-user-1", "user", False, "0b9a3c1e-0000-4000-8000-00000000b002", zone="3"),
        ],
        **knobs,
    )
