"""Progress of patch cycles per cluster: the last state of every node and recent cycles.

A pure reducer like the lock. The orchestrators signal it at every step, so an operator (or
the next cycle) can see what happened to each node even after the orchestration history is
purged, and a half-finished rollout can be resumed (kured #620).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

State = dict[str, Any]
MAX_CYCLES = 20
MAX_COMMANDS = 50  # the mailbox: operator commands not yet taken by their cycle (people send few)


def initial() -> State:
    return {"nodes": {}, "cycles": []}


def reduce(state: State | None, operation: str, data: dict[str, Any] | None) -> tuple[State, Any]:
    state = state or initial()
    data = data or {}
    if operation == "get":
        return state, state
    if operation == "node":
        node = data["node"]
        previous = state["nodes"].get(node, {})
        entry = {**previous, "step": data["step"], "at": data["at"], "instanceId": data.get("instanceId", "")}
        if "result" in data:
            entry["result"] = data["result"]
        return {**state, "nodes": {**state["nodes"], node: entry}}, entry
    if operation == "observed":
        # What the cycle last saw of the cluster ("cluster": describe) and its nodes ("probe").
        observed = {**state.get("observed", {}), **{k: v for k, v in data.items() if k in ("cluster", "probe")}}
        return {**state, "observed": observed}, observed
    if operation == "cycle":
        cycles = [c for c in state["cycles"] if c.get("instanceId") != data.get("instanceId") or c.get("startedAt") != data.get("startedAt")]
        cycles = (cycles + [data])[-MAX_CYCLES:]
        return {**state, "cycles": cycles}, data
    if operation == "command":
        # The durable mailbox of operator commands (orchestrators/control.py): the starter writes
        # each command here as well as raising it as an event, because continue-as-new drops an
        # event that arrived in the episode that continued (the classic SDK's continue_as_new has
        # no way to carry unread events over); a continued execution takes what it did not answer.
        entry = {k: data.get(k) for k in ("id", "instanceId", "action", "by", "reason", "sentAt")}
        commands = [c for c in state.get("commands", []) if c.get("id") != entry["id"]] + [entry]
        return {**state, "commands": commands[-MAX_COMMANDS:]}, entry
    if operation == "take_commands":
        # The commands sent to this instance since the cycle started (an older one was for an
        # earlier cycle of the same instance id); every command of the instance leaves the mailbox.
        mine = [c for c in state.get("commands", []) if c.get("instanceId") == data.get("instanceId")]
        since = _moment(data.get("since"))
        taken = [c for c in mine if since is None or (_moment(c.get("sentAt")) or since) >= since]
        rest = [c for c in state.get("commands", []) if c.get("instanceId") != data.get("instanceId")]
        return {**state, "commands": rest}, taken
    raise ValueError(f"progress: unknown operation {operation!r} (expected node, cycle, observed, command, "
                     "take_commands, get)")


def _moment(text: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
