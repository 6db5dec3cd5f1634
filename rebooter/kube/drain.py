"""kubectl drain's pod rules (k8s.io/kubectl/pkg/drain/filters.go), as pure functions.

Which pods a drain removes is decided exactly as ``kubectl drain`` decides it, so an operator
who knows kubectl knows what this app will do, and the messages are kubectl's own. Filters run
in kubectl's order; the first one that says "do not delete" (skip or error) ends the chain.
If any pod ends in an error, nothing at all is evicted (kubectl's rule): the orchestrator gets
the errors and the node is left as it was, apart from the cordon.

Two deliberate differences from kubectl, both documented where they happen:

* one extra filter, first in the chain: pods the app itself runs on the node (probe and
  reboot pods, recognised by ``contract.ROLE_LABEL``) are never evicted;
* every warning raised along the chain is reported (kubectl keeps only the last filter's
  status, which drops "deleting Pods with local storage" for controlled pods: a TODO upstream).

Pods are the API's JSON (dicts with camelCase keys), as listed from the server.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from rebooter import contract
from rebooter.kube.kubeapi import parse_time, pod_id

# kubectl's messages (pkg/drain/filters.go); errors are reported as "cannot delete <fatal>".
DAEMONSET_FATAL = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
DAEMONSET_WARNING = "ignoring DaemonSet-managed Pods"
LOCAL_STORAGE_FATAL = "Pods with local storage (use --delete-emptydir-data to override)"
LOCAL_STORAGE_WARNING = "deleting Pods with local storage"
UNMANAGED_FATAL = "Pods that declare no controller (use --force to override)"
UNMANAGED_WARNING = "deleting Pods that declare no controller"
MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"

Action = Literal["keep", "skip", "warn", "error"]
_SELECTOR = re.compile(r"^[A-Za-z0-9_./=!,() -]*$")


@dataclass(frozen=True)
class FilterResult:
    """One filter's verdict on one pod.

    ``keep``: this filter has no objection, go on (the pod will be removed if no later filter
    objects). ``skip``: leave the pod on the node, silently. ``warn``: report ``reason``; the
    pod is removed when ``delete`` is true (the chain goes on), left alone otherwise.
    ``error``: the pod cannot be drained; with any error, nothing is evicted.
    """

    action: Action
    reason: str = ""
    delete: bool = True

    @property
    def removes(self) -> bool:
        return self.action == "keep" or (self.action == "warn" and self.delete)


KEEP = FilterResult("keep")


def skip(reason: str) -> FilterResult:
    return FilterResult("skip", reason, delete=False)


def warn(reason: str, delete: bool) -> FilterResult:
    return FilterResult("warn", reason, delete=delete)


def error(fatal: str) -> FilterResult:
    return FilterResult("error", f"cannot delete {fatal}", delete=False)


@dataclass(frozen=True)
class DrainOptions:
    """kubectl drain's options (kured passes Force, DeleteEmptyDirData, IgnoreAllDaemonSets)."""

    grace_period_seconds: int = -1  # -1: each pod's own terminationGracePeriodSeconds
    delete_emptydir_data: bool = False
    force: bool = False
    ignore_daemonsets: bool = True  # always true here: DaemonSet pods stay on a drained node
    pod_selector: str = ""  # label selector: only matching pods are considered
    skip_wait_for_delete_timeout_seconds: int = 0  # 0: always wait for terminating pods
    disable_eviction: bool = False  # DELETE instead of the Eviction API (bypasses PDBs)

    _KEYS = {
        "grace_period_seconds": "drainGracePeriodSeconds",
        "delete_emptydir_data": "deleteEmptydirData",
        "force": "force",
        "pod_selector": "drainPodSelector",  # the setting's own key: one spelling everywhere
        "skip_wait_for_delete_timeout_seconds": "skipWaitForDeleteTimeoutSeconds",
        "disable_eviction": "disableEviction",
    }

    def __post_init__(self) -> None:
        problems = []
        for name in ("grace_period_seconds", "skip_wait_for_delete_timeout_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                problems.append(f"{self._KEYS[name]}: expected an integer, got {value!r}")
        if isinstance(self.grace_period_seconds, int) and self.grace_period_seconds < -1:
            problems.append(f"drainGracePeriodSeconds: expected -1 or more, got {self.grace_period_seconds}")
        if isinstance(self.skip_wait_for_delete_timeout_seconds, int) and self.skip_wait_for_delete_timeout_seconds < 0:
            problems.append("skipWaitForDeleteTimeoutSeconds: expected 0 or more")
        for name in ("delete_emptydir_data", "force", "ignore_daemonsets", "disable_eviction"):
            if not isinstance(getattr(self, name), bool):
                problems.append(f"{self._KEYS.get(name, name)}: expected true or false, got {getattr(self, name)!r}")
        if not isinstance(self.pod_selector, str) or not _SELECTOR.fullmatch(self.pod_selector):
            problems.append(f"drainPodSelector: expected a label selector such as 'app=web,tier!=db', got {self.pod_selector!r}")
        if problems:
            raise ValueError("invalid drain options: " + "; ".join(problems))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> DrainOptions:
        """From settings / payload keys (camelCase); unknown keys are ignored (a whole settings dict may be passed)."""
        values = values or {}
        kwargs: dict[str, Any] = {}
        for name, key in cls._KEYS.items():
            if key in values and values[key] is not None:
                value = values[key]
                if name in ("grace_period_seconds", "skip_wait_for_delete_timeout_seconds") and isinstance(value, float):
                    value = int(value) if value.is_integer() else value
                kwargs[name] = value
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        return {key: getattr(self, name) for name, key in self._KEYS.items()}


@dataclass(frozen=True)
class DrainContext:
    """What the filters may look at besides the pod: options, the clock, and the cluster.

    ``daemonset_exists(namespace, name)`` answers whether a pod's DaemonSet still exists
    (kubectl GETs it); it may raise, and the pod then gets kubectl's error with that message.
    """

    options: DrainOptions
    now: datetime
    daemonset_exists: Callable[[str, str], bool] = lambda namespace, name: True


Filter = Callable[[dict[str, Any], DrainContext], FilterResult]


def controller_of(pod: dict[str, Any]) -> dict[str, Any] | None:
    for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def is_finished(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def has_local_storage(pod: dict[str, Any]) -> bool:
    return any("emptyDir" in volume for volume in (pod.get("spec") or {}).get("volumes") or [])


def deleted_longer_than(pod: dict[str, Any], seconds: int, now: datetime) -> bool:
    """kubectl's shouldSkipPod: terminating for more than ``seconds`` (0 disables the rule)."""
    deleted = parse_time((pod.get("metadata") or {}).get("deletionTimestamp"))
    return seconds > 0 and deleted is not None and int((now - deleted).total_seconds()) > seconds


def own_pod_filter(pod: dict[str, Any], ctx: DrainContext) -> FilterResult:
    """Not in kubectl: the app's own probe and reboot pods are never evicted by its drain."""
    role = ((pod.get("metadata") or {}).get("labels") or {}).get(contract.ROLE_LABEL)
    if role in (contract.ROLE_PROBE, contract.ROLE_REBOOT):
        return skip(f"rebooter's own {role} pod")
    return KEEP


def skip_deleted_filter(pod: dict[str, Any], ctx: DrainContext) -> FilterResult:
    seconds = ctx.options.skip_wait_for_delete_timeout_seconds
    if deleted_longer_than(pod, seconds, ctx.now):
        return skip(f"DeletionTimestamp older than {seconds} seconds")
    return KEEP


def daemonset_filter(pod: dict[str, Any], ctx: DrainContext) -> FilterResult:
    ref = controller_of(pod)
    if ref is None or ref.get("kind") != "DaemonSet" or ref.get("apiVersion") != "apps/v1":
        return KEEP
    if is_finished(pod):  # any finished pod can be removed
        return KEEP
    namespace = (pod.get("metadata") or {}).get("namespace", "")
    try:
        exists = ctx.daemonset_exists(namespace, ref.get("name", ""))
    except Exception as exc:  # kubectl: any other lookup error is the pod's error
        return FilterResult("error", f"cannot delete {exc}", delete=False)
    if not exists:
        not_found = f'daemonsets.apps "{ref.get("name", "")}" not found'
        return warn(not_found, delete=True) if ctx.options.force else error(not_found)
    if not ctx.options.ignore_daemonsets:
        return error(DAEMONSET_FATAL)
    return warn(DAEMONSET_WARNING, delete=False)


def mirror_pod_filter(pod: dict[str, Any], ctx: DrainContext) -> FilterResult:
    if MIRROR_POD_ANNOTATION in ((pod.get("metadata") or {}).get("annotations") or {}):
        return skip("mirror pod (static pod managed by the kubelet)")
    return KEEP


def local_storage_filter(pod: dict[str, Any], ctx: DrainContext) -> FilterResult:
    if not has_local_storage(pod) or is_finished(pod):
        return KEEP
    if not ctx.options.delete_emptydir_data:
        return error(LOCAL_STORAGE_FATAL)
    return warn(LOCAL_STORAGE_WARNING, delete=True)


def unreplicated_filter(pod: dict[str, Any], ctx: DrainContext) -> FilterResult:
    if is_finished(pod) or controller_of(pod) is not None:
        return KEEP
    if ctx.options.force:
        return warn(UNMANAGED_WARNING, delete=True)
    return error(UNMANAGED_FATAL)


FILTERS: tuple[Filter, ...] = (
    own_pod_filter,
    skip_deleted_filter,
    daemonset_filter,
    mirror_pod_filter,
    local_storage_filter,
    unreplicated_filter,
)


@dataclass(frozen=True)
class PodVerdict:
    pod: str
    removes: bool
    final: FilterResult
    warnings: tuple[str, ...] = ()


def judge(pod: dict[str, Any], ctx: DrainContext, filters: tuple[Filter, ...] = FILTERS) -> PodVerdict:
    """Run the chain on one pod; the first filter that does not remove the pod decides."""
    warnings: list[str] = []
    final = KEEP
    for check in filters:
        final = check(pod, ctx)
        if final.action == "warn":
            warnings.append(final.reason)
        if not final.removes:
            break
    return PodVerdict(pod_id(pod), final.removes, final, tuple(warnings))


@dataclass
class DrainPlan:
    """Which pods go, which stay and why, kubectl-style warnings and errors.

    ``warnings`` and ``errors`` are grouped by message like kubectl prints them
    (``"<message>: ns/a, ns/b"``, errors prefixed "cannot delete"). With any error
    ``remove`` is empty: nothing is evicted.
    """

    remove: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    verdicts: list[PodVerdict] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "remove": [pod_id(p) for p in self.remove],
            "skipped": list(self.skipped),
            "warnings": list(self.warnings),
            "errors": list(self.errors),
        }


def _grouped(pairs: list[tuple[str, str]]) -> list[str]:
    groups: dict[str, list[str]] = {}
    for message, pod in pairs:
        groups.setdefault(message, []).append(pod)
    return [f"{message}: {', '.join(pods)}" for message, pods in groups.items()]


def plan_drain(
    pods: list[dict[str, Any]],
    options: DrainOptions,
    now: datetime,
    daemonset_exists: Callable[[str, str], bool] | None = None,
) -> DrainPlan:
    """Apply the filters to every pod of the node (kubectl's GetPodsForDeletion)."""
    ctx = DrainContext(options, now, daemonset_exists or (lambda namespace, name: True))
    plan = DrainPlan()
    warnings: list[tuple[str, str]] = []
    errors: list[tuple[str, str]] = []
    for pod in pods:
        verdict = judge(pod, ctx)
        plan.verdicts.append(verdict)
        warnings.extend((message, verdict.pod) for message in verdict.warnings)
        if verdict.removes:
            plan.remove.append(pod)
        elif verdict.final.action == "error":
            errors.append((verdict.final.reason, verdict.pod))
        else:
            plan.skipped.append({"pod": verdict.pod, "reason": verdict.final.reason})
    plan.warnings = _grouped(warnings)
    plan.errors = _grouped(errors)
    if plan.errors:
        plan.remove = []
    return plan

