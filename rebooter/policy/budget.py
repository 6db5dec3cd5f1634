"""Nodes out of service, counted from the world: the cluster is the source of truth, the lock is
a reservation.

A node counts as out when the node list says so, whoever did it and whether or not a lock slot
covers it: NotReady or Unknown, unschedulable (cordoned by anyone, us included), quarantined,
or carrying our cordon annotation. A lock slot only adds a node that is not out yet (a
reservation for a node about to be cordoned, or a node that is gone from the list). So a lock
break or an expired slot frees a reservation but never makes a down node count as up (the
failure this replaces: a node left down by a terminated patch_node stopped counting once its
slot was freed, and a second node was taken out with a budget of 1).

Pure functions of plain data (no I/O), shared by the preflight activity and the lock entity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def out_reasons(fact: Mapping[str, Any]) -> list[str]:
    """Why one node (an inventory fact: ready, unschedulable, quarantined, cordonedByUs) is out."""
    reasons = []
    if fact.get("ready") != "True":
        reasons.append(f"Ready={fact.get('ready') or 'Unknown'}")
    if fact.get("unschedulable"):
        reasons.append("unschedulable")
    if fact.get("quarantined"):
        reasons.append("quarantined")
    if fact.get("cordonedByUs"):
        reasons.append("cordoned by us")
    return reasons


def world_out(facts: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every node the node list shows out, with its pool and why, sorted by name."""
    out = []
    for fact in facts:
        why = out_reasons(fact)
        if why:
            out.append({"node": fact.get("name") or fact.get("node", ""), "pool": fact.get("pool", ""),
                        "why": ", ".join(why)})
    return sorted(out, key=lambda entry: entry["node"])


def nodes_out(world: Iterable[Mapping[str, Any]], holders: Mapping[str, Mapping[str, Any]],
              anonymous: int = 0) -> list[dict[str, Any]]:
    """The nodes out from all causes: ``world`` (from ``world_out``) plus each lock slot whose node
    is not already out (``holders``: holder id -> {node, pool, kept?}). ``anonymous`` counts nodes
    out that only a legacy caller knows the number of (no names): each is one more node out."""
    out = {entry["node"]: {"node": entry["node"], "pool": entry.get("pool", ""), "why": entry.get("why", "out")}
           for entry in world}
    for holder, slot in sorted(holders.items()):
        node = slot.get("node") or holder
        if node not in out:
            why = "lock slot kept by the failure policy" if slot.get("kept") else "lock slot held"
            out[node] = {"node": node, "pool": slot.get("pool", ""), "why": f"{why} ({holder})"}
    listed = sorted(out.values(), key=lambda entry: entry["node"])
    return listed + [{"node": "", "pool": "", "why": "already unavailable"} for _ in range(max(0, anonymous))]


def refusal(out: list[dict[str, Any]], node: str, pool: str, limit: int, pool_limit: int = 0,
            pool_anonymous: int = 0) -> str:
    """Why ``node`` may not go out now given ``out`` (from ``nodes_out``), or "" when it may.
    A node already out adds nothing (resuming a node an interrupted cycle cordoned)."""
    if node and any(entry["node"] == node for entry in out):
        return ""
    if len(out) + 1 > limit:
        return f"budget {limit} used: {len(out)} node(s) out ({_describe(out)})"
    if pool_limit and pool:
        in_pool = [entry for entry in out if entry["pool"] == pool]
        if len(in_pool) + pool_anonymous + 1 > pool_limit:
            return (f"pool {pool} budget {pool_limit} used: {len(in_pool) + pool_anonymous} node(s) out"
                    f"{' (' + _describe(in_pool) + ')' if in_pool else ''}")
    return ""


def _describe(out: list[dict[str, Any]]) -> str:
    named = [f"{e['node']}: {e['why']}" for e in out if e["node"]]
    anonymous = sum(1 for e in out if not e["node"])
    if anonymous:
        named.append(f"{anonymous} already unavailable")
    return "; ".join(named)
