"""Progress of patch cycles per cluster: the last state of every node and recent cycles.

A pure reducer like the lock. The orchestrators signal it at every step, so an operator (or
the next cycle) can see what happened to each node even after the orchestration history is
purged, and a half-finished rollout can be resumed (kured #620).
"""

from __future__ import annotations

from typing import Any

State = dict[str, Any]
MAX_CYCLES = 20


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
    raise ValueError(f"progress: unknown operation {operation!r} (expected node, cycle, observed, get)")
