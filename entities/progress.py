"""Progress of patch cycles per cluster: the last state of every node, recent cycles, the
mailbox of operator commands, and the ledger of a cycle between two executions ("runs").

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
MAX_RUNS = 3  # ledgers of cycles between two executions (one per cycle instance; a terminated one's stays)


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
    if operation == "run_save":
        return _run_save(state, data)
    if operation == "run_end":
        return _run_end(state, data)
    raise ValueError(f"progress: unknown operation {operation!r} (expected node, cycle, observed, command, "
                     "take_commands, run_save, run_end, get)")


# ---- a cycle's ledger across continue-as-new -------------------------------------------------
# A long cycle runs in executions of REBOOTER_NODES_PER_EXECUTION nodes (continue-as-new keeps
# each history short). What would otherwise grow in every execution's input -- the results of
# the nodes already done, the waves not started yet, the plan's skipped and up-to-date lists --
# waits here instead, keyed by the cycle's instance id and start: each execution hands over its
# results and takes the next batch of waves (run_save), the last one takes everything back once
# to write the summary (run_end), which also deletes the ledger.


def _run_save(state: State, data: dict[str, Any]) -> tuple[State, Any]:
    """Keep one execution's results (and, from the first execution, the rest of the plan); answer
    the next waves, at least ``take`` nodes of them. Idempotent: an execution's results replace
    what the same execution handed over before."""
    runs = dict(state.get("runs", {}))
    key, started = data["instanceId"], data["startedAt"]
    ledger = runs.get(key)
    if "plan" in data:  # the first execution: a new ledger (an older run of the same id is over)
        plan = data["plan"]
        ledger = {"startedAt": started, "waves": plan["waves"], "skipped": plan.get("skipped", []),
                  "upToDate": plan.get("upToDate", []), "tainted": plan.get("tainted", []), "results": []}
    elif ledger is None or ledger.get("startedAt") != started:
        return state, {"missing": True}
    execution = int(data.get("execution", 0))
    results = [r for r in ledger["results"] if r[0] != execution] + [[execution, list(data.get("results", []))]]
    ledger = {**ledger, "results": sorted(results, key=lambda r: r[0])}
    runs.pop(key, None)
    runs[key] = ledger
    for old in list(runs)[:-MAX_RUNS]:  # oldest first: dicts keep insertion order
        del runs[old]
    start, take = int(data.get("from", 0)), max(1, int(data.get("take", 1)))
    waves, end, count = [], start, 0
    while end < len(ledger["waves"]) and count < take:
        waves.append(ledger["waves"][end])
        count += len(ledger["waves"][end])
        end += 1
    return {**state, "runs": runs}, {"waves": waves, "next": end, "more": end < len(ledger["waves"])}


def _run_end(state: State, data: dict[str, Any]) -> tuple[State, Any]:
    """Everything the earlier executions handed over, and the nodes of the waves never handed out
    (from ``from`` on); the ledger leaves the entity."""
    runs = dict(state.get("runs", {}))
    ledger = runs.get(data["instanceId"])
    if ledger is None or ledger.get("startedAt") != data["startedAt"]:
        return state, {"missing": True}
    del runs[data["instanceId"]]
    left = [n["node"] for wave in ledger["waves"][int(data.get("from", 0)):] for n in wave]
    return {**state, "runs": runs}, {
        "results": [r for _, batch in ledger["results"] for r in batch], "skipped": ledger["skipped"],
        "upToDate": ledger["upToDate"], "tainted": ledger["tainted"], "left": left}


def _moment(text: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
