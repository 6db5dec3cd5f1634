"""A sandbox Kubernetes API (store + HTTPS server) and a real kubernetes ApiClient pointed at it.

Tests seed objects straight into the Store (as a scenario or the simulated kubelet would) and
drive the node operations and the activities through the official client over HTTPS, the
production code path. The ``kube`` and ``sandbox_certs`` fixtures are made available by the
conftest.py of the directories whose tests use them (tests/rebooter/kube, tests/activities).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from rebooter.kube import kubeapi

CLUSTER = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1"
SUB = "00000000-0000-0000-0000-000000000001"


@dataclass
class Kube:
    store: Any  # sandbox.kube.store.Store
    api: k8s.ApiClient
    server: Any  # sandbox.kube.server.KubeApiServer (fault_hook, requests)

    # -- seeding -----------------------------------------------------------------------------

    def add_node(self, name: str = "aks-pool1-12345678-vmss000000", boot_id: str = "boot-1", ready: bool = True,
                 unschedulable: bool = False, annotations: dict | None = None, pool: str = "pool1") -> dict:
        instance = int(name.rsplit("vmss", 1)[-1], 36) if "vmss" in name else 0
        node = {
            "metadata": {
                "name": name,
                "labels": {"kubernetes.azure.com/agentpool": pool, "agentpool": pool, "kubernetes.io/os": "linux",
                           "topology.kubernetes.io/zone": "westeurope-1", "kubernetes.azure.com/mode": "user"},
                "annotations": dict(annotations or {}),
            },
            "spec": {"providerID": f"azure:///subscriptions/{SUB}/resourceGroups/mc_rg_aks1_westeurope/providers/"
                                   f"Microsoft.Compute/virtualMachineScaleSets/aks-{pool}-12345678-vmss/virtualMachines/{instance}"},
            "status": self.node_status(boot_id, ready),
        }
        if unschedulable:
            node["spec"]["unschedulable"] = True
        return self.store.create("nodes", node)

    @staticmethod
    def node_status(boot_id: str, ready: bool | None, kernel: str = "5.15.0-1079-azure") -> dict:
        status = {"True": "True", "False": "False", "None": "Unknown"}[str(ready)]
        return {
            "conditions": [{"type": "Ready", "status": status, "reason": "KubeletReady" if ready else "NodeStatusUnknown"}],
            "nodeInfo": {"bootID": boot_id, "kernelVersion": kernel, "osImage": "Ubuntu 22.04.5 LTS",
                         "architecture": "amd64", "containerRuntimeVersion": "containerd://1.7.27-1",
                         "kubeProxyVersion": "", "kubeletVersion": "v1.32.6", "machineID": "m" * 32,
                         "operatingSystem": "linux", "systemUUID": "00000000-0000-0000-0000-00000000000a"},
        }

    def set_node_status(self, name: str, boot_id: str, ready: bool | None, kernel: str = "5.15.0-1080-azure") -> None:
        self.store.patch("nodes", name, {"status": self.node_status(boot_id, ready, kernel)}, "application/merge-patch+json",
                         subresource="status")

    def namespace(self, name: str) -> str:
        if not self.store.list("namespaces", field_selector=f"metadata.name={name}"):
            self.store.create("namespaces", {"metadata": {"name": name}})
        return name

    def add_owner(self, kind: str, name: str, namespace: str = "default", replicas: int = 1, labels: dict | None = None) -> dict:
        labels = labels or {"app": name}
        spec: dict = {"selector": {"matchLabels": labels},
                      "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}
        if kind != "daemonsets":
            spec["replicas"] = replicas
        if kind == "statefulsets":
            spec["serviceName"] = name
        return self.store.create(kind, {"metadata": {"name": name, "namespace": self.namespace(namespace)}, "spec": spec})

    def add_pod(self, name: str, node: str, namespace: str = "default", owner: dict | None = None,
                labels: dict | None = None, empty_dir: bool = False, mirror: bool = False, phase: str = "Running",
                grace: int = 30) -> dict:
        meta: dict = {"name": name, "namespace": self.namespace(namespace), "labels": dict(labels or {})}
        if owner is not None:
            api_version = owner.get("apiVersion", "apps/v1")
            meta["ownerReferences"] = [{"apiVersion": api_version, "kind": owner["kind"], "name": owner["metadata"]["name"],
                                        "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
            meta["labels"].update(((owner.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})
        if mirror:
            meta["annotations"] = {"kubernetes.io/config.mirror": uuid.uuid4().hex, "kubernetes.io/config.source": "file"}
        volumes = [{"name": "scratch", "emptyDir": {}}] if empty_dir else []
        pod = {
            "metadata": meta,
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": grace, "volumes": volumes,
                     "containers": [{"name": "c", "image": "nginx"}]},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if phase == "Running" else "False"}]},
        }
        return self.store.create("pods", pod)

    def add_pdb(self, name: str, labels: dict, namespace: str = "default", min_available: int | None = None,
                max_unavailable: int | None = None) -> dict:
        spec: dict = {"selector": {"matchLabels": labels}}
        if min_available is not None:
            spec["minAvailable"] = min_available
        if max_unavailable is not None:
            spec["maxUnavailable"] = max_unavailable
        return self.store.create("poddisruptionbudgets", {"metadata": {"name": name, "namespace": self.namespace(namespace)}, "spec": spec})

    # -- reading -----------------------------------------------------------------------------

    def node(self, name: str) -> dict:
        return self.store.get("nodes", name)

    def pods(self, node: str | None = None) -> list[dict]:
        return self.store.list("pods", field_selector=f"spec.nodeName={node}" if node else None)

    def pod_names(self, node: str | None = None, live_only: bool = False) -> set[str]:
        return {f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in self.pods(node)
                if not (live_only and p["metadata"].get("deletionTimestamp"))}


@pytest.fixture(scope="module")
def sandbox_certs(tmp_path_factory):
    from lab.sandbox.certs import make_certs

    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def kube(sandbox_certs, monkeypatch) -> Iterator[Kube]:
    """A fresh Store served over HTTPS on 127.0.0.1, and an ApiClient built from its kubeconfig."""
    server_mod = pytest.importorskip("lab.sandbox.kube.server", reason="sandbox Kubernetes API server not available")
    from lab.sandbox.kube.store import Store

    store = Store()
    store.pod_termination_seconds = 0.05  # graceful deletion finishes quickly in tests
    server = server_mod.KubeApiServer(store, sandbox_certs.server_context(), host="127.0.0.1", port=0, token="test-token")
    url = server.start()
    config = server_mod.kubeconfig(url, sandbox_certs.ca_pem.encode(), "test-token")
    configuration = k8s.Configuration()
    k8s_config.load_kube_config_from_dict(config, client_configuration=configuration)
    configuration.retries = 2
    monkeypatch.setattr(kubeapi, "RETRY_DELAY", 0.01)
    api = k8s.ApiClient(configuration)
    try:
        yield Kube(store, api, server)
    finally:
        api.close()
        server.stop()
