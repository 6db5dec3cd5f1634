"""kubectl drain's filters, one by one, with kubectl's own messages (pure, no cluster)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rebooter import contract
from rebooter.kube import drain
from rebooter.kube.drain import DrainContext, DrainOptions, FilterResult, judge, plan_drain

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def pod(name="p", namespace="default", owner=None, phase="Running", empty_dir=False, mirror=False,
        deleted_ago=None, labels=None):
    meta = {"name": name, "namespace": namespace, "uid": f"uid-{namespace}-{name}"}
    if owner:
        kind, owner_name = owner
        api_version = "apps/v1" if kind in ("DaemonSet", "ReplicaSet", "StatefulSet") else "batch/v1"
        meta["ownerReferences"] = [{"apiVersion": api_version, "kind": kind, "name": owner_name, "controller": True}]
    if mirror:
        meta["annotations"] = {drain.MIRROR_POD_ANNOTATION: "hash"}
    if deleted_ago is not None:
        meta["deletionTimestamp"] = (NOW - timedelta(seconds=deleted_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    if labels:
        meta["labels"] = labels
    volumes = [{"name": "scratch", "emptyDir": {}}] if empty_dir else [{"name": "cfg", "configMap": {"name": "c"}}]
    return {"metadata": meta, "spec": {"nodeName": "n1", "volumes": volumes}, "status": {"phase": phase}}


def ctx(daemonset_exists=lambda ns, name: True, **options):
    return DrainContext(DrainOptions(**options), NOW, daemonset_exists)


# -- kubectl's strings ---------------------------------------------------------------------

def test_kubectl_strings_are_verbatim():
    assert drain.DAEMONSET_FATAL == "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
    assert drain.DAEMONSET_WARNING == "ignoring DaemonSet-managed Pods"
    assert drain.LOCAL_STORAGE_FATAL == "Pods with local storage (use --delete-emptydir-data to override)"
    assert drain.LOCAL_STORAGE_WARNING == "deleting Pods with local storage"
    assert drain.UNMANAGED_FATAL == "Pods that declare no controller (use --force to override)"
    assert drain.UNMANAGED_WARNING == "deleting Pods that declare no controller"


# -- skipDeletedFilter ---------------------------------------------------------------------

def test_skip_deleted_only_past_the_timeout():
    old = pod(deleted_ago=120, owner=("ReplicaSet", "rs"))
    assert drain.skip_deleted_filter(old, ctx(skip_wait_for_delete_timeout_seconds=60)).action == "skip"
    assert drain.skip_deleted_filter(old, ctx(skip_wait_for_delete_timeout_seconds=0)) == drain.KEEP
    fresh = pod(deleted_ago=30, owner=("ReplicaSet", "rs"))
    assert drain.skip_deleted_filter(fresh, ctx(skip_wait_for_delete_timeout_seconds=60)) == drain.KEEP
    assert drain.skip_deleted_filter(pod(), ctx(skip_wait_for_delete_timeout_seconds=60)) == drain.KEEP


def test_skip_deleted_uses_whole_seconds_strictly_greater():
    # kubectl: int(now - deletionTimestamp) > SkipWaitForDeleteTimeoutSeconds
    assert drain.skip_deleted_filter(pod(deleted_ago=60), ctx(skip_wait_for_delete_timeout_seconds=60)) == drain.KEEP
    assert drain.skip_deleted_filter(pod(deleted_ago=61), ctx(skip_wait_for_delete_timeout_seconds=60)).action == "skip"


# -- daemonSetFilter -----------------------------------------------------------------------

def test_daemonset_pod_is_ignored_with_warning():
    result = drain.daemonset_filter(pod(owner=("DaemonSet", "ds")), ctx())
    assert result == FilterResult("warn", "ignoring DaemonSet-managed Pods", delete=False)
    assert not result.removes


def test_daemonset_pod_without_ignore_is_an_error():
    result = drain.daemonset_filter(pod(owner=("DaemonSet", "ds")), ctx(ignore_daemonsets=False))
    assert result.action == "error"
    assert result.reason == "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"


def test_finished_daemonset_pod_is_removed():
    assert drain.daemonset_filter(pod(owner=("DaemonSet", "ds"), phase="Succeeded"), ctx()) == drain.KEEP
    assert drain.daemonset_filter(pod(owner=("DaemonSet", "ds"), phase="Failed"), ctx()) == drain.KEEP


def test_orphaned_daemonset_pod_needs_force():
    gone = ctx(daemonset_exists=lambda ns, name: False)
    result = drain.daemonset_filter(pod(owner=("DaemonSet", "ds")), gone)
    assert result.action == "error" and result.reason == 'cannot delete daemonsets.apps "ds" not found'
    forced = ctx(daemonset_exists=lambda ns, name: False, force=True)
    result = drain.daemonset_filter(pod(owner=("DaemonSet", "ds")), forced)
    assert result == FilterResult("warn", 'daemonsets.apps "ds" not found', delete=True)


def test_daemonset_lookup_failure_is_the_pods_error():
    def broken(ns, name):
        raise RuntimeError("HTTP 403: forbidden")

    result = drain.daemonset_filter(pod(owner=("DaemonSet", "ds")), ctx(daemonset_exists=broken))
    assert result.action == "error" and "HTTP 403: forbidden" in result.reason


def test_only_apps_v1_daemonset_counts():
    p = pod(owner=("DaemonSet", "ds"))
    p["metadata"]["ownerReferences"][0]["apiVersion"] = "extensions/v1beta1"
    assert drain.daemonset_filter(p, ctx()) == drain.KEEP


# -- mirrorPodFilter -----------------------------------------------------------------------

def test_mirror_pod_is_skipped_silently():
    result = drain.mirror_pod_filter(pod(mirror=True), ctx())
    assert result.action == "skip" and not result.removes
    assert drain.mirror_pod_filter(pod(), ctx()) == drain.KEEP


# -- localStorageFilter --------------------------------------------------------------------

def test_emptydir_needs_delete_emptydir_data():
    result = drain.local_storage_filter(pod(empty_dir=True, owner=("ReplicaSet", "rs")), ctx())
    assert result.action == "error"
    assert result.reason == "cannot delete Pods with local storage (use --delete-emptydir-data to override)"
    allowed = drain.local_storage_filter(pod(empty_dir=True), ctx(delete_emptydir_data=True))
    assert allowed == FilterResult("warn", "deleting Pods with local storage", delete=True)
    assert allowed.removes


def test_finished_emptydir_pod_is_fine():
    assert drain.local_storage_filter(pod(empty_dir=True, phase="Succeeded"), ctx()) == drain.KEEP


# -- unreplicatedFilter --------------------------------------------------------------------

def test_bare_pod_needs_force():
    result = drain.unreplicated_filter(pod(), ctx())
    assert result.action == "error"
    assert result.reason == "cannot delete Pods that declare no controller (use --force to override)"
    forced = drain.unreplicated_filter(pod(), ctx(force=True))
    assert forced == FilterResult("warn", "deleting Pods that declare no controller", delete=True)


def test_finished_bare_pod_and_controlled_pod_are_fine():
    assert drain.unreplicated_filter(pod(phase="Failed"), ctx()) == drain.KEEP
    assert drain.unreplicated_filter(pod(owner=("ReplicaSet", "rs")), ctx()) == drain.KEEP
    assert drain.unreplicated_filter(pod(owner=("Job", "j")), ctx()) == drain.KEEP


def test_owner_reference_without_controller_flag_is_no_controller():
    p = pod(owner=("ReplicaSet", "rs"))
    p["metadata"]["ownerReferences"][0]["controller"] = False
    assert drain.unreplicated_filter(p, ctx()).action == "error"


# -- our own pods --------------------------------------------------------------------------

@pytest.mark.parametrize("role", [contract.ROLE_PROBE, contract.ROLE_REBOOT])
def test_rebooters_own_pods_are_never_evicted(role):
    own = pod(labels={contract.ROLE_LABEL: role})  # bare pods: kubectl would refuse without --force
    verdict = judge(own, ctx())
    assert not verdict.removes and verdict.final.action == "skip"


# -- the chain -----------------------------------------------------------------------------

def test_chain_order_first_no_wins():
    # A DaemonSet pod with emptyDir stops at the DaemonSet filter (no local-storage error).
    verdict = judge(pod(owner=("DaemonSet", "ds"), empty_dir=True), ctx())
    assert verdict.final.reason == "ignoring DaemonSet-managed Pods"
    # A mirror pod without a controller is skipped before the unreplicated filter errors.
    assert judge(pod(mirror=True), ctx()).final.action == "skip"
    # A terminating pod past skip-wait is skipped before anything else looks at it.
    assert judge(pod(deleted_ago=600), ctx(skip_wait_for_delete_timeout_seconds=60)).final.action == "skip"


def test_chain_keeps_every_warning():
    verdict = judge(pod(empty_dir=True), ctx(delete_emptydir_data=True, force=True))
    assert verdict.removes
    assert verdict.warnings == ("deleting Pods with local storage", "deleting Pods that declare no controller")


def node_pods():
    return [
        pod("ds-pod", "kube-system", owner=("DaemonSet", "kube-proxy")),
        pod("web-1", "shop", owner=("ReplicaSet", "web-abc")),
        pod("cache-1", "shop", owner=("ReplicaSet", "cache-abc"), empty_dir=True),
        pod("etcd-n1", "kube-system", mirror=True),
        pod("bare", "default"),
    ]


def test_plan_with_an_error_evicts_nothing():
    plan = plan_drain(node_pods(), DrainOptions(delete_emptydir_data=True), NOW)
    assert plan.remove == []
    assert plan.errors == ["cannot delete Pods that declare no controller (use --force to override): default/bare"]
    assert plan.warnings == [
        "ignoring DaemonSet-managed Pods: kube-system/ds-pod",
        "deleting Pods with local storage: shop/cache-1",
    ]
    assert {s["pod"] for s in plan.skipped} == {"kube-system/ds-pod", "kube-system/etcd-n1"}


def test_plan_groups_errors_like_kubectl():
    pods = [pod("a", empty_dir=True, owner=("ReplicaSet", "r")), pod("b", empty_dir=True, owner=("ReplicaSet", "r")),
            pod("c")]
    plan = plan_drain(pods, DrainOptions(), NOW)
    assert plan.errors == [
        "cannot delete Pods with local storage (use --delete-emptydir-data to override): default/a, default/b",
        "cannot delete Pods that declare no controller (use --force to override): default/c",
    ]


def test_plan_with_force_removes_workloads_and_bare_pod():
    plan = plan_drain(node_pods(), DrainOptions(delete_emptydir_data=True, force=True), NOW)
    assert plan.errors == []
    assert [p["metadata"]["name"] for p in plan.remove] == ["web-1", "cache-1", "bare"]
    assert "deleting Pods that declare no controller: default/bare" in plan.warnings


# -- options -------------------------------------------------------------------------------

def test_options_round_trip_with_settings_keys():
    settings = {"drainGracePeriodSeconds": 30, "deleteEmptydirData": True, "force": False, "maxUnavailable": 1,
                "drainPodSelector": "app=web", "skipWaitForDeleteTimeoutSeconds": 300, "disableEviction": False}
    options = DrainOptions.from_dict(settings)
    assert options == DrainOptions(30, True, False, True, "app=web", 300, False)
    assert DrainOptions.from_dict(options.to_dict()) == options
    assert set(options.to_dict()) == {"drainGracePeriodSeconds", "deleteEmptydirData", "force", "drainPodSelector",
                                      "skipWaitForDeleteTimeoutSeconds", "disableEviction"}


def test_options_defaults_are_kubectls_with_daemonsets_ignored():
    options = DrainOptions.from_dict({})
    assert options.grace_period_seconds == -1 and options.ignore_daemonsets
    assert not options.force and not options.delete_emptydir_data and not options.disable_eviction


@pytest.mark.parametrize("bad", [
    {"drainGracePeriodSeconds": -2}, {"drainGracePeriodSeconds": "30"}, {"force": "yes"},
    {"drainPodSelector": "app=web; rm -rf /"}, {"skipWaitForDeleteTimeoutSeconds": -1},
])
def test_options_are_validated(bad):
    with pytest.raises(ValueError, match="invalid drain options"):
        DrainOptions.from_dict(bad)
