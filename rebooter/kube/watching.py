"""Bounded waits on the Kubernetes API: return as soon as the event happens, or after ``seconds``.

A poll on a durable timer reacts at the next tick after the event (half the interval late on
average, 5-10 s with the app's defaults). A watch reacts when the API server sends the change.
Each wait here lists once (the state now, and the resourceVersion to watch from), then watches
from that version with a server-side ``timeoutSeconds`` and a client read timeout a little
longer, so it can never outlive its bound. The API server streams ADDED/MODIFIED/DELETED
events of the objects matching the field selector, and ends the stream at timeoutSeconds
(kubernetes/kubernetes staging/src/k8s.io/apiserver/pkg/endpoints/handlers/get.go, ListResource;
the official Python client's ``watch.Watch().stream`` passes ``watch=True`` and yields decoded
events: kubernetes-client/python kubernetes/base/watch/watch.py).

A watch that breaks (410 Expired, a dropped connection, an API error) is not an error for the
caller: the wait returns what it knows (the event has not been seen) and the caller reads the
state again; the orchestrator's durable timer stays the outer loop. Nothing here writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes import watch
from kubernetes.client.exceptions import ApiException

from rebooter.kube.kubeapi import call_json

MAX_WATCH_SECONDS = 230  # under Flex Consumption's and the local engine's activity limits with room to spare
READ_SLACK = 5.0  # the client read timeout is this much longer than the server's timeoutSeconds

Objects = dict[str, dict[str, Any]]


def _key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return meta.get("uid") or f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def wait_until(list_fn: Callable[..., Any], done: Callable[[Objects], bool], seconds: float,
               **selectors: Any) -> tuple[bool, Objects]:
    """List with ``selectors``, then watch until ``done(objects)`` or ``seconds`` pass.

    Returns (done, the objects as last known). ``seconds`` <= 0 only lists. Bounded: no request
    starts after the deadline, and each watch asks the server to end it at the deadline."""
    deadline = time.monotonic() + min(max(seconds, 0.0), MAX_WATCH_SECONDS)
    page = call_json(list_fn, **selectors)
    objects: Objects = {_key(o): o for o in page.get("items") or []}
    version = (page.get("metadata") or {}).get("resourceVersion") or ""
    if done(objects):
        return True, objects
    while (left := deadline - time.monotonic()) >= 1.0:
        watcher = watch.Watch()
        try:
            for event in watcher.stream(list_fn, resource_version=version, timeout_seconds=int(left),
                                        allow_watch_bookmarks=False, _request_timeout=(3.0, left + READ_SLACK),
                                        **selectors):
                obj = event.get("raw_object") or {}
                if event.get("type") == "ERROR":  # e.g. 410 Expired: the caller reads the state again
                    return False, objects
                version = (obj.get("metadata") or {}).get("resourceVersion") or version
                if event.get("type") == "DELETED":
                    objects.pop(_key(obj), None)
                elif event.get("type") in ("ADDED", "MODIFIED"):
                    objects[_key(obj)] = obj
                if done(objects):
                    return True, objects
                if time.monotonic() >= deadline:
                    break
        except (ApiException, urllib3.exceptions.HTTPError, ValueError):
            return False, objects
        finally:
            watcher.stop()
    return False, objects


def wait_pods_gone(api: k8s.ApiClient, node: str, keys: set[str], seconds: float) -> bool:
    """Until none of the pods ``keys`` (UIDs, else namespace/name) is bound to the node anymore."""
    core = k8s.CoreV1Api(api)
    gone, _ = wait_until(core.list_pod_for_all_namespaces, lambda pods: not keys & set(pods), seconds,
                         field_selector=f"spec.nodeName={node}")
    return gone


def node_back(node: dict[str, Any], boot_id_before: str) -> bool:
    """Ready=True with a boot ID other than the one before the reboot."""
    status = node.get("status") or {}
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    boot = (status.get("nodeInfo") or {}).get("bootID") or ""
    return ready and bool(boot) and boot != boot_id_before


def node_down(node: dict[str, Any]) -> bool:
    """Ready is not True: the kubelet stopped posting (Unknown) or reports NotReady."""
    status = node.get("status") or {}
    return not any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def wait_node_down_or_back(api: k8s.ApiClient, node: str, boot_id_before: str, seconds: float) -> str:
    """Until the node is seen down ("down") or back with a new boot ID ("back"); "" at the bound
    (or when it is gone: the caller's read says so)."""
    core = k8s.CoreV1Api(api)
    _, nodes = wait_until(core.list_node, lambda found: not found or any(
        node_back(n, boot_id_before) or node_down(n) for n in found.values()), seconds,
        field_selector=f"metadata.name={node}")
    if any(node_back(n, boot_id_before) for n in nodes.values()):
        return "back"
    return "down" if any(node_down(n) for n in nodes.values()) else ""


def wait_node_back(api: k8s.ApiClient, node: str, boot_id_before: str, seconds: float) -> bool:
    """Until the node is Ready with a new boot ID (or it is gone: the caller's read says so)."""
    core = k8s.CoreV1Api(api)
    back, _ = wait_until(core.list_node, lambda nodes: not nodes or any(node_back(n, boot_id_before)
                                                                        for n in nodes.values()),
                         seconds, field_selector=f"metadata.name={node}")
    return back


def wait_pod_finished(api: k8s.ApiClient, namespace: str, name: str, seconds: float) -> bool:
    """Until the pod has finished (Succeeded or Failed), is terminating, or is gone."""
    core = k8s.CoreV1Api(api)

    def finished(pods: Objects) -> bool:
        return not pods or any((p.get("status") or {}).get("phase") in ("Succeeded", "Failed")
                               or (p.get("metadata") or {}).get("deletionTimestamp") for p in pods.values())

    ended, _ = wait_until(core.list_namespaced_pod, finished, seconds, namespace=namespace,
                          field_selector=f"metadata.name={name}")
    return ended
