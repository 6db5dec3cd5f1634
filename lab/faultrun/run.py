"""Run one plan: a whole patch cycle over the app's HTTP API on the local engine, against a
fresh sandbox, with the plan's faults, then the invariant checks (faultrun.checks).

``run_seed(seed)`` returns a ``Report``; ``Report.failure_text()`` names the seed and the
command that reproduces it (``python -m lab.faultrun run --seed N``).
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests as http

from lab.faultrun import checks, operator, overrides
from lab.faultrun.generate import NAMESPACE, SEEN_AT, RunPlan, generate
from lab.faultrun.middleware import Behaviour
from lab.faultrun.stack import SharedEngine, shared_engine
from rebooter.config import cycle_request, names

TERMINAL = {"Completed", "Failed", "Terminated", "Canceled"}
TIMER_FUNCTION = "scheduled_patch_cycles"
TERMINATED_NOTE = ("patch_cycle ended Failed with no summary when its patch_node was terminated (the failed "
                   "sub-orchestration escapes task_all); the next cycle must clean up")


def command(seed: int, sabotage: bool = False) -> str:
    return f"python -m lab.faultrun run --seed {seed}" + (" --sabotage" if sabotage else "")


@dataclass
class Report:
    seed: int
    kinds: list[str]
    fired: dict[str, int] = field(default_factory=dict)
    violations: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cycles: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    budget: int = 1
    peak_ours: int = 0
    peak_foreign: int = 0
    terminated: str = ""  # the node whose patch_node the terminateHolder fault terminated
    sabotage: bool = False  # a rogue actor broke the rules on purpose (the checks' self-test)

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        return cls(**data)

    def summary(self) -> str:
        outcomes = ", ".join(f"{c['status']}/{c.get('outcome') or '-'}" for c in self.cycles) or "no cycle"
        return (f"seed {self.seed} [{', '.join(self.kinds)}]: {outcomes}; peak {self.peak_ours}/{self.budget} "
                f"(+{self.peak_foreign} out by others); {len(self.violations)} violation(s); {self.seconds:.1f}s")

    def failure_text(self) -> str:
        lines = [f"fault run failed: {self.summary()}", f"reproduce with: {command(self.seed, self.sabotage)}"]
        lines += [f"  - {v['check']}: {v['detail']}" for v in self.violations]
        for cycle in self.cycles:
            results = ", ".join(f"{n}={r}" for n, r in cycle.get("results", {}).items())
            lines.append(f"  cycle {cycle['status']}/{cycle.get('outcome')}: {cycle.get('reason', '')[:200]} [{results}]")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def cycle_bound(plan: RunPlan) -> float:
    """Seconds within which a cycle must end (generous: every timeout of every node, twice over)."""
    s = {k: float(v) for k, v in plan.settings.items() if k.endswith("_SECONDS")}
    nodes = sum(p["count"] for p in plan.scenario["pools"])
    per_node = (s["REBOOTER_LOCK_TIMEOUT_SECONDS"] + s["REBOOTER_BLOCKER_TIMEOUT_SECONDS"]
                + 2 * s["REBOOTER_DRAIN_TIMEOUT_SECONDS"] + s["REBOOTER_HEALTH_TIMEOUT_SECONDS"] + 10)
    return 30 + s["REBOOTER_PROBE_TIMEOUT_SECONDS"] + s["REBOOTER_PROBE_POD_TIMEOUT_SECONDS"] + nodes * per_node


def run_seed(seed: int, timeline_path: str | None = None, sabotage: bool = False) -> Report:
    return run_plan(generate(seed), timeline_path=timeline_path, sabotage=sabotage)


def run_plan(plan: RunPlan, engine: SharedEngine | None = None, timeline_path: str | None = None,
             sabotage: bool = False) -> Report:
    """Run the plan; with ``sabotage`` a rogue actor also breaks the rules through the Kubernetes
    API while the cycle runs (uncordons a node someone else cordoned, deletes a workload pod), to
    show that the checks catch it."""
    began = time.monotonic()
    report = Report(plan.seed, plan.kinds, budget=overrides.budget(plan), sabotage=sabotage)
    engine = engine or shared_engine()
    fail = plan.harness("activityFailsAfterWork")
    behaviour = Behaviour(twice=plan.harness("activityTwice") is not None,
                          fail_after=fail["activity"] if fail else "", fail_count=fail["count"] if fail else 0)
    try:
        with engine.sandbox(plan.scenario, plan.settings, behaviour) as box:
            _Run(plan, engine, box, report).execute()
            report.fired.update(engine.faults.fired)
            if timeline_path:
                box.timeline.write_jsonl(timeline_path)
    except Exception:  # noqa: BLE001 - a broken run is reported like a violation, with its seed
        report.violations.append({"check": "runner", "detail": traceback.format_exc(limit=8)})
    report.seconds = round(time.monotonic() - began, 2)
    return report


class _Run:
    """One run's choreography: start, misbehave, wait, observe, check."""

    def __init__(self, plan: RunPlan, engine: SharedEngine, box: Any, report: Report) -> None:
        self.plan, self.engine, self.box, self.report = plan, engine, box, report
        self.cluster = box.cluster_resource_id
        self.instance_id = cycle_request.instance_id(self.cluster)
        self.key = names.parse_cluster_id(self.cluster).key
        self.bound = cycle_bound(plan)
        self.cycles: list[dict[str, Any]] = []
        self.fired: Counter[str] = Counter()
        self.commands: list[dict[str, Any]] = []  # operator commands sent and the HTTP answer
        self.deleted: set[str] = set()  # nodes deleted by the nodeDeleted fault

    # ---- the run ------------------------------------------------------------------------
    def execute(self) -> None:
        if self.plan.harness("controllerNeverRecreates"):
            self.box.cluster.controllers.delay = 10 ** 6  # evicted pods are never replaced during the run
        initial = self._nodes()
        acts = {"terminateAtStep": operator.terminate_at_step, "breakLock": operator.break_lock_at_step,
                "operatorCommand": operator.operator_command, "nodeDeleted": operator.delete_node_at_step}
        acting = next((k for k in self.plan.kinds if k in acts), None)
        if self.plan.harness("concurrentStart"):
            self._start_concurrently()
        elif self.plan.harness("terminateHolder"):
            self._terminate_holder()
        elif acting:
            acts[acting](self, self.plan.harness(acting))
        else:
            self._start_http(wait=not self.report.sabotage)
        if self.report.sabotage:
            self._rogue()
            if not self.cycles:
                self._wait_cycle()
        self._settle()
        self._observe(initial)

    def _start_http(self, wait: bool = True) -> dict[str, Any] | None:
        def post(body: dict[str, Any]) -> http.Response:
            return http.post(f"{self.engine.base_url}/api/patch-cycles", json=body, timeout=30)

        body = {"cluster": self.cluster, "reason": f"faultrun seed {self.plan.seed}"}
        response = post(overrides.refuse_then_start(self, post, body) if not self.cycles else body)
        if response.status_code != 202:
            self.report.violations.append({"check": "start", "detail": f"POST answered {response.status_code}: "
                                                                       f"{response.text[:300]}"})
            return None
        return self._wait_cycle() if wait else None

    def _start_concurrently(self) -> None:
        """The timer and an HTTP request start a cycle for the same cluster at the same moment."""
        barrier = threading.Barrier(2)
        answers: dict[str, Any] = {}

        def post() -> None:
            barrier.wait()
            try:
                answers["http"] = http.post(f"{self.engine.base_url}/api/patch-cycles",
                                            json={"cluster": self.cluster, "reason": "faultrun race"}, timeout=30)
            except Exception as exc:  # noqa: BLE001
                answers["http"] = exc

        def timer() -> None:
            barrier.wait()
            try:
                answers["timer"] = self.engine.engine.fire_timer(TIMER_FUNCTION)
            except Exception as exc:  # noqa: BLE001
                answers["timer"] = exc

        threads = [threading.Thread(target=post), threading.Thread(target=timer)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.fired["concurrentStart"] += 1
        response, timer_result = answers.get("http"), answers.get("timer")
        if not isinstance(response, http.Response) or response.status_code not in (202, 409):
            text = response if not isinstance(response, http.Response) else f"{response.status_code} {response.text[:300]}"
            self.report.violations.append({"check": "start-race", "detail": f"HTTP start answered {text}"})
        if isinstance(timer_result, Exception):
            self.report.violations.append({"check": "start-race", "detail": f"timer start raised {timer_result!r}"[:500]})
        code = response.status_code if isinstance(response, http.Response) else "no answer"
        self.report.notes.append(f"race: HTTP answered {code}, the timer "
                                 f"{'raised' if isinstance(timer_result, Exception) else 'returned'}")
        self._wait_cycle()

    def _terminate_holder(self) -> None:
        """Terminate a patch_node (the lock holder) mid-drain; the next cycle must still complete."""
        self._start_http(wait=False)
        child = self._await_step("drain")
        if child is not None:
            self.engine.engine.client.terminate_orchestration(child, output="faultrun: lock holder terminated")
            self.fired["terminateHolder"] += 1
            self.report.terminated = child.rsplit(":", 1)[-1]
        first = self._wait_cycle()
        if child is None:
            self.report.notes.append("no patch_node reached the drain step: nothing was terminated")
            return
        if first is not None and first["status"] == "Failed":
            first["crashExplained"] = TERMINATED_NOTE
            self.report.notes.append(TERMINATED_NOTE)
        self._wait_children()
        held = checks.lock_holders(self._lock(), datetime.now(UTC))[0]
        if self.plan.harness("terminateHolder").get("waitTtl") and child in held:
            ttl = float(self.plan.settings["REBOOTER_LOCK_TTL_SECONDS"])
            time.sleep(ttl + 0.2)
            still = checks.lock_holders(self._lock(), datetime.now(UTC))[0]
            if child in still:
                self.report.violations.append({"check": "lock-ttl", "detail": f"{child} still holds the lock "
                                                                              f"after its TTL ({ttl:g}s)"})
        self.report.notes.append(f"terminated {child.rsplit(':', 1)[-1]} mid-drain; lock holders then: "
                                 f"{[h.rsplit(':', 1)[-1] for h in held] or 'none'}")
        self._start_http()

    def _rogue(self) -> None:
        """Break the rules the app must keep, through the API, as a careless operator would."""
        from kubernetes import client as k8s
        from kubernetes import config as k8s_config

        from rebooter.kube.kubeapi import call

        core = k8s.CoreV1Api(k8s_config.new_client_from_config(config_file=self.box.kubeconfig_path))
        for node in [n.name for n in self.box.scenario.nodes if n.cordoned_by][:1]:
            call(core.patch_node, node, {"spec": {"unschedulable": False}})
            self.report.notes.append(f"sabotage: uncordoned {node}, which someone else had cordoned")
        pods = [p for p in call(core.list_namespaced_pod, NAMESPACE).items
                if p.status.phase == "Running" and (p.metadata.owner_references or [])
                and p.metadata.owner_references[0].kind == "ReplicaSet"]
        if pods:
            time.sleep(0.3)  # let the pod count as healthy for the recorder
            call(core.delete_namespaced_pod, pods[0].metadata.name, NAMESPACE)
            self.report.notes.append(f"sabotage: deleted pod {pods[0].metadata.name} directly")

    # ---- waiting ------------------------------------------------------------------------
    def _status(self) -> dict[str, Any]:
        response = http.get(f"{self.engine.base_url}/api/patch-cycles/{self.instance_id}", timeout=30)
        return response.json() if response.status_code == 200 else {"status": f"HTTP {response.status_code}"}

    def _wait_cycle(self) -> dict[str, Any] | None:
        began = time.monotonic()
        status: dict[str, Any] = {}
        while time.monotonic() - began < self.bound:
            status = self._status()
            if status.get("status") in TERMINAL:
                break
            time.sleep(0.1)
        output = status.get("output")
        cycle = {"id": self.instance_id, "status": status.get("status", "unknown"), "output": output,
                 "seconds": round(time.monotonic() - began, 2), "bound": self.bound}
        if status.get("status") not in TERMINAL:
            self.engine.engine.client.terminate_orchestration(self.instance_id, output="faultrun: hung")
        self.cycles.append(cycle)
        return cycle

    def _await_step(self, step: str) -> str | None:
        """The first patch_node instance seen at ``step`` (polled fast; SEEN_AT: a step
        that shares an activity is seen at the status that covers it), or None if the cycle ends first."""
        seen_at = SEEN_AT.get(step, (step,))
        client = self.engine.engine.client
        deadline = time.monotonic() + self.bound
        while time.monotonic() < deadline:
            state = client.get_orchestration_state(self.instance_id)
            if state is not None and state.runtime_status.name not in ("RUNNING", "PENDING"):
                return None
            custom = json.loads(state.serialized_custom_status) if state and state.serialized_custom_status else {}
            for node in custom.get("currentNodes") or []:
                child = client.get_orchestration_state(f"{self.instance_id}:{node}")
                if child and child.serialized_custom_status and \
                        json.loads(child.serialized_custom_status).get("step") in seen_at:
                    return child.instance_id
            time.sleep(0.01)
        return None

    def _wait_children(self, timeout: float = 15.0) -> None:
        try:
            self.engine.engine.wait_idle(timeout=timeout)
        except TimeoutError as exc:
            self.report.violations.append({"check": "hang", "detail": f"after the cycle ended: {exc}"})
            self._terminate_leftovers()

    def _terminate_leftovers(self) -> None:
        from durabletask.client import OrchestrationQuery, OrchestrationStatus

        client = self.engine.engine.client
        query = OrchestrationQuery(runtime_status=[OrchestrationStatus.PENDING, OrchestrationStatus.RUNNING])
        for state in client.get_all_orchestration_states(query):
            client.terminate_orchestration(state.instance_id, output="faultrun: left running")

    def _settle(self) -> None:
        self._wait_children()
        # Entity signals (progress) and the last releases settle shortly after the instances end.
        time.sleep(0.2)

    # ---- observing ----------------------------------------------------------------------
    def _nodes(self) -> dict[str, dict[str, Any]]:
        from lab.sandbox.nodes import node_state

        return {n["metadata"]["name"]: {**node_state(n), "bootId": node_state(n)["bootID"]}
                for n in self.box.cluster.store.list("nodes")}

    def _lock(self) -> dict[str, Any] | None:
        from durabletask.entities import EntityInstanceId

        meta = self.engine.engine.client.get_entity(EntityInstanceId("cluster_lock", self.key), include_state=True)
        state = meta.get_state() if meta is not None else None
        return json.loads(state) if isinstance(state, str) and state else state

    def _observe(self, initial: dict[str, dict[str, Any]]) -> None:
        settings = self.plan.settings
        lock, read_at = self._lock(), datetime.now(UTC)
        observed = checks.Observed(
            scenario=self.box.scenario, timeline=self.box.timeline, max_unavailable=self.report.budget,
            namespace=NAMESPACE, force_bare_pods=settings.get("REBOOTER_FORCE") == "true",
            force_policy=settings.get("REBOOTER_UNDRAINABLE_POLICY") == "force",
            cycles=self.cycles, lock=lock, lock_read_at=read_at, initial=initial, final=self._nodes(),
            commands=self.commands,
        )
        self.report.violations += checks.check_all(observed) + overrides.check(self, initial, observed.final)
        self.report.peak_ours = checks.invariants.max_unavailable(checks.WithoutDeleted(self.box.timeline),
                                                                  exclude_foreign=True).count
        self.report.peak_foreign = checks.foreign_peak(self.box.timeline)
        _, expired = checks.lock_holders(lock, read_at)
        if expired:
            self.report.notes.append(f"lock holders freed by TTL only: {expired}")
        self.report.fired.update(self.fired)
        self.report.fired.update(_sandbox_fired(self.box, self.plan))
        self.report.cycles = [_cycle_summary(c) for c in self.cycles]


def _cycle_summary(cycle: dict[str, Any]) -> dict[str, Any]:
    output = cycle.get("output") if isinstance(cycle.get("output"), dict) else {}
    return {"status": cycle["status"], "outcome": output.get("outcome"), "reason": output.get("reason", ""),
            "seconds": cycle["seconds"],
            "results": {n.get("node", "?"): n.get("result") for n in output.get("nodes") or []},
            "skipped": len(output.get("skipped") or [])}


def _sandbox_fired(box: Any, plan: RunPlan) -> Counter[str]:
    """How often each sandbox fault acted: request and run-command faults from the fault plan's
    use counts (FaultPlan keeps them; it has no public reader), node faults from the timeline."""
    fired: Counter[str] = Counter()
    for entry in getattr(box.faults, "_faults", []):
        fault, _, used = entry
        if not fault.type.startswith("node"):
            fired[fault.type] += used
    for kind, phase in (("nodeNeverReturns", "never_back"), ("nodeReturnsNotReady", "up")):
        faulty = {n.name for n in box.scenario.nodes if n.fault == kind}
        fired[kind] += sum(1 for e in box.timeline.events("reboot", phase=phase) if e["node"] in faulty)
    fired["nodeRerunsRebootPod"] += len(box.timeline.events("reboot_pod", phase="rerun"))  # only that fault reruns
    if plan.harness("windowReadFails"):
        fired["windowReadFails"] += sum(1 for e in box.timeline.events("arm")
                                        if "maintenanceConfigurations" in str(e.get("path", "")))
    if plan.harness("controllerNeverRecreates"):
        fired["controllerNeverRecreates"] += sum(1 for e in box.timeline.events("eviction") if e.get("status") == 201)
    return +fired
