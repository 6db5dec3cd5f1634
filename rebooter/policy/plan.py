"""Planning a patch cycle: pure functions from what we observed to what we will do.

Kept out of the orchestrator so the decisions (which nodes, in what order, which are left
alone and why) are plain, unit-tested Python and read the same in a dry run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rebooter import contract
from rebooter.outcomes import NodeResult
from rebooter.policy import budget

AUTOSCALER_TAINT = "ToBeDeletedByClusterAutoscaler"
# The "boot ID before" of a node an interrupted cycle already rebooted: any real boot ID differs.
REBOOTED_EARLIER = "rebooted-by-an-earlier-cycle"
# Node OS upgrade channels ("Auto-upgrade node OS images", learn.microsoft.com/azure/aks/auto-upgrade-node-image):
# NodeImage (the default for new clusters from API 2023-06-01) and SecurityPatch: AKS patches or
# reimages the nodes itself in its own maintenance window and the OS's own updater is off, so no
# sentinel appears: skipped. Unmanaged: unattended-upgrades (Ubuntu) / dnf-automatic (Azure Linux)
# patch nodes about daily around 06:00 UTC and leave the reboot to a tool like kured: this app's
# case. None: no automatic OS updates at all; the sentinel appears only when an operator patches
# the nodes by hand, and those reboots are still needed, so None is probed like Unmanaged (one
# bounded run-command per pool; it usually finds nothing to do). Changing the channel triggers a
# reimage of every node (same page).
NO_SENTINEL_CHANNELS = {"securitypatch", "nodeimage"}
CHANNEL_NOTES = {
    "unmanaged": "the OS updater patches nodes about daily (around 06:00 UTC) and leaves the reboot to this app",
    "none": ("no automatic OS updates: a reboot sentinel appears only after someone patches a node by hand; "
             "nodes are probed so those reboots still happen"),
    "securitypatch": "AKS applies security patches itself, reimaging where needed: this app has nothing to do",
    "nodeimage": "AKS reimages nodes weekly with a patched image: this app has nothing to do",
}


def cluster_skip_reason(cluster: dict[str, Any]) -> str | None:
    """Why the whole cluster must be left alone this time, or None."""
    state = cluster.get("provisioningState", "Succeeded")
    if state != "Succeeded":
        return f"AKS reports provisioningState {state} (an upgrade or update is in progress); nothing was touched"
    if cluster.get("powerState") == "Stopped":
        return "the cluster is stopped"
    if cluster.get("runCommandDisabled"):
        # apiServerAccessProfile.disableRunCommand; `az aks update --enable-run-command` turns it
        # back on (Azure CLI 2.76.0, Azure/azure-cli#31854).
        return ("run-command is disabled on this cluster (apiServerAccessProfile.disableRunCommand), so its nodes "
                "cannot be probed; enable it with `az aks update --enable-run-command` to let this app patch it")
    channel = str(cluster.get("nodeOsUpgradeChannel") or "Unmanaged")
    if channel.lower() in NO_SENTINEL_CHANNELS:
        return (
            f"node OS upgrade channel is {channel}: AKS patches or reimages the nodes itself and the OS updater is "
            "off, so no reboot sentinel will appear (switching to Unmanaged reimages every node once; see the "
            "README before choosing it)"
        )
    return None


def channel_facts(cluster: dict[str, Any]) -> dict[str, str]:
    """The node OS upgrade channel and what it means for this app, for dry runs and skipped cycles."""
    channel = str(cluster.get("nodeOsUpgradeChannel") or "Unmanaged")
    return {"nodeOsUpgradeChannel": channel,
            "nodeOsUpgradeChannelNote": CHANNEL_NOTES.get(channel.lower(), "a channel this app does not know")}


def split_pools(cluster: dict[str, Any], pool_filter: list[str] | None) -> tuple[list[str], list[dict[str, str]]]:
    """Linux pools to probe, and pools reported as not applicable with the reason."""
    probe: list[str] = []
    not_applicable: list[dict[str, str]] = []
    for pool in cluster["pools"]:
        name = pool["name"]
        if pool_filter and name not in pool_filter:
            continue
        if str(pool.get("osType", "Linux")).lower() != "linux":
            not_applicable.append({"pool": name, "reason": f"{pool['osType']} pool: the reboot sentinel is Linux only"})
        elif pool.get("powerState") == "Stopped":
            not_applicable.append({"pool": name, "reason": "pool is stopped"})
        elif pool.get("count", 0) == 0:
            not_applicable.append({"pool": name, "reason": "pool has no nodes"})
        else:
            probe.append(name)
    return probe, not_applicable


def no_pool_reason(cluster: dict[str, Any], pool_filter: list[str] | None,
                   not_applicable: list[dict[str, str]]) -> str:
    """Why there is nothing to probe: the filter's unknown pools, and the pools that cannot be."""
    known = {pool["name"] for pool in cluster["pools"]}
    parts = []
    unknown = sorted(set(pool_filter or []) - known)
    if unknown:
        parts.append(f"no such pool: {', '.join(unknown)} (pools: {', '.join(sorted(known)) or 'none'})")
    parts += [f"{p['pool']}: {p['reason']}" for p in not_applicable]
    prefix = "no pool of the pools filter can be probed" if pool_filter else "no pool can be probed"
    return f"{prefix}: {'; '.join(parts) or 'the cluster has no node pools'}"


def plan_nodes(
    probes: list[dict[str, Any]],
    inventory: list[dict[str, Any]],
    node_filter: list[str] | None = None,
    zone_aware: bool = False,
    now: datetime | None = None,
    loop_cooldown_seconds: float = 0,
) -> dict[str, Any]:  # noqa: C901 - one pass over the probe answers, each rule a few lines
    """Order the nodes that need a reboot and say why each other one is left alone.

    Nodes we cordoned in an earlier, interrupted cycle come first, so a half-finished
    rollout is resumed before anything new is taken out. A node that asked again right after
    our reboot (reboot-state ``still-required``) is left alone until ``loop_cooldown_seconds``
    after that reboot (``now`` is the orchestration's clock), so it is not rebooted in a loop.
    """
    by_name = {n["name"]: n for n in inventory}
    planned: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    up_to_date: list[str] = []
    answered: set[str] = set()
    for result in probes:
        answered |= {f["node"] for f in result.get("nodes", [])} | {e.get("node", "") for e in result.get("errors", [])}
        for error in result.get("errors", []):
            if error.get("node") and (not node_filter or error["node"] in node_filter):
                skipped.append({"node": error["node"], "reason": f"probe failed: {error['error']}"})
        for fact in result.get("nodes", []):
            name = fact["node"]
            if node_filter and name not in node_filter:
                continue
            node = by_name.get(name)
            if not fact["rebootRequired"]:
                if node and node.get("cordonedByUs") and not node.get("quarantined"):
                    # An interrupted cycle rebooted it and never gave its cordon back: finish the job.
                    planned.append({"node": name, "pool": fact["pool"], "zone": node.get("zone", ""),
                                    "bootId": REBOOTED_EARLIER,
                                    "kernel": fact["kernel"], "packages": [], "resume": True, "rebooted": True})
                else:
                    up_to_date.append(name)
                continue
            reason = _skip_reason(node)
            if reason:
                skipped.append({"node": name, "reason": reason})
                continue
            if _rebooted_since_our_request(node):
                # We asked for this reboot and the node has a new boot since: the reboot happened (the
                # sentinel came back, or the probe ran before it). Check its health, never reboot again.
                planned.append(_resume_rebooted(node, fact["pool"], fact["kernel"], fact["packages"]))
                continue
            cooling = _loop_cooldown(node, now, loop_cooldown_seconds)
            if cooling and node.get("cordonedByUs"):
                # Verified after its reboot but its cordon was never given back: give it back, no reboot.
                planned.append({"node": name, "pool": fact["pool"], "zone": node.get("zone", ""),
                                "bootId": REBOOTED_EARLIER, "kernel": fact["kernel"], "packages": fact["packages"],
                                "resume": True, "rebooted": True})
                continue
            if cooling:
                packages = ", ".join(fact.get("packages") or []) or "none listed"
                skipped.append({"node": name, "reason": (
                    f"asked for a reboot again right after its reboot at {node['lastReboot']} (packages: {packages}); "
                    f"left alone until {cooling} (REBOOTER_REBOOT_LOOP_COOLDOWN_SECONDS) so it is not rebooted in a "
                    "loop")})
                continue
            planned.append(
                {
                    "node": name,
                    "pool": fact["pool"],
                    "zone": node.get("zone", ""),
                    "bootId": fact["bootId"],
                    "kernel": fact["kernel"],
                    "packages": fact["packages"],
                    "resume": bool(node.get("cordonedByUs")),
                }
            )
    planned_names = {n["node"] for n in planned}
    for node in inventory:
        # Our cordon, left by an interrupted cycle (a terminated patch_node), on a node whose pool's
        # probe failed or said nothing about it: resume it anyway, never leave our cordon unowned.
        if node.get("cordonedByUs") and not node.get("quarantined") and node["name"] not in planned_names \
                and (not node_filter or node["name"] in node_filter):
            answered.add(node["name"])
            skipped = [s for s in skipped if s["node"] != node["name"]]
            if _rebooted_since_our_request(node):
                planned.append(_resume_rebooted(node, node["pool"], node.get("kernel", ""), []))
                continue
            # The boot ID the interrupted reboot was requested from, when there was one: if the node
            # reboots before this cycle's reboot step, reboot_node sees a new boot and does nothing.
            requested_from = node.get("rebootFromBootId", "") if node.get("rebootState") == contract.REBOOT_STATE_REBOOTING else ""
            planned.append({"node": node["name"], "pool": node["pool"], "zone": node.get("zone", ""),
                            "bootId": requested_from or node.get("bootId", ""), "kernel": node.get("kernel", ""),
                            "packages": [], "resume": True})
    probed_pools = {r["pool"] for r in probes}
    for node in inventory:  # a node the probe said nothing about must not vanish from the report
        if node["pool"] in probed_pools and node["name"] not in answered and node.get("os", "linux") == "linux" \
                and (not node_filter or node["name"] in node_filter):
            skipped.append({"node": node["name"], "reason": "the probe returned nothing for this node"})
    if zone_aware:
        planned.sort(key=lambda n: (not n["resume"], n["zone"], n["pool"], n["node"]))
    else:
        planned.sort(key=lambda n: (not n["resume"], n["pool"], n["node"]))
    return {"nodes": planned, "skipped": sorted(skipped, key=lambda s: s["node"]), "upToDate": sorted(up_to_date)}


def _rebooted_since_our_request(node: dict[str, Any] | None) -> bool:
    """Our cordon, a reboot we requested (reboot-state "rebooting" from a boot ID) and a different
    boot ID now: an interrupted cycle's reboot happened, whatever a probe said before it."""
    if not node or not node.get("cordonedByUs") or node.get("quarantined") or node.get("rebootState") != contract.REBOOT_STATE_REBOOTING:
        return False
    requested_from, current = node.get("rebootFromBootId", ""), node.get("bootId", "")
    return bool(requested_from and current and current != requested_from)


def _resume_rebooted(node: dict[str, Any], pool: str, kernel: str, packages: list[str]) -> dict[str, Any]:
    """A node an interrupted cycle already rebooted: patch_node goes straight to the health check."""
    return {"node": node["name"], "pool": pool, "zone": node.get("zone", ""), "bootId": node["rebootFromBootId"],
            "kernel": kernel, "packages": packages, "resume": True, "rebooted": True}


def _loop_cooldown(node: dict[str, Any], now: datetime | None, seconds: float) -> str:
    """When a node that asked again right after our reboot may be rebooted again ("" = it may now)."""
    if node.get("rebootState") != contract.REBOOT_STATE_STILL_REQUIRED or not seconds or now is None:
        return ""
    try:
        last = datetime.fromisoformat(str(node.get("lastReboot", "")).replace("Z", "+00:00"))
    except ValueError:
        return ""
    last = last if last.tzinfo else last.replace(tzinfo=UTC)
    until = last + timedelta(seconds=float(seconds))
    return until.strftime("%Y-%m-%dT%H:%M:%SZ") if (now if now.tzinfo else now.replace(tzinfo=UTC)) < until else ""


def _skip_reason(node: dict[str, Any] | None) -> str | None:
    if node is None:
        return "node disappeared from the cluster after the probe"
    if node.get("optOut"):
        return "opted out by label; never touched"
    if node.get("paused"):
        return "paused by label; skipped until the label is removed"
    if node.get("quarantined"):
        return "quarantined by an earlier cycle (its drain could not finish); remove the quarantine label to retry"
    if node.get("unschedulable") and not node.get("cordonedByUs"):
        return "cordoned by someone else; left alone (we never uncordon a node we did not cordon)"
    if AUTOSCALER_TAINT in node.get("taints", []):
        return "the cluster autoscaler is deleting this node"
    if node.get("ready") != "True" and not node.get("cordonedByUs"):
        return f"node is not Ready (Ready={node.get('ready')}); left for AKS auto-repair"
    return None


def dry_run(planned: dict[str, Any], cfg: dict[str, Any], history: dict[str, Any] | None) -> dict[str, Any]:
    """What a cycle would do, without touching anything, with an estimate of how long it takes.

    The per-node estimate is the mean of the nodes this app patched on this cluster before
    (from the progress entity), else the configured default.
    """
    measured = [
        float(entry["result"]["seconds"])
        for entry in (history or {}).get("nodes", {}).values()
        if isinstance(entry.get("result"), dict) and entry["result"].get("result") == NodeResult.PATCHED
        and entry["result"].get("seconds")
    ]
    per_node = sum(measured) / len(measured) if measured else float(cfg["estimatedNodeSeconds"])
    count = len(planned["nodes"])
    waves = -(-count // max(1, int(cfg["maxUnavailable"])))
    estimate = waves * per_node + max(0, waves - 1) * float(cfg["soakSeconds"])
    return {
        "nodes": [{"node": n["node"], "pool": n["pool"], "zone": n["zone"], "packages": n["packages"],
                   "resume": n["resume"]} for n in planned["nodes"]],
        "skipped": planned["skipped"],
        "upToDate": planned["upToDate"],
        "estimatedSeconds": round(estimate, 1),
        "estimateBasis": f"{len(measured)} earlier node(s) on this cluster" if measured else "default per-node estimate",
    }


def wave_width(max_unavailable: int, inventory: list[dict[str, Any]], planned: list[dict[str, Any]]) -> int:
    """How many nodes to start together: the budget less the nodes already out for other reasons
    (cordoned or NotReady, by anyone; budget.world_out), at least one. A wider wave would only
    start nodes the lock refuses, each then waiting for a sibling's slot on the lock retry timer
    (a clock, not the event). The lock still decides each node; this only sizes the waves."""
    planned_names = {n["node"] for n in planned}
    others = [o for o in budget.world_out(inventory) if o["node"] not in planned_names]
    return max(1, int(max_unavailable) - len(others))


def waves(nodes: list[dict[str, Any]], size: int, zone_aware: bool) -> list[list[dict[str, Any]]]:
    """Groups of up to ``size`` nodes patched together; zone-aware groups never span zones."""
    groups: list[list[dict[str, Any]]] = []
    for node in nodes:
        last = groups[-1] if groups else None
        if last is None or len(last) >= size or (zone_aware and last[-1]["zone"] != node["zone"]):
            groups.append([node])
        else:
            last.append(node)
    return groups
