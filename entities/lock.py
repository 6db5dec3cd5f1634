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


def _over_budget(holders: dict[str, Any], pool: str, data: dict[str, Any]) -> str:
    """Why one more node may not go out now, or "" when it may.

    ``external`` counts nodes already unavailable by someone else's hand (NotReady, cordoned
    by others, quarantined): they use up the same budget (as in OpenShift MCO and Karpenter).
    """
    limit = int(data.get("limit", 1))
    external = int(data.get("external", 0))
    if len(holders) + external >= limit:
        return f"budget {limit} used: {len(holders)} node(s) ours, {external} already unavailable"
    pool_limit = int(data.get("poolLimit", 0))
    if pool_limit and pool:
        in_pool = sum(1 for h in holders.values() if h.get("pool") == pool)
        pool_external = int(data.get("poolExternal", 0))
        if in_pool + pool_external >= pool_limit:
            return f"pool {pool} budget {pool_limit} used: {in_pool} ours, {pool_external} already unavailable"
    return ""


def reduce(state: State | None, operation: str, data: dict[str, Any] | None) -> tuple[State, Any]:
    """Apply one operation. Unknown operations raise, so a typo fails loudly in the caller."""
    state = state or initial()
    data = data or {}
    if operation == "inspect":
        now = data.get("now")
        holders = _live(state, now) if now else state["holders"]
        return state, {"holders": holders, "history": state["history"][-10:]}
    now = data["now"]
    holder = data.get("holder", "")
    holders = _live(state, now)
    expired = sorted(set(state["holders"]) - set(holders))
    if operation == "acquire":
        entry = {"node": data.get("node", ""), "pool": data.get("pool", ""), "acquiredAt": now,
                 "expiresAt": _expiry(now, data["ttlSeconds"])}
        if holder in holders:
            holders[holder] = {**holders[holder], "expiresAt": entry["expiresAt"]}
            return {**state, "holders": holders}, {"acquired": True, "holders": holders, "renewed": True}
        refusal = _over_budget(holders, entry["pool"], data)
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
        # the lock; neither the TTL nor dead-holder cleanup frees it.
        if holder not in holders:
            return {**state, "holders": holders}, {"kept": False}
        holders[holder] = {**holders[holder], "kept": data.get("reason", "kept by the failure policy")}
        history = _log(state, "kept", holder, now, reason=holders[holder]["kept"])
        return {"holders": holders, "history": history}, {"kept": True}
    if operation == "release":
        released = holder in holders
        holders.pop(holder, None)
        history = _log(state, "released", holder, now) if released else state["history"]
        return {"holders": holders, "history": history}, {"released": released}
    if operation == "break":
        history = _log(state, "broken", data.get("by", "operator"), now, reason=data.get("reason", ""),
                       holders=sorted(holders))
        return {"holders": {}, "history": history}, {"broken": sorted(holders)}
    raise ValueError(f"lock: unknown operation {operation!r} (expected acquire, renew, keep, release, break, inspect)")
