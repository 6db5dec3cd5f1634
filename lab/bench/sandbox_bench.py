"""Benchmark of the whole sandbox AKS cluster on a 200-node scenario (lab/scenarios/large.yaml).

Times: scenario load + validation, cluster build (nodes, workloads, pods in their steady
state), Sandbox.start() end to end (certificates, both HTTPS servers), then through the real
clients: ``kubectl get nodes``, the ARM managed cluster GET, a run-command running
``kubectl get nodes`` (submit to result, the scenario latency included), listing all pods, and
one reboot (VMSS restart call to Ready again). Exits 1 when start-up takes 10 s or more.

    .venv/bin/python lab/bench/sandbox_bench.py [scenario.yaml] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from azure.core.credentials import AccessToken  # noqa: E402
from azure.mgmt.compute import ComputeManagementClient  # noqa: E402
from azure.mgmt.containerservice import ContainerServiceClient  # noqa: E402
from azure.mgmt.containerservice.models import RunCommandRequest  # noqa: E402
from kubernetes import client as k8s  # noqa: E402
from kubernetes import config as k8s_config  # noqa: E402

from lab.sandbox import scenario as scenario_mod  # noqa: E402
from lab.sandbox.cluster import SandboxCluster  # noqa: E402
from lab.sandbox.runtime import Sandbox  # noqa: E402

START_BUDGET_SECONDS = 10.0


class _Credential:
    def get_token(self, *scopes: str, **kwargs) -> AccessToken:
        return AccessToken("bench", int(time.time()) + 3600)


def _timed(fn):
    began = time.perf_counter()
    value = fn()
    return time.perf_counter() - began, value


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", nargs="?", default=str(ROOT / "lab" / "scenarios" / "large.yaml"))
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    args = parser.parse_args()
    results: dict[str, float | int] = {}

    results["load_s"], scenario = _timed(lambda: scenario_mod.load(args.scenario))
    results["nodes"] = len(scenario.nodes)
    results["build_s"], cluster = _timed(lambda: SandboxCluster(scenario))
    results["pods"] = len(cluster.store.list("pods"))
    cluster.stop()

    results["start_s"], sb = _timed(lambda: Sandbox(args.scenario).start())
    try:
        c = sb.scenario.cluster
        env = {**os.environ, "HOME": str(sb.workdir)}
        kubectl = str(Path(sys.executable).parent / "kubectl")
        results["kubectl_get_nodes_s"], out = _timed(lambda: subprocess.run(
            [kubectl, "--kubeconfig", sb.kubeconfig_path, "get", "nodes", "--no-headers"],
            capture_output=True, text=True, timeout=60, env=env))
        assert out.returncode == 0 and len(out.stdout.splitlines()) == len(scenario.nodes), out.stderr
        arm = ContainerServiceClient(_Credential(), c.subscription_id, base_url=sb.arm_url, connection_verify=sb.ca_file)
        results["arm_get_cluster_s"], _ = _timed(lambda: arm.managed_clusters.get(c.resource_group, c.name))
        results["run_command_kubectl_s"], result = _timed(lambda: arm.managed_clusters.begin_run_command(
            c.resource_group, c.name, RunCommandRequest(command="kubectl get nodes --no-headers | wc -l"),
            polling_interval=0.05).result())
        assert result.logs.strip() == str(len(scenario.nodes)), result.logs
        configuration = k8s.Configuration()
        k8s_config.load_kube_config(config_file=sb.kubeconfig_path, client_configuration=configuration)
        core = k8s.CoreV1Api(k8s.ApiClient(configuration))
        results["list_all_pods_s"], pods = _timed(lambda: core.list_pod_for_all_namespaces())
        assert len(pods.items) == results["pods"]
        node = next(n for n in scenario.nodes if n.reboot_required)
        compute = ComputeManagementClient(_Credential(), c.subscription_id, base_url=sb.arm_url,
                                          connection_verify=sb.ca_file)

        def reboot() -> None:
            compute.virtual_machine_scale_set_vms.begin_restart(c.node_resource_group, node.vmss,
                                                                str(node.instance_id), polling_interval=0.05).result()
            while not sb.timeline.events("reboot", node=node.name, phase="up"):
                time.sleep(0.01)

        results["vmss_reboot_to_ready_s"], _ = _timed(reboot)
        results["reboot_seconds_setting"] = scenario.timings.reboot_seconds
    finally:
        sb.stop()

    if args.json:
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in results.items()}))
    else:
        for key, value in results.items():
            print(f"{key:28} {value:.3f}" if isinstance(value, float) else f"{key:28} {value}")
    if results["start_s"] >= START_BUDGET_SECONDS:
        print(f"start-up took {results['start_s']:.2f}s, over the {START_BUDGET_SECONDS:.0f}s budget", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
