"""The in-process Store API the cluster simulation builds on: rules it enforces without HTTP in between."""

from __future__ import annotations

import time

import pytest

from lab.sandbox.kube.errors import ApiError
from lab.sandbox.kube.patching import strategic_merge
from lab.sandbox.kube.selectors import labels_match, parse_field_selector, parse_label_selector
from lab.sandbox.kube.store import Store

from .builders import node, owner_ref, pdb, pod, replicaset, set_ready

SMP = "application/strategic-merge-patch+json"


@pytest.fixture
def store() -> Store:
    s = Store()
    s.pod_termination_seconds = 0.2
    s.create("nodes", node("n1"))
    return s


def _wait_gone(store: Store, kind: str, name: str, namespace: str | None = "default", within: float = 3.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            store.get(kind, name, namespace)
        except ApiError as err:
            assert err.code == 404
            return
        time.sleep(0.02)
    pytest.fail(f"{kind}/{name} still exists")


def test_label_selector_grammar():
    labels = {"app": "web", "tier": "1"}
    assert labels_match(parse_label_selector("app=web,tier>0"), labels)
    assert not labels_match(parse_label_selector("tier<1"), labels)
    assert labels_match(parse_label_selector("app in (web, db), !gpu, env notin (prod)"), labels)
    assert labels_match(parse_label_selector(""), labels)
    for bad in ("app in (web", "app=web,", "!", "a b"):
        with pytest.raises(ApiError) as exc:
            parse_label_selector(bad)
        assert exc.value.code == 400
    assert parse_field_selector(r"metadata.name=a\,b", "pods")[0].value == "a,b"


def test_strategic_merge_directives():
    original = {
        "metadata": {"finalizers": ["a", "b"], "ownerReferences": [{"uid": "1", "name": "x"}, {"uid": "2", "name": "y"}]},
        "spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]},
            {"name": "b", "image": "b:1"}]}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}},
    }
    patch = {
        "metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "finalizers": ["c"],
                     "ownerReferences": [{"uid": "2", "name": "z"}]},
        "spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
            "containers": [{"name": "a", "env": [{"name": "Y", "$patch": "delete"}, {"name": "Z", "value": "3"}]}]}},
            "strategy": {"$retainKeys": ["type"], "type": "Recreate"}},
    }
    out = strategic_merge("deployments", original, patch)
    assert out["metadata"]["finalizers"] == ["b", "c"]
    assert out["metadata"]["ownerReferences"] == [{"uid": "1", "name": "x"}, {"uid": "2", "name": "z"}]
    containers = out["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["b", "a"]
    assert containers[1]["env"] == [{"name": "X", "value": "1"}, {"name": "Z", "value": "3"}]
    assert out["spec"]["strategy"] == {"type": "Recreate"}
    assert strategic_merge("pods", {"spec": {"a": {"b": 1}}}, {"spec": {"a": {"$patch": "replace", "c": 2}}}) == \
        {"spec": {"a": {"c": 2}}}
    assert original["metadata"]["finalizers"] == ["a", "b"]  # the input is not modified


def test_writes_are_validated_and_namespaces_must_exist(store):
    with pytest.raises(ApiError) as exc:
        store.create("nodes", {"metadata": {"name": "n2"}, "status": {"nodeInfo": {"bootID": "x"}}})
    assert exc.value.code == 422 and "V1NodeSystemInfo.machineID: Required value" in exc.value.message
    with pytest.raises(ApiError) as exc:
        store.create("pods", pod("p", "n1"), "missing")
    assert exc.value.code == 404
    with pytest.raises(ApiError) as exc:
        store.create("pods", pod("Bad_Name", "n1"), "default")
    assert exc.value.code == 422
    assert store.get("nodes", "n1", "default")["metadata"]["name"] == "n1"  # cluster-scoped: namespace ignored
    store.create("pods", {**pod("x", "n1"), "bogus": 1}, "default")  # unknown fields are dropped
    assert "bogus" not in store.get("pods", "x", "default")


def test_noop_update_keeps_resource_version_and_generation_tracks_spec(store):
    rs = replicaset(store, "web", 1, {"app": "web"})
    same = store.patch("replicasets", "web", {"metadata": {"labels": None}}, SMP, "default")
    assert same["metadata"]["resourceVersion"] == rs["metadata"]["resourceVersion"]
    scaled = store.patch("replicasets", "web", {"spec": {"replicas": 3}}, SMP, "default")
    assert scaled["metadata"]["generation"] == 2
    labelled = store.patch("replicasets", "web", {"metadata": {"labels": {"a": "b"}}}, SMP, "default")
    assert labelled["metadata"]["generation"] == 2
    status = store.patch("replicasets", "web", {"status": {"replicas": 3}}, SMP, "default", subresource="status")
    assert status["metadata"]["generation"] == 2 and status["status"]["replicas"] == 3


def test_subscribers_see_changes_in_order_even_when_they_write(store):
    seen: list[tuple[str, str, str]] = []

    def kubelet(event_type: str, kind: str, obj: dict) -> None:
        if kind == "pods" and event_type == "ADDED":
            store.patch("pods", obj["metadata"]["name"], {"status": {"phase": "Running"}}, SMP, "default",
                        subresource="status")

    store.subscribe(kubelet)
    store.subscribe(lambda t, k, o: seen.append((t, k, (o.get("status") or {}).get("phase", ""))) if k == "pods" else None)
    store.create("pods", {**pod("p", "n1"), "status": {"phase": "Pending"}}, "default")
    assert seen == [("ADDED", "pods", "Pending"), ("MODIFIED", "pods", "Running")]


def test_garbage_collection_and_finalizers(store):
    rs = replicaset(store, "web", 2, {"app": "web"})
    keep = replicaset(store, "keep", 1, {"app": "keep"})
    store.create("pods", pod("web-0", "n1", {"app": "web"}, owner_ref(rs)), "default")
    store.create("pods", pod("keep-0", "n1", {"app": "keep"}, owner_ref(keep)), "default")
    store.delete("replicasets", "web", "default")
    assert store.get("pods", "web-0", "default")["metadata"]["deletionTimestamp"]
    store.delete("replicasets", "keep", "default", propagation_policy="Orphan")
    assert "ownerReferences" not in store.get("pods", "keep-0", "default")["metadata"]
    _wait_gone(store, "pods", "web-0")

    store.create("nodes", {**node("n2"), "metadata": {"name": "n2", "finalizers": ["example.com/hold"]}})
    store.delete("nodes", "n2")
    assert store.get("nodes", "n2")["metadata"]["deletionTimestamp"]
    store.patch("nodes", "n2", {"metadata": {"finalizers": None}}, "application/merge-patch+json")
    _wait_gone(store, "nodes", "n2", None, within=0.1)


def test_graceful_deletion_can_only_be_shortened(store):
    store.pod_termination_seconds = None
    store.create("pods", pod("p", "n1"), "default")
    first = store.delete("pods", "p", "default", grace_period_seconds=60)
    assert first["metadata"]["deletionGracePeriodSeconds"] == 60
    again = store.delete("pods", "p", "default", grace_period_seconds=120)
    assert again["metadata"]["deletionGracePeriodSeconds"] == 60
    store.delete("pods", "p", "default", grace_period_seconds=0)
    _wait_gone(store, "pods", "p", within=0.1)


def test_pdb_status_percentages_deployments_and_sync_failures(store):
    dep = store.create("deployments", {"metadata": {"name": "web"}, "spec": {
        "replicas": 4, "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}},
        "default")
    rs = store.create("replicasets", {"metadata": {"name": "web-123", "ownerReferences": [owner_ref(dep)]}, "spec": {
        "replicas": 4, "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}},
        "default")
    for i in range(3):
        store.create("pods", pod(f"web-{i}", "n1", {"app": "web"}, owner_ref(rs)), "default")
    store.create("poddisruptionbudgets", pdb("max", {"app": "web"}, max_unavailable="50%"), "default")
    status = store.get("poddisruptionbudgets", "max", "default")["status"]
    # expectedPods is the Deployment's scale (4), not the 3 pods that exist
    assert (status["expectedPods"], status["desiredHealthy"], status["currentHealthy"], status["disruptionsAllowed"]) == (4, 2, 3, 1)
    store.patch("deployments", "web", {"spec": {"replicas": 2}}, SMP, "default")
    status = store.get("poddisruptionbudgets", "max", "default")["status"]
    assert (status["expectedPods"], status["desiredHealthy"], status["disruptionsAllowed"]) == (2, 1, 2)
    store.delete("poddisruptionbudgets", "max", "default")

    store.create("pods", pod("bare", "n1", {"app": "web"}), "default")
    store.create("poddisruptionbudgets", pdb("pct", {"app": "web"}, min_available="50%"), "default")
    status = store.get("poddisruptionbudgets", "pct", "default")["status"]
    assert status["disruptionsAllowed"] == 0
    assert status["conditions"][0]["reason"] == "SyncFailed"
    assert status["conditions"][0]["message"] == 'found no controller ref for pod "bare"'


def test_eviction_dry_run_and_disrupted_pods(store):
    rs = replicaset(store, "web", 3, {"app": "web"})
    for i in range(3):
        store.create("pods", pod(f"web-{i}", "n1", {"app": "web"}, owner_ref(rs)), "default")
    store.create("poddisruptionbudgets", pdb("web", {"app": "web"}, max_unavailable=1), "default")
    store.evict("web-0", "default", {"deleteOptions": {"dryRun": ["All"]}})
    assert not store.get("pods", "web-0", "default")["metadata"].get("deletionTimestamp")
    events: list[dict] = []
    store.subscribe(lambda t, k, o: events.append(o) if k == "poddisruptionbudgets" else None)
    store.evict("web-0", "default", {})
    assert "web-0" in events[0]["status"]["disruptedPods"]  # recorded by the eviction, like upstream
    final = store.get("poddisruptionbudgets", "web", "default")["status"]
    assert "disruptedPods" not in final and final["currentHealthy"] == 2 and final["disruptionsAllowed"] == 0
    with pytest.raises(ApiError) as exc:
        store.evict("web-1", "default", {})
    assert exc.value.code == 429
    set_ready(store, "web-1", False)
    # IfHealthyBudget: an unready pod may go only while the budget is met (2 healthy needed, 1 left)
    with pytest.raises(ApiError):
        store.evict("web-1", "default", {})


def test_deleting_a_namespace_removes_its_objects(store):
    store.create("namespaces", {"metadata": {"name": "team"}})
    store.create("pods", pod("p", "n1"), "team")
    store.delete("namespaces", "team")
    assert store.list("pods", "team") == []
    with pytest.raises(ApiError):
        store.get("namespaces", "team")
