"""Kubeconfig documents for the sandbox's Kubernetes API, shaped like the ones AKS hands out.

AKS names the cluster entry after the managed cluster, the user ``clusterUser_<rg>_<name>``
(or ``clusterAdmin_<rg>_<name>``), and on Entra ID clusters the user credential runs
kubelogin instead of carrying a token (callers then bring their own Entra token).
"""

from __future__ import annotations

import base64

import yaml

from lab.sandbox.model import ClusterSpec

AKS_AAD_SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
AZURE_CLI_CLIENT_ID = "80faf920-1908-4b52-b5ef-a8e7bedfc67a"


def kubeconfig_dict(cluster: ClusterSpec, server_url: str, ca_pem: str, token: str | None, admin: bool = False,
                    aad_exec: bool = False) -> dict:
    """A kubeconfig for one user: a bearer token, or (``aad_exec``) the kubelogin exec plugin."""
    role = "clusterAdmin" if admin else "clusterUser"
    user_name = f"{role}_{cluster.resource_group}_{cluster.name}"
    context = f"{cluster.name}-admin" if admin else cluster.name
    if aad_exec:
        user: dict = {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "kubelogin",
            "args": ["get-token", "--environment", "AzurePublicCloud", "--server-id", AKS_AAD_SERVER_ID,
                     "--client-id", AZURE_CLI_CLIENT_ID, "--tenant-id", cluster.tenant_id, "--login", "devicecode"],
            "env": None, "installHint": "kubelogin is not installed", "provideClusterInfo": False,
            "interactiveMode": "IfAvailable"}}
    else:
        user = {"token": token or ""}
    return {
        "apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": context,
        "clusters": [{"name": cluster.name, "cluster": {
            "certificate-authority-data": base64.b64encode(ca_pem.encode()).decode(), "server": server_url}}],
        "contexts": [{"name": context, "context": {"cluster": cluster.name, "user": user_name}}],
        "users": [{"name": user_name, "user": user}],
    }


def kubeconfig_yaml(*args, **kwargs) -> str:
    return yaml.safe_dump(kubeconfig_dict(*args, **kwargs), sort_keys=False)
