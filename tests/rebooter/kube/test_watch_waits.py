"""Bounded waits on the API (rebooter.watching) through the drain and health activities: one call
returns as soon as the event happens, or at its bound saying it waited; against the sandbox
Kubernetes API over HTTPS, the production code path."""

from __future__ import annotations

import threading

import pytest

from rebooter import contract
from rebooter.kube.drain import DrainOptions
from rebooter.kube.eviction import drain_pass
from rebooter.kube.health import check_health, verify_pod_name
from rebooter.kube.kubeapi import NodeNotFound
from rebooter.kube.reboot import request_reboot
from rebooter.kube.watching import wait_node_back
from tests.helpers.wait import eventually

from .test_node_ops_sandbox import finish_probe

NODE = "aks-pool1-12345678-vmss000000"
ALL = DrainOptions(delete_emptydir_data=True, force=True)
GENEROUS = 60.0  # the bound of a wait that must end early, on the event


def test_a_drain_that_waits_returns_done_once_the_pods_are_gone(kube):
    kube.add_node(NODE)
    rs = kube.add_owner("replicasets", "web", replicas=2)
    kube.add_pod("web-1", NODE, owner=rs)
    kube.add_pod("web-2", NODE, owner=rs)
    kube.store.pod_termination_seconds = 0.3
    assert drain_pass(kube.api, NODE, ALL)["status"] == "pending"  # without a wait: still terminating
    kube.add_pod("web-3", NODE, owner=rs)
    done = drain_pass(kube.api, NODE, ALL, wait_seconds=GENEROUS)
    assert done["status"] == "done" and done["remaining"] == 0 and done["terminating"] == []
    assert done["waited"] is False  # it saw the pods go; it did not run to its bound
    assert kube.pod_names(NODE) == set()


def test_a_drain_refused_by_a_pdb_does_not_wait(kube):
    kube.add_node(NODE)
    rs = kube.add_owner("replicasets", "web", replicas=1)
    kube.add_pod("web-1", NODE, owner=rs)
    kube.add_pdb("web", {"app": "web"}, min_available=1)
    refused = drain_pass(kube.api, NODE, ALL, wait_seconds=GENEROUS)
    assert refused["status"] == "pending" and refused["blocked"] and "waited" not in refused


def test_a_drain_whose_pods_outlive_the_bound_says_it_waited(kube):
    kube.add_node(NODE)
    rs = kube.add_owner("replicasets", "slow", replicas=1)
    kube.add_pod("slow-1", NODE, owner=rs, grace=30)
    kube.store.pod_termination_seconds = None  # the pod really takes its 30 s grace period
    late = drain_pass(kube.api, NODE, ALL, wait_seconds=1.5)
    assert late["status"] == "pending" and late["waited"] is True and late["terminating"] == ["default/slow-1"]


def test_a_health_check_that_waits_sees_the_reboot_and_the_probe_in_one_call(kube):
    kube.add_node(NODE, boot_id="boot-1")
    request_reboot(kube.api, NODE, "boot-1", "pod")

    def kubelet() -> None:  # the node goes down, comes back with a new boot ID, runs the probe
        kube.set_node_status(NODE, "boot-1", None)
        kube.set_node_status(NODE, "boot-2", True, kernel="5.15.0-1080-azure")
        if eventually(lambda: kube.store.list("pods", contract.PROBE_NAMESPACE,
                                              field_selector=f"metadata.name={verify_pod_name(NODE)}"), timeout=GENEROUS):
            finish_probe(kube, NODE, "boot-2", "5.15.0-1080-azure")

    thread = threading.Thread(target=kubelet, daemon=True)
    thread.start()
    healthy = check_health(kube.api, NODE, "boot-1", wait_seconds=GENEROUS)
    thread.join(timeout=GENEROUS)
    assert healthy["healthy"] is True and healthy["bootId"] == "boot-2" and "waited" not in healthy


def test_a_health_check_whose_node_stays_down_says_it_waited(kube):
    kube.add_node(NODE, boot_id="boot-1")
    kube.set_node_status(NODE, "boot-1", None)
    down = check_health(kube.api, NODE, "boot-1", wait_seconds=1.5)
    assert down["pending"] is True and down["healthy"] is False and down["waited"] is True


def test_waiting_for_a_node_that_is_deleted_ends_and_the_read_says_gone(kube):
    kube.add_node(NODE, boot_id="boot-1")
    kube.set_node_status(NODE, "boot-1", None)
    threading.Thread(target=lambda: kube.store.delete("nodes", NODE), daemon=True).start()
    assert wait_node_back(kube.api, NODE, "boot-1", GENEROUS) is True  # the wait ends; the caller reads
    with pytest.raises(NodeNotFound):
        check_health(kube.api, NODE, "boot-1", wait_seconds=GENEROUS)
