"""Safety checks over a whole sandbox run, computed from its timeline.

These are what an end-to-end test asserts after a patch cycle: no more than N nodes were out
at once, no PodDisruptionBudget was broken by an eviction or deletion, and a node somebody
else had cordoned was never uncordoned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lab.sandbox.model import Scenario
from lab.sandbox.timeline import Event, Timeline


def unavailable(state: dict) -> bool:
    """A node is out when it is cordoned or its Ready condition is not True."""
    return bool(state.get("unschedulable")) or state.get("ready") != "True"


@dataclass
class MaxUnavailable:
    count: int = 0
    nodes: list[str] = field(default_factory=list)
    t: float = 0.0  # when the maximum was first reached (timeline seconds)
    wall: str = ""
    seq: int = -1
    excluded: list[str] = field(default_factory=list)  # nodes left out as already-out by someone else


def max_unavailable(timeline: Timeline, exclude_foreign: bool = False) -> MaxUnavailable:
    """The largest number of nodes out at the same moment, which ones and when.

    With ``exclude_foreign`` a node that was already out when the sandbox started (cordoned
    by someone else, or NotReady) is not counted until it has been available once: that
    outage was not ours to count.
    """
    current: set[str] = set()
    foreign: set[str] = set()
    seen: set[str] = set()
    best = MaxUnavailable()
    for event in timeline.events("node"):
        node, state = event["node"], event["state"]
        first = node not in seen
        seen.add(node)
        out = unavailable(state)
        if exclude_foreign and first and out and event.get("actor") == "scenario":
            foreign.add(node)
        if not out:
            foreign.discard(node)
        if out and node not in foreign:
            current.add(node)
        else:
            current.discard(node)
        if len(current) > best.count:
            best = MaxUnavailable(len(current), sorted(current), event.t, event.wall, event.seq, sorted(foreign))
    return best


def pdb_violations(timeline: Timeline, include_node_down: bool = False) -> list[dict]:
    """Every time a PDB's healthy pods fell below desiredHealthy because of an eviction or a deletion.

    ``include_node_down`` also counts pods that stopped being healthy because their node went
    down with them still on it (a reboot without a drain).
    """
    causes = {"eviction", "delete"} | ({"node"} if include_node_down else set())
    out = []
    for event in timeline.events("pod_disrupted"):
        if event["cause"] not in causes:
            continue
        for pdb in event.get("pdbs", []):
            if pdb["healthy"] < pdb["desiredHealthy"]:
                out.append({"pdb": pdb["name"], "namespace": event["namespace"], "pod": event["pod"],
                            "node": event.get("node"), "cause": event["cause"], "healthy": pdb["healthy"],
                            "desiredHealthy": pdb["desiredHealthy"], "t": event.t, "wall": event.wall})
    return out


def foreign_cordons_undone(timeline: Timeline, scenario: Scenario) -> list[Event]:
    """Node events where a node the scenario says someone else cordoned became schedulable."""
    foreign = {n.name for n in scenario.nodes if n.cordoned_by}
    return [e for e in timeline.events("node")
            if e["node"] in foreign and e.get("changes", {}).get("unschedulable", [None, None])[1] is False]
