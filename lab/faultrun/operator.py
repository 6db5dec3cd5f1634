"""Harness faults that play the operator and the platform around a running cycle (issue 11):
terminate patch_node or patch_cycle at a step, break the lock at a step, send cancel / pause /
resume / approve / reject while nodes complete and the cycle continues as new, delete a node
mid-cycle. Each acts through the same doors a person has (the app's HTTP API, the Durable
client's terminate, the Kubernetes API), then the runner's checks judge the whole run.

Every function takes the runner's ``_Run`` (faultrun.run) and leaves its cycles in ``run.cycles``.
"""

from __future__ import annotations

import json
import time
from typing import Any

import requests as http

TERMINATED_BY_FAULT = "terminated by the fault run on purpose (a rollback step of docs/deploy.md)"


def terminate_at_step(run: Any, fault: dict[str, Any]) -> None:
    """Terminate patch_node (or patch_cycle) when a node reaches ``step``; then a second cycle."""
    run._start_http(wait=False)
    child = run._await_step(fault["step"])
    target = child if fault["target"] == "node" or child is None else run.instance_id
    if child is not None and target == run.instance_id:
        _terminate_cycle(run, fault["step"])
    elif child is not None:
        run.engine.engine.client.terminate_orchestration(target, output="faultrun: terminated")
        run.fired["terminateAtStep"] += 1
        run.report.notes.append(f"terminated {fault['target']} {target.rsplit(':', 1)[-1]} at {fault['step']}")
    else:
        run.report.notes.append(f"no patch_node reached {fault['step']!r}: nothing was terminated")
    first = run._wait_cycle()
    if first is not None and first["status"] == "Terminated" and target == run.instance_id:
        first["crashExplained"] = TERMINATED_BY_FAULT
    run._wait_children()
    run._start_http()


def _terminate_cycle(run: Any, step: str) -> None:
    """The operator's rollback of docs/deploy.md: the app's admin route, which terminates the cycle
    and then its running patch_node instances (a raw Durable terminate of patch_cycle leaves them
    running: Durable does not terminate sub-orchestrations with their parent)."""
    answer = http.post(f"{run.engine.base_url}/api/patch-cycles/{run.instance_id}/terminate",
                       json={"reason": "faultrun: rollback", "by": "faultrun"}, timeout=30)
    if answer.status_code != 202:
        run.report.violations.append({"check": "terminate", "detail": f"terminate answered {answer.status_code}: "
                                                                      f"{answer.text[:300]}"})
        return
    run.fired["terminateAtStep"] += 1
    nodes = [f"{n['node']} at {n['step']}" for n in answer.json().get("nodesTerminated", [])]
    run.report.notes.append(f"terminated the cycle at {step} through the app's route; its patch_node instances "
                            f"terminated: {nodes or 'none running'}")


def break_lock_at_step(run: Any, fault: dict[str, Any]) -> None:
    """An admin breaks the cluster lock when a node reaches ``step``; the cycle goes on, then a second one."""
    run._start_http(wait=False)
    child = run._await_step(fault["step"])
    if child is not None:
        name = run.box.scenario.cluster.name
        answer = http.post(f"{run.engine.base_url}/api/clusters/{name}/lock/break",
                           json={"reason": "faultrun: admin breaks the lock", "by": "faultrun"}, timeout=30)
        if answer.status_code != 202:
            run.report.violations.append({"check": "lock-break", "detail": f"break answered {answer.status_code}: "
                                                                           f"{answer.text[:300]}"})
        else:
            run.fired["breakLock"] += 1
            run.report.notes.append(f"lock broken while {child.rsplit(':', 1)[-1]} was at {fault['step']}")
    run._wait_cycle()
    run._wait_children()
    run._start_http()


def operator_command(run: Any, fault: dict[str, Any]) -> None:
    """Send ``action`` at the moment ``when`` (a node about to complete, or the approval gate);
    a pause is followed by a resume. Each answer is kept for the commands check."""
    run._start_http(wait=False)
    action, when = fault["action"], fault["when"]
    reached = _await_cycle_step(run, "awaiting approval") if when == "approval" else run._await_step(when)
    if reached is not None:
        _send(run, action)
        if action == "pause":
            time.sleep(fault.get("pauseSeconds", 0.5))
            _send(run, "resume")
    else:
        run.report.notes.append(f"the cycle never reached {when!r}: no command sent")
    run._wait_cycle()


def delete_node_at_step(run: Any, fault: dict[str, Any]) -> None:
    """The autoscaler deletes the node being patched when it reaches ``step`` (the Kubernetes API)."""
    run._start_http(wait=False)
    child = run._await_step(fault["step"])
    if child is not None:
        node = child.rsplit(":", 1)[-1]
        run.box.cluster.store.delete("nodes", node)
        run.box.timeline.record("node_deleted", node=node, actor="faultrun")
        run.deleted.add(node)
        run.fired["nodeDeleted"] += 1
        run.report.notes.append(f"deleted node {node} at {fault['step']}")
    run._wait_cycle()


def _send(run: Any, action: str) -> None:
    answer = http.post(f"{run.engine.base_url}/api/patch-cycles/{run.instance_id}/{action}",
                       json={"by": "faultrun", "reason": f"faultrun {action}"}, timeout=30)
    run.commands.append({"action": action, "status": answer.status_code, "text": answer.text[:300]})
    run.fired[f"command:{action}"] += 1
    run.fired["operatorCommand"] += 1


def _await_cycle_step(run: Any, step: str) -> str | None:
    client = run.engine.engine.client
    deadline = time.monotonic() + run.bound
    while time.monotonic() < deadline:
        state = client.get_orchestration_state(run.instance_id)
        if state is not None and state.runtime_status.name not in ("RUNNING", "PENDING"):
            return None
        custom = json.loads(state.serialized_custom_status) if state and state.serialized_custom_status else {}
        if custom.get("step") == step:
            return run.instance_id
        time.sleep(0.01)
    return None
