"""The activity functions (payload in, JSON out), bounded retries, and the probe pod manifest."""

from __future__ import annotations

import json

import pytest

from activities import nodes
from rebooter import contract
from rebooter.arm import clients
from rebooter.arm.probe_pod import parse_probe_output, probe_pod_manifest
from rebooter.config import settings
from rebooter.contract import probe_pod_name
from rebooter.kube import kubeapi
from rebooter.kube.nodeinfo import describe_node
from tests.helpers.kube import CLUSTER

NODE = "aks-pool1-12345678-vmss000000"
# Every payload carries the cluster's settings (the orchestrators put them there).
ACCESS = settings.activity_settings(settings.load({"REBOOTER_CREDENTIAL": "sandbox", "REBOOTER_KUBE_AUTH": "admin"}))


@pytest.fixture
def wired(kube, monkeypatch):
    """Activities reach the sandbox through clients.kube_api, as they reach AKS in production."""
    seen = []

    def kube_api(cluster_id, access):
        seen.append(cluster_id)
        assert access == {"credential": "sandbox", "kubeAuth": "admin"}
        return kube.api

    monkeypatch.setattr(clients, "kube_api", kube_api)
    kube.seen = seen
    return kube


def test_activities_round_trip_json(wired):
    kube = wired
    kube.add_node(NODE, boot_id="boot-1")
    rs = kube.add_owner("replicasets", "web", replicas=1)
    kube.add_pod("web-1", NODE, owner=rs)
    target = {"cluster": CLUSTER, "node": NODE, "settings": ACCESS}

    facts = describe_node(kube.api, NODE)
    assert facts["bootId"] == "boot-1" and facts["unschedulable"] is False
    cordoned = nodes.cordon_node({**target, "owner": "patch_node:aks1:" + NODE})
    assert cordoned["cordonedByUs"] is True
    drained = nodes.drain_node({**target, "options": {"drainGracePeriodSeconds": 0, "deleteEmptydirData": True,
                                                      "force": False}})
    assert drained["evicted"] == ["default/web-1"]
    rebooted = nodes.reboot_node({**target, "bootId": "boot-1", "method": "pod"})
    assert rebooted["status"] == "requested" and rebooted["method"] == "pod"
    health = nodes.check_node_health({**target, "bootIdBefore": "boot-1"})
    assert health["pending"] is True
    uncordoned = nodes.uncordon_node(target)
    assert uncordoned["uncordoned"] is True
    for result in (facts, cordoned, drained, rebooted, health, uncordoned):
        assert json.loads(json.dumps(result)) == result
    assert set(kube.seen) == {CLUSTER}


@pytest.mark.parametrize("payload, message", [
    ({"cluster": CLUSTER, "node": "Bad_Node", "settings": ACCESS}, "expected a node name"),
    ({"cluster": CLUSTER, "node": "n; rm -rf /", "settings": ACCESS}, "expected a node name"),
    ({"cluster": "/subscriptions/x", "node": NODE}, "expected an AKS resource ID"),
    ({"node": NODE}, "expected an AKS resource ID"),
])
def test_payloads_are_validated_before_any_call(wired, payload, message):
    with pytest.raises(ValueError, match=message):
        nodes.cordon_node(payload)
    assert wired.seen == []


def test_an_activity_without_the_clusters_settings_reads_no_environment(wired, monkeypatch):
    """Regression (issue 11 item 4): settings come in the payload; none in it is an error,
    not a silent fallback to the app's environment."""
    monkeypatch.setenv("REBOOTER_CREDENTIAL", "sandbox")
    with pytest.raises(ValueError, match="settings"):
        nodes.cordon_node({"cluster": CLUSTER, "node": NODE})
    with pytest.raises(ValueError, match="settings"):
        nodes.reboot_node({"cluster": CLUSTER, "node": NODE, "bootId": "b"})
    assert wired.seen == []


def test_bad_drain_options_and_flags_are_refused(wired):
    wired.add_node(NODE)
    with pytest.raises(ValueError, match="drainGracePeriodSeconds"):
        nodes.drain_node({"cluster": CLUSTER, "node": NODE, "settings": ACCESS,
                          "options": {"drainGracePeriodSeconds": "soon"}})
    with pytest.raises(ValueError, match="forceDelete"):
        nodes.drain_node({"cluster": CLUSTER, "node": NODE, "settings": ACCESS, "forceDelete": "yes"})
    with pytest.raises(ValueError, match="reboot method"):
        nodes.reboot_node({"cluster": CLUSTER, "node": NODE, "settings": ACCESS, "bootId": "b", "method": "ssh"})
    with pytest.raises(ValueError, match="bootIdBefore"):
        nodes.check_node_health({"cluster": CLUSTER, "node": NODE, "settings": ACCESS})


def test_missing_node_is_a_clear_error(wired):
    with pytest.raises(Exception, match=f"node '{NODE}' not found"):
        nodes.drain_node({"cluster": CLUSTER, "node": NODE, "settings": ACCESS})


# -- retries -------------------------------------------------------------------------------

def _faults(kube, plan):
    """Answer the first requests matching (method, path fragment) with the given statuses."""
    from lab.sandbox.kube.server import FaultAction

    remaining = list(plan)

    def hook(method, path):
        for i, (m, fragment, action) in enumerate(remaining):
            if m == method and fragment in path:
                del remaining[i]
                return action if isinstance(action, FaultAction) else FaultAction(status=action)
        return None

    kube.server.fault_hook = hook
    return remaining


def _count(kube, method, fragment):
    return sum(1 for r in kube.server.requests if r.method == method and fragment in r.path)


def test_transient_5xx_is_retried(wired):
    kube = wired
    kube.add_node(NODE)
    _faults(kube, [("GET", f"/nodes/{NODE}", 503), ("PATCH", f"/nodes/{NODE}", 500)])
    assert nodes.cordon_node({"cluster": CLUSTER, "node": NODE, "settings": ACCESS})["cordonedByUs"] is True
    assert _count(kube, "GET", f"/nodes/{NODE}") == 2 and _count(kube, "PATCH", f"/nodes/{NODE}") == 2


def test_persistent_5xx_gives_up_after_three_attempts_with_a_clear_message(wired):
    kube = wired
    kube.add_node(NODE)
    _faults(kube, [("GET", f"/nodes/{NODE}", 503)] * 5)
    with pytest.raises(kubeapi.KubeError, match=f"read node {NODE}: HTTP 503: injected fault: 503"):
        nodes.cordon_node({"cluster": CLUSTER, "node": NODE, "settings": ACCESS})
    assert _count(kube, "GET", f"/nodes/{NODE}") == 3


def test_eviction_429_is_not_retried_but_503_is(wired):
    kube = wired
    kube.add_node(NODE)
    rs = kube.add_owner("replicasets", "db", replicas=1)
    kube.add_pod("db-1", NODE, owner=rs)
    kube.add_pdb("db-pdb", {"app": "db"}, min_available=1)
    result = nodes.drain_node({"cluster": CLUSTER, "node": NODE, "settings": ACCESS})
    assert result["blocked"] and _count(kube, "POST", "/eviction") == 1
    kube.store.delete("poddisruptionbudgets", "db-pdb", "default")
    _faults(kube, [("POST", "/eviction", 503)])
    result = nodes.drain_node({"cluster": CLUSTER, "node": NODE, "settings": ACCESS})
    assert result["evicted"] == ["default/db-1"] and _count(kube, "POST", "/eviction") == 3


def test_a_hanging_server_is_not_waited_on_for_long(wired, monkeypatch):
    import time

    from lab.sandbox.kube.server import FaultAction

    kube = wired
    kube.add_node(NODE)
    monkeypatch.setattr(kubeapi, "REQUEST_TIMEOUT", (1.0, 0.2))
    monkeypatch.setattr(kubeapi, "RETRY_BUDGET", 0.5)
    kube.server.fault_hook = lambda method, path: FaultAction(delay_seconds=1.0) if method == "PATCH" else None
    started = time.monotonic()
    with pytest.raises(kubeapi.KubeError, match="cordon"):
        nodes.cordon_node({"cluster": CLUSTER, "node": NODE, "settings": ACCESS})
    assert time.monotonic() - started < 3.0


# -- probe pod manifest ----------------------------------------------------------------------

def test_probe_pod_manifest_follows_the_contract():
    pod = probe_pod_manifest(NODE, "run-1", generate_name=False)
    meta, spec = pod["metadata"], pod["spec"]
    assert meta["name"] == f"rebooter-run-1-{NODE}" and meta["namespace"] == contract.PROBE_NAMESPACE
    assert meta["labels"] == {contract.ROLE_LABEL: contract.ROLE_PROBE, contract.RUN_LABEL: "run-1",
                              contract.NODE_LABEL: NODE}
    assert spec["nodeName"] == NODE and spec["restartPolicy"] == "Never"
    assert spec["tolerations"] == [{"operator": "Exists"}]
    container = spec["containers"][0]
    assert container["image"] == contract.PROBE_IMAGE
    assert container["command"] == ["sh", "-c", contract.NODE_PROBE_SCRIPT]
    assert container["volumeMounts"] == [{"name": "host-var-run", "mountPath": "/host/var/run", "readOnly": True}]
    assert spec["volumes"] == [{"name": "host-var-run", "hostPath": {"path": "/var/run", "type": "Directory"}}]
    generated = probe_pod_manifest(NODE, "run-1", generate_name=True)["metadata"]
    assert "name" not in generated and generated["generateName"] == f"rebooter-probe-{NODE}-"


def test_probe_pod_names_stay_valid_for_long_nodes():
    node = "aks-averyveryverylongpool-12345678-vmss00000a" + "-x" * 20
    name = probe_pod_name(node, "verify")
    assert len(name) <= 63 and name[-1].isalnum()
    manifest = probe_pod_manifest(node, "verify", generate_name=True)
    assert len(manifest["metadata"]["generateName"]) <= 58
    assert contract.NODE_LABEL not in manifest["metadata"]["labels"] or len(node) <= 63
    with pytest.raises(ValueError):
        probe_pod_manifest("Bad Node", "verify", False)
    with pytest.raises(ValueError):
        probe_pod_manifest(NODE, "run id with spaces", False)


def test_probe_pod_manifest_is_accepted_by_the_api(kube):
    from kubernetes import client as k8s

    kube.add_node(NODE)
    core = k8s.CoreV1Api(kube.api)
    created = core.create_namespaced_pod(contract.PROBE_NAMESPACE, probe_pod_manifest(NODE, "abc", generate_name=True))
    assert created.metadata.name.startswith(f"rebooter-probe-{NODE}-")
    assert created.spec.volumes[0].host_path.path == "/var/run"


def test_parse_probe_output():
    line = contract.probe_line(NODE, True, ["linux-image"], "boot-9", "6.8.0")
    assert parse_probe_output("noise\n" + line + "\n") == json.loads(line)
    with pytest.raises(ValueError, match="no probe line"):
        parse_probe_output("sh: nsenter: not found\n")


def test_probe_pod_template_with_placeholders_matches_the_real_manifest():
    """rebooter.probe builds a template with __NODE__ / __RUN__ that its runner fills in with sed."""
    template = json.dumps(probe_pod_manifest("__NODE__", "__RUN__", generate_name=True))
    filled = template.replace("__NODE__", NODE).replace("__RUN__", "run-7")
    assert json.loads(filled) == probe_pod_manifest(NODE, "run-7", generate_name=True)
    with pytest.raises(ValueError):
        probe_pod_manifest("__node__", "run", True)


def test_run_command_request_builds():
    from rebooter.arm.probe import build_request

    request = build_request("pool1", "run-7", 30)
    assert request["command"].startswith("bash ") and request["context"]
