"""The disruption controller (PDB status) and the policy/v1 Eviction subresource.

Both follow upstream closely: pkg/controller/disruption (getExpectedPodCount,
countHealthyPods, buildDisruptedPodMap, failSafe) and
pkg/registry/core/pod/storage/eviction.go (canIgnorePDB, the several-PDBs 500, the
unhealthy-pod policies, checkAndDecrement and its 429 with a DisruptionBudget cause).
The controller runs synchronously inside the store whenever pods, PDBs or workload
controllers change, so a PDB's status is never stale when an eviction reads it.

Functions here are called by the Store with its lock held.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

from .errors import ApiError, bad_request, internal_error, too_many_requests
from .objects import controller_ref, deep_copy, is_pod_ready, parse_timestamp, timestamp
from .selectors import labels_match, selector_from_object


class StoreView(Protocol):
    """What the disruption controller and the eviction use of the store (kube.store.Store, which
    calls them with its lock held): its tables, its clock, status writes, delayed re-checks and
    the delete verb. A protocol, so this module sits below the store instead of importing it."""

    clock: Callable[[], float]

    def _table(self, kind: str) -> dict[tuple[str, str], dict]: ...

    def _raw(self, kind: str, name: str, namespace: str | None) -> dict: ...

    def _write_status(self, kind: str, old: dict, status: dict) -> dict: ...

    def _schedule_resync(self, namespace: str, delay: float) -> None: ...

    def delete(self, kind: str, name: str, namespace: str | None = None, grace_period_seconds: int | None = None,
               preconditions: dict | None = None, propagation_policy: str | None = None) -> dict: ...

DELETION_TIMEOUT = 120.0  # seconds an evicted pod stays out of currentHealthy while not yet deleted
MAX_DISRUPTED_PODS = 2000
SUCCESS = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


class _SyncError(Exception):
    pass


def _scaled(value: int | str, total: int) -> int:
    """intstr.GetScaledValueFromIntOrPercent(value, total, roundUp=true)."""
    if isinstance(value, bool):
        raise _SyncError(f"invalid value for IntOrString: invalid type: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        return math.ceil(int(value[:-1]) * total / 100)
    raise _SyncError(f"invalid value for IntOrString: invalid type: string is not a percentage: {value!r}")


def _controller_scale(store: StoreView, namespace: str, ref: dict) -> tuple[str, int] | None:
    """The finders: ReplicaSet (or its Deployment), StatefulSet; None when no controller is found."""
    kind, name, uid = ref.get("kind"), ref.get("name", ""), ref.get("uid")
    if kind == "ReplicaSet":
        rs = store._table("replicasets").get((namespace, name))
        if rs is None or rs["metadata"]["uid"] != uid:
            return None
        owner = controller_ref(rs)
        if owner and owner.get("kind") == "Deployment":
            dep = store._table("deployments").get((namespace, owner.get("name", "")))
            if dep is None or dep["metadata"]["uid"] != owner.get("uid"):
                return None
            return dep["metadata"]["uid"], int((dep.get("spec") or {}).get("replicas", 1))
        return uid, int((rs.get("spec") or {}).get("replicas", 1))
    if kind == "StatefulSet":
        sts = store._table("statefulsets").get((namespace, name))
        if sts is None or sts["metadata"]["uid"] != uid:
            return None
        return uid, int((sts.get("spec") or {}).get("replicas", 1))
    return None


def _expected_scale(store: StoreView, namespace: str, pods: list[dict]) -> int:
    scales: dict[str, int] = {}
    for pod in pods:
        ref = controller_ref(pod)
        if ref is None:
            raise _SyncError(f'found no controller ref for pod "{pod["metadata"]["name"]}"')
        if ref.get("uid") in scales:
            continue
        found = _controller_scale(store, namespace, ref)
        if found is None:
            raise _SyncError(f'found no controllers for pod "{pod["metadata"]["name"]}"')
        scales[found[0]] = found[1]
    return sum(scales.values())


def _expected_and_desired(store: StoreView, pdb: dict, pods: list[dict]) -> tuple[int, int]:
    spec = pdb.get("spec") or {}
    ns = pdb["metadata"]["namespace"]
    if spec.get("maxUnavailable") is not None:
        expected = _expected_scale(store, ns, pods)
        return expected, max(0, expected - _scaled(spec["maxUnavailable"], expected))
    if spec.get("minAvailable") is not None:
        value = spec["minAvailable"]
        if isinstance(value, int) and not isinstance(value, bool):
            return len(pods), value
        expected = _expected_scale(store, ns, pods)
        return expected, _scaled(value, expected)
    return 0, 0


def _condition(old: dict, generation: int, ok: bool, reason: str, message: str, now: float) -> dict:
    status = "True" if ok else "False"
    prior = next((c for c in old.get("conditions") or [] if c.get("type") == "DisruptionAllowed"), None)
    since = prior["lastTransitionTime"] if prior and prior.get("status") == status else timestamp(now)
    return {"type": "DisruptionAllowed", "status": status, "observedGeneration": generation,
            "lastTransitionTime": since, "reason": reason, "message": message}


def matching_pods(pdb: dict, pods: list[dict]) -> list[dict]:
    selector = selector_from_object((pdb.get("spec") or {}).get("selector"))
    if selector is None:  # policy/v1: a nil selector matches nothing, an empty one everything
        return []
    return [p for p in pods if labels_match(selector, p["metadata"].get("labels"))]


def compute_status(store: StoreView, pdb: dict, pods: list[dict], now: float) -> tuple[dict, float | None]:
    """The status the disruption controller would write, and when it must look again (disruptedPods expiry)."""
    old = pdb.get("status") or {}
    generation = int(pdb["metadata"].get("generation", 1))
    matching = matching_pods(pdb, pods)
    try:
        expected, desired = _expected_and_desired(store, pdb, matching)
    except _SyncError as err:
        status = deep_copy(old)
        status.update(disruptionsAllowed=0, observedGeneration=generation,
                      conditions=[_condition(old, generation, False, "SyncFailed", str(err), now)])
        return status, None
    by_name = {p["metadata"]["name"]: p for p in matching}
    disrupted: dict[str, str] = {}
    recheck: float | None = None
    for name, when in (old.get("disruptedPods") or {}).items():
        pod = by_name.get(name)
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            continue
        expiry = parse_timestamp(when) + DELETION_TIMEOUT
        if expiry < now:
            continue
        disrupted[name] = when
        recheck = expiry if recheck is None else min(recheck, expiry)
    healthy = sum(1 for p in matching
                  if not p["metadata"].get("deletionTimestamp") and p["metadata"]["name"] not in disrupted
                  and is_pod_ready(p))
    allowed = healthy - desired
    if expected <= 0 or allowed <= 0:
        allowed = 0
    status: dict = {}
    if disrupted:
        status["disruptedPods"] = disrupted
    status.update(disruptionsAllowed=allowed, currentHealthy=healthy, desiredHealthy=desired, expectedPods=expected,
                  observedGeneration=generation)
    reason = "SufficientPods" if allowed > 0 else "InsufficientPods"
    status["conditions"] = [_condition(old, generation, allowed > 0, reason, "", now)]
    return status, recheck


def sync_namespace(store: StoreView, namespace: str) -> None:
    """Bring every PDB of the namespace up to date (writes only when the status changes)."""
    pdbs = [o for (ns, _), o in store._table("poddisruptionbudgets").items() if ns == namespace]
    if not pdbs:
        return
    pods = [o for (ns, _), o in store._table("pods").items() if ns == namespace]
    now = store.clock()
    for pdb in pdbs:
        status, recheck = compute_status(store, pdb, pods, now)
        store._write_status("poddisruptionbudgets", pdb, status)
        if recheck is not None:
            store._schedule_resync(namespace, recheck - now + 0.5)


# ---- eviction ---------------------------------------------------------------------------------


def _can_ignore_pdb(pod: dict) -> bool:
    phase = (pod.get("status") or {}).get("phase")
    return phase in ("Succeeded", "Failed", "Pending") or bool(pod["metadata"].get("deletionTimestamp"))


def _budget_error(pdb: dict, message: str) -> ApiError:
    return too_many_requests("Cannot evict pod as it would violate the pod's disruption budget.",
                             [{"reason": "DisruptionBudget", "message": message}])


def _forbidden(pdb: dict, why: str) -> ApiError:
    name = pdb["metadata"]["name"]
    return ApiError(403, "Forbidden", f'poddisruptionbudgets.policy "{name}" is forbidden: {why}',
                    {"name": name, "group": "policy", "kind": "poddisruptionbudgets"})


def _check_and_decrement(store: StoreView, pdb: dict, pod_name: str, dry_run: bool) -> None:
    status = pdb.get("status") or {}
    name = pdb["metadata"]["name"]
    if int(status.get("observedGeneration", 0)) < int(pdb["metadata"].get("generation", 1)):
        raise _budget_error(pdb, f"The disruption budget {name} is still being processed by the server.")
    allowed = int(status.get("disruptionsAllowed", 0))
    if allowed < 0:
        raise _forbidden(pdb, "pdb disruptions allowed is negative")
    if len(status.get("disruptedPods") or {}) > MAX_DISRUPTED_PODS:
        raise _forbidden(pdb, "DisruptedPods map too big - too many evictions not confirmed by PDB controller")
    if allowed == 0:
        raise _budget_error(pdb, f"The disruption budget {name} needs {int(status.get('desiredHealthy', 0))} "
                                 f"healthy pods and has {int(status.get('currentHealthy', 0))} currently")
    if dry_run:
        return
    new = deep_copy(status)
    new["disruptionsAllowed"] = allowed - 1
    now = store.clock()
    if allowed - 1 == 0:
        generation = int(pdb["metadata"].get("generation", 1))
        new["conditions"] = [_condition(status, generation, False, "InsufficientPods", "", now)]
    new.setdefault("disruptedPods", {})[pod_name] = timestamp(now)
    store._write_status("poddisruptionbudgets", pdb, new)


def evict(store: StoreView, name: str, namespace: str, eviction: dict | None) -> dict:
    """POST pods/{name}/eviction: delete the pod if its PodDisruptionBudget allows it."""
    eviction = eviction or {}
    meta_name = (eviction.get("metadata") or {}).get("name")
    if meta_name and meta_name != name:
        raise bad_request("name in URL does not match name in Eviction object")
    pod = store._raw("pods", name, namespace)
    options = eviction.get("deleteOptions") or {}
    grace = options.get("gracePeriodSeconds")
    preconditions = options.get("preconditions")
    dry_run = bool(options.get("dryRun"))
    if not _can_ignore_pdb(pod):
        pdbs = [p for (ns, _), p in sorted(store._table("poddisruptionbudgets").items())
                if ns == namespace and matching_pods(p, [pod])]
        if len(pdbs) > 1:
            raise internal_error("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.")
        if pdbs:
            pdb = pdbs[0]
            status = pdb.get("status") or {}
            ready = is_pod_ready(pod)
            policy = (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy")
            unhealthy_ok = not ready and (
                policy == "AlwaysAllow"
                or (int(status.get("currentHealthy", 0)) >= int(status.get("desiredHealthy", 0))
                    and int(status.get("desiredHealthy", 0)) > 0))
            if not unhealthy_ok:
                _check_and_decrement(store, pdb, name, dry_run)
    if not dry_run:
        store.delete("pods", name, namespace, grace, preconditions)
    return deep_copy(SUCCESS)
