"""Benchmark of the Kubernetes API emulator through the official client over HTTPS.

Creates 200 nodes and 2000 pods (through the client, so creation is timed on the real path),
then times: listing the 200 nodes (the headline number, median of 20), listing one node's pods
with ``fieldSelector=spec.nodeName`` (what a drain does), listing all 2000 pods, and a GET.

    .venv/bin/python lab/bench/sandbox_kube_bench.py [--nodes 200] [--pods 2000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import json
import secrets
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import trustme
from kubernetes import client

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lab.sandbox.kube.server import KubeApiServer  # noqa: E402
from lab.sandbox.kube.store import Store  # noqa: E402

NODE_INFO = {"architecture": "amd64", "bootID": "b", "containerRuntimeVersion": "containerd://1.7.27",
             "kernelVersion": "5.15.0-1089-azure", "kubeProxyVersion": "", "kubeletVersion": "v1.33.2",
             "machineID": "m", "operatingSystem": "linux", "osImage": "Ubuntu 22.04.5 LTS", "systemUUID": "u"}


def _node(i: int) -> dict:
    name = f"aks-pool{i // 50}-{i:05d}-vmss"
    return {"metadata": {"name": name, "labels": {"kubernetes.azure.com/agentpool": f"pool{i // 50}",
                                                  "kubernetes.io/hostname": name}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "nodeInfo": NODE_INFO,
                       "addresses": [{"type": "InternalIP", "address": f"10.0.{i // 250}.{i % 250}"}]}}


def _pod(i: int, node: str) -> dict:
    return {"metadata": {"name": f"app-{i:05d}", "labels": {"app": f"app{i % 20}"}},
            "spec": {"nodeName": node, "containers": [{"name": "app", "image": "mcr.microsoft.com/app:1.0",
                                                       "env": [{"name": "X", "value": str(i)}]}]}}


def _time(fn: Callable[[], object], repeat: int) -> dict:
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return {"median_ms": round(statistics.median(samples), 2), "min_ms": round(min(samples), 2),
            "max_ms": round(max(samples), 2), "n": repeat}


def run(nodes: int, pods: int, repeat: int) -> dict:
    ca = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    token = secrets.token_hex(16)
    server = KubeApiServer(Store(), ctx, token=token)
    url = server.start()
    with tempfile.TemporaryDirectory() as tmp:
        ca_file = Path(tmp) / "ca.pem"
        ca_file.write_bytes(ca.cert_pem.bytes())
        cfg = client.Configuration()
        cfg.host, cfg.ssl_ca_cert = url, str(ca_file)
        cfg.api_key, cfg.api_key_prefix = {"authorization": token}, {"authorization": "Bearer"}
        with client.ApiClient(cfg) as api:
            core = client.CoreV1Api(api)
            t = time.perf_counter()
            names = [core.create_node(_node(i)).metadata.name for i in range(nodes)]
            create_nodes = time.perf_counter() - t
            t = time.perf_counter()
            for i in range(pods):
                core.create_namespaced_pod("default", _pod(i, names[i % nodes]))
            create_pods = time.perf_counter() - t
            assert len(core.list_node().items) == nodes
            result = {
                "nodes": nodes, "pods": pods,
                "create_node_ms_each": round(create_nodes / nodes * 1000, 2),
                "create_pod_ms_each": round(create_pods / pods * 1000, 2),
                "list_nodes": _time(core.list_node, repeat),
                "list_pods_on_one_node": _time(
                    lambda: core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={names[0]}"), repeat),
                "list_all_pods": _time(lambda: core.list_pod_for_all_namespaces(), repeat),
                "get_node": _time(lambda: core.read_node(names[-1]), repeat),
            }
    server.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--pods", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps(run(args.nodes, args.pods, args.repeat), indent=2))


if __name__ == "__main__":
    main()
