"""Sovereign clouds: the ARM clients ask for a token of the cloud REBOOTER_ARM_ENDPOINT names.

azure-mgmt-containerservice 41.8.0 and azure-mgmt-compute 39.0.0 take their credential scope
from the public cloud unless ``credential_scopes`` is given: a client pointed at
https://management.usgovcloudapi.net with only ``base_url`` still asks Entra ID for
https://management.azure.com/.default, which US Government ARM refuses.
"""

from __future__ import annotations

import time

import pytest
from azure.core.credentials import AccessToken

from rebooter.arm import clients

from .sandbox_testkit import SMALL

GOV = "https://management.usgovcloudapi.net"
CHINA = "https://management.chinacloudapi.cn"


class Recorder:
    """A credential that remembers which scopes it was asked for."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken("t", int(time.time()) + 3600)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch):
    rec = Recorder()
    clients.reset()
    def fake(kind: str = "default") -> Recorder:
        return rec

    fake.cache_clear = lambda: None  # clients.reset() clears the real one's cache
    monkeypatch.setattr(clients, "credential", fake)
    yield rec
    clients.reset()


@pytest.mark.parametrize(("endpoint", "scope"), [
    ("https://management.azure.com", "https://management.azure.com/.default"),
    ("https://management.azure.com/", "https://management.azure.com/.default"),
    # azure-mgmt-core 1.6.0 get_arm_endpoints: US Government's ARM audience is management.core...
    (GOV, "https://management.core.usgovcloudapi.net/.default"),
    (CHINA, "https://management.chinacloudapi.cn/.default"),
    ("https://management.local.azurestack.external", "https://management.local.azurestack.external/.default"),
])
def test_arm_scope_follows_the_cloud(endpoint: str, scope: str) -> None:
    assert clients.arm_scope(endpoint) == scope


@pytest.mark.parametrize("endpoint", [GOV, CHINA])
def test_both_arm_clients_use_the_sovereign_scope(endpoint: str, recorder: Recorder,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REBOOTER_ARM_ENDPOINT", endpoint)
    clients.reset()
    for client in (clients.container_service("sub"), clients.compute("sub")):
        assert client._config.credential_scopes == [clients.arm_scope(endpoint)]
        assert client._config.base_url.rstrip("/") == endpoint


def test_the_token_requested_on_the_wire_is_for_the_configured_endpoint(make_sandbox, recorder: Recorder,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Through a real request: the bearer policy asks for <endpoint>/.default, not the public cloud's."""
    sb = make_sandbox(SMALL)
    monkeypatch.setenv("REBOOTER_ARM_ENDPOINT", sb.arm_url)
    monkeypatch.setenv("REBOOTER_ARM_CA_BUNDLE", str(sb.ca_file))
    clients.reset()
    c = sb.scenario.cluster
    assert clients.container_service(c.subscription_id).managed_clusters.get(c.resource_group, c.name).name == c.name
    assert recorder.scopes == [(sb.arm_url.rstrip("/") + "/.default",)]


def test_the_aks_server_app_scope_is_the_same_in_every_cloud(recorder: Recorder,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The Azure CLI asks for 6dae42f8-... in every cloud ("same id for all cloud", aks_runcommand)."""
    monkeypatch.setenv("REBOOTER_ARM_ENDPOINT", GOV)
    clients.reset()
    clients.aks_cluster_token()
    assert recorder.scopes == [("6dae42f8-4368-4678-94ff-3960e28e3630/.default",)]


def test_the_sandbox_refuses_an_arm_token_for_another_cloud(make_sandbox) -> None:
    """A client that kept the public cloud's scope (no credential_scopes) is refused, as ARM does."""
    from azure.core.exceptions import ClientAuthenticationError
    from azure.mgmt.containerservice import ContainerServiceClient

    sb = make_sandbox(SMALL)
    c = sb.scenario.cluster
    default_scope = ContainerServiceClient(clients.SandboxCredential(), c.subscription_id, base_url=sb.arm_url,
                                           connection_verify=sb.ca_file, retry_total=0)
    with pytest.raises(ClientAuthenticationError) as err:
        default_scope.managed_clusters.get(c.resource_group, c.name)
    assert err.value.status_code == 401 and err.value.error.code == "InvalidAuthenticationTokenAudience"
    following = ContainerServiceClient(clients.SandboxCredential(), c.subscription_id, base_url=sb.arm_url,
                                       connection_verify=sb.ca_file, retry_total=0,
                                       credential_scopes=[clients.arm_scope(sb.arm_url)])
    assert following.managed_clusters.get(c.resource_group, c.name).name == c.name
