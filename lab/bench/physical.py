"""The physical bound of a patch cycle, read from the sandbox's timeline.

A node's own time is what no orchestrator can remove: its drain (the first eviction request
for one of its pods until the last evicted pod is gone: pod termination and any
PodDisruptionBudget wait), its reboot (down until up), and its way back to Ready (up until
the Ready condition is True). At ``maxUnavailable`` 1 the cycle cannot be shorter than the
sum over nodes; everything above it is the orchestrator's overhead.

The timeline also shows where that overhead went: ``spans`` gives, per node, our cordon to our
uncordon, so the report can split the overhead into discovery (start to the first cordon),
inside a node (cordon to uncordon minus the physical time) and between nodes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any


@dataclass
class NodeTimes:
    node: str
    drain: float
    reboot: float
    ready: float
    cordon_at: float | None  # timeline seconds
    uncordon_at: float | None
    evictions: int
    refused: int  # 429 answers (a PodDisruptionBudget said wait)
    evict_at: float | None = None  # first eviction request
    drained_at: float | None = None  # last evicted pod gone
    down_at: float | None = None
    up_at: float | None = None

    def gap(self, start: float | None, end: float | None) -> float | None:
        return round(end - start, 3) if start is not None and end is not None else None

    @property
    def ours(self) -> dict[str, float | None]:
        """The app's own time inside the node's span, between the physical phases."""
        return {
            "cordonToFirstEviction": self.gap(self.cordon_at, self.evict_at if self.evict_at is not None
                                              else self.down_at),
            "drainedToDown": self.gap(self.drained_at if self.drained_at is not None else self.evict_at, self.down_at),
            "readyToUncordon": self.gap(self.up_at if self.up_at is not None else None, self.uncordon_at),
        }

    @property
    def physical(self) -> float:
        return self.drain + self.reboot + self.ready


def read_timeline(path: str | Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def wall_seconds(event: dict[str, Any]) -> float:
    """The event's wall-clock time as a POSIX timestamp (to align with the engine's clock)."""
    return datetime.fromisoformat(event["wall"].replace("Z", "+00:00")).timestamp()


def node_times(events: list[dict[str, Any]]) -> list[NodeTimes]:
    """One entry per node that rebooted, in reboot order."""
    rebooted: list[str] = []
    down: dict[str, float] = {}
    up: dict[str, float] = {}
    for e in events:
        if e["kind"] == "reboot" and e["data"].get("phase") == "down":
            name = e["data"]["node"]
            if name not in down:
                rebooted.append(name)
                down[name] = e["t"]
        elif e["kind"] == "reboot" and e["data"].get("phase") == "up":
            up.setdefault(e["data"]["node"], e["t"])
    out = []
    for name in rebooted:
        evictions = [e for e in events if e["kind"] == "eviction" and e["data"].get("node") == name
                     and e["t"] <= down[name]]
        evicted = {(e["data"]["namespace"], e["data"]["pod"]) for e in evictions if e["data"].get("status") == 201}
        gone = [e["t"] for e in events if e["kind"] == "pod_deleted"
                and (e["data"].get("namespace"), e["data"].get("pod")) in evicted]
        drain = (max(gone) - evictions[0]["t"]) if evictions and gone else 0.0
        came_up = up.get(name)
        # The kubelet writes Ready=True just before the timeline's "up" event when the node comes
        # back healthy, later when it comes back NotReady: the first Ready=True after going down.
        ready_at = next((e["t"] for e in events if e["kind"] == "node" and e["data"].get("node") == name
                         and e["t"] > down[name] and e["data"].get("state", {}).get("ready") == "True"), None)
        cordons = _unschedulable_changes(events, name)
        out.append(NodeTimes(
            node=name, drain=round(drain, 3),
            reboot=round((came_up - down[name]) if came_up is not None else 0.0, 3),
            ready=round(max(0.0, ready_at - came_up) if ready_at is not None and came_up is not None else 0.0, 3),
            cordon_at=next((t for t, v in cordons if v), None),
            uncordon_at=next((t for t, v in cordons if not v and t > down[name]), None),
            evictions=len(evictions), refused=sum(1 for e in evictions if e["data"].get("status") == 429),
            evict_at=evictions[0]["t"] if evictions else None, drained_at=max(gone) if gone else None,
            down_at=down[name], up_at=max(came_up, ready_at) if came_up is not None and ready_at is not None else came_up,
        ))
    return out


def _unschedulable_changes(events: list[dict[str, Any]], node: str) -> list[tuple[float, bool]]:
    """(time, new value) of each change of spec.unschedulable made through the API."""
    out = []
    for e in events:
        if e["kind"] == "node" and e["data"].get("node") == node and not e["data"].get("initial"):
            change = (e["data"].get("changes") or {}).get("unschedulable")
            if change is not None:
                out.append((e["t"], bool(change[1])))
    return out


def bound(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum of the physical times, with their parts and the per-node list."""
    nodes = node_times(events)
    return {
        "nodes": len(nodes),
        "physicalSeconds": round(sum(n.physical for n in nodes), 3),
        "drainSeconds": round(sum(n.drain for n in nodes), 3),
        "rebootSeconds": round(sum(n.reboot for n in nodes), 3),
        "readySeconds": round(sum(n.ready for n in nodes), 3),
        "evictions": sum(n.evictions for n in nodes),
        "refusedEvictions": sum(n.refused for n in nodes),
        "perNode": [n.__dict__ | {"physical": round(n.physical, 3), "ours": n.ours} for n in nodes],
    }


def overhead_split(events: list[dict[str, Any]], start_wall: float, end_wall: float) -> dict[str, float]:
    """Where the time above the physical bound went, from the timeline and the cycle's start/end."""
    nodes = node_times(events)
    if not events or not nodes:
        return {}
    t0_wall = wall_seconds(events[0]) - events[0]["t"]  # wall time of the timeline's t = 0
    start, end = start_wall - t0_wall, end_wall - t0_wall
    first = min(n.cordon_at for n in nodes if n.cordon_at is not None)
    last = max(n.uncordon_at for n in nodes if n.uncordon_at is not None)
    inside = sum((n.uncordon_at - n.cordon_at - n.physical) for n in nodes
                 if n.cordon_at is not None and n.uncordon_at is not None)
    spans = sum((n.uncordon_at - n.cordon_at) for n in nodes if n.cordon_at is not None and n.uncordon_at is not None)
    gaps: dict[str, list[float]] = {}
    for n in nodes:
        for key, value in n.ours.items():
            if value is not None:
                gaps.setdefault(key, []).append(value)
    return {
        **{f"meanPerNode.{k}": round(sum(v) / len(v), 3) for k, v in gaps.items()},
        "discoverySeconds": round(first - start, 3),  # start request to our first cordon
        "insideNodesSeconds": round(inside, 3),  # cordon..uncordon minus drain+reboot+ready, summed
        "betweenNodesSeconds": round((last - first) - spans, 3),  # uncordon of one node to cordon of the next
        "tailSeconds": round(end - last, 3),  # last uncordon to the cycle seen finished
    }


def run_commands(events: list[dict[str, Any]], start_epoch: float, discovered: float | None) -> dict[str, Any]:
    """Run-command phases from the timeline, and our time before the first submit and after the last finish.

    ``start_epoch`` is when the cycle was started (wall clock), ``discovered`` the seconds from
    then until its custom status left "probe pools".
    """
    by_id: dict[str, dict[str, float]] = {}
    for e in events:
        if e["kind"] == "run_command":
            by_id.setdefault(e["data"]["id"], {})[e["data"]["phase"]] = e["t"]
    runs = [v for v in by_id.values() if "submitted" in v and "finished" in v]
    if not runs:
        return {"commands": 0}
    submitted = [r["submitted"] for r in runs]
    start = start_epoch - (wall_seconds(events[0]) - events[0]["t"])
    last = max(r["finished"] for r in runs)
    script = [r["finished"] - r.get("started", r["finished"]) for r in runs]
    return {
        "commands": len(runs),
        "submitSpreadSeconds": round(max(submitted) - min(submitted), 3),
        "firstSubmitToLastFinishSeconds": round(last - min(submitted), 3),
        "scriptSecondsMax": round(max(script), 3),
        "scriptSecondsMean": round(sum(script) / len(script), 3),
        "commandSecondsMax": round(max(r["finished"] - r["submitted"] for r in runs), 3),
        "startToFirstSubmitSeconds": round(min(submitted) - start, 3),
        "lastFinishToDiscoveredSeconds": round(start + discovered - last, 3) if discovered is not None else None,
    }


def lateness(events: list[dict[str, Any]], output: dict[str, Any] | None) -> dict[str, Any]:
    """Per node and step, how late the app acted on the event it waited for (seconds).

    ``drain``: the last evicted pod gone (timeline) until the orchestration ended its drain step
    (the reboot step's start); ``health``: the node Ready with its new boot ID (timeline) until the
    orchestration ended its "wait healthy" step (the verification probe included, since the app
    cannot act before it has run). Step times are the orchestration's own (``startedAt`` +
    ``seconds``, the engine's clock), aligned to the timeline through its wall-clock stamps.
    """
    if not events:
        return {}
    t0_wall = wall_seconds(events[0]) - events[0]["t"]
    steps_by_node: dict[str, dict[str, tuple[float, float]]] = {}
    for node in (output or {}).get("nodes", []):
        for step in node.get("steps", []):
            if step.get("startedAt"):
                start = datetime.fromisoformat(step["startedAt"].replace("Z", "+00:00")).timestamp() - t0_wall
                steps_by_node.setdefault(node.get("node", ""), {})[step["step"]] = (
                    start, start + float(step.get("seconds", 0.0)))
    per_node: list[dict[str, Any]] = []
    for n in node_times(events):
        steps = steps_by_node.get(n.node, {})
        drain_end = steps.get("drain", (None, None))[1]
        health_end = steps.get("wait healthy", (None, None))[1]
        per_node.append({"node": n.node, "drain": n.gap(n.drained_at, drain_end), "health": n.gap(n.up_at, health_end)})
    out: dict[str, Any] = {"perNode": per_node}
    for key in ("drain", "health"):
        values = sorted(v[key] for v in per_node if v[key] is not None)
        if values:
            out[key] = {"median": values[len(values) // 2] if len(values) % 2 else
                        round((values[len(values) // 2 - 1] + values[len(values) // 2]) / 2, 3),
                        "max": values[-1], "mean": round(sum(values) / len(values), 3)}
    return out
