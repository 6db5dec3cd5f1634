"""Pod status documents as the kubelet writes them (pending, running, completed, failed, not ready)."""

from __future__ import annotations

import hashlib
import uuid

from lab.sandbox.nodes import now_iso


def _cond(kind: str, status: str, when: str, reason: str = "") -> dict:
    cond = {"type": kind, "status": status, "lastProbeTime": None, "lastTransitionTime": when}
    if reason:
        cond["reason"] = reason
    return cond


def _container_id() -> str:
    return "containerd://" + hashlib.sha256(uuid.uuid4().bytes).hexdigest()


def _image_id(image: str) -> str:
    return f"{image.split(':')[0]}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def containers(pod: dict) -> list[dict]:
    return list((pod.get("spec") or {}).get("containers") or [])


def pod_ip(pod: dict) -> str:
    meta = pod["metadata"]
    digest = hashlib.sha256(f"{meta.get('namespace')}/{meta.get('name') or meta.get('uid')}".encode()).digest()
    return f"10.244.{digest[0]}.{digest[1] % 250 + 2}"


def restart_count(pod: dict) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return max((int(s.get("restartCount", 0)) for s in statuses), default=0)


def pending_unschedulable(message: str) -> dict:
    when = now_iso()
    return {"phase": "Pending", "conditions": [_cond("PodScheduled", "False", when, "Unschedulable") | {"message": message}]}


def pending_on_node(pod: dict, host_ip: str) -> dict:
    """Scheduled, containers being created."""
    when = now_iso()
    status = {"phase": "Pending", "hostIP": host_ip, "hostIPs": [{"ip": host_ip}], "startTime": when,
              "qosClass": "BestEffort",
              "conditions": [_cond("PodReadyToStartContainers", "False", when), _cond("Initialized", "True", when),
                             _cond("Ready", "False", when, "ContainersNotReady"),
                             _cond("ContainersReady", "False", when, "ContainersNotReady"),
                             _cond("PodScheduled", "True", when)],
              "containerStatuses": [{"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": False,
                                     "started": False, "restartCount": restart_count(pod),
                                     "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {}}
                                    for c in containers(pod)]}
    return status


def image_pull_backoff(pod: dict, host_ip: str, message: str, reason: str = "ImagePullBackOff") -> dict:
    """A container image the node cannot run (a Linux image on a Windows node, or one no registry has):
    the container waits (ErrImagePull, then ImagePullBackOff) and the pod stays Pending."""
    status = pending_on_node(pod, host_ip)
    for cs in status["containerStatuses"]:
        cs["state"] = {"waiting": {"reason": reason, "message": message}}
    return status


def start_error(pod: dict, host_ip: str, message: str) -> dict:
    """A container that could not start (its command is not in its image): containerd marks it exited
    with reason StartError and exit code 128 (containerd internal/cri/server/container_start.go,
    errorStartReason / errorStartExitCode); with restartPolicy Never the pod is Failed."""
    status = terminated(pod, host_ip, 128, "StartError")
    for cs in status["containerStatuses"]:
        cs["state"]["terminated"]["message"] = message
    if (pod.get("spec") or {}).get("restartPolicy", "Always") != "Never":
        status["phase"] = "Pending"
        for cs in status["containerStatuses"]:
            cs["lastState"], cs["state"] = cs["state"], {"waiting": {
                "reason": "CrashLoopBackOff", "message": "back-off restarting failed container"}}
    return status


def deadline_exceeded(pod: dict, host_ip: str) -> dict:
    """The kubelet's active deadline handler: the pod ran longer than spec.activeDeadlineSeconds
    (kubernetes pkg/kubelet/active_deadline.go: reason DeadlineExceeded)."""
    status = terminated(pod, host_ip, 137, "Error")
    status.update(reason="DeadlineExceeded", message="Pod was active on the node longer than the specified deadline")
    status["phase"] = "Failed"
    return status


def running(pod: dict, host_ip: str, restarts: int = 0, ready: bool = True) -> dict:
    when = now_iso()
    ip = pod_ip(pod)
    flag = "True" if ready else "False"
    return {
        "phase": "Running", "hostIP": host_ip, "hostIPs": [{"ip": host_ip}], "podIP": ip, "podIPs": [{"ip": ip}],
        "startTime": (pod.get("status") or {}).get("startTime") or when, "qosClass": "BestEffort",
        "conditions": [_cond("PodReadyToStartContainers", "True", when), _cond("Initialized", "True", when),
                       _cond("Ready", flag, when), _cond("ContainersReady", flag, when),
                       _cond("PodScheduled", "True", when)],
        "containerStatuses": [{"name": c["name"], "image": c.get("image", ""), "imageID": _image_id(c.get("image", "")),
                               "containerID": _container_id(), "ready": ready, "started": True,
                               "restartCount": restarts, "state": {"running": {"startedAt": when}}, "lastState": {}}
                              for c in containers(pod)],
    }


def terminated(pod: dict, host_ip: str, exit_code: int, reason: str = "") -> dict:
    """Every container exited: phase Succeeded (all 0) or Failed."""
    when = now_iso()
    status = running(pod, host_ip, restart_count(pod), ready=False)
    status["phase"] = "Succeeded" if exit_code == 0 else "Failed"
    reason = reason or ("Completed" if exit_code == 0 else "Error")
    started = (pod.get("status") or {}).get("startTime") or when
    for cs in status["containerStatuses"]:
        cs["started"] = False
        cs["state"] = {"terminated": {"exitCode": exit_code, "reason": reason, "startedAt": started,
                                      "finishedAt": when, "containerID": cs["containerID"]}}
    for cond in status["conditions"]:
        if cond["type"] in ("Ready", "ContainersReady"):
            cond["reason"] = "PodCompleted"
        if cond["type"] == "PodReadyToStartContainers":
            cond["status"] = "False"
    return status


def mark_not_ready(status: dict) -> dict:
    """What the node lifecycle controller does to pods of a node that went down (MarkPodsNotReady)."""
    status = dict(status)
    when = now_iso()
    status["conditions"] = [dict(c, status="False", lastTransitionTime=when) if c.get("type") == "Ready" else c
                            for c in status.get("conditions") or []]
    return status
