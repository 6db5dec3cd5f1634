"""check_blockers end to end: the activity, the official kubernetes client, the API emulator over
HTTPS (and the Prometheus stub), with a blocking pod and a PDB that allows no disruption."""

from __future__ import annotations

import pytest

from activities import safety
from rebooter.arm import clients
from rebooter.config import settings
from rebooter.policy import alerts
from tests.helpers.prometheus_stub import PrometheusStub, alert

CLUSTER = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1"


@pytest.fixture
def cluster(kube, monkeypatch):
    monkeypatch.setattr(clients, "kube_api", lambda cluster_id, access: kube.api)
    for node in ("n1", "n2", "n3"):
        kube.add_node(node)
    web = kube.add_owner("replicasets", "web-7d9f", "shop", 2, {"app": "web"})
    kube.add_pod("web-7d9f-a", "n1", "shop", labels={"app": "web"}, owner=web)
    kube.add_pod("web-7d9f-b", "n2", "shop", labels={"app": "web"}, owner=web)
    kube.add_pdb("web", {"app": "web"}, "shop", min_available=2)
    api = kube.add_owner("replicasets", "api-5c4b", "shop", 3, {"app": "api"})
    for i, node in enumerate(("n1", "n2", "n3")):
        kube.add_pod(f"api-5c4b-{i}", node, "shop", labels={"app": "api"}, owner=api)
    kube.add_pdb("api", {"app": "api"}, "shop", min_available=2)
    return kube


def cfg(**env: str) -> dict:
    return settings.load(env)


def test_quiet_node_is_ok(cluster):
    result = safety.check_blockers({"cluster": CLUSTER, "node": "n3", "settings": cfg()})
    assert result == {"blocked": False, "verdict": "ok", "reasons": [], "alerts": [], "pods": [],
                      "drain": {"verdict": "ok", "reasons": [], "evict": 1}}


def test_pdb_that_allows_no_disruption_makes_the_node_undrainable(cluster):
    result = safety.check_blockers({"cluster": CLUSTER, "node": "n1", "settings": cfg()})
    assert result["blocked"] is True and result["verdict"] == "undrainable"
    assert result["reasons"] == ["cannot drain: PDB shop/web allows no disruption (minAvailable 2 of 2 pods); "
                                 "it covers shop/web-7d9f-a on this node"]
    assert result["drain"]["evict"] == 2


def backup_owner(cluster) -> dict:
    return cluster.add_owner("replicasets", "backup", "ops", 1, {"app": "backup"})


def test_blocking_pod_on_the_node_and_anywhere(cluster):
    owner = backup_owner(cluster)
    cluster.add_pod("backup-29", "n3", "ops", labels={"app": "backup"}, owner=owner)
    cluster.add_pod("backup-28", "n2", "ops", labels={"app": "backup"}, owner=owner, phase="Succeeded")
    values = cfg(REBOOTER_BLOCKING_POD_SELECTORS="app=backup;team=db")
    on_n3 = safety.check_blockers({"cluster": CLUSTER, "node": "n3", "settings": values})
    assert on_n3["blocked"] is True and on_n3["verdict"] == "wait"
    assert on_n3["pods"] == ["blocking pod running on node n3: ops/backup-29 (REBOOTER_BLOCKING_POD_SELECTORS)"]
    on_n2 = safety.check_blockers({"cluster": CLUSTER, "node": "n2", "settings": values})
    assert on_n2["pods"] == []  # only a finished backup pod there
    anywhere = safety.check_blockers({"cluster": CLUSTER, "settings": values})
    assert anywhere["blocked"] is True and anywhere["drain"] is None
    assert anywhere["reasons"] == ["blocking pod running in the cluster: ops/backup-29 (REBOOTER_BLOCKING_POD_SELECTORS)"]
    queries = [r.query for r in cluster.server.requests if r.path == "/api/v1/pods"]
    assert any("labelSelector=app%3Dbackup" in q for q in queries)


def test_alerts_and_pods_and_pdb_together(cluster):
    cluster.add_pod("backup-29", "n1", "ops", labels={"app": "backup"}, owner=backup_owner(cluster))
    with PrometheusStub() as prom:
        prom.alerts = [alert("NodeDiskFull"), alert("Watchdog")]
        values = cfg(REBOOTER_PROMETHEUS_URL=prom.url, REBOOTER_ALERT_FILTER_REGEXP="^Watchdog$",
                     REBOOTER_BLOCKING_POD_SELECTORS="app=backup")
        result = safety.check_blockers({"cluster": CLUSTER, "node": "n1", "settings": values})
    assert result["verdict"] == "undrainable"
    assert result["alerts"] == ["1 active alert in Prometheus: NodeDiskFull"]
    assert result["reasons"][0] == "1 active alert in Prometheus: NodeDiskFull"
    assert result["reasons"][1].startswith("blocking pod running on node n1: ops/backup-29")
    assert result["reasons"][2].startswith("cannot drain: PDB shop/web allows no disruption")


def test_unhealthy_replica_elsewhere_is_wait(cluster):
    # api has 3 pods, minAvailable 2: make one unready on n3 -> 2 healthy, 0 allowed -> wait for n1.
    cluster.store.patch("pods", "api-5c4b-2", {"status": {"conditions": [{"type": "Ready", "status": "False"}]}},
                        "application/merge-patch+json", namespace="shop", subresource="status")
    cluster.store.delete("poddisruptionbudgets", "web", "shop")
    result = safety.check_blockers({"cluster": CLUSTER, "node": "n1", "settings": cfg()})
    assert result["verdict"] == "wait"
    assert result["reasons"] == ["PDB shop/api allows no disruption now: only 2 of its 3 pods are healthy and it must "
                                 "keep 2 (covers shop/api-5c4b-0); waiting for its pods to recover"]


def test_api_failure_blocks_with_the_reason(cluster):
    from lab.sandbox.kube.server import FaultAction

    cluster.server.fault_hook = lambda method, path: FaultAction(status=500, message="etcd is sad") \
        if path == "/api/v1/pods" else None
    result = safety.check_blockers({"cluster": CLUSTER, "node": "n3",
                                    "settings": cfg(REBOOTER_BLOCKING_POD_SELECTORS="app=backup")})
    assert result["blocked"] is True and result["verdict"] == "wait"
    assert result["pods"] == ["cannot list blocking pods, so reboots wait: HTTP 500: etcd is sad"]
    assert result["drain"]["verdict"] == "wait" and "cannot predict the drain of n3" in result["drain"]["reasons"][0]


def test_payload_is_validated():
    with pytest.raises(ValueError, match="AKS resource ID"):
        safety.check_blockers({"cluster": "aks1", "settings": {}})
    with pytest.raises(ValueError, match="node name"):
        safety.check_blockers({"cluster": CLUSTER, "node": "Bad Node", "settings": {}})
    with pytest.raises(ValueError, match="settings"):
        safety.check_blockers({"cluster": CLUSTER})


def test_prometheus_scope_is_azure_monitor():
    assert alerts.PROMETHEUS_SCOPE == "https://prometheus.monitor.azure.com/.default"


def test_the_drain_pod_selector_setting_reaches_the_pdb_prediction(cluster):
    """Regression (issue 14): the setting is drainPodSelector and DrainOptions read podSelector,
    so the prediction judged pods the drain would never evict (one spelling everywhere now)."""
    values = cfg(REBOOTER_DRAIN_POD_SELECTOR="app=api")
    result = safety.check_blockers({"cluster": CLUSTER, "node": "n1", "settings": values})
    assert result["verdict"] == "ok" and result["drain"]["evict"] == 1, result
    assert safety.check_blockers({"cluster": CLUSTER, "node": "n1", "settings": cfg()})["verdict"] == "undrainable"
