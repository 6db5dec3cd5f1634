"""The emulator through the official kubernetes Python client (real HTTPS, real client code path)."""

from __future__ import annotations

import json
import time

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from .builders import node, owner_ref, pdb, pod, replicaset, set_ready


def _status(err: ApiException) -> dict:
    return json.loads(err.body)


def test_create_and_list_with_label_and_field_selectors(cluster):
    core = cluster.core
    core.create_node(node("n1", labels={"pool": "a"}))
    core.create_node(node("n2", labels={"pool": "b"}, unschedulable=True))
    core.create_node(node("n3", labels={"pool": "a", "gpu": "yes"}))
    created = core.create_namespaced_pod("default", pod("p1", "n1", {"app": "web"}))
    assert created.metadata.uid and created.metadata.resource_version and created.metadata.creation_timestamp
    assert created.metadata.namespace == "default" and created.spec.termination_grace_period_seconds == 30
    core.create_namespaced_pod("default", pod("p2", "n2", {"app": "db"}))
    cluster.store.create("pods", pod("p3", "n1", {"app": "db"}, phase="Succeeded"), "default")

    names = lambda lst: sorted(i.metadata.name for i in lst.items)  # noqa: E731
    listed = core.list_node(label_selector="pool=a")
    assert names(listed) == ["n1", "n3"] and listed.kind == "NodeList" and int(listed.metadata.resource_version) > 0
    assert names(core.list_node(label_selector="pool in (a,b),!gpu")) == ["n1", "n2"]
    assert names(core.list_node(label_selector="pool!=a")) == ["n2"]
    assert names(core.list_node(label_selector="gpu")) == ["n3"]
    assert names(core.list_node(field_selector="spec.unschedulable=true")) == ["n2"]
    assert names(core.list_node(field_selector="spec.unschedulable=false")) == ["n1", "n3"]
    assert names(core.list_node(field_selector="metadata.name=n3")) == ["n3"]
    assert names(core.list_pod_for_all_namespaces(field_selector="spec.nodeName=n1")) == ["p1", "p3"]
    assert names(core.list_pod_for_all_namespaces(field_selector="spec.nodeName=n1,status.phase!=Succeeded")) == ["p1"]
    assert names(core.list_namespaced_pod("default", label_selector="app notin (web)")) == ["p2", "p3"]
    assert names(core.list_namespaced_pod("kube-system")) == []

    # the raw list: items carry no apiVersion/kind, like the real server; the list does
    raw = json.loads(core.list_node(_preload_content=False).data)
    assert raw["kind"] == "NodeList" and raw["apiVersion"] == "v1"
    assert "kind" not in raw["items"][0] and raw["metadata"]["resourceVersion"]
    assert core.read_node("n1").kind == "Node"


def test_unsupported_field_selector_is_400(cluster):
    with pytest.raises(ApiException) as exc:
        cluster.core.list_pod_for_all_namespaces(field_selector="spec.foo=bar")
    assert exc.value.status == 400
    body = _status(exc.value)
    assert body["reason"] == "BadRequest" and body["message"] == "field label not supported: spec.foo"
    with pytest.raises(ApiException) as exc:
        cluster.core.list_node(field_selector="spec.nodeName=x")
    assert exc.value.status == 400


def test_paging_with_limit_and_continue(cluster):
    for i in range(7):
        cluster.core.create_node(node(f"n{i}"))
    seen, token, pages = [], None, 0
    while True:
        page = cluster.core.list_node(limit=3, _continue=token)
        pages += 1
        seen += [n.metadata.name for n in page.items]
        token = page.metadata._continue
        if not token:
            break
        assert page.metadata.remaining_item_count == 7 - len(seen)
    assert pages == 3 and seen == [f"n{i}" for i in range(7)]


def test_cordon_and_uncordon_patches(cluster):
    core = cluster.core
    core.create_node(node("n1"))
    before = core.read_node("n1").metadata.resource_version
    assert core.patch_node("n1", {"spec": {"unschedulable": True}}).spec.unschedulable is True
    again = core.patch_node("n1", {"spec": {"unschedulable": True}})
    assert again.metadata.resource_version != before
    assert core.patch_node("n1", {"spec": {"unschedulable": True}}).metadata.resource_version == again.metadata.resource_version
    core.patch_node("n1", {"spec": {"unschedulable": None}})
    raw = json.loads(core.read_node("n1", _preload_content=False).data)
    assert "unschedulable" not in raw["spec"]
    assert cluster.store.get("nodes", "n1")["spec"] == {}


def test_status_subresource_and_strategic_merge_of_conditions(cluster):
    core = cluster.core
    core.create_node(node("n1"))
    core.create_namespaced_pod("default", pod("p1", "n1"))
    # HTTP create resets pod status like the real registry
    assert core.read_namespaced_pod("p1", "default").status.phase == "Pending"
    core.patch_namespaced_pod_status("p1", "default", {"status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "False"}, {"type": "PodScheduled", "status": "True"}]}})
    core.patch_namespaced_pod_status("p1", "default", {"status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    conds = {c.type: c.status for c in core.read_namespaced_pod("p1", "default").status.conditions}
    assert conds == {"Ready": "True", "PodScheduled": "True"}

    # the main resource ignores status; /status ignores everything else
    core.patch_namespaced_pod("p1", "default", {"metadata": {"labels": {"x": "1"}}, "status": {"phase": "Failed"}})
    got = core.read_namespaced_pod("p1", "default")
    assert got.metadata.labels == {"x": "1"} and got.status.phase == "Running"
    core.patch_namespaced_pod_status("p1", "default", {"metadata": {"labels": {"x": "2"}}, "status": {"phase": "Succeeded"}})
    got = core.read_namespaced_pod("p1", "default")
    assert got.metadata.labels == {"x": "1"} and got.status.phase == "Succeeded"

    # node conditions merge by type too; taints (no patch strategy upstream) are replaced whole
    core.patch_node_status("n1", {"status": {"conditions": [{"type": "MemoryPressure", "status": "False"}]}})
    assert {c.type for c in core.read_node("n1").status.conditions} == {"Ready", "MemoryPressure"}
    core.patch_node("n1", {"spec": {"taints": [{"key": "a", "effect": "NoSchedule"}]}})
    core.patch_node("n1", {"spec": {"taints": [{"key": "b", "effect": "NoSchedule"}]}})
    assert [t.key for t in core.read_node("n1").spec.taints] == ["b"]


def test_other_patch_formats_and_directives(cluster):
    core = cluster.core
    core.create_node(node("n1"))
    core.create_namespaced_pod("default", pod("p1", "n1"))
    # containers merge by name; $patch: delete removes one
    core.patch_namespaced_pod("p1", "default", {"spec": {"containers": [{"name": "side", "image": "x:1"}]}})
    assert [c.name for c in core.read_namespaced_pod("p1", "default").spec.containers] == ["app", "side"]
    core.patch_namespaced_pod("p1", "default", {"spec": {"containers": [{"name": "side", "$patch": "delete"}]}})
    assert [c.name for c in core.read_namespaced_pod("p1", "default").spec.containers] == ["app"]
    # JSON patch (a list body) and a merge patch
    core.patch_node("n1", [{"op": "add", "path": "/metadata/labels/zone", "value": "1"},
                           {"op": "replace", "path": "/metadata/labels/kubernetes.io~1hostname", "value": "h"}])
    labels = core.read_node("n1").metadata.labels
    assert labels == {"zone": "1", "kubernetes.io/hostname": "h"}
    resp = cluster.raw("PATCH", "/api/v1/nodes/n1", {"metadata": {"labels": {"zone": None}}},
                       "application/merge-patch+json")
    assert resp.status == 200
    assert core.read_node("n1").metadata.labels == {"kubernetes.io/hostname": "h"}
    with pytest.raises(ApiException) as exc:
        core.patch_node("n1", [{"op": "test", "path": "/metadata/name", "value": "other"}])
    assert exc.value.status == 422


def test_replace_with_stale_resource_version_is_409(cluster):
    core = cluster.core
    core.create_node(node("n1"))
    first = core.read_node("n1")
    first.metadata.labels["a"] = "1"
    updated = core.replace_node("n1", first)
    assert updated.metadata.labels["a"] == "1"
    first.metadata.labels["a"] = "2"  # first still carries the old resourceVersion
    with pytest.raises(ApiException) as exc:
        core.replace_node("n1", first)
    assert exc.value.status == 409
    body = _status(exc.value)
    assert body["reason"] == "Conflict"
    assert body["message"] == ('Operation cannot be fulfilled on nodes "n1": the object has been modified; '
                               "please apply your changes to the latest version and try again")


def test_create_conflicts_and_generate_name(cluster):
    core = cluster.core
    core.create_node(node("n1"))
    with pytest.raises(ApiException) as exc:
        core.create_node(node("n1"))
    assert exc.value.status == 409 and _status(exc.value)["message"] == 'nodes "n1" already exists'
    made = core.create_namespaced_pod("default", {"metadata": {"generateName": "probe-"},
                                                  "spec": {"containers": [{"name": "c", "image": "i"}]}})
    assert made.metadata.name.startswith("probe-") and len(made.metadata.name) == len("probe-") + 5
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_pod("nope", pod("p", "n1"))
    assert exc.value.status == 404 and _status(exc.value)["message"] == 'namespaces "nope" not found'
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_pod("missing", "default")
    assert exc.value.status == 404 and _status(exc.value)["details"] == {"name": "missing", "kind": "pods"}


def test_watch_with_timeout_returns_events_then_ends(cluster):
    core = cluster.core
    core.create_node(node("n1"))
    core.create_namespaced_pod("default", pod("existing", "n1", {"app": "w"}))
    rv = core.list_namespaced_pod("default").metadata.resource_version
    core.create_namespaced_pod("default", pod("other", "n1", {"app": "other"}))
    core.create_namespaced_pod("default", pod("later", "n1", {"app": "w"}))
    core.patch_namespaced_pod("later", "default", {"metadata": {"labels": {"x": "y"}}})
    core.patch_namespaced_pod("later", "default", {"metadata": {"labels": {"app": "gone"}}})
    started = time.monotonic()
    events = [(e["type"], e["object"].metadata.name) for e in watch.Watch().stream(
        core.list_namespaced_pod, "default", label_selector="app=w", resource_version=rv, timeout_seconds=1)]
    elapsed = time.monotonic() - started
    # replayed from rv; leaving the selection is a DELETED, like the watch cache does it
    assert events == [("ADDED", "later"), ("MODIFIED", "later"), ("DELETED", "later")]
    assert 0.9 <= elapsed < 3

    # no resourceVersion: synthetic ADDED for what exists, then live events
    stream = watch.Watch().stream(core.list_node, timeout_seconds=2)
    first = next(stream)
    assert (first["type"], first["object"].metadata.name) == ("ADDED", "n1")
    cluster.store.patch("nodes", "n1", {"spec": {"unschedulable": True}}, "application/merge-patch+json")
    second = next(stream)
    assert second["type"] == "MODIFIED" and second["object"].spec.unschedulable is True
    assert list(stream) == []


def test_watch_too_old_resource_version_is_410(cluster, monkeypatch):
    core = cluster.core
    core.create_node(node("n1"))
    cluster.store._history.clear()
    resp = core.list_node(watch=True, resource_version="1", timeout_seconds=1, _preload_content=False)
    lines = [json.loads(line) for line in resp.data.decode().splitlines()]
    assert lines[0]["type"] == "ERROR" and lines[0]["object"]["code"] == 410


def _eviction(name: str) -> client.V1Eviction:
    return client.V1Eviction(metadata=client.V1ObjectMeta(name=name, namespace="default"))


def test_eviction_blocked_by_pdb_then_allowed(cluster):
    core, store = cluster.core, cluster.store
    core.create_node(node("n1"))
    rs = replicaset(store, "web", 3, {"app": "web"})
    for i in range(3):
        store.create("pods", pod(f"web-{i}", "n1", {"app": "web"}, owner_ref(rs), ready=i != 2), "default")
    cluster.policy.create_namespaced_pod_disruption_budget("default", pdb("web-pdb", {"app": "web"}, min_available=2))
    status = cluster.policy.read_namespaced_pod_disruption_budget("web-pdb", "default").status
    assert (status.current_healthy, status.desired_healthy, status.disruptions_allowed, status.expected_pods) == (2, 2, 0, 3)

    with pytest.raises(ApiException) as exc:
        core.create_namespaced_pod_eviction("web-0", "default", _eviction("web-0"))
    assert exc.value.status == 429
    body = _status(exc.value)
    assert body["reason"] == "TooManyRequests"
    assert body["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert body["details"]["causes"] == [{"reason": "DisruptionBudget",
                                          "message": "The disruption budget web-pdb needs 2 healthy pods and has 2 currently"}]
    assert core.read_namespaced_pod("web-0", "default").metadata.deletion_timestamp is None

    set_ready(store, "web-2", True)  # another matching pod becomes Ready
    assert cluster.policy.read_namespaced_pod_disruption_budget("web-pdb", "default").status.disruptions_allowed == 1
    resp = core.create_namespaced_pod_eviction("web-0", "default", _eviction("web-0"), _preload_content=False)
    assert resp.status == 201 and json.loads(resp.data)["status"] == "Success"
    assert core.read_namespaced_pod("web-0", "default").metadata.deletion_timestamp is not None
    status = cluster.policy.read_namespaced_pod_disruption_budget("web-pdb", "default").status
    assert (status.current_healthy, status.disruptions_allowed) == (2, 0)
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_pod_eviction("web-1", "default", _eviction("web-1"))
    assert exc.value.status == 429
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_pod_eviction("nope", "default", _eviction("nope"))
    assert exc.value.status == 404


def test_unhealthy_pod_policies(cluster):
    store = cluster.store
    store.create("nodes", node("n1"))
    rs = replicaset(store, "a", 2, {"app": "a"})
    store.create("pods", pod("a-0", "n1", {"app": "a"}, owner_ref(rs), ready=True), "default")
    store.create("pods", pod("a-1", "n1", {"app": "a"}, owner_ref(rs), ready=False), "default")
    store.create("poddisruptionbudgets", pdb("a", {"app": "a"}, min_available=2), "default")
    # IfHealthyBudget (default): an unhealthy pod needs currentHealthy >= desiredHealthy
    with pytest.raises(ApiException) as exc:
        cluster.core.create_namespaced_pod_eviction("a-1", "default", _eviction("a-1"))
    assert exc.value.status == 429
    store.patch("poddisruptionbudgets", "a", {"spec": {"unhealthyPodEvictionPolicy": "AlwaysAllow"}},
                "application/merge-patch+json", "default")
    cluster.core.create_namespaced_pod_eviction("a-1", "default", _eviction("a-1"))
    # a pod that is not running (Pending) bypasses the budget
    store.create("pods", pod("a-2", "n1", {"app": "a"}, owner_ref(rs), ready=False, phase="Pending"), "default")
    store.patch("poddisruptionbudgets", "a", {"spec": {"unhealthyPodEvictionPolicy": None}},
                "application/merge-patch+json", "default")
    cluster.core.create_namespaced_pod_eviction("a-2", "default", _eviction("a-2"))


def test_more_than_one_pdb_is_500(cluster):
    store = cluster.store
    store.create("nodes", node("n1"))
    store.create("pods", pod("p1", "n1", {"app": "x", "tier": "t"}), "default")
    store.create("poddisruptionbudgets", pdb("one", {"app": "x"}, max_unavailable=1), "default")
    store.create("poddisruptionbudgets", pdb("two", {"tier": "t"}, max_unavailable=1), "default")
    with pytest.raises(ApiException) as exc:
        cluster.core.create_namespaced_pod_eviction("p1", "default", _eviction("p1"))
    assert exc.value.status == 500
    body = _status(exc.value)
    assert body["reason"] == "InternalError"
    assert "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support." in body["message"]


def test_graceful_deletion(cluster):
    core, store = cluster.core, cluster.store
    core.create_node(node("n1"))
    store.create("pods", pod("p1", "n1"), "default")
    store.pod_termination_seconds = 0.5
    core.delete_namespaced_pod("p1", "default")
    terminating = core.read_namespaced_pod("p1", "default")
    assert terminating.metadata.deletion_timestamp is not None
    assert terminating.metadata.deletion_grace_period_seconds == 30
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            core.read_namespaced_pod("p1", "default")
        except ApiException as err:
            assert err.status == 404
            break
        time.sleep(0.05)
    else:
        pytest.fail("pod was not removed after its grace period")
    # grace 0 and unscheduled pods go at once
    store.create("pods", pod("p2", "n1"), "default")
    core.delete_namespaced_pod("p2", "default", grace_period_seconds=0)
    store.create("pods", pod("p3", None), "default")
    core.delete_namespaced_pod("p3", "default")
    assert core.list_namespaced_pod("default").items == []


def test_pod_logs_version_auth_and_faults(cluster):
    core, store = cluster.core, cluster.store
    store.create("nodes", node("n1"))
    store.create("pods", pod("p1", "n1"), "default")
    store.set_pod_log("default", "p1", "line 1\nline 2\n")
    assert core.read_namespaced_pod_log("p1", "default") == "line 1\nline 2\n"
    assert core.read_namespaced_pod_log("p1", "default", tail_lines=1) == "line 2\n"
    assert client.VersionApi(cluster.api).get_code().git_version == "v1.37.1"

    cfg = client.Configuration()
    cfg.host, cfg.ssl_ca_cert = cluster.url, str(cluster.ca_file)
    with client.ApiClient(cfg) as anonymous, pytest.raises(ApiException) as exc:
        client.CoreV1Api(anonymous).list_node()
    assert exc.value.status == 401

    from lab.sandbox.kube.server import FaultAction

    calls = []

    def hook(method: str, path: str) -> FaultAction | None:
        calls.append((method, path))
        if len(calls) == 1:
            return FaultAction(status=429, retry_after=1)
        if path == "/api/v1/nodes" and method == "POST":
            return FaultAction(status=503)
        if path == "/api/v1/nodes/n1":
            return FaultAction(delay_seconds=1.0)
        return None

    cluster.server.fault_hook = hook
    # a GET answered 429 + Retry-After is retried by urllib3 underneath the client (after 1 s)
    assert len(core.list_node().items) == 1 and calls == [("GET", "/api/v1/nodes")] * 2
    with pytest.raises(ApiException) as exc:  # a POST is not retried
        core.create_node(node("n2"))
    assert exc.value.status == 503 and _status(exc.value)["reason"] == "ServiceUnavailable"
    with pytest.raises(Exception, match="(?i)timed? ?out"):
        core.read_node("n1", _request_timeout=0.3)
