"""A Kubernetes API emulator (sandbox.kube: Store + KubeApiServer on 127.0.0.1:0, HTTPS) and a
real kubernetes ApiClient pointed at it, for the check_blockers integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from rebooter.kube import kubeapi


@dataclass
class Kube:
    store: Any  # sandbox.kube.store.Store
    api: k8s.ApiClient
    server: Any  # sandbox.kube.server.KubeApiServer

    def namespace(self, name: str) -> str:
        if not self.store.list("namespaces", field_selector=f"metadata.name={name}"):
            self.store.create("namespaces", {"metadata": {"name": name}})
        return name

    def add_node(self, name: str) -> dict:
        return self.store.create("nodes", {
            "metadata": {"name": name, "labels": {"kubernetes.io/os": "linux"}},
            "spec": {},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
                       "nodeInfo": {"bootID": f"boot-{name}", "kernelVersion": "5.15.0-1079-azure",
                                    "osImage": "Ubuntu 22.04.5 LTS", "architecture": "amd64",
                                    "containerRuntimeVersion": "containerd://1.7.27-1", "kubeProxyVersion": "",
                                    "kubeletVersion": "v1.32.6", "machineID": "m" * 32, "operatingSystem": "linux",
                                    "systemUUID": "00000000-0000-0000-0000-00000000000a"}},
        })

    def add_replicaset(self, name: str, namespace: str, replicas: int, labels: dict) -> dict:
        return self.store.create("replicasets", {
            "metadata": {"name": name, "namespace": self.namespace(namespace)},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})

    def add_pod(self, name: str, node: str, namespace: str = "default", labels: dict | None = None,
                owner: dict | None = None, phase: str = "Running") -> dict:
        meta: dict = {"name": name, "namespace": self.namespace(namespace), "labels": dict(labels or {})}
        if owner is not None:
            meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner["kind"],
                                        "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
                                        "controller": True, "blockOwnerDeletion": True}]
        return self.store.create("pods", {
            "metadata": meta,
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "nginx"}]},
            "status": {"phase": phase,
                       "conditions": [{"type": "Ready", "status": "True" if phase == "Running" else "False"}]},
        })

    def add_pdb(self, name: str, namespace: str, labels: dict, min_available: int) -> dict:
        return self.store.create("poddisruptionbudgets", {
            "metadata": {"name": name, "namespace": self.namespace(namespace)},
            "spec": {"selector": {"matchLabels": labels}, "minAvailable": min_available}})


@pytest.fixture(scope="module")
def sandbox_certs(tmp_path_factory):
    from lab.sandbox.certs import make_certs

    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def kube(sandbox_certs, monkeypatch) -> Iterator[Kube]:
    from lab.sandbox.kube.server import KubeApiServer, kubeconfig
    from lab.sandbox.kube.store import Store

    store = Store()
    server = KubeApiServer(store, sandbox_certs.server_context(), host="127.0.0.1", port=0, token="test-token")
    url = server.start()
    configuration = k8s.Configuration()
    k8s_config.load_kube_config_from_dict(kubeconfig(url, sandbox_certs.ca_pem.encode(), "test-token"),
                                          client_configuration=configuration)
    configuration.retries = 0
    monkeypatch.setattr(kubeapi, "RETRY_DELAY", 0.01)
    api = k8s.ApiClient(configuration)
    try:
        yield Kube(store, api, server)
    finally:
        api.close()
        server.stop()
