"""One node patched end to end by the activities, against the whole sandbox (ARM + Kubernetes + kubelets).

The activities get their Kubernetes client exactly as in Azure: clients.kube_api asks the ARM
emulator for the cluster's credentials. The loop below is what the patch_node orchestrator does
with durable timers, done here with short sleeps.
"""

from __future__ import annotations

import time

import pytest

from activities import nodes
from rebooter.arm import clients
from rebooter.config import settings
from rebooter.kube.nodeinfo import describe_node

SUB = "00000000-0000-0000-0000-0000000000e2"
SCENARIO = {
    "name": "nodes-e2e",
    "cluster": {"subscriptionId": SUB, "resourceGroup": "rg-e2e", "name": "aks-e2e"},
    "pools": [{"name": "system", "mode": "System", "count": 1}, {"name": "user", "count": 3}],
    "nodes": [{"node": "user/0", "rebootRequired": True}, {"node": "user/2", "cordonedBy": "operator"}],
    "workloads": {
        "deployments": [{"name": "web", "namespace": "shop", "replicas": 2, "pools": ["user"],
                         "pdb": {"maxUnavailable": 1}}],
        "daemonsets": [{"name": "agent", "namespace": "kube-system", "pools": ["user"]}],
    },
    "timings": {"podStartSeconds": 0.05, "podTerminationSeconds": 0.05, "rebootSeconds": 0.3,
                "recreateDelaySeconds": 0.05, "probeCompletionSeconds": 0.05, "armOperationSeconds": 0.1},
}


@pytest.fixture
def sandbox(monkeypatch):
    from lab.sandbox.runtime import Sandbox

    with Sandbox(SCENARIO) as sb:
        monkeypatch.setenv("REBOOTER_ARM_ENDPOINT", sb.arm_url)
        monkeypatch.setenv("REBOOTER_ARM_CA_BUNDLE", sb.ca_file)
        monkeypatch.setenv("REBOOTER_CREDENTIAL", "sandbox")
        monkeypatch.setenv("REBOOTER_KUBE_AUTH", "admin")
        clients.reset()
        try:
            yield sb
        finally:
            clients.reset()


def describe(target):
    """The node's facts read the way the activities reach the cluster (an observer, not an activity)."""
    return describe_node(clients.kube_api(target["cluster"], clients.access_of(target)), target["node"])


def until(call, done, timeout=10.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        result = call()
        if done(result) or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def node_named(sb, pool, index):
    return [n.name for n in sb.scenario.nodes if n.pool == pool][index]


@pytest.mark.parametrize("method", ["pod", "vmss"])
def test_patch_one_node(sandbox, method):
    node = node_named(sandbox, "user", 0)
    target = {"cluster": sandbox.cluster_resource_id, "node": node,
              "settings": settings.activity_settings(settings.load())}  # as the orchestrators pass them
    before = describe(target)
    assert before["ready"] and not before["unschedulable"] and before["labels"]["pool"] == "user"

    assert nodes.cordon_node({**target, "owner": "e2e"})["cordonedByUs"] is True
    drained = until(lambda: nodes.drain_node({**target, "options": {"deleteEmptydirData": True}}),
                    lambda r: r["status"] in ("done", "error"))
    assert drained["status"] == "done", drained
    assert any(s["reason"] == "ignoring DaemonSet-managed Pods" for s in drained["skipped"])

    requested = nodes.reboot_node({**target, "bootId": before["bootId"], "method": method})
    assert requested["status"] in ("requested", "rebooted")
    again = nodes.reboot_node({**target, "bootId": before["bootId"], "method": method})
    assert again["status"] in ("requested", "rebooted")

    health = until(lambda: nodes.check_node_health({**target, "bootIdBefore": before["bootId"]}),
                   lambda r: r["healthy"] or not r["pending"])
    assert health["healthy"] is True, health
    assert health["bootId"] != before["bootId"] and health["rebootRequired"] is False
    assert health["kernel"] != before["kernel"]  # the pending kernel is running now
    # The verification probe's answer came from its termination message: no log request.
    assert [r.path for r in sandbox.kube.requests if r.path.endswith("/log")] == []

    assert nodes.uncordon_node(target)["uncordoned"] is True
    after = describe(target)
    assert not after["unschedulable"] and not after["cordonedByUs"]
    assert after["rebootState"] == "done" and after["lastReboot"]
    assert len(sandbox.timeline.events("reboot", node=node, phase="down")) == 1  # asked twice, rebooted once


def test_a_node_cordoned_by_an_operator_is_left_cordoned(sandbox):
    node = node_named(sandbox, "user", 2)
    target = {"cluster": sandbox.cluster_resource_id, "node": node,
              "settings": settings.activity_settings(settings.load())}  # as the orchestrators pass them
    assert nodes.cordon_node({**target, "owner": "e2e"}) == {
        "cordonedByUs": False, "alreadyCordoned": True, "unschedulable": True, "owner": ""}
    assert nodes.uncordon_node(target)["uncordoned"] is False
    assert describe(target)["unschedulable"] is True
    # Cordon + first drain pass in one call: a foreign cordon stops it before any eviction.
    folded = nodes.drain_node({**target, "cordonOwner": "e2e", "options": {"deleteEmptydirData": True}})
    assert folded == {"status": "not ours", "cordon": {"cordonedByUs": False, "alreadyCordoned": True,
                                                       "unschedulable": True, "owner": ""}}
    assert sandbox.timeline.events("eviction") == []


def test_cordon_and_first_drain_pass_in_one_call_is_idempotent(sandbox):
    node = node_named(sandbox, "user", 1)
    target = {"cluster": sandbox.cluster_resource_id, "node": node,
              "settings": settings.activity_settings(settings.load())}
    payload = {**target, "cordonOwner": "e2e", "options": {"deleteEmptydirData": True}, "waitSeconds": 30}
    first = nodes.drain_node(payload)
    assert first["cordon"]["cordonedByUs"] is True and first["status"] in ("done", "pending"), first
    again = until(lambda: nodes.drain_node(payload), lambda r: r["status"] in ("done", "error"))
    assert again["status"] == "done" and again["cordon"] == {**first["cordon"], "alreadyCordoned": False}
    assert describe(target)["cordonedByUs"] is True


def test_finish_node_marks_uncordons_untaints_and_answers_the_next_preflight_idempotently(sandbox):
    """finish_node folds marks + uncordon + the pending taint off + the next node's preflight into
    one activity; run twice (at-least-once) it leaves the same state, and it never uncordons a
    node someone else cordoned."""
    node, following, foreign = node_named(sandbox, "user", 0), node_named(sandbox, "user", 1), node_named(sandbox, "user", 2)
    cfg = settings.load()
    target = {"cluster": sandbox.cluster_resource_id, "node": node, "settings": settings.activity_settings(cfg)}
    assert nodes.cordon_node({**target, "owner": "e2e"})["cordonedByUs"] is True
    nodes.set_pending_taint({**target, "nodes": [node], "pending": True})
    payload = {**target, "settings": cfg, "labels": {"team.io/patched": "yes"},
               "annotations": {"team.io/result": "patched"}, "untaint": True, "next": following}
    first = nodes.finish_node(payload)
    assert first["uncordon"] == {"uncordoned": True, "unschedulable": False, "reason": "cordoned by us"}
    assert first["taint"]["tainted"] is False and first["taint"]["changed"] is True
    assert first["marks"]["labels"] == {"team.io/patched": "yes"}
    # The next node's preflight counts the nodes out after our uncordon: only the operator's cordon.
    assert first["next"]["blocked"] is False and first["next"]["unavailable"]["nodes"] == [foreign]
    again = nodes.finish_node(payload)
    assert again["uncordon"]["uncordoned"] is True and again["uncordon"]["reason"] == "already schedulable"
    assert again["taint"]["changed"] is False and again["next"]["unavailable"]["nodes"] == [foreign]
    after = describe(target)
    assert not after["unschedulable"] and not after["cordonedByUs"]

    other = {**target, "node": foreign}
    assert nodes.finish_node({**other, "untaint": True})["uncordon"]["uncordoned"] is False
    assert describe(other)["unschedulable"] is True
    bad = nodes.finish_node({**other, "settings": cfg, "next": "bad;name"})
    assert "error" in bad["next"] and "bad;name" in bad["next"]["node"]


def test_the_reboot_with_the_last_drain_pass_and_the_finish_with_the_healthy_check(sandbox):
    """rebootAfter: the pass that finishes the drain asks for the reboot in the same call; a pass
    that does not finish asks for nothing. finish: the check that sees the node healthy makes the
    marks, our uncordon and the taint removal in the same call; a check that is not healthy yet
    does nothing. Each call run twice (at-least-once) reboots once and leaves the same state."""
    node = node_named(sandbox, "user", 0)
    cfg = settings.load()
    target = {"cluster": sandbox.cluster_resource_id, "node": node, "settings": settings.activity_settings(cfg)}
    before = describe(target)
    nodes.set_pending_taint({**target, "nodes": [node], "pending": True})
    drain = {**target, "cordonOwner": "e2e", "options": {"deleteEmptydirData": True},
             "rebootAfter": {"bootId": before["bootId"], "method": "pod"}}
    first = nodes.drain_node(drain)  # web's pods still terminating: not done, so no reboot asked
    assert first["status"] == "pending" and "reboot" not in first, first
    assert sandbox.timeline.events("reboot", node=node) == []
    done = until(lambda: nodes.drain_node(drain), lambda r: r["status"] in ("done", "error"))
    assert done["status"] == "done" and done["reboot"]["created"] is True, done
    again = nodes.drain_node(drain)  # a second run of the same call: the same reboot pod, no second reboot
    assert again["status"] == "done" and "error" not in again["reboot"], again

    finish = {"labels": {"team.io/patched": "yes"}, "annotations": {"rebooter.aks.io/last-result": "patched"},
              "untaint": True}
    check = {**target, "bootIdBefore": before["bootId"], "finish": finish}
    early = nodes.check_node_health(check)
    if not early["healthy"]:
        assert "finish" not in early and describe(target)["unschedulable"] is True
    health = until(lambda: nodes.check_node_health(check), lambda r: r["healthy"] or not r["pending"], timeout=30)
    assert health["healthy"] is True, health
    assert health["finish"]["uncordon"] == {"uncordoned": True, "unschedulable": False, "reason": "cordoned by us"}
    assert health["finish"]["taint"]["tainted"] is False and health["finish"]["marks"]["labels"] == {"team.io/patched": "yes"}
    twice = nodes.check_node_health(check)
    assert twice["finish"]["uncordon"]["reason"] == "already schedulable"
    after = describe(target)
    assert not after["unschedulable"] and not after["cordonedByUs"]
    assert twice["finish"]["marks"]["annotations"]["rebooter.aks.io/last-result"] == "patched"
    assert len(sandbox.timeline.events("reboot", node=node, phase="down")) == 1


def test_a_folded_step_that_fails_is_handed_back_not_raised(sandbox):
    """A reboot asked with the last drain pass that fails comes back as {error} beside the drain
    (the drain stands; the orchestrator asks again with reboot_node and its retries)."""
    node = node_named(sandbox, "user", 1)
    target = {"cluster": sandbox.cluster_resource_id, "node": node,
              "settings": settings.activity_settings(settings.load())}
    bad = {"bootId": describe(target)["bootId"], "method": "teleport"}
    done = until(lambda: nodes.drain_node({**target, "cordonOwner": "e2e", "options": {"deleteEmptydirData": True},
                                           "rebootAfter": bad}), lambda r: r["status"] in ("done", "error"))
    assert done["status"] == "done" and "expected a reboot method" in done["reboot"]["error"], done
    with pytest.raises(ValueError, match="rebootAfter: expected a JSON object"):
        nodes.drain_node({**target, "rebootAfter": "now"})


def test_the_verification_pod_is_created_while_the_node_is_down(sandbox):
    """The health check that watches sees the node go down for its reboot and creates the
    verification pod then, bound to the node, so the kubelet runs it as soon as it is back. Here
    the node never comes back: the pod waits, Pending, and the check answers at its bound."""
    from kubernetes import client as k8s

    from rebooter import contract
    from rebooter.kube.health import verify_pod_name

    node = node_named(sandbox, "user", 0)
    sandbox.faults.add(type="nodeNeverReturns", node=node)
    target = {"cluster": sandbox.cluster_resource_id, "node": node,
              "settings": settings.activity_settings(settings.load())}
    before = describe(target)
    nodes.reboot_node({**target, "bootId": before["bootId"], "method": "pod"})
    health = nodes.check_node_health({**target, "bootIdBefore": before["bootId"], "waitSeconds": 3})
    assert health["healthy"] is False and health["pending"] is True and health["waited"] is True, health
    core = k8s.CoreV1Api(clients.kube_api(target["cluster"], clients.access_of(target)))
    pod = core.read_namespaced_pod(verify_pod_name(node), contract.PROBE_NAMESPACE)
    assert pod.spec.node_name == node and pod.status.phase == "Pending"
    assert not describe(target)["ready"]
