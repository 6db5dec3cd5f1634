"""The cluster lock: at most ``limit`` holders at once, each with a time-to-live.

A pure reducer ``(state, operation, input) -> (state, result)``; the entity function in
entities/__init__.py is a thin shell around it. Time comes in with each operation (the
orchestrator's replay-safe clock), so the reducer stays deterministic and testable, and a
holder that stops renewing (a terminated orchestration, a vanished node) frees its slot when
its TTL runs out instead of blocking the cluster forever (kured #137, #478).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rebooter.policy import budget

State = dict[str, Any]


def initial() -> State:
    return {"holders": {}, "history": []}


def _live(state: State, now: str) -> dict[str, Any]:
    moment = datetime.fromisoformat(now)
    return {h: v for h, v in state["holders"].items()
            if v.get("kept") or datetime.fromisoformat(v["expiresAt"]) > moment}


def _expiry(now: str, ttl_seconds: float) -> str:
    return (datetime.fromisoformat(now) + timedelta(seconds=ttl_seconds)).isoformat()


def _log(state: State, event: str, holder: str, now: str, **extra: Any) -> list[dict[str, Any]]:
    entry = {"event": event, "holder": holder, "at": now, **extra}
    return (state["history"] + [entry])[-50:]


def _over_budget(holders: dict[str, Any], node: str, pool: str, data: dict[str, Any]) -> str:
    """Why one more node may not go out now, or "" when it may.

    The caller reads the cluster just before (``out``: every node the node list shows out, from
    ``rebooter.policy.budget.world_out``); the lock's slots only add nodes that are not out yet. So a
    node that is down counts whether or not a slot still covers it (rebooter/policy/budget.py).
    ``external`` (a count without names) is the payload of instances started before ``out``.
    """
    world = data.get("out")
    anonymous = 0 if world is not None else int(data.get("external", 0))
    out = budget.nodes_out(world or [], holders, anonymous=anonymous)
    pool_anonymous = 0 if world is not None else int(data.get("poolExternal", 0))
    return budget.refusal(out, node, pool, int(data.get("limit", 1)), int(data.get("poolLimit", 0)),
                          pool_anonymous=pool_anonymous)


def _held_by_other(holders: dict[str, Any], holder: str, node: str) -> str:
    """The other live holder whose slot covers ``node``, or "" (dead holders are released at each
    start, starters/clusters.py, and an unrenewed slot expires after its TTL)."""
    return next((other for other, slot in holders.items()
                 if node and other != holder and slot.get("node") == node), "")


def _kept_for(holders: dict[str, Any], holder: str, node: str) -> str:
    """The reason a kept slot covers this holder or this node, or ""."""
    for other, slot in holders.items():
        if slot.get("kept") and (other == holder or (node and slot.get("node") == node)):
            return str(slot["kept"])
    return ""


def reduce(state: State | None, operation: str, data: dict[str, Any] | None) -> tuple[State, Any]:
    """Apply one operation. Unknown operations raise, so a typo fails loudly in the caller."""
    state = state or initial()
    data = data or {}
    now = data["now"]
    holder = data.get("holder", "")
    holders = _live(state, now)
    expired = sorted(set(state["holders"]) - set(holders))
    if operation == "acquire":
        entry = {"node": data.get("node", ""), "pool": data.get("pool", ""), "acquiredAt": now,
                 "expiresAt": _expiry(now, data["ttlSeconds"])}
        kept = _kept_for(holders, holder, entry["node"])
        if kept:
            # A slot the failure policy kept stays until an operator breaks the lock, whatever a
            # later cycle does: its patch_node (same holder id, same node) is refused, not renewed.
            return {**state, "holders": holders}, {"acquired": False, "holders": holders, "expired": expired,
                                                   "kept": kept, "reason": f"the failure policy kept the lock "
                                                                           f"for {entry['node']}: {kept}"}
        if holder in holders:
            holders[holder] = {**holders[holder], "expiresAt": entry["expiresAt"]}
            return {**state, "holders": holders}, {"acquired": True, "holders": holders, "renewed": True}
        other = _held_by_other(holders, holder, entry["node"])
        if other:
            # One node, one patch_node: a live holder (e.g. a patch_node still running after its
            # cycle was terminated with Durable's raw terminate, which does not reach children)
            # is finishing this node; a second one would uncordon or reboot under its feet.
            return {**state, "holders": holders}, {"acquired": False, "holders": holders, "expired": expired,
                                                   "heldBy": other, "reason": f"{entry['node']} is being patched "
                                                                              f"by {other}"}
        refusal = _over_budget(holders, entry["node"], entry["pool"], data)
        if refusal:
            return {**state, "holders": holders}, {"acquired": False, "holders": holders, "expired": expired,
                                                   "reason": refusal}
        holders[holder] = entry
        history = _log(state, "acquired", holder, now, node=entry["node"], expired=expired)
        return {"holders": holders, "history": history}, {"acquired": True, "holders": holders}
    if operation == "renew":
        if holder not in holders:
            return {**state, "holders": holders}, {"renewed": False}
        holders[holder] = {**holders[holder], "expiresAt": _expiry(now, data["ttlSeconds"])}
        return {**state, "holders": holders}, {"renewed": True}
    if operation == "keep":
        # Failure policy: a node that did not come back keeps its slot until an operator breaks
        # the lock; neither the TTL nor dead-holder cleanup frees it. A slot already gone (TTL run
        # out, lock broken while the node was down) is taken again: the node is out either way.
        reason = data.get("reason", "kept by the failure policy")
        if holder not in holders:
            if not data.get("node"):
                return {**state, "holders": holders}, {"kept": False}
            holders[holder] = {"node": data["node"], "pool": data.get("pool", ""), "acquiredAt": now,
                               "expiresAt": now}
        holders[holder] = {**holders[holder], "kept": reason}
        history = _log(state, "kept", holder, now, reason=reason)
        return {"holders": holders, "history": history}, {"kept": True}
    if operation == "release":
        if holder in holders and holders[holder].get("kept"):
            return {**state, "holders": holders}, {"released": False, "kept": holders[holder]["kept"]}
        released = holder in holders
        holders.pop(holder, None)
        history = _log(state, "released", holder, now) if released else state["history"]
        return {"holders": holders, "history": history}, {"released": released}
    if operation == "break":
        history = _log(state, "broken", data.get("by", "operator"), now, reason=data.get("reason", ""),
                       holders=sorted(holders))
        return {"holders": {}, "history": history}, {"broken": sorted(holders)}
    raise ValueError(f"lock: unknown operation {operation!r} (expected acquire, renew, keep, release, break)")
