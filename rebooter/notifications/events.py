"""The notification events and their activity payloads: pure, for orchestrators too.

Orchestrators import this module (not rebooter.notify_send, which sends, or notify_secrets, which
guards logs) to build
the ``notify`` activity's payload deterministically: only the input and the context's
instance ID go in, so a replay builds the same payload with the same event id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rebooter.outcomes import NOTIFIED_AS_FAILED, NodeResult

PLACEHOLDERS = (
    "cluster", "cluster_id", "node", "pool", "reason", "instance_id", "step", "result",
    "patched", "failed", "skipped", "total", "duration",
    "boot_id_before", "boot_id_after", "kernel_before", "kernel_after",
)


@dataclass(frozen=True)
class Event:
    name: str
    title: str  # a template with the same placeholders; fixed (the body is the configurable part)
    body: str  # the default message template
    severity: str  # Apprise NotifyType: info, success, warning, failure
    kured: str = ""
    meaning: str = ""


EVENTS: dict[str, Event] = {
    e.name: e
    for e in [
        Event("cycle_started", "rebooter: patch cycle started on $cluster",
              "Patch cycle started on cluster $cluster ($reason): $total node(s) to reboot.",
              "info", "", "a patch cycle has planned nodes to reboot"),
        Event("node_draining", "rebooter: draining $node ($cluster)",
              "Draining node $node (pool $pool) of cluster $cluster before its reboot.",
              "info", "message-template-drain", "a node is cordoned and about to be drained"),
        Event("node_healthy", "rebooter: $node rebooted ($cluster)",
              "Node $node (pool $pool) of cluster $cluster rebooted and is healthy again after $duration: "
              "kernel $kernel_before -> $kernel_after, boot ID $boot_id_before -> $boot_id_after.",
              "success", "message-template-uncordon", "a node rebooted, came back healthy and was uncordoned"),
        Event("node_failed", "rebooter: $node needs attention ($cluster)",
              "Node $node (pool $pool) of cluster $cluster: $result at step $step. $reason",
              "failure", "", "a node could not be drained or did not come back healthy"),
        Event("cycle_halted", "rebooter: patch cycle $result on $cluster",
              "Patch cycle on cluster $cluster $result: $reason. Patched $patched of $total node(s), "
              "$failed failed, $skipped skipped.",
              "warning", "", "a patch cycle stopped (blocked, halted on a node, or failed)"),
        Event("cycle_finished", "rebooter: patch cycle finished on $cluster",
              "Patch cycle on cluster $cluster finished after $duration: $patched of $total node(s) patched, "
              "$failed failed, $skipped skipped.",
              "success", "", "a patch cycle finished"),
    ]
}


def template_setting(event: str) -> str:
    """REBOOTER_NOTIFY_TEMPLATE_<EVENT>: the app setting overriding an event's message."""
    return "REBOOTER_NOTIFY_TEMPLATE_" + event.upper()


def template_key(event: str) -> str:
    """The key of that setting in the loaded settings (settings.Setting.key's camelCase)."""
    return "notifyTemplate" + "".join(part.title() for part in event.split("_"))


def wants(cfg: Mapping[str, Any], event: str) -> bool:
    """Whether the settings ask for this event (orchestrators: skip the activity call if not)."""
    return bool(cfg.get("notifyUrls")) and event in (cfg.get("notifyEvents") or ())


def event_id(instance_id: str, event: str, node: str = "") -> str:
    """The deterministic id of one event of one cycle (receivers de-duplicate on it)."""
    return f"{instance_id}:{event}:{node}" if node else f"{instance_id}:{event}"


# ------------------------------------------------------------------------------------------
# Payload builders for the orchestrators (pure, deterministic)
# ------------------------------------------------------------------------------------------

def node_event_for(result: str) -> str | None:
    """The event a patch_node result announces: healthy, failed, or none (skipped)."""
    if result == NodeResult.PATCHED:
        return "node_healthy"
    if result in NOTIFIED_AS_FAILED:
        return "node_failed"
    return None


def node_payload(event: str, *, cluster: str, instance_id: str, node: str, pool: str = "", **fields: Any) -> dict:
    """A node event's activity payload; the event id is derived from the instance and node."""
    return {"event": event, "eventId": event_id(instance_id, event, node), "cluster": cluster,
            "instanceId": instance_id, "node": node, "pool": pool, **fields}


def node_result_payload(summary: Mapping[str, Any], *, cluster: str, instance_id: str) -> dict | None:
    """node_healthy / node_failed from patch_node's result summary; None for other results."""
    event = node_event_for(summary.get("result", ""))
    if event is None:
        return None
    steps = summary.get("steps") or []
    before = summary.get("before") or {}
    after = summary.get("after") or {}
    return node_payload(
        event, cluster=cluster, instance_id=instance_id, node=summary.get("node", ""), pool=summary.get("pool", ""),
        result=summary.get("result", ""), reason=summary.get("reason", ""),
        step=steps[-1].get("step", "") if steps else "", seconds=summary.get("seconds"),
        bootIdBefore=before.get("bootId", ""), bootIdAfter=after.get("bootId", ""),
        kernelBefore=before.get("kernel", ""), kernelAfter=after.get("kernel", ""),
    )


def cycle_payload(event: str, *, cluster: str, instance_id: str, reason: str = "", result: str = "",
                  counts: Mapping[str, Any] | None = None, seconds: float | None = None, step: str = "") -> dict:
    """A cycle event's activity payload (counts as CycleStatus.counts() gives them)."""
    counts = counts or {}
    payload: dict[str, Any] = {"event": event, "eventId": event_id(instance_id, event), "cluster": cluster,
                               "instanceId": instance_id, "reason": reason, "result": result, "step": step}
    for key in ("total", "patched", "failed", "skipped"):
        if key in counts:
            payload[key] = counts[key]
    if seconds is not None:
        payload["seconds"] = seconds
    return payload
