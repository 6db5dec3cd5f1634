"""Client factories: ARM and Kubernetes clients for a cluster, built from app settings.

Activities call these; orchestrators never do. Kubernetes access is derived from the
cluster's own credentials through ARM (an Entra ID token on AAD clusters, the admin
kubeconfig on local-account clusters), so the sandbox is reached by the same code path
as a real cluster: its kubeconfig carries its CA. Clients are cached per process because
an activity host runs many activities and each credential round trip costs an ARM call.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from functools import lru_cache
from typing import Any

import yaml
from azure.core.credentials import AccessToken, TokenCredential
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from rebooter import names, settings

# The AKS Entra ID server application. Its tokens carry aud=<this id> (a decoded one is shown in
# Azure/azure-powershell#17454); the Azure CLI asks for this id in every cloud ("same id for all
# cloud", Azure/azure-cli src/azure-cli/azure/cli/command_modules/acs/custom.py, aks_runcommand).
AKS_AAD_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
AKS_AAD_SERVER_SCOPE = f"{AKS_AAD_SERVER_APP_ID}/.default"
# ARM token scopes of the clouds azure-mgmt-core knows (azure/mgmt/core/tools.py get_arm_endpoints,
# azure-mgmt-core 1.6.0). A client given only base_url still asks for the public cloud's scope.
_ARM_SCOPES = {
    "https://management.azure.com": "https://management.azure.com/.default",
    "https://management.usgovcloudapi.net": "https://management.core.usgovcloudapi.net/.default",
    "https://management.chinacloudapi.cn": "https://management.chinacloudapi.cn/.default",
}
_KUBE_CLIENT_LIFETIME = 20 * 60  # well inside an Entra token's lifetime
_lock = threading.Lock()
_kube_cache: dict[str, tuple[float, k8s.ApiClient]] = {}


class SandboxCredential:
    """Unsigned JWT-shaped tokens whose ``aud`` is the scope's resource, as Entra ID issues them;
    the sandbox checks the audience where AKS does (run-command's cluster token)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        expires = int(time.time()) + 3600
        audience = scopes[0].removesuffix("/.default") if scopes else ""
        parts = [{"alg": "none", "typ": "JWT"}, {"aud": audience, "iss": "rebooter-sandbox", "exp": expires}]
        token = ".".join(base64.urlsafe_b64encode(json.dumps(p).encode()).decode().rstrip("=") for p in parts)
        return AccessToken(token + ".", expires)


@lru_cache(maxsize=1)
def app_settings() -> dict[str, Any]:
    """App settings for activities (orchestrators receive theirs in their input instead)."""
    return settings.load()


@lru_cache(maxsize=1)
def credential() -> TokenCredential:
    if app_settings()["credential"] == "sandbox":
        return SandboxCredential()
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def arm_scope(endpoint: str) -> str:
    """The token scope for an ARM endpoint: the cloud's own (sovereign clouds differ), or
    ``<endpoint>/.default`` for an endpoint azure-mgmt-core does not know (Azure Stack, sandbox)."""
    base = endpoint.strip().rstrip("/")
    return _ARM_SCOPES.get(base.lower(), base + "/.default")


def aks_cluster_token() -> str:
    """The run-command ``cluster_token`` for Entra ID clusters: a token for the AKS server app."""
    return credential().get_token(AKS_AAD_SERVER_SCOPE).token


def _arm_kwargs() -> dict[str, Any]:
    cfg = app_settings()
    kwargs: dict[str, Any] = {"base_url": cfg["armEndpoint"], "credential_scopes": [arm_scope(cfg["armEndpoint"])]}
    if cfg["armCaBundle"]:
        kwargs["connection_verify"] = cfg["armCaBundle"]
    return kwargs


@lru_cache(maxsize=64)
def container_service(subscription_id: str):
    """ContainerServiceClient for one subscription (azure-mgmt-containerservice)."""
    from azure.mgmt.containerservice import ContainerServiceClient

    return ContainerServiceClient(credential(), subscription_id, **_arm_kwargs())


@lru_cache(maxsize=64)
def compute(subscription_id: str):
    """ComputeManagementClient, only needed for the VMSS restart reboot method."""
    from azure.mgmt.compute import ComputeManagementClient

    return ComputeManagementClient(credential(), subscription_id, **_arm_kwargs())


def _kubeconfig(ref: names.ClusterRef) -> tuple[dict, bool]:
    """The cluster's kubeconfig and whether to authenticate with an Entra ID token."""
    arm = container_service(ref.subscription_id)
    auth = app_settings()["kubeAuth"]
    if auth == "auto":
        cluster = arm.managed_clusters.get(ref.resource_group, ref.name)
        aad = cluster.aad_profile is not None
        auth = "entra" if aad or cluster.disable_local_accounts else "admin"
    if auth == "admin":
        creds = arm.managed_clusters.list_cluster_admin_credentials(ref.resource_group, ref.name)
    else:
        creds = arm.managed_clusters.list_cluster_user_credentials(ref.resource_group, ref.name)
    raw = creds.kubeconfigs[0].value
    text = raw.decode() if isinstance(raw, bytes | bytearray) else base64.b64decode(raw).decode()
    return yaml.safe_load(text), auth == "entra"


def _build_kube_client(ref: names.ClusterRef) -> k8s.ApiClient:
    config, use_entra = _kubeconfig(ref)
    if use_entra:
        # The user kubeconfig of an AAD cluster runs kubelogin; we bring the token ourselves.
        for user in config.get("users", []):
            user["user"] = {"token": aks_cluster_token()}
    configuration = k8s.Configuration()
    k8s_config.load_kube_config_from_dict(config, client_configuration=configuration)
    configuration.retries = 2
    return k8s.ApiClient(configuration)


def kube_api(cluster_id: str) -> k8s.ApiClient:
    """A Kubernetes ApiClient for the cluster, reused for a while within this process."""
    ref = names.parse_cluster_id(cluster_id)
    now = time.monotonic()
    with _lock:
        cached = _kube_cache.get(ref.key)
        if cached and cached[0] > now:
            return cached[1]
    api = _build_kube_client(ref)
    with _lock:
        _kube_cache[ref.key] = (now + _KUBE_CLIENT_LIFETIME, api)
    return api


def reset() -> None:
    """Forget cached settings and clients (tests and the local runner change settings)."""
    app_settings.cache_clear()
    credential.cache_clear()
    container_service.cache_clear()
    compute.cache_clear()
    with _lock:
        _kube_cache.clear()
