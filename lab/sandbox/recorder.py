"""Feeds the timeline from the Kubernetes store: node state changes, evictions, pod disruptions.

``RecordingStore`` is the emulator's Store with the Eviction subresource wrapped, so every
eviction attempt is recorded with its outcome (201, 429, 500, 404...) and the pod changes it
causes are attributed to it. ``Recorder`` watches the store (with the previous version of each
object) and records what the invariants need.
"""

from __future__ import annotations

import threading
from typing import Any

from lab.sandbox.kube import ApiError, Store, WatchEvent
from lab.sandbox.kube.disruption import matching_pods
from lab.sandbox.nodes import node_state
from lab.sandbox.timeline import Timeline, current_actor

_ctx = threading.local()


class RecordingStore(Store):
    """The Store, with evictions recorded in the timeline."""

    timeline: Timeline | None = None

    def evict(self, name: str, namespace: str, eviction: dict) -> dict:
        node = ""
        try:
            node = (self.get("pods", name, namespace).get("spec") or {}).get("nodeName", "")
        except ApiError:
            pass
        dry_run = bool(((eviction or {}).get("deleteOptions") or {}).get("dryRun"))
        _ctx.evicting = (namespace, name)
        try:
            result = super().evict(name, namespace, eviction)
        except ApiError as err:
            self._record(name, namespace, node, err.code, err.reason, err.message, dry_run)
            raise
        finally:
            _ctx.evicting = None
        self._record(name, namespace, node, 201, "", "", dry_run)
        return result

    def _record(self, name: str, namespace: str, node: str, status: int, reason: str, message: str,
                dry_run: bool) -> None:
        if self.timeline is not None:
            self.timeline.record("eviction", pod=name, namespace=namespace, node=node, status=status,
                                 reason=reason, message=message, dryRun=dry_run, actor=current_actor())


def healthy(pod: dict | None) -> bool:
    """Counted by a PDB: Running, Ready, not being deleted."""
    if not pod or pod["metadata"].get("deletionTimestamp"):
        return False
    status = pod.get("status") or {}
    if status.get("phase") != "Running":
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


class Recorder:
    def __init__(self, store: Store, timeline: Timeline) -> None:
        self.store = store
        self.timeline = timeline
        store.start_watch(self._on_event, None)

    def close(self) -> None:
        self.store.stop_watch(self._on_event)

    def _on_event(self, event: WatchEvent) -> None:
        if event.kind == "nodes":
            self._node(event)
        elif event.kind == "pods":
            self._pod(event)

    def _node(self, event: WatchEvent) -> None:
        name = event.obj["metadata"]["name"]
        if event.type == "DELETED":
            self.timeline.record("node", node=name, deleted=True, state={}, changes={}, actor=current_actor())
            return
        new = node_state(event.obj)
        old = node_state(event.old) if event.old is not None and event.type != "ADDED" else None
        if old == new:
            return
        changes = {k: [None if old is None else old[k], v] for k, v in new.items() if old is None or old[k] != v}
        self.timeline.record("node", node=name, state=new, changes=changes, initial=old is None,
                             actor=current_actor())

    def _pod(self, event: WatchEvent) -> None:
        meta = event.obj["metadata"]
        ns, name = meta.get("namespace", ""), meta["name"]
        node = (event.obj.get("spec") or {}).get("nodeName", "")
        was = healthy(event.old) if event.type != "ADDED" else False
        now = healthy(event.obj) if event.type != "DELETED" else False
        finished = event.type != "DELETED" and (event.obj.get("status") or {}).get("phase") in ("Succeeded", "Failed") \
            and not meta.get("deletionTimestamp")
        if was and not now and not finished:
            evicting = getattr(_ctx, "evicting", None) == (ns, name)
            actor = current_actor()
            if evicting:
                cause = "eviction"
            elif actor in ("kubelet", "node-controller"):
                cause = "node"
            elif event.type == "DELETED" or meta.get("deletionTimestamp"):
                cause = "delete"
            else:
                cause = "status"
            self.timeline.record("pod_disrupted", pod=name, namespace=ns, node=node, cause=cause, actor=actor,
                                 pdbs=self._pdbs(event.obj))
        if event.type == "DELETED":
            self.timeline.record("pod_deleted", pod=name, namespace=ns, node=node, actor=current_actor(),
                                 uid=meta.get("uid"))

    def _pdbs(self, pod: dict) -> list[dict[str, Any]]:
        """Each PDB covering the pod, with its health right after the change (the store syncs PDBs first)."""
        out = []
        pdbs, _ = self.store.list_raw("poddisruptionbudgets", pod["metadata"].get("namespace", ""))
        for pdb in pdbs:
            if matching_pods(pdb, [pod]):
                status = pdb.get("status") or {}
                out.append({"name": pdb["metadata"]["name"], "healthy": int(status.get("currentHealthy", 0)),
                            "desiredHealthy": int(status.get("desiredHealthy", 0)),
                            "disruptionsAllowed": int(status.get("disruptionsAllowed", 0))})
        return out
