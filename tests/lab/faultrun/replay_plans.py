"""The production-SDK path under faults: a faultrun plan replayed by azure-functions-durable.

The same seeds' plans as the sandbox runs, turned into the replay driver's fake cluster
(tests/replay/fakes.py) and fake activities: API faults become activities that fail (HTTP 5xx,
429) or time out for their first calls, run-command faults a probe that fails or never ends,
node faults a node never healthy, a stalled controller a drain PodDisruptionBudgets block for
ever, and the activity faults wrap the fakes (every call executed twice; a call that does its
work then fails). The real orchestrators run through the SDK's own replay on a virtual clock
(tests/replay/driver.py), and the same output-level invariants are checked: the cycle ends with a
summary, every node that needed a reboot is patched or reported with a reason, nodes we cordoned
end uncordoned or are reported cordoned, nodes someone else cordoned stay cordoned, and the lock
is free unless the output says the failure policy kept it. Starting races and terminating an
instance need a backend (the sandbox runs cover them); their plans run with their other fault.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lab.faultrun import checks, overrides
from lab.faultrun.generate import RunPlan
from lab.faultrun.run import Report
from rebooter.config import cycle_request, names, settings
from tests.replay.driver import DeterminismError, DriverError, ReplayHost
from tests.replay.fakes import CLUSTER, FakeCluster, Node, Pool
from tests.replay.harness import CYCLE_ID, KEY

# Starting races, terminations, lock breaks and operator commands need a backend and real timing
# (the sandbox runs and tests/replay/test_operator_commands.py cover them).
NOT_IN_REPLAY = {"concurrentStart", "terminateHolder", "terminateAtStep", "breakLock", "operatorCommand",
                 "nodeRerunsRebootPod"}  # the last: the kubelet re-running a pod is the sandbox's, not the fakes'
DELETED_AT = {"lock": "cordon_node", "cordon": "cordon_node", "drain": "drain_node",
              "wait healthy": "check_node_health"}
NODE_ACTIVITIES = ("preflight_node", "cordon_node", "drain_node", "reboot_node", "check_node_health",
                   "finish_node", "list_nodes")
ARM_ACTIVITIES = ("describe_cluster", "probe_pool", "fetch_probe_result")


@dataclass
class ReplayRun:
    plan: RunPlan
    cluster: FakeCluster
    foreign: set[str]
    applied: list[str] = field(default_factory=list)  # what each fault became here
    never_healthy: dict[str, str] = field(default_factory=dict)  # node -> the node fault that made it so
    fired: Counter[str] = field(default_factory=Counter)


def node_name(ref: str) -> str:
    pool, index = ref.split("/")
    return f"aks-{pool}-{index}"


def build(plan: RunPlan) -> ReplayRun:
    """The plan's cluster as a FakeCluster, with its faults mapped onto the fakes."""
    rng = random.Random(f"replay-{plan.seed}")
    facts = {n["node"]: n for n in plan.scenario["nodes"]}
    pools, nodes, foreign = [], [], set()
    for pool in plan.scenario["pools"]:
        pools.append(Pool(pool["name"], mode=pool["mode"]))
        for i in range(pool["count"]):
            ref = f"{pool['name']}/{i}"
            fact = facts.get(ref, {})
            name = node_name(ref)
            node = Node(name, pool["name"], bool(fact.get("rebootRequired")),
                        str(uuid.uuid5(uuid.NAMESPACE_URL, f"{plan.seed}/{name}")))
            if fact.get("cordonedBy"):
                node.unschedulable = True
                foreign.add(name)
            if fact.get("ready") is False:
                node.ready = "False"
            nodes.append(node)
    run = ReplayRun(plan, FakeCluster(pools=pools, nodes=nodes, cluster_id=CLUSTER), foreign)
    for fault in plan.faults:
        _apply(run, fault, rng)
    return run


def _first_calls(run: ReplayRun, kind: str, count: int, make: Callable[[], Exception]):
    seen = Counter()

    def fault(payload: dict[str, Any]) -> Exception | None:
        seen["calls"] += 1
        if seen["calls"] <= count:
            run.fired[kind] += 1
            return make()
        return None

    return fault


def _apply(run: ReplayRun, fault: dict[str, Any], rng: random.Random) -> None:
    kind, cluster = fault["kind"], run.cluster
    if kind in ("kubeApiError", "kubeApiTimeout", "kubeApiThrottle"):
        activity, count = rng.choice(NODE_ACTIVITIES), rng.randint(1, 4)
        error = {"kubeApiError": lambda: RuntimeError(f"{activity}: HTTP {fault.get('status', 503)}: Service "
                                                      "Unavailable"),
                 "kubeApiTimeout": lambda: TimeoutError(f"{activity}: Kubernetes API unreachable: read timed out"),
                 "kubeApiThrottle": lambda: RuntimeError(f"{activity}: HTTP 429: Too many requests")}[kind]
        cluster.failing[activity] = _first_calls(run, kind, count, error)
        run.applied.append(f"{activity} fails its first {count} call(s)")
    elif kind in ("armThrottle", "armError"):
        activity, count = rng.choice(ARM_ACTIVITIES), rng.randint(1, 3)
        status = 429 if kind == "armThrottle" else fault.get("status", 503)
        cluster.failing[activity] = _first_calls(run, kind, count, lambda: RuntimeError(f"ARM answered {status}"))
        run.applied.append(f"{activity} fails its first {count} call(s) with ARM {status}")
    elif kind == "runCommandFailed":
        cluster.failing["fetch_probe_result"] = _first_calls(
            run, kind, 1, lambda: RuntimeError(f"run-command ended Failed: {fault.get('reason', 'ImagePullBackOff')}"))
        run.applied.append("the first probe poll reports a failed run-command")
    elif kind == "runCommandNeverStarts":
        cluster.probe_running_polls = 10 ** 6
        run.fired[kind] += 1
        run.applied.append("every probe stays running")
    elif kind == "runCommandSlow":
        cluster.probe_running_polls = 4
        run.fired[kind] += 1
        run.applied.append("probes answer running 4 times")
    elif kind in ("nodeNeverReturns", "nodeReturnsNotReady"):
        cluster.never_healthy.add(node_name(fault["node"]))
        run.never_healthy[node_name(fault["node"])] = kind
        run.applied.append(f"{node_name(fault['node'])} never healthy")
    elif kind == "controllerNeverRecreates":
        cluster.drain_pending_passes = 10 ** 6
        run.fired[kind] += 1
        run.applied.append("PodDisruptionBudgets refuse every eviction")
    elif kind == "nodeDeleted":
        activity, victim = DELETED_AT[fault["step"]], []

        def deleted(payload: dict[str, Any]) -> Exception | None:
            victim[:] = victim or [payload["node"]]
            if payload["node"] != victim[0]:
                return None
            run.fired[kind] += 1
            return RuntimeError(f"NodeNotFound: node {victim[0]!r} not found in the cluster")

        cluster.failing[activity] = deleted
        run.applied.append(f"the first node {activity} touches is deleted")
    elif kind == "windowReadFails":
        run.applied.append("the AKS maintenance window cannot be read")
    elif kind in overrides.KINDS:
        run.applied.append(f"{kind}: the cycle's settings (see _settings)")
    elif kind in ("activityFailsAfterWork", "activityTwice") or kind in NOT_IN_REPLAY:
        run.applied.append(kind if kind not in NOT_IN_REPLAY else f"{kind}: needs a backend, not replayed")
    else:
        raise ValueError(f"no replay mapping for fault kind {kind!r}")


def activities(run: ReplayRun) -> dict[str, Callable[[Any], Any]]:
    """The fakes, wrapped by the plan's activity faults (twice; fail after the work)."""
    fakes = run.cluster.activities()
    twice = run.plan.harness("activityTwice") is not None
    fail = run.plan.harness("activityFailsAfterWork")
    left = Counter({fail["activity"]: fail["count"]}) if fail else Counter()

    def wrap(name: str, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def call(payload: Any) -> Any:
            if twice:
                run.fired["activityTwice"] += 1
                try:
                    fn(payload)
                except Exception:  # noqa: BLE001 - the first execution's outcome is lost
                    pass
            result = fn(payload)
            if left[name] > 0:
                left[name] -= 1
                run.fired["activityFailsAfterWork"] += 1
                raise RuntimeError(f"injected fault: {name} did its work, then failed before reporting it")
            return result

        return call

    def window(payload: Any) -> Any:
        if run.plan.harness("windowReadFails"):
            run.fired["windowReadFails"] += 1
            raise RuntimeError("ARM answered 500 reading maintenanceConfigurations/aksManagedNodeOSUpgradeSchedule")
        return {"found": False}

    fakes["read_aks_maintenance_window"] = window
    return {name: wrap(name, fn) for name, fn in fakes.items()}


def replay(plan: RunPlan) -> tuple[ReplayRun, Report, ReplayHost]:
    """Run the plan's cycle through the SDK's replay and check it; the Report holds any violation."""
    run = build(plan)
    report = Report(plan.seed, plan.kinds, budget=overrides.budget(plan))
    cfg = _settings(run, report)
    host = ReplayHost(activities(run), activity_seconds=0.1)
    job = cycle_request.cycle_input(CLUSTER, cfg, reason=f"faultrun replay seed {plan.seed}", trigger="http")
    try:
        cycle = host.run_orchestration("patch_cycle", job, CYCLE_ID)
    except DeterminismError as exc:
        report.violations.append({"check": "determinism", "detail": str(exc)[:500]})
        return run, report, host
    except DriverError as exc:
        report.violations.append({"check": "hang", "detail": str(exc)[:500]})
        return run, report, host
    for name, kind in run.never_healthy.items():
        run.fired[kind] += int(run.cluster.node(name).rebooted)
    if plan.harness("clusterOverrides"):  # acted when the activities got the cluster's own labels
        run.fired["clusterOverrides"] += int(any(p.get("settings", {}).get("optOutLabel") == overrides.OPT_OUT_LABEL
                                                 for a, p in run.cluster.calls if a == "list_nodes"))
    report.fired.update(run.fired)
    status = cycle.status
    output = cycle.output if isinstance(cycle.output, dict) else {}
    report.cycles = [{"status": status, "outcome": output.get("outcome"), "reason": output.get("reason", ""),
                      "seconds": 0.0, "results": {n["node"]: n["result"] for n in output.get("nodes") or []},
                      "skipped": len(output.get("skipped") or [])}]
    report.violations += check(run, host, status, cycle.error, output)
    return run, report, host


def _settings(run: ReplayRun, report: Report) -> dict[str, Any]:
    """The cycle's settings as the starter builds them: the plan's per-cluster overrides moved to
    the replay's cluster, then the cycleOverrides fault's refused (must raise) and allowed ones."""
    env = {**run.plan.settings, "REBOOTER_CLUSTERS": CLUSTER}
    if "REBOOTER_CLUSTER_OVERRIDES" in env:
        mine = list(json.loads(env["REBOOTER_CLUSTER_OVERRIDES"]).values())[0]
        env["REBOOTER_CLUSTER_OVERRIDES"] = json.dumps({names.parse_cluster_id(CLUSTER).name: mine})
    cfg = settings.for_cluster(settings.load(env), CLUSTER)
    fault = run.plan.harness("cycleOverrides")
    if fault:
        try:
            settings.apply_overrides(cfg, fault["refused"])
            report.violations.append({"check": "override-refused", "detail": f"{fault['refused']} was accepted"})
        except settings.LooseningError as exc:
            run.fired["cycleOverrides"] += int(exc.keys == [fault["refusedKey"]])
        cfg = settings.apply_overrides(cfg, fault["allowed"])
    return cfg


def check(run: ReplayRun, host: ReplayHost, status: str, error: str | None,
          output: dict[str, Any]) -> list[dict[str, Any]]:
    """The output-level invariants of faultrun.checks, over the fake cluster's final state."""
    out: list[dict[str, Any]] = []
    if status != "Completed":
        out.append({"check": "crash", "detail": f"cycle ended {status} with no summary: {str(error)[:400]}"})
    results = {n["node"]: n for n in output.get("nodes") or []}
    skips = {s["node"]: s.get("reason", "") for s in output.get("skipped") or []}
    cycle_reason = output.get("reason") if output.get("outcome") in checks.CYCLE_LEVEL and not results else ""
    for node in run.cluster.nodes:
        entry = results.get(node.name)
        if node.cordoned_by_us and not (entry is not None and entry.get("result") == "gone"):  # deleted for real
            reported = entry is not None and entry.get("reason") and (
                (entry.get("result") in checks.NOT_PATCHED_REPORTED and entry.get("cordoned"))
                or entry.get("result") == "quarantined")
            if not reported:
                out.append({"check": "left-cordoned", "node": node.name,
                            "detail": f"{node.name} is still cordoned by us, unreported ({entry})"})
        if node.name in run.foreign and not node.unschedulable:
            out.append({"check": "foreign-uncordon", "detail": f"{node.name} was cordoned by someone else"})
        if entry is not None and entry.get("result") == "patched":
            if not node.rebooted or node.unschedulable:
                out.append({"check": "patched-not-healthy", "detail": f"{node.name} reported patched: rebooted="
                                                                      f"{node.rebooted}, cordoned={node.unschedulable}"})
            continue
        if not node.reboot_required:
            continue
        if entry is not None or node.name in skips or f"pool {node.pool}" in skips:
            reason = entry.get("reason") if entry is not None else skips.get(node.name) or skips.get(f"pool {node.pool}")
            if not reason:
                out.append({"check": "no-reason", "detail": f"{node.name} reported with no reason"})
            continue
        if not cycle_reason:
            out.append({"check": "unaccounted", "node": node.name, "inOutput": node.name in (output.get("upToDate") or []),
                        "detail": f"{node.name} needed a reboot; neither patched nor reported"})
    lock = host.entity_state("cluster_lock", KEY)
    live, _ = checks.lock_holders(lock, host.now)
    kept = {f"{CYCLE_ID}:{n['node']}" for n in output.get("nodes") or [] if n.get("lockKept")}
    if set(live) - kept:
        out.append({"check": "lock", "detail": f"lock still held by {sorted(set(live) - kept)} with no lockKept"})
    return out
