"""The safety invariants, checked over one run's sandbox timeline, the cycles' outputs and the
lock entity's final state. Each check returns violations (dicts with ``check`` and ``detail``);
an empty list means the run was safe.

What counts as "ours": a node change made through the Kubernetes API (actor ``api``) is the
app's (the only API client in a run besides run-command's read-only kubectl); a node already
out when the sandbox started (cordoned by someone else, or NotReady) is someone else's until it
has been available once, and is reported separately (``foreign_peak``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lab.sandbox import invariants
from lab.sandbox.model import Scenario
from lab.sandbox.timeline import Event, Timeline
from rebooter.outcomes import CycleOutcome, NodeResult

NOT_PATCHED_REPORTED = {NodeResult.FAILED, NodeResult.ERROR}  # results that must say whether the node is still cordoned
# Outcomes that can end a cycle before planning.
CYCLE_LEVEL = {CycleOutcome.FAILED, CycleOutcome.SKIPPED, CycleOutcome.BLOCKED, CycleOutcome.CANCELLED}


@dataclass
class Observed:
    """Everything the checks read about one run (filled by the runner)."""

    scenario: Scenario
    timeline: Timeline
    max_unavailable: int
    namespace: str
    force_bare_pods: bool  # REBOOTER_FORCE: bare pods may be deleted
    force_policy: bool  # REBOOTER_UNDRAINABLE_POLICY=force: what eviction could not move may be deleted
    # {"id", "status", "output", "seconds", "bound", "crashExplained"?} in start order; crashExplained:
    # why an orchestration failure is the injected fault's direct effect (reported as a note instead)
    cycles: list[dict[str, Any]]
    lock: dict[str, Any] | None  # the cluster_lock entity's state at the end
    lock_read_at: datetime
    initial: dict[str, dict[str, Any]]  # node -> {bootId, ready, unschedulable} at the start
    final: dict[str, dict[str, Any]]  # the same at the end
    commands: list[dict[str, Any]] = field(default_factory=list)  # operator commands sent: action, HTTP status


def _v(check: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"check": check, "detail": detail, **extra}


def check_all(o: Observed) -> list[dict[str, Any]]:
    return [*budget(o), *budget_all_causes(o), *pdbs_and_deletions(o), *foreign_cordons(o), *our_cordons(o),
            *ends_in_bound(o), *every_node_accounted(o), *lock_free(o), *commands_answered(o), *rebooted_once(o)]


def budget_all_causes(o: Observed) -> list[dict[str, Any]]:
    """Nodes out from ALL causes (ours, someone else's cordon, NotReady, quarantined) never exceed
    the budget at any instant, once the app has started taking nodes out: the budget counts what is
    really out (rebooter.budget). A node deleted by the nodeDeleted fault stops counting then."""
    current: set[str] = set()
    started = False
    for event in o.timeline.events():
        if event.kind == "node_deleted":
            current.discard(event["node"])
            continue
        if event.kind != "node":
            continue
        node = event["node"]
        if invariants.unavailable(event["state"]):
            current.add(node)
        else:
            current.discard(node)
        started = started or event.get("actor") == "api"
        if started and len(current) > o.max_unavailable:
            return [_v("budget-all", f"{len(current)} nodes out at once from all causes ({', '.join(sorted(current))}) "
                                     f"at t={event.t:.2f}s, budget {o.max_unavailable}", nodes=sorted(current))]
    return []


def rebooted_once(o: Observed) -> list[dict[str, Any]]:
    """No node is rebooted twice: one reboot is one boot ID change. A reboot pod the kubelet runs
    again after the boot (restartPolicy Never is at least once, kubernetes/kubernetes#83705; the
    sandbox's nodeRerunsRebootPod fault) must find the new boot ID and do nothing. A run holds one
    cycle, or a second one after an operator's action, and a node patched once no longer needs a
    reboot, so two boot ID changes of one node in a run are two reboots in one rollout."""
    out = []
    for node in sorted({e["node"] for e in o.timeline.events("reboot", phase="up")}):
        boots = [e["bootID"] for e in o.timeline.events("reboot", phase="up") if e["node"] == node]
        if len(boots) > 1:
            out.append(_v("rebooted-twice", f"{node} was rebooted {len(boots)} times (boot IDs {', '.join(boots)})",
                          node=node))
    return out


def commands_answered(o: Observed) -> list[dict[str, Any]]:
    """Every operator command is answered: accepted (202) and then listed with its answer in the
    cycle's summary, or refused at once with a reason (409: the cycle had ended)."""
    out = []
    listed = [c.get("action") for cycle in o.cycles for c in (output_of(cycle).get("commands") or [])]
    for command in o.commands:
        if command["status"] == 202:
            if command["action"] in listed:
                listed.remove(command["action"])
            else:
                out.append(_v("command-lost", f"{command['action']} was accepted (202) but no cycle summary "
                                              f"answers it (answered: {listed})"))
        elif command["status"] not in (404, 409) or "reason" not in command["text"] and "error" not in command["text"]:
            out.append(_v("command-unanswered", f"{command['action']} answered {command['status']}: "
                                                f"{command['text'][:200]}"))
    return out


def foreign_peak(timeline: Timeline) -> int:
    """The most nodes out at once by someone else's hand (reported beside the budget, not a violation):
    out at their first appearance (the scenario's doing) and not available since."""
    foreign: set[str] = set()
    seen: set[str] = set()
    peak = 0
    for event in timeline.events("node"):
        node, out = event["node"], invariants.unavailable(event["state"])
        if node not in seen and out and event.get("actor") == "scenario":
            foreign.add(node)
        seen.add(node)
        if not out:
            foreign.discard(node)
        peak = max(peak, len(foreign))
    return peak


class WithoutDeleted:
    """The timeline as ``invariants.max_unavailable`` reads it, where a node deleted by the
    nodeDeleted fault is no longer out from that moment (it is gone, not down)."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline

    def events(self, kind: str | None = None, **match: Any) -> list[Any]:
        if kind != "node":
            return self.timeline.events(kind, **match)
        out = []
        for event in self.timeline.events():
            if event.kind == "node":
                out.append(event)
            elif event.kind == "node_deleted":
                out.append(Event(event.seq, event.t, event.wall, "node", {
                    "node": event["node"], "state": {"ready": "True", "unschedulable": False}, "actor": "deleted"}))
        return out


def budget(o: Observed) -> list[dict[str, Any]]:
    """Nodes the app made unavailable at the same moment never exceed REBOOTER_MAX_UNAVAILABLE."""
    peak = invariants.max_unavailable(WithoutDeleted(o.timeline), exclude_foreign=True)
    if peak.count > o.max_unavailable:
        return [_v("budget", f"{peak.count} nodes out at once ({', '.join(peak.nodes)}) at t={peak.t:.2f}s, "
                             f"budget {o.max_unavailable}", nodes=peak.nodes)]
    return []


def pdbs_and_deletions(o: Observed) -> list[dict[str, Any]]:
    """No PDB broken (by an eviction, a deletion or a node going down with the pod on it), and no
    workload pod deleted outside an eviction unless a force policy allowed it."""
    out = []
    bare = {w.name for w in o.scenario.workloads if w.kind == "Pod"}
    for hit in invariants.pdb_violations(o.timeline, include_node_down=True):
        if hit["cause"] == "delete" and o.force_policy:
            continue
        out.append(_v("pdb", f"PDB {hit['namespace']}/{hit['pdb']} broken by {hit['cause']} of {hit['pod']} on "
                             f"{hit['node']}: {hit['healthy']} healthy < {hit['desiredHealthy']} desired "
                             f"at t={hit['t']:.2f}s"))
    for event in o.timeline.events("pod_disrupted", cause="delete"):
        # Workload pods only (the app's own probe and reboot pods live in kube-system).
        if event["namespace"] != o.namespace or event.get("actor") != "api":
            continue
        allowed = o.force_policy or (o.force_bare_pods and event["pod"] in bare)
        if not allowed:
            out.append(_v("deletion", f"pod {event['namespace']}/{event['pod']} on {event.get('node')} deleted "
                                      f"outside an eviction with no force policy, at t={event.t:.2f}s"))
    return out


def foreign_cordons(o: Observed) -> list[dict[str, Any]]:
    """A node cordoned by someone else is never uncordoned."""
    return [_v("foreign-uncordon", f"{e['node']} was cordoned by someone else and became schedulable "
                                   f"(actor {e.get('actor')}) at t={e.t:.2f}s")
            for e in invariants.foreign_cordons_undone(o.timeline, o.scenario)]


def cordoned_by_app(timeline: Timeline) -> list[str]:
    nodes = []
    for event in timeline.events("node"):
        change = event.get("changes", {}).get("unschedulable")
        if change and change[1] is True and event.get("actor") == "api" and event["node"] not in nodes:
            nodes.append(event["node"])
    return nodes


def output_of(cycle: dict[str, Any]) -> dict[str, Any]:
    """The cycle's summary (a failed orchestration's output is its error text, not a summary)."""
    output = cycle.get("output")
    return output if isinstance(output, dict) else {}


def node_results(o: Observed) -> dict[str, dict[str, Any]]:
    """The last result the cycles reported for each node (a later cycle's word wins)."""
    results: dict[str, dict[str, Any]] = {}
    for cycle in o.cycles:
        for entry in (output_of(cycle).get("nodes") or []):
            results[entry.get("node", "")] = entry
    return results


def skipped(o: Observed) -> dict[str, str]:
    out: dict[str, str] = {}
    for cycle in o.cycles:
        for entry in (output_of(cycle).get("skipped") or []):
            out[entry.get("node", "")] = entry.get("reason", "")
    return out


def our_cordons(o: Observed) -> list[dict[str, Any]]:
    """Every node we cordoned ends uncordoned, or is reported cordoned with a reason."""
    out = []
    results = node_results(o)
    for node in cordoned_by_app(o.timeline):
        if not o.final.get(node, {}).get("unschedulable"):
            continue
        entry = results.get(node)
        kept = entry is not None and (entry.get("lockKept") or node in kept_nodes(o))
        # failed/error after the reboot, or a later cycle's "skipped: the failure policy kept the lock"
        reported = entry is not None and entry.get("reason") and (
            (entry.get("cordoned") is True and kept) or entry.get("result") == "quarantined")
        if not reported:
            said = f"{entry.get('result')}: {entry.get('reason')!r}, cordoned={entry.get('cordoned')}" if entry \
                else "not in any cycle's nodes[]"
            up_to_date = any(node in (output_of(c).get("upToDate") or []) for c in o.cycles)
            out.append(_v("left-cordoned", f"{node} was cordoned by the app and is still cordoned, unreported ({said}"
                                           f"{'; listed upToDate' if up_to_date else ''})", node=node,
                          upToDate=up_to_date))
    return out


def ends_in_bound(o: Observed) -> list[dict[str, Any]]:
    """Every cycle ends, within its bound, with an output (an orchestration failure leaves none)."""
    out = []
    for cycle in o.cycles:
        if cycle["status"] not in ("Completed", "Failed", "Terminated"):
            out.append(_v("hang", f"cycle {cycle['id']} still {cycle['status']} after {cycle['bound']:.0f}s"))
        elif cycle["status"] != "Completed" and not cycle.get("crashExplained"):
            out.append(_v("crash", f"cycle {cycle['id']} ended {cycle['status']} with no summary: "
                                   f"{str(cycle.get('output'))[:300]}"))
    return out


def _cycle_reason(o: Observed) -> str:
    """A cycle-level outcome with a reason covers every node (nothing was planned)."""
    for cycle in o.cycles:
        output = output_of(cycle)
        if output.get("outcome") in CYCLE_LEVEL and output.get("reason") \
                and not output.get("nodes"):
            return f"{output['outcome']}: {output['reason']}"
    return ""


def every_node_accounted(o: Observed) -> list[dict[str, Any]]:
    """Every node that needed a reboot is rebooted and healthy (new boot ID, Ready), or reported with
    a reason; a node reported patched really is (and schedulable); nothing else was rebooted."""
    out = []
    results, skips = node_results(o), skipped(o)
    cycle_reason = _cycle_reason(o)
    rebooted = {e["node"] for e in o.timeline.events("reboot", phase="down")}
    for spec in o.scenario.nodes:
        name, before, after = spec.name, o.initial.get(spec.name, {}), o.final.get(spec.name, {})
        healthy = after.get("bootId") != before.get("bootId") and after.get("ready") == "True"
        entry = results.get(name)
        if entry is not None and entry.get("result") == "patched":
            if not healthy or after.get("unschedulable"):
                out.append(_v("patched-not-healthy", f"{name} reported patched but ends with bootID "
                                                     f"{'new' if after.get('bootId') != before.get('bootId') else 'old'}"
                                                     f", Ready={after.get('ready')}, "
                                                     f"unschedulable={after.get('unschedulable')}", node=name))
            continue
        if not spec.reboot_required:
            if name in rebooted:
                out.append(_v("unneeded-reboot", f"{name} did not need a reboot but was rebooted", node=name))
            continue
        if healthy and name in rebooted:
            continue  # rebooted and healthy: done, whatever the output says (a cordon left behind is our_cordons')
        if entry is not None:
            if not entry.get("reason"):
                out.append(_v("no-reason", f"{name} reported {entry.get('result')} with no reason", node=name))
            continue
        pool_reason = skips.get(f"pool {spec.pool}")
        reason = skips.get(name) or pool_reason or cycle_reason
        if name in skips or pool_reason is not None:
            if not reason:
                out.append(_v("no-reason", f"{name} skipped with no reason", node=name))
            continue
        if cycle_reason:
            continue
        listed = any(name in (output_of(c).get("upToDate") or []) for c in o.cycles)
        out.append(_v("unaccounted", f"{name} needed a reboot; it was neither patched nor reported "
                                     f"(rebooted={name in rebooted}, healthy={healthy}, in upToDate={listed})",
                      node=name, inOutput=listed))
    return out


def lock_holders(lock: dict[str, Any] | None, at: datetime) -> tuple[list[str], list[str]]:
    """(live holders, holders whose TTL has run out) of a cluster_lock state."""
    live, expired = [], []
    for holder, entry in ((lock or {}).get("holders") or {}).items():
        try:
            ends = datetime.fromisoformat(entry["expiresAt"])
        except (KeyError, TypeError, ValueError):
            live.append(holder)
            continue
        (live if ends > at else expired).append(holder)
    return live, expired


def kept_holders(o: Observed) -> set[str]:
    """Holders whose node result says the failure policy kept the lock (lockKept)."""
    kept = set()
    for cycle in o.cycles:
        for entry in (output_of(cycle).get("nodes") or []):
            if entry.get("lockKept"):
                kept.add(f"{cycle['id']}:{entry.get('node')}")
    return kept


def kept_nodes(o: Observed) -> set[str]:
    """Nodes whose slot the failure policy keeps in the final lock state."""
    return {entry.get("node", "") for entry in ((o.lock or {}).get("holders") or {}).values() if entry.get("kept")}


def lock_free(o: Observed) -> list[dict[str, Any]]:
    """The lock is free at the end, unless the failure policy kept it and the output says so."""
    live, _ = lock_holders(o.lock, o.lock_read_at)
    leaked = sorted(set(live) - kept_holders(o))
    if leaked:
        return [_v("lock", f"cluster lock still held at the end by {', '.join(leaked)} with no lockKept in the output")]
    return []
