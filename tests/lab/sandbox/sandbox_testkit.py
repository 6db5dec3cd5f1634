"""Helpers and fixtures for the sandbox tests: a started Sandbox per test (fast scenarios) and SDK clients.

The fixtures are in conftest.py; test modules import these helpers (``from .sandbox_testkit import``).

Clients are the production ones: azure-mgmt-containerservice / azure-mgmt-compute over HTTPS
with the sandbox CA, and the official kubernetes client from the sandbox kubeconfig.
"""

from __future__ import annotations

import time

import yaml
from azure.core.credentials import AccessToken
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from lab.sandbox.runtime import Sandbox
from tests.helpers.wait import eventually as wait_for  # noqa: F401  (the sandbox tests' name for it)

FAST = {"podStartSeconds": 0.05, "podTerminationSeconds": 0.05, "rebootSeconds": 0.4, "recreateDelaySeconds": 0.1,
        "runCommandLatencySeconds": 0.05, "probeCompletionSeconds": 0.05, "armOperationSeconds": 0.1}

SMALL = """
cluster: {subscriptionId: 11111111-2222-3333-4444-555555555555, resourceGroup: rg-test, name: aks-test}
pools:
  - {name: system, mode: System, count: 2, zones: [1, 2]}
  - {name: user, count: 3, zones: [1, 2, 3]}
  - {name: spot, count: 1}
nodes:
  - {node: user/1, rebootRequired: true, packages: [linux-image-5.15.0-1075-azure, linux-base]}
  - {node: user/2, cordonedBy: ops}
workloads:
  deployments:
    - {name: web, replicas: 3, pools: [user, spot], pdb: {maxUnavailable: 1}}
  daemonsets:
    - {name: agent, namespace: kube-system}
"""


class Credential:
    """A trivial TokenCredential: the ARM emulator checks that a bearer token is sent, not its value."""

    def get_token(self, *scopes: str, **kwargs) -> AccessToken:
        return AccessToken("test-token", int(time.time()) + 3600)


def scenario_dict(text: str = SMALL, **timings: float) -> dict:
    data = yaml.safe_load(text)
    data["timings"] = {**FAST, **(data.get("timings") or {}), **timings}
    return data


def container_service(sb: Sandbox, **kwargs):
    from azure.mgmt.containerservice import ContainerServiceClient

    return ContainerServiceClient(Credential(), sb.scenario.cluster.subscription_id, base_url=sb.arm_url,
                                  connection_verify=sb.ca_file, **kwargs)


def compute(sb: Sandbox, **kwargs):
    from azure.mgmt.compute import ComputeManagementClient

    return ComputeManagementClient(Credential(), sb.scenario.cluster.subscription_id, base_url=sb.arm_url,
                                   connection_verify=sb.ca_file, **kwargs)


def kube(sb: Sandbox) -> k8s.ApiClient:
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(config_file=sb.kubeconfig_path, client_configuration=configuration)
    return k8s.ApiClient(configuration)
