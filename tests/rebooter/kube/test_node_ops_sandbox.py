"""Cordon, drain, reboot, health and describe against the sandbox Kubernetes API over HTTPS."""

from __future__ import annotations

import json

import pytest
from kubernetes import client as k8s

from rebooter import contract
from rebooter.contract import REBOOT_FROM_BOOT_ID_ANNOTATION
from rebooter.kube.cordon import cordon, uncordon
from rebooter.kube.drain import DrainOptions
from rebooter.kube.eviction import drain_pass
from rebooter.kube.health import check_health, verify_pod_name
from rebooter.kube.kubeapi import NodeNotFound
from rebooter.kube.nodeinfo import describe_node
from rebooter.kube.reboot import request_reboot
from tests.helpers.wait import eventually

NODE = "aks-pool1-12345678-vmss000000"
ALL = DrainOptions(delete_emptydir_data=True, force=True)


# -- cordon / uncordon ---------------------------------------------------------------------

def test_cordon_twice_is_the_same_state(kube):
    kube.add_node(NODE)
    first = cordon(kube.api, NODE, "instance-1")
    after_first = kube.node(NODE)
    second = cordon(kube.api, NODE, "instance-1")
    after_second = kube.node(NODE)
    assert first == second == {"cordonedByUs": True, "alreadyCordoned": False, "unschedulable": True, "owner": "instance-1"}
    assert after_first["metadata"]["resourceVersion"] == after_second["metadata"]["resourceVersion"]
    assert after_second["spec"]["unschedulable"] is True
    assert after_second["metadata"]["annotations"][contract.CORDONED_BY_US_ANNOTATION] == "instance-1"


def test_uncordon_undoes_our_cordon_once(kube):
    kube.add_node(NODE)
    cordon(kube.api, NODE, "instance-1")
    assert uncordon(kube.api, NODE) == {"uncordoned": True, "unschedulable": False, "reason": "cordoned by us"}
    node = kube.node(NODE)
    assert not node["spec"].get("unschedulable")
    assert contract.CORDONED_BY_US_ANNOTATION not in node["metadata"].get("annotations", {})
    again = uncordon(kube.api, NODE)
    assert again["uncordoned"] is True and again["unschedulable"] is False
    assert kube.node(NODE)["metadata"]["resourceVersion"] == node["metadata"]["resourceVersion"]


def test_node_cordoned_by_someone_else_is_never_uncordoned(kube):
    kube.add_node(NODE, unschedulable=True)
    result = cordon(kube.api, NODE, "instance-1")
    assert result == {"cordonedByUs": False, "alreadyCordoned": True, "unschedulable": True, "owner": ""}
    assert uncordon(kube.api, NODE) == {"uncordoned": False, "unschedulable": True, "reason": "cordoned by someone else"}
    node = kube.node(NODE)
    assert node["spec"]["unschedulable"] is True
    assert contract.CORDONED_BY_US_ANNOTATION not in node["metadata"].get("annotations", {})


def _change_before_our_first_patch(kube, monkeypatch, change: dict) -> list:
    """Someone else merge-patches the node with ``change`` just before our first patch reaches
    the API server (so its resourceVersion precondition sees a newer node); every patch body we
    send is recorded in the list returned."""
    real_patch = k8s.CoreV1Api.patch_node
    calls: list = []

    def racing_patch(self, name, body, **kwargs):
        calls.append(body)
        if len(calls) == 1:
            kube.store.patch("nodes", name, change, "application/merge-patch+json")
        return real_patch(self, name, body, **kwargs)

    monkeypatch.setattr(k8s.CoreV1Api, "patch_node", racing_patch)
    return calls


def test_cordon_conflict_rereads_and_respects_a_concurrent_cordon(kube, monkeypatch):
    """Someone cordons between our read and our patch: the resourceVersion makes our patch fail (409)
    and the re-read shows their cordon, which we then leave alone."""
    kube.add_node(NODE)
    calls = _change_before_our_first_patch(kube, monkeypatch, {"spec": {"unschedulable": True}})
    result = cordon(kube.api, NODE, "instance-1")
    assert len(calls) == 1
    assert result["cordonedByUs"] is False and result["alreadyCordoned"] is True
    assert contract.CORDONED_BY_US_ANNOTATION not in kube.node(NODE)["metadata"].get("annotations", {})


def test_cordon_conflict_with_an_unrelated_change_retries_once(kube, monkeypatch):
    kube.add_node(NODE)
    calls = _change_before_our_first_patch(kube, monkeypatch, {"metadata": {"labels": {"touched": "yes"}}})
    assert cordon(kube.api, NODE, "instance-1")["cordonedByUs"] is True
    assert len(calls) == 2
    assert kube.node(NODE)["metadata"]["labels"]["touched"] == "yes"


def test_missing_node(kube):
    with pytest.raises(NodeNotFound, match="not found"):
        cordon(kube.api, NODE, "instance-1")
    assert uncordon(kube.api, NODE)["reason"] == "node not found"
    assert describe_node(kube.api, NODE) == {"name": NODE, "exists": False}


# -- drain ---------------------------------------------------------------------------------

def seed_mixed_node(kube):
    kube.add_node(NODE)
    kube.add_node("aks-pool1-12345678-vmss000001")
    ds = kube.add_owner("daemonsets", "kube-proxy", "kube-system")
    rs = kube.add_owner("replicasets", "web-abc", "shop", replicas=2)
    cache = kube.add_owner("replicasets", "cache-abc", "shop")
    kube.add_pod("kube-proxy-x1", NODE, "kube-system", owner=ds)
    kube.add_pod("web-abc-1", NODE, "shop", owner=rs)
    kube.add_pod("web-abc-2", "aks-pool1-12345678-vmss000001", "shop", owner=rs)
    kube.add_pod("cache-abc-1", NODE, "shop", owner=cache, empty_dir=True)
    kube.add_pod("etcd-" + NODE, NODE, "kube-system", mirror=True)
    kube.add_pod("bare", NODE, "default")


def test_drain_refuses_a_bare_pod_without_force_and_evicts_nothing(kube):
    seed_mixed_node(kube)
    before = kube.pods(NODE)
    result = drain_pass(kube.api, NODE, DrainOptions(delete_emptydir_data=True))
    assert result["status"] == "error"
    assert result["errors"] == ["cannot delete Pods that declare no controller (use --force to override): default/bare"]
    assert result["evicted"] == [] and result["deleted"] == []
    assert "ignoring DaemonSet-managed Pods: kube-system/kube-proxy-x1" in result["warnings"]
    after = kube.pods(NODE)
    assert [p["metadata"]["resourceVersion"] for p in after] == [p["metadata"]["resourceVersion"] for p in before]


def test_drain_refuses_emptydir_without_delete_emptydir_data(kube):
    seed_mixed_node(kube)
    result = drain_pass(kube.api, NODE, DrainOptions(force=True))
    assert result["status"] == "error"
    assert result["errors"] == [
        "cannot delete Pods with local storage (use --delete-emptydir-data to override): shop/cache-abc-1"]
    assert kube.pod_names(NODE, live_only=True) >= {"shop/web-abc-1", "shop/cache-abc-1", "default/bare"}


def test_drain_with_force_evicts_workloads_and_keeps_daemonset_and_mirror_pods(kube):
    seed_mixed_node(kube)
    first = drain_pass(kube.api, NODE, ALL)
    assert sorted(first["evicted"]) == ["default/bare", "shop/cache-abc-1", "shop/web-abc-1"]
    assert first["method"] == "eviction" and first["blocked"] == [] and first["errors"] == []
    skipped = {s["pod"]: s["reason"] for s in first["skipped"]}
    assert skipped["kube-system/kube-proxy-x1"] == "ignoring DaemonSet-managed Pods"
    assert "mirror pod" in skipped[f"kube-system/etcd-{NODE}"]
    assert first["status"] in ("pending", "done")

    final = eventually(lambda: (r := drain_pass(kube.api, NODE, ALL))["status"] == "done" and r)
    assert final and final["evicted"] == [] and final["remaining"] == 0
    assert kube.pod_names(NODE) == {"kube-system/kube-proxy-x1", f"kube-system/etcd-{NODE}"}
    # Called again once drained: the same answer, nothing touched.
    again = drain_pass(kube.api, NODE, ALL)
    assert again["status"] == "done" and again["evicted"] == [] and again["skipped"] == final["skipped"]


def test_drain_twice_does_not_evict_a_terminating_pod_again(kube):
    kube.add_node(NODE)
    rs = kube.add_owner("replicasets", "slow", replicas=1)
    kube.add_pod("slow-1", NODE, owner=rs, grace=30)
    kube.store.pod_termination_seconds = None  # the pod really takes its 30 s grace period
    first = drain_pass(kube.api, NODE, ALL)
    assert first["evicted"] == ["default/slow-1"] and first["status"] == "pending"
    assert first["terminating"] == ["default/slow-1"]
    second = drain_pass(kube.api, NODE, ALL)
    assert second["status"] == "pending" and second["evicted"] == [] and second["terminating"] == ["default/slow-1"]
    # skip-wait: a pod terminating for longer than the timeout no longer holds the drain.
    late = drain_pass(kube.api, NODE, DrainOptions(force=True, skip_wait_for_delete_timeout_seconds=1),
                      now=_in_seconds(kube, 120))
    assert late["status"] == "done"


def _in_seconds(kube, seconds):
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) + timedelta(seconds=seconds)


def test_eviction_blocked_by_a_pdb_reports_the_cause(kube):
    kube.add_node(NODE)
    rs = kube.add_owner("replicasets", "db", replicas=1)
    kube.add_pod("db-1", NODE, owner=rs)
    kube.add_pdb("db-pdb", {"app": "db"}, min_available=1)
    for _ in range(2):  # twice: still blocked, pod untouched
        result = drain_pass(kube.api, NODE, ALL)
        assert result["status"] == "pending"
        assert result["blocked"] == [{"pod": "default/db-1",
                                      "reason": "The disruption budget db-pdb needs 1 healthy pods and has 1 currently"}]
        assert result["evicted"] == [] and result["remaining"] == 1
    assert not kube.store.get("pods", "db-1", "default")["metadata"].get("deletionTimestamp")


def test_force_delete_bypasses_the_pdb(kube):
    kube.add_node(NODE)
    rs = kube.add_owner("replicasets", "db", replicas=1)
    kube.add_pod("db-1", NODE, owner=rs)
    kube.add_pdb("db-pdb", {"app": "db"}, min_available=1)
    result = drain_pass(kube.api, NODE, ALL, force_delete=True)
    assert result["method"] == "delete" and result["deleted"] == ["default/db-1"] and result["blocked"] == []
    assert eventually(lambda: drain_pass(kube.api, NODE, ALL)["status"] == "done")


def test_pod_with_several_pdbs_is_an_error_not_retried(kube, monkeypatch):
    kube.add_node(NODE)
    rs = kube.add_owner("replicasets", "api", replicas=2)
    kube.add_pod("api-1", NODE, owner=rs)
    kube.add_pdb("pdb-a", {"app": "api"}, max_unavailable=1)
    kube.add_pdb("pdb-b", {"app": "api"}, max_unavailable=1)
    calls = []
    real = k8s.CoreV1Api.create_namespaced_pod_eviction

    def counting(self, *args, **kwargs):
        calls.append(args)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(k8s.CoreV1Api, "create_namespaced_pod_eviction", counting)
    result = drain_pass(kube.api, NODE, ALL)
    assert result["status"] == "error" and len(calls) == 1
    assert "more than one PodDisruptionBudget" in result["errors"][0]


def test_pod_selector_limits_the_drain(kube):
    kube.add_node(NODE)
    a = kube.add_owner("replicasets", "a")
    b = kube.add_owner("replicasets", "b")
    kube.add_pod("a-1", NODE, owner=a)
    kube.add_pod("b-1", NODE, owner=b)
    result = drain_pass(kube.api, NODE, DrainOptions(pod_selector="app=a"))
    assert result["evicted"] == ["default/a-1"]
    assert "default/b-1" in kube.pod_names(NODE, live_only=True)


def test_pods_are_listed_in_pages(kube, monkeypatch):
    from rebooter.kube import eviction

    monkeypatch.setattr(eviction, "PAGE_SIZE", 2)
    kube.add_node(NODE)
    kube.add_node("other")
    rs = kube.add_owner("replicasets", "many", replicas=7)
    for i in range(5):
        kube.add_pod(f"many-{i}", NODE, owner=rs)
    kube.add_pod("many-x", "other", owner=rs)
    assert len(eviction.list_node_pods(kube.api, NODE)) == 5


# -- reboot --------------------------------------------------------------------------------

def test_reboot_pod_created_twice_is_one_pod(kube):
    kube.add_node(NODE, boot_id="boot-1")
    first = request_reboot(kube.api, NODE, "boot-1", "pod")
    second = request_reboot(kube.api, NODE, "boot-1", "pod")
    assert first["status"] == second["status"] == "requested" and first["created"] and not second["created"]
    pods = kube.store.list("pods", contract.REBOOT_NAMESPACE, label_selector=f"{contract.ROLE_LABEL}={contract.ROLE_REBOOT}")
    assert [p["metadata"]["name"] for p in pods] == [contract.reboot_pod_name(NODE)]
    spec = pods[0]["spec"]
    assert spec["nodeName"] == NODE and spec["restartPolicy"] == "Never" and "hostPID" not in spec
    assert spec["activeDeadlineSeconds"] == contract.REBOOT_ACTIVE_DEADLINE_SECONDS
    assert spec["tolerations"] == [{"operator": "Exists"}]
    container = spec["containers"][0]
    assert container["image"] == contract.REBOOT_IMAGE and container["command"] == contract.REBOOT_COMMAND
    assert container["securityContext"]["privileged"] is True
    assert container["env"] == [{"name": contract.EXPECTED_BOOT_ID_ENV, "value": "boot-1"}]
    assert container["volumeMounts"] == [{"name": "host-root", "mountPath": contract.HOST_ROOT}]
    assert spec["volumes"] == [{"name": "host-root", "hostPath": {"path": "/", "type": "Directory"}}]
    assert kube.node(NODE)["metadata"]["annotations"][contract.REBOOT_STATE_ANNOTATION] == "rebooting"


def test_reboot_of_a_node_that_already_rebooted_does_nothing(kube):
    kube.add_node(NODE, boot_id="boot-2")
    assert request_reboot(kube.api, NODE, "boot-1", "pod") == {"status": "rebooted", "method": "pod", "bootId": "boot-2"}
    assert kube.store.list("pods", contract.REBOOT_NAMESPACE) == []


def test_stale_reboot_pod_from_an_earlier_reboot_is_replaced(kube):
    kube.add_node(NODE, boot_id="boot-2")
    old = request_reboot(kube.api, NODE, "boot-2", "pod")  # a reboot pod for boot-2 ...
    assert old["created"]
    kube.store.patch("pods", contract.reboot_pod_name(NODE), {"status": {"phase": "Succeeded"}},
                     "application/merge-patch+json", contract.REBOOT_NAMESPACE, subresource="status")
    kube.set_node_status(NODE, "boot-3", True)  # ... the node rebooted, the pod was never cleaned up
    fresh = request_reboot(kube.api, NODE, "boot-3", "pod")
    assert fresh["created"] is True
    pod = kube.store.get("pods", contract.reboot_pod_name(NODE), contract.REBOOT_NAMESPACE)
    assert pod["metadata"]["annotations"][REBOOT_FROM_BOOT_ID_ANNOTATION] == "boot-3"


class FakeVms:
    def __init__(self):
        self.calls = []

    def begin_restart(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return object()


class FakeCompute:
    def __init__(self):
        self.virtual_machine_scale_set_vms = FakeVms()
        self.virtual_machines = FakeVms()
        self.subscriptions = []

    def __call__(self, subscription_id):
        self.subscriptions.append(subscription_id)
        return self


def test_vmss_restart_is_requested_once(kube):
    kube.add_node("aks-pool1-12345678-vmss00000a", boot_id="boot-1")
    compute = FakeCompute()
    node = "aks-pool1-12345678-vmss00000a"
    first = request_reboot(kube.api, node, "boot-1", "vmss", compute=compute)
    second = request_reboot(kube.api, node, "boot-1", "vmss", compute=compute)
    assert first["status"] == second["status"] == "requested"
    assert compute.virtual_machine_scale_set_vms.calls == [
        (("mc_rg_aks1_westeurope", "aks-pool1-12345678-vmss", "10"), {"polling": False})]
    assert compute.subscriptions == ["00000000-0000-0000-0000-000000000001"]
    assert kube.store.list("pods", contract.REBOOT_NAMESPACE) == []


# -- health --------------------------------------------------------------------------------

def finish_probe(kube, node, boot_id, kernel, reboot_required=False, packages=()):
    """What the simulated kubelet does for a probe pod: run it, leave its one-line output."""
    name = verify_pod_name(node)
    kube.store.set_pod_log(contract.PROBE_NAMESPACE, name,
                           contract.probe_line(node, reboot_required, list(packages), boot_id, kernel) + "\n")
    kube.store.patch("pods", name, {"status": {"phase": "Succeeded"}}, "application/merge-patch+json",
                     contract.PROBE_NAMESPACE, subresource="status")


def test_health_pending_then_healthy(kube):
    kube.add_node(NODE, boot_id="boot-1")
    request_reboot(kube.api, NODE, "boot-1", "pod")

    down = check_health(kube.api, NODE, "boot-1")
    assert down["healthy"] is False and down["pending"] is True
    assert down["reasons"] == ["boot ID unchanged: the node has not rebooted yet"]

    kube.set_node_status(NODE, "boot-1", None)  # the node goes down: Ready Unknown
    unknown = check_health(kube.api, NODE, "boot-1")
    assert unknown["pending"] and unknown["ready"] is False
    assert unknown["reasons"][0].startswith("node is not Ready (Ready=Unknown")

    kube.set_node_status(NODE, "boot-2", True, kernel="5.15.0-1080-azure")  # back, with a new boot ID
    probing = check_health(kube.api, NODE, "boot-1")
    assert probing["pending"] and probing["ready"] and probing["bootId"] == "boot-2"
    assert "probe pod" in probing["reasons"][0]
    probe = kube.store.get("pods", verify_pod_name(NODE), contract.PROBE_NAMESPACE)
    assert probe["spec"]["nodeName"] == NODE
    assert probe["metadata"]["labels"][contract.RUN_LABEL] == "verify"
    assert probe["metadata"]["labels"][contract.ROLE_LABEL] == contract.ROLE_PROBE
    assert check_health(kube.api, NODE, "boot-1")["pending"]  # still running: same pod, no second one
    assert len(kube.store.list("pods", contract.PROBE_NAMESPACE, label_selector=f"{contract.RUN_LABEL}=verify")) == 1

    finish_probe(kube, NODE, "boot-2", "5.15.0-1080-azure")
    healthy = check_health(kube.api, NODE, "boot-1")
    assert healthy == {"healthy": True, "pending": False, "ready": True, "bootId": "boot-2",
                       "kernel": "5.15.0-1080-azure", "rebootRequired": False, "packages": [], "reasons": []}
    notes = kube.node(NODE)["metadata"]["annotations"]
    assert notes[contract.REBOOT_STATE_ANNOTATION] == "done" and notes[contract.LAST_REBOOT_ANNOTATION]
    assert eventually(lambda: kube.store.list("pods", contract.PROBE_NAMESPACE) == [])  # probe and reboot pod gone

    assert check_health(kube.api, NODE, "boot-1") == healthy  # again: same answer, no new probe pod
    assert kube.store.list("pods", contract.PROBE_NAMESPACE) == []


def test_health_sentinel_back_after_the_reboot_is_healthy_but_still_asking(kube):
    """A package that sets the sentinel again at boot: the node rebooted into a new boot and goes back
    into service; the answer and the node's marks say it still asks, with the packages."""
    kube.add_node(NODE, boot_id="boot-2")
    assert check_health(kube.api, NODE, "boot-1")["pending"]
    finish_probe(kube, NODE, "boot-2", "5.15.0-1080-azure", reboot_required=True, packages=["kpatch-loop"])
    result = check_health(kube.api, NODE, "boot-1")
    assert result["healthy"] is True and result["pending"] is False and result["rebootRequired"] is True
    assert result["packages"] == ["kpatch-loop"] and result["reasons"] == []
    notes = kube.node(NODE)["metadata"]["annotations"]
    assert notes[contract.REBOOT_STATE_ANNOTATION] == "still-required" and notes[contract.LAST_REBOOT_ANNOTATION]
    assert notes["rebooter.aks.io/still-required-packages"] == "kpatch-loop"
    assert check_health(kube.api, NODE, "boot-1") == result  # again, from the node's marks: no second probe
    assert eventually(lambda: kube.store.list("pods", contract.PROBE_NAMESPACE) == [])


def test_health_ignores_a_probe_answer_from_another_boot(kube):
    kube.add_node(NODE, boot_id="boot-2")
    check_health(kube.api, NODE, "boot-1")
    finish_probe(kube, NODE, "boot-0", "old")
    result = check_health(kube.api, NODE, "boot-1")
    assert result["pending"] and not result["healthy"] and "boot ID 'boot-0'" in result["reasons"][0]


def test_health_failed_probe_pod_is_recreated(kube):
    kube.add_node(NODE, boot_id="boot-2")
    check_health(kube.api, NODE, "boot-1")
    kube.store.patch("pods", verify_pod_name(NODE), {"status": {"phase": "Failed", "reason": "DeadlineExceeded"}},
                     "application/merge-patch+json", contract.PROBE_NAMESPACE, subresource="status")
    failed = check_health(kube.api, NODE, "boot-1")
    assert failed["pending"] and "failed (DeadlineExceeded)" in failed["reasons"][0]
    assert eventually(lambda: check_health(kube.api, NODE, "boot-1")["reasons"][0].endswith("is Pending"))


# -- describe ------------------------------------------------------------------------------

def test_describe_node(kube):
    kube.add_node(NODE, boot_id="boot-1")
    kube.store.patch("nodes", NODE, {"spec": {"taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}]}},
                     "application/merge-patch+json")
    cordon(kube.api, NODE, "me")
    facts = describe_node(kube.api, NODE)
    assert facts["name"] == NODE and facts["exists"] and facts["unschedulable"] and facts["cordonedByUs"]
    assert facts["cordonedBy"] == "me" and facts["ready"] and facts["bootId"] == "boot-1"
    assert facts["kernel"] == "5.15.0-1079-azure"
    assert facts["labels"] == {"pool": "pool1", "zone": "westeurope-1", "mode": "user", "os": "linux"}
    assert facts["taints"] == [{"key": "k", "value": "v", "effect": "NoSchedule"}]
    json.dumps(facts)
