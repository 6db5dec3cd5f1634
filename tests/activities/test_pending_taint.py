"""The reboot-pending PreferNoSchedule taint against the sandbox API, and the sandbox's soft scheduling."""

from __future__ import annotations

import pytest

from activities import nodes
from lab.sandbox import placement
from rebooter import contract
from rebooter.arm import clients
from rebooter.config import settings
from tests.helpers.kube import CLUSTER

A, B = "aks-pool1-12345678-vmss000000", "aks-pool1-12345678-vmss000001"
OURS = {"key": contract.PENDING_TAINT_KEY, "value": "true", "effect": "PreferNoSchedule"}
# Every payload carries the cluster's settings (the orchestrators put them there).
ACCESS = settings.activity_settings(settings.load({"REBOOTER_CREDENTIAL": "sandbox", "REBOOTER_KUBE_AUTH": "admin"}))


@pytest.fixture
def wired(kube, monkeypatch):
    def kube_api(cluster_id, access):
        assert access == {"credential": "sandbox", "kubeAuth": "admin"}  # the payload's, as in Azure
        return kube.api

    monkeypatch.setattr(clients, "kube_api", kube_api)
    return kube


def taints(kube, name):
    return kube.store.get("nodes", name)["spec"].get("taints") or []


def test_taint_is_added_once_and_removed_leaving_other_taints(wired):
    kube = wired
    kube.add_node(A)
    kube.add_node(B)
    foreign = [{"key": "team.example/gpu", "value": "yes", "effect": "PreferNoSchedule"},
               {"key": contract.PENDING_TAINT_KEY, "value": "x", "effect": "NoSchedule"}]  # same key, not ours
    kube.store.patch("nodes", B, {"spec": {"taints": foreign}}, "application/merge-patch+json")

    first = nodes.set_pending_taint({"cluster": CLUSTER, "settings": ACCESS, "nodes": [A, B], "pending": True})
    assert [r["changed"] for r in first["results"]] == [True, True]
    again = nodes.set_pending_taint({"cluster": CLUSTER, "settings": ACCESS, "nodes": [A, B], "pending": True})
    assert [r["changed"] for r in again["results"]] == [False, False]  # idempotent
    assert taints(kube, A) == [OURS]
    assert taints(kube, B) == foreign + [OURS]

    nodes.set_pending_taint({"cluster": CLUSTER, "settings": ACCESS, "nodes": [A, B], "pending": False})
    nodes.set_pending_taint({"cluster": CLUSTER, "settings": ACCESS, "nodes": [A, B], "pending": False})
    assert taints(kube, A) == []
    assert taints(kube, B) == foreign  # only our key with our effect is ever removed


def test_missing_node_and_bad_payloads(wired):
    gone = nodes.set_pending_taint({"cluster": CLUSTER, "settings": ACCESS, "nodes": ["aks-pool1-12345678-vmss00000z"], "pending": False})
    assert gone["results"][0]["reason"] == "node not found"
    with pytest.raises(ValueError, match="pending"):
        nodes.set_pending_taint({"cluster": CLUSTER, "settings": ACCESS, "nodes": [A], "pending": "yes"})
    with pytest.raises(ValueError, match="nodes"):
        nodes.set_pending_taint({"cluster": CLUSTER, "settings": ACCESS, "nodes": A, "pending": True})
    with pytest.raises(ValueError):
        nodes.set_pending_taint({"cluster": CLUSTER, "settings": ACCESS, "nodes": ["bad;name"], "pending": True})


def _node(name, taints=()):
    return {"metadata": {"name": name, "labels": {"kubernetes.io/os": "linux"}},
            "spec": {"taints": list(taints)},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}


def test_sandbox_scheduler_prefers_nodes_without_prefer_no_schedule_but_still_uses_them():
    pod = {"metadata": {"name": "p"}, "spec": {}}
    tainted, busy = _node("a", [OURS]), _node("b")
    up = {"a": True, "b": True}
    # b has more pods, but a carries a PreferNoSchedule taint the pod does not tolerate.
    assert placement.choose(pod, [tainted, busy], up, {"a": 0, "b": 5}, {}) == "b"
    # Soft: when every node carries it, the pod still lands.
    assert placement.choose(pod, [tainted, _node("c", [OURS])], {"a": True, "c": True}, {}, {}) == "a"
    # A pod tolerating it has no preference.
    tolerant = {"metadata": {"name": "t"}, "spec": {"tolerations": [{"operator": "Exists"}]}}
    assert placement.choose(tolerant, [tainted, busy], up, {"a": 0, "b": 5}, {}) == "a"
