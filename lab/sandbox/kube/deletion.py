"""Deletion as the API server does it: preconditions, finalizers, graceful pod termination, and the
garbage collector's cascade (Background by default, Orphan on request), applied at once.

Pods: the grace period is the request's gracePeriodSeconds, else spec.terminationGracePeriodSeconds
(30 by default); a pod not yet scheduled or already finished goes at once, as does grace 0. A pod in
its grace period has deletionTimestamp (now + grace) and deletionGracePeriodSeconds, and is removed
by the store's Scheduler after the grace period, or after ``Store.pod_termination_seconds`` when that
is shorter (scenarios use it to make terminations fast). A second delete may only shorten the grace.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .errors import conflict, resource_info
from .kinds import KINDS
from .objects import deep_copy, timestamp
from .scheduling import Scheduler


def _key(obj: dict) -> tuple[str, str]:
    meta = obj["metadata"]
    return meta.get("namespace", ""), meta["name"]


class DeletionMixin:
    """Part of Store: the delete verb and everything it sets in motion."""

    lock: threading.RLock
    clock: Callable[[], float]
    pod_termination_seconds: float | None
    scheduler: Scheduler
    _objects: dict[str, dict[tuple[str, str], dict]]

    def delete(self, kind: str, name: str, namespace: str | None = None, grace_period_seconds: int | None = None,
               preconditions: dict | None = None, propagation_policy: str | None = None) -> dict:
        """Delete; pods terminate gracefully (deletionTimestamp, then gone after the grace period)."""
        info = resource_info(kind)
        with self._op():
            old = self._raw(kind, name, self._ns(info, namespace))
            self._check_preconditions(kind, old, preconditions)
            if old["metadata"].get("finalizers"):
                if old["metadata"].get("deletionTimestamp"):
                    return deep_copy(old)
                new = deep_copy(old)
                new["metadata"]["deletionTimestamp"] = timestamp(self.clock())
                new["metadata"]["deletionGracePeriodSeconds"] = 0
                return deep_copy(self._commit(kind, "MODIFIED", new, old))
            if kind == "pods":
                return self._delete_pod(old, grace_period_seconds)
            if kind == "namespaces":
                for other, table in self._objects.items():
                    if KINDS[other].namespaced:
                        for key in [k for k in table if k[0] == name]:
                            self._remove(other, table[key])
            return deep_copy(self._remove(kind, old, propagation_policy))

    def _check_preconditions(self, kind: str, obj: dict, pre: dict | None) -> None:
        if not pre:
            return
        meta, name = obj["metadata"], obj["metadata"]["name"]
        if pre.get("uid") and pre["uid"] != meta["uid"]:
            raise conflict(kind, name, f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {meta['uid']}")
        if pre.get("resourceVersion") and pre["resourceVersion"] != meta["resourceVersion"]:
            raise conflict(kind, name, f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, "
                                       f"ResourceVersion in object meta: {meta['resourceVersion']}")

    def _delete_pod(self, old: dict, grace: int | None) -> dict:
        spec, status = old.get("spec") or {}, old.get("status") or {}
        if grace is None:
            grace = int(spec.get("terminationGracePeriodSeconds", 30))
        elif grace < 0:
            grace = 1
        if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
            grace = 0
        meta = old["metadata"]
        current = meta.get("deletionGracePeriodSeconds")
        if meta.get("deletionTimestamp") and current is not None and grace >= current:
            return deep_copy(old)  # only a shorter grace period may be given
        if grace == 0:
            return deep_copy(self._remove("pods", old))
        new = deep_copy(old)
        now = self.clock()
        new["metadata"]["deletionTimestamp"] = timestamp(now + grace)
        new["metadata"]["deletionGracePeriodSeconds"] = grace
        self._commit("pods", "MODIFIED", new, old)
        uid, key = meta["uid"], _key(new)
        delay = grace if self.pod_termination_seconds is None else min(grace, self.pod_termination_seconds)
        self.scheduler.call_later(delay, lambda: self._finish_pod_deletion(key, uid))
        return deep_copy(new)

    def _finish_pod_deletion(self, key: tuple[str, str], uid: str) -> None:
        with self._op():
            pod = self._objects["pods"].get(key)
            if pod is None or pod["metadata"]["uid"] != uid or not pod["metadata"].get("deletionTimestamp"):
                return
            if pod["metadata"].get("finalizers"):
                return
            self._remove("pods", pod)

    def _remove(self, kind: str, obj: dict, propagation_policy: str | None = None) -> dict:
        gone = deep_copy(obj)
        self._commit(kind, "DELETED", gone, obj)
        self._collect_dependents(obj["metadata"]["uid"], obj["metadata"].get("namespace", ""), propagation_policy)
        return gone

    def _collect_dependents(self, owner_uid: str, namespace: str, policy: str | None) -> None:
        """The garbage collector, immediately: dependents of a deleted owner go too (or are orphaned)."""
        for kind, table in self._objects.items():
            for obj in list(table.values()):
                refs = obj["metadata"].get("ownerReferences") or []
                if not any(r.get("uid") == owner_uid for r in refs):
                    continue
                if KINDS[kind].namespaced and obj["metadata"].get("namespace") != namespace and namespace:
                    continue
                remaining = [r for r in refs if r.get("uid") != owner_uid]
                if policy == "Orphan" or remaining:
                    new = deep_copy(obj)
                    new["metadata"]["ownerReferences"] = remaining
                    if not remaining:
                        new["metadata"].pop("ownerReferences")
                    self._commit(kind, "MODIFIED", new, obj)
                elif kind == "pods":
                    self._delete_pod(obj, None)
                else:
                    self._remove(kind, obj)
