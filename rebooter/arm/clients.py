"""Client factories: ARM and Kubernetes clients for a cluster, built from the cluster's settings.

Activities call these; orchestrators never do. Which credential and which Kubernetes auth to
use can differ per cluster (REBOOTER_CLUSTER_OVERRIDES), so they come from the activity's
payload (:func:`access_of`), never from the environment; only app-wide settings (the ARM
endpoint and its CA) are read here. Kubernetes access is derived from the
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

from rebooter.config import names, settings

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


CREDENTIALS = ("default", "sandbox")
KUBE_AUTHS = ("auto", "entra", "admin")


@lru_cache(maxsize=1)
def app_settings() -> dict[str, Any]:
    """App settings, for app-scope values only (ARM endpoint, CA bundle) and notification URL
    secrets; anything a cluster or a cycle can change comes in the activity's payload."""
    return settings.load()


def access_of(payload: Any) -> dict[str, str]:
    """The credential and Kubernetes auth an activity uses: from its payload's ``settings``."""
    cfg = payload.get("settings") if isinstance(payload, dict) else None
    if not isinstance(cfg, dict) or cfg.get("credential") not in CREDENTIALS or cfg.get("kubeAuth") not in KUBE_AUTHS:
        raise ValueError("settings: expected the cluster's settings (credential: default|sandbox, kubeAuth: "
                         "auto|entra|admin) in the activity payload")
    return {"credential": cfg["credential"], "kubeAuth": cfg["kubeAuth"]}


@lru_cache(maxsize=4)
def credential(kind: str = "default") -> TokenCredential:
    if kind == "sandbox":
        return SandboxCredential()
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def arm_scope(endpoint: str) -> str:
    """The token scope for an ARM endpoint: the cloud's own (sovereign clouds differ), or
    ``<endpoint>/.default`` for an endpoint azure-mgmt-core does not know (Azure Stack, sandbox)."""
    base = endpoint.strip().rstrip("/")
    return _ARM_SCOPES.get(base.lower(), base + "/.default")


def aks_cluster_token(kind: str = "default") -> str:
    """A token for the AKS server app, with the cluster's credential ``kind``: the run-command
    ``cluster_token`` and the Kubernetes bearer token on Entra ID clusters."""
    return credential(kind).get_token(AKS_AAD_SERVER_SCOPE).token


def _arm_kwargs() -> dict[str, Any]:
    cfg = app_settings()
    kwargs: dict[str, Any] = {"base_url": cfg["armEndpoint"], "credential_scopes": [arm_scope(cfg["armEndpoint"])]}
    if cfg["armCaBundle"]:
        kwargs["connection_verify"] = cfg["armCaBundle"]
    return kwargs


@lru_cache(maxsize=64)
def container_service(subscription_id: str, kind: str = "default"):
    """ContainerServiceClient for one subscription (azure-mgmt-containerservice), with the
    credential ``kind`` of the cluster's settings."""
    from azure.mgmt.containerservice import ContainerServiceClient

    return ContainerServiceClient(credential(kind), subscription_id, **_arm_kwargs())


@lru_cache(maxsize=64)
def compute(subscription_id: str, kind: str = "default"):
    """ComputeManagementClient, only needed for the VMSS restart reboot method."""
    from azure.mgmt.compute import ComputeManagementClient

    return ComputeManagementClient(credential(kind), subscription_id, **_arm_kwargs())


def notify_urls(cluster_id: str, masked: list[str]) -> list[str]:
    """The real notification URLs for ``masked`` (what the payload carries): only URLs configured
    for this cluster, so a forged payload can never add a destination, and no secret ever sits
    in a history. The one lookup an activity makes in the app settings, for secrets only."""
    configured = settings.for_cluster(app_settings(), cluster_id).get("notifyUrls") or []
    from rebooter.notifications.secrets import mask_url

    wanted = set(masked)
    return [url for url in getattr(configured, "secret_urls", configured) if mask_url(url) in wanted]


def _kubeconfig(ref: names.ClusterRef, access: dict[str, str]) -> tuple[dict, bool]:
    """The cluster's kubeconfig and whether to authenticate with an Entra ID token."""
    arm = container_service(ref.subscription_id, access["credential"])
    auth = access["kubeAuth"]
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


def _build_kube_client(ref: names.ClusterRef, access: dict[str, str]) -> k8s.ApiClient:
    config, use_entra = _kubeconfig(ref, access)
    if use_entra:
        # The user kubeconfig of an AAD cluster runs kubelogin; we bring the token ourselves.
        for user in config.get("users", []):
            user["user"] = {"token": aks_cluster_token(access["credential"])}
    configuration = k8s.Configuration()
    k8s_config.load_kube_config_from_dict(config, client_configuration=configuration)
    configuration.retries = 2
    return k8s.ApiClient(configuration)


def kube_api(cluster_id: str, access: dict[str, str]) -> k8s.ApiClient:
    """A Kubernetes ApiClient for the cluster with ``access`` (:func:`access_of`), reused for a
    while within this process."""
    ref = names.parse_cluster_id(cluster_id)
    key = f"{ref.key}|{access['credential']}|{access['kubeAuth']}"
    now = time.monotonic()
    with _lock:
        cached = _kube_cache.get(key)
        if cached and cached[0] > now:
            return cached[1]
    api = _build_kube_client(ref, access)
    with _lock:
        _kube_cache[key] = (now + _KUBE_CLIENT_LIFETIME, api)
    return api


def reset() -> None:
    """Forget cached settings and clients (tests and the local runner change settings)."""
    app_settings.cache_clear()
    credential.cache_clear()
    container_service.cache_clear()
    compute.cache_clear()
    with _lock:
        _kube_cache.clear()
