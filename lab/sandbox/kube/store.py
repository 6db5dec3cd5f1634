"""The in-memory object store behind the Kubernetes API emulator.

It owns every object, the resource version counter, the watch history and the disruption
controller (PDB status), and applies the API server's rules: uid / resourceVersion /
creationTimestamp / generation, optimistic concurrency, the status subresource split,
graceful pod deletion, finalizers, background garbage collection of dependents, and the
Eviction subresource. The HTTP server (server.py) and the cluster simulation both call it.

Threading: one RLock guards everything. Observers registered with :meth:`Store.subscribe` are
called synchronously, in the thread that made the change, still holding the lock, in the order
the changes happened (a change an observer makes is delivered after the current event has
reached every observer). Observers must not block on other threads that use the store.

Objects handed out are copies; the store never mutates a stored dict in place (each write
stores a new dict), so snapshots in the watch history stay valid.

Every object written must parse with the official client's model for its kind (validation.py),
as anything a real server returns does; otherwise the write is a 422 Invalid.

Namespaced objects need their namespace to exist (404 otherwise, as with the NamespaceLifecycle
admission plugin); ``default``, ``kube-system``, ``kube-public`` and ``kube-node-lease`` exist
from the start. In-process ``create`` keeps a given ``status`` (scenario set-up may create a
Running pod directly); over HTTP, create resets status the way the real registry does.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from . import disruption
from .deletion import DeletionMixin
from .errors import ApiError, already_exists, bad_request, conflict, invalid, not_found, resource_info
from .fields import check as check_fields
from .kinds import KINDS, KindInfo
from .objects import apply_create_defaults, deep_copy, generate_name, name_errors, timestamp
from .observers import ObserverMixin, WatchEvent
from .patching import APPLY, apply_patch
from .scheduling import Scheduler, ThreadScheduler
from .selectors import fields_match, labels_match, parse_field_selector, parse_label_selector
from .validation import validate

__all__ = ["ApiError", "Store", "WatchEvent"]

log = logging.getLogger(__name__)

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
HISTORY_SIZE = 50_000
# Kinds whose changes can change a PodDisruptionBudget's status.
_DISRUPTION_KINDS = {"pods", "poddisruptionbudgets", "replicasets", "statefulsets", "deployments"}


def _key(obj: dict) -> tuple[str, str]:
    meta = obj["metadata"]
    return meta.get("namespace", ""), meta["name"]


def _same(a: dict, b: dict) -> bool:
    """Equal apart from the resourceVersion (an update that changes nothing is a no-op upstream)."""
    ma, mb = dict(a.get("metadata") or {}), dict(b.get("metadata") or {})
    ma.pop("resourceVersion", None)
    mb.pop("resourceVersion", None)
    return ma == mb and {k: v for k, v in a.items() if k != "metadata"} == {k: v for k, v in b.items() if k != "metadata"}


class Store(ObserverMixin, DeletionMixin):
    """All cluster objects; see the module docstring for the rules it enforces."""

    def __init__(self, scheduler: Scheduler | None = None):
        self.lock = threading.RLock()
        self.scheduler: Scheduler = scheduler or ThreadScheduler()
        self.resource_version = 0
        # Removal delay for gracefully deleted pods; None means the grace period itself.
        self.pod_termination_seconds: float | None = None
        self.clock: Callable[[], float] = time.time
        self._objects: dict[str, dict[tuple[str, str], dict]] = {k: {} for k in KINDS}
        self._history: deque[WatchEvent] = deque(maxlen=HISTORY_SIZE)
        self._subscribers: list[Callable[[str, str, dict], None]] = []
        self._watchers: list[Callable[[WatchEvent], None]] = []
        self._pending: deque[WatchEvent] = deque()
        self._depth = 0
        self._dispatching = False
        self._dirty_namespaces: set[str] = set()
        self._logs: dict[tuple[str, str], str] = {}
        self._rechecks: set[tuple[str, int]] = set()
        for ns in DEFAULT_NAMESPACES:
            self.create("namespaces", {"metadata": {"name": ns}})

    # ---- plumbing ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _op(self) -> Iterator[None]:
        """Hold the lock; when the outermost operation ends, sync PDBs and deliver events."""
        with self.lock:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._settle()

    def _settle(self) -> None:
        self._depth += 1
        try:
            for _ in range(10):
                if not self._dirty_namespaces:
                    break
                dirty, self._dirty_namespaces = self._dirty_namespaces, set()
                for ns in sorted(dirty):
                    disruption.sync_namespace(self, ns)
        finally:
            self._depth -= 1
        self._dispatch()

    def _commit(self, kind: str, event_type: str, obj: dict, old: dict | None) -> dict:
        """Record a new version of obj (already a private dict) and queue its event."""
        self.resource_version += 1
        obj["metadata"]["resourceVersion"] = str(self.resource_version)
        table = self._objects[kind]
        if event_type == "DELETED":
            table.pop(_key(obj), None)
            if kind == "pods":
                self._logs.pop(_key(obj), None)
        else:
            table[_key(obj)] = obj
        event = WatchEvent(self.resource_version, event_type, kind, obj, old)
        self._history.append(event)
        self._pending.append(event)
        if kind in _DISRUPTION_KINDS:
            self._dirty_namespaces.add(obj["metadata"].get("namespace", ""))
        return obj

    def _raw(self, kind: str, name: str, namespace: str | None) -> dict:
        info = resource_info(kind)
        obj = self._objects[kind].get((self._ns(info, namespace), name))
        if obj is None:
            raise not_found(kind, name)
        return obj

    def _ns(self, info: KindInfo, namespace: str | None) -> str:
        if not info.namespaced:
            return ""
        return namespace or "default"

    # ---- verbs ------------------------------------------------------------------------------

    def create(self, kind: str, obj: dict, namespace: str | None = None, keep_status: bool = True,
               field_validation: str | None = None, warnings: list[str] | None = None) -> dict:
        """Create; sets uid, resourceVersion, creationTimestamp, namespace, generation; 409 AlreadyExists.

        Unknown fields are dropped (reported in warnings; 400 with field_validation="Strict")."""
        info = resource_info(kind)
        with self._op():
            obj = deep_copy(obj)
            meta = obj.setdefault("metadata", {})
            if not isinstance(meta, dict):
                raise bad_request("metadata must be an object")
            if info.namespaced:
                if namespace and meta.get("namespace") and meta["namespace"] != namespace:
                    raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
                ns = namespace or meta.get("namespace") or "default"
                if ("", ns) not in self._objects["namespaces"]:
                    raise not_found("namespaces", ns)
                meta["namespace"] = ns
            else:
                meta.pop("namespace", None)
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = generate_name(meta["generateName"])
                while _key(obj) in self._objects[kind]:
                    meta["name"] = generate_name(meta["generateName"])
            name = meta.get("name") or ""
            if not name:
                raise invalid(kind, "", [("metadata.name", "Required value: name or generateName is required")])
            errors = name_errors(name, kind)
            if errors:
                raise invalid(kind, name, [("metadata.name", e) for e in errors])
            if meta.get("resourceVersion"):
                raise ApiError(500, "InternalError", "resourceVersion should not be set on objects to be created")
            if _key(obj) in self._objects[kind]:
                raise already_exists(kind, name)
            if kind in ("pods", "poddisruptionbudgets", "daemonsets", "replicasets", "statefulsets", "deployments"):
                meta["generation"] = 1
            if not keep_status and info.has_status and kind != "nodes":
                obj.pop("status", None)
            for field in ("deletionTimestamp", "deletionGracePeriodSeconds", "uid", "creationTimestamp", "selfLink"):
                meta.pop(field, None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = timestamp(self.clock())
            obj["apiVersion"], obj["kind"] = info.api_version, info.kind
            apply_create_defaults(kind, obj)
            self._check_fields(kind, obj, field_validation, warnings)
            validate(kind, obj)
            self._commit(kind, "ADDED", obj, None)
            return deep_copy(obj)

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict:
        with self.lock:
            return deep_copy(self._raw(kind, name, namespace))

    def list_raw(self, kind: str, namespace: str | None = None, label_selector: str | None = None,
                 field_selector: str | None = None) -> tuple[list[dict], int]:
        """Matching stored objects (shared snapshots: never mutate them) sorted by namespace/name, and the list RV."""
        info = resource_info(kind)
        labels = parse_label_selector(label_selector)
        fields = parse_field_selector(field_selector, kind, info.namespaced)
        with self.lock:
            table = self._objects[kind]
            keys = sorted(k for k in table if not info.namespaced or namespace is None or k[0] == namespace)
            out = []
            for k in keys:
                obj = table[k]
                if labels and not labels_match(labels, obj["metadata"].get("labels")):
                    continue
                if fields and not fields_match(fields, kind, obj):
                    continue
                out.append(obj)
            return out, self.resource_version

    def list(self, kind: str, namespace: str | None = None, label_selector: str | None = None,
             field_selector: str | None = None) -> list[dict]:
        items, _ = self.list_raw(kind, namespace, label_selector, field_selector)
        return [deep_copy(o) for o in items]

    def replace(self, kind: str, obj: dict, namespace: str | None = None, subresource: str | None = None,
                field_validation: str | None = None, warnings: list[str] | None = None) -> dict:
        """PUT semantics: 409 Conflict on a stale resourceVersion; status only through subresource="status"."""
        info = resource_info(kind)
        with self._op():
            name = (obj.get("metadata") or {}).get("name") or ""
            old = self._raw(kind, name, self._ns(info, namespace or (obj.get("metadata") or {}).get("namespace")))
            rv = (obj.get("metadata") or {}).get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise conflict(kind, name)
            return self._update(kind, old, deep_copy(obj), subresource, field_validation, warnings)

    def patch(self, kind: str, name: str, patch: Any, patch_type: str, namespace: str | None = None,
              subresource: str | None = None, field_validation: str | None = None,
              warnings: list[str] | None = None) -> dict:
        """PATCH in any of the three formats (plus apply-patch as a strategic merge without field ownership)."""
        info = resource_info(kind)
        with self._op():
            ns = self._ns(info, namespace)
            if patch_type == APPLY and (ns, name) not in self._objects[kind] and subresource is None:
                body = deep_copy(patch)
                body.setdefault("metadata", {})["name"] = name
                return self.create(kind, body, ns or None, False, field_validation, warnings)
            old = self._raw(kind, name, ns)
            patched = apply_patch(kind, deep_copy(old), patch, patch_type)
            rv = (patched.get("metadata") or {}).get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise conflict(kind, name)
            return self._update(kind, old, patched, subresource, field_validation, warnings)

    def _check_fields(self, kind: str, obj: dict, directive: str | None, warnings: list[str] | None) -> None:
        sink: list[str] = [] if warnings is None else warnings
        check_fields(kind, obj, directive, sink)
        if warnings is None and sink:
            log.warning("%s %s: dropped %s", kind, obj["metadata"].get("name"), ", ".join(sink))

    def _update(self, kind: str, old: dict, new: dict, subresource: str | None,
                field_validation: str | None = None, warnings: list[str] | None = None) -> dict:
        info = KINDS[kind]
        if subresource not in (None, "status"):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if subresource == "status":
            if not info.has_status:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            status = new.get("status")
            new = deep_copy(old)
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status
        else:
            meta = new.setdefault("metadata", {})
            if not isinstance(meta, dict):
                raise bad_request("metadata must be an object")
            if meta.get("name") != old["metadata"]["name"]:
                raise bad_request(f"the name of the object ({meta.get('name')}) does not match the name on the URL ({old['metadata']['name']})")
            for field in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                          "namespace", "generation"):
                if field in old["metadata"]:
                    meta[field] = old["metadata"][field]
                else:
                    meta.pop(field, None)
            if info.has_status:
                if "status" in old:
                    new["status"] = deep_copy(old["status"])
                else:
                    new.pop("status", None)
            if "generation" in meta and {k: v for k, v in new.items() if k not in ("metadata", "status")} != \
                    {k: v for k, v in old.items() if k not in ("metadata", "status")}:
                meta["generation"] = int(meta["generation"]) + 1
        new["apiVersion"], new["kind"] = info.api_version, info.kind
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        self._check_fields(kind, new, field_validation, warnings)
        if _same(old, new):
            return deep_copy(old)
        validate(kind, new)
        meta = new["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers") and old["metadata"].get("finalizers"):
            return deep_copy(self._remove(kind, new))
        return deep_copy(self._commit(kind, "MODIFIED", new, old))

    # ---- eviction, logs, observers ----------------------------------------------------------

    def evict(self, name: str, namespace: str, eviction: dict) -> dict:
        """The policy/v1 Eviction subresource; returns the Success Status or raises ApiError (404/429/500)."""
        with self._op():
            return disruption.evict(self, name, namespace, eviction)

    def set_pod_log(self, namespace: str, name: str, text: str) -> None:
        with self.lock:
            self._logs[(namespace, name)] = text

    def pod_log(self, namespace: str, name: str) -> str:
        with self.lock:
            self._raw("pods", name, namespace)
            return self._logs.get((namespace, name), "")

    # ---- used by disruption.py --------------------------------------------------------------

    def _write_status(self, kind: str, old: dict, status: dict) -> dict:
        new = deep_copy(old)
        new["status"] = status
        if _same(old, new):
            return old
        return self._commit(kind, "MODIFIED", new, old)

    def resync_disruption(self, namespace: str) -> None:
        """Recompute the PDBs of a namespace (the controller's periodic re-check)."""
        with self._op():
            self._dirty_namespaces.add(namespace)

    def _schedule_resync(self, namespace: str, delay: float) -> None:
        key = (namespace, int(self.clock() + delay))
        if key in self._rechecks:
            return
        self._rechecks.add(key)

        def run() -> None:
            self._rechecks.discard(key)
            self.resync_disruption(namespace)

        self.scheduler.call_later(delay, run)

    def _table(self, kind: str) -> dict[tuple[str, str], dict]:
        return self._objects[kind]
