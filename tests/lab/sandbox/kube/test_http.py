"""Wire-level details: discovery documents, watch-list, tables, delete-collection, unknown paths."""

from __future__ import annotations

import json

from .builders import node, pod


def test_discovery_advertises_eviction_and_versions(cluster):
    core = json.loads(cluster.raw("GET", "/api/v1").data)
    assert core["groupVersion"] == "v1"
    eviction = next(r for r in core["resources"] if r["name"] == "pods/eviction")
    assert (eviction["group"], eviction["version"], eviction["kind"], eviction["verbs"]) == ("policy", "v1", "Eviction", ["create"])
    assert {"pods/status", "pods/log", "nodes/status", "nodes"} <= {r["name"] for r in core["resources"]}
    groups = json.loads(cluster.raw("GET", "/apis").data)
    assert [g["name"] for g in groups["groups"]] == ["apps", "policy"]
    policy = json.loads(cluster.raw("GET", "/apis/policy/v1").data)
    assert policy["resources"][0]["name"] == "poddisruptionbudgets"
    for path in ("/version", "/version/"):
        assert json.loads(cluster.raw("GET", path).data)["gitVersion"] == "v1.37.1"
    assert cluster.raw("GET", "/openapi/v2").status == 404
    assert cluster.raw("GET", "/apis/batch/v1").status == 404
    assert cluster.raw("GET", "/api/v1/widgets").status == 404
    root = json.loads(cluster.raw("GET", "/openapi/v3").data)
    assert set(root["paths"]) == {"api/v1", "apis/apps/v1", "apis/policy/v1"}


def test_watch_list_sends_initial_events_then_a_bookmark(cluster):
    cluster.store.create("nodes", node("n1"))
    cluster.store.create("nodes", node("n2"))
    resp = cluster.raw("GET", "/api/v1/nodes?watch=true&sendInitialEvents=true&allowWatchBookmarks=true"
                              "&resourceVersionMatch=NotOlderThan&timeoutSeconds=1&fieldSelector=metadata.name%3Dn2")
    events = [json.loads(line) for line in resp.data.decode().splitlines()]
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    assert events[0]["object"]["kind"] == "Node" and events[0]["object"]["metadata"]["name"] == "n2"
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert resp.headers["Transfer-Encoding"] == "chunked"


def test_table_for_pods_and_delete_collection(cluster):
    store = cluster.store
    store.create("nodes", node("n1"))
    store.create("pods", pod("a", "n1", {"x": "1"}), "default")
    store.create("pods", pod("b", "n1", {"x": "2"}, phase="Succeeded", ready=False), "default")
    table = json.loads(cluster.raw("GET", "/api/v1/namespaces/default/pods", headers={
        "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}).data)
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]][:5] == ["Name", "Ready", "Status", "Restarts", "Age"]
    assert [r["cells"][:3] for r in table["rows"]] == [["a", "1/1", "Running"], ["b", "0/1", "Completed"]]
    resp = cluster.raw("DELETE", "/api/v1/namespaces/default/pods?labelSelector=x%3D2")
    assert resp.status == 200 and [i["metadata"]["name"] for i in json.loads(resp.data)["items"]] == ["b"]
    assert [p["metadata"]["name"] for p in store.list("pods")] == ["a"]
    assert cluster.raw("POST", "/api/v1/namespaces/default/pods/a/status").status == 405


def test_requests_without_a_token_are_refused(cluster):
    resp = cluster.raw("GET", "/api/v1/nodes", headers={"Authorization": "Bearer wrong"})
    assert resp.status == 401 and json.loads(resp.data)["reason"] == "Unauthorized"


def test_watch_of_one_object_by_path(cluster):
    cluster.store.create("nodes", node("n1"))
    cluster.store.create("nodes", node("n2"))
    resp = cluster.raw("GET", "/api/v1/nodes/n2?watch=true&timeoutSeconds=1")
    names = [json.loads(line)["object"]["metadata"]["name"] for line in resp.data.decode().splitlines()]
    assert names == ["n2"]


def test_pending_terminations_survive_a_server_stop(cluster):
    import time

    store = cluster.store
    store.create("nodes", node("n1"))
    store.create("pods", pod("p", "n1"), "default")
    store.pod_termination_seconds = 0.5
    store.delete("pods", "p", "default")
    cluster.server.stop()
    deadline = time.monotonic() + 3
    while store.list("pods") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.list("pods") == []


def test_watch_timeout_seconds_must_be_an_integer_as_on_a_real_api_server(cluster):
    """timeoutSeconds is an int64: "1.5" does not decode, and the API server answers 400."""
    cluster.store.create("nodes", node("n1"))
    resp = cluster.raw("GET", "/api/v1/nodes?watch=true&timeoutSeconds=1.5")
    assert resp.status == 400 and "invalid syntax" in json.loads(resp.data)["message"]
    ok = cluster.raw("GET", "/api/v1/nodes?watch=true&timeoutSeconds=1&fieldSelector=metadata.name%3Dn1")
    assert ok.status == 200 and [json.loads(line)["type"] for line in ok.data.decode().splitlines()] == ["ADDED"]
