"""Real recorded AKS answers (tests/fixtures/arm/aks-run-command.recorded.json) and the emulator's
answers, fed to the same SDK, parse into the same shapes.

The recording is replayed by a tiny local HTTPS server (same CA as a sandbox) that answers each
request with the recorded status, headers and body, rewriting the Location host to itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiohttp import web
from azure.core.rest import HttpRequest
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.containerservice.models import ManagedCluster, RunCommandRequest, RunCommandResult

from lab.sandbox.certs import make_certs
from lab.sandbox.serverthread import ServerThread

from .sandbox_testkit import Credential, container_service

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "arm" / "aks-run-command.recorded.json"

# Fields the emulator adds to the 2022 recording: newer API versions (autoUpgradeProfile with the
# node OS channel), a zonal pool's availabilityZones, and AKS's newer network plugin mode. The
# recording's dockerBridgeCidr was removed from the API in 2023 and is not sent.
NEWER = {"properties.autoUpgradeProfile", "properties.autoUpgradeProfile.upgradeChannel",
         "properties.autoUpgradeProfile.nodeOSUpgradeChannel", "properties.networkProfile.networkPluginMode",
         "properties.agentPoolProfiles[].availabilityZones", "properties.agentPoolProfiles[].upgradeSettings.maxSurge"}
REMOVED = {"properties.networkProfile.dockerBridgeCidr"}


def shape(value, prefix: str = "") -> set[str]:
    out: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            out.add(prefix + key)
            out |= shape(item, f"{prefix}{key}.")
    elif isinstance(value, list):
        for item in value:
            out |= shape(item, prefix[:-1] + "[]." if prefix else "[].")
    return out


class Replay:
    """Serves the recorded interactions: each (method, path) answers its recordings in order."""

    def __init__(self, interactions: list[dict]) -> None:
        self.queue: dict[tuple[str, str], list[dict]] = {}
        for item in interactions:
            path = item["request"]["uri"].split("management.azure.com", 1)[1].split("?")[0].lower()
            self.queue.setdefault((item["request"]["method"], path), []).append(item["response"])
        self.base = ""

    async def handle(self, request: web.Request) -> web.Response:
        answers = self.queue.get((request.method, request.path.lower()))
        if not answers:
            return web.json_response({"error": {"code": "NotRecorded", "message": request.path}}, status=404)
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        headers = {k: v for k, v in answer["headers"].items()
                   if k.lower() not in ("content-length", "content-type", "date", "server")}
        if "location" in headers:
            headers["location"] = headers["location"].replace("https://management.azure.com", self.base)
        if answer["body"] is None:
            return web.Response(status=answer["status"], headers=headers)
        return web.Response(status=answer["status"], text=json.dumps(answer["body"]), content_type="application/json",
                            headers=headers)


@pytest.fixture
def replay(tmp_path):
    recording = json.loads(FIXTURE.read_text())
    replay = Replay(recording["interactions"])
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", replay.handle)
    certs = make_certs(tmp_path)
    server = ServerThread(app, certs.server_context(), name="replay")
    replay.base = server.start()
    client = ContainerServiceClient(Credential(), "00000000-0000-0000-0000-000000000000", base_url=replay.base,
                                    connection_verify=certs.ca_file)
    yield client, recording["interactions"]
    server.stop()


def test_managed_cluster_has_the_recorded_shape(replay, sandbox) -> None:
    client, _ = replay
    real = client.managed_clusters.get("clitest000001", "cmdtest000002")
    c = sandbox.scenario.cluster
    ours = container_service(sandbox).managed_clusters.get(c.resource_group, c.name)
    assert isinstance(real, ManagedCluster) and isinstance(ours, ManagedCluster)
    real_shape, our_shape = shape(real.as_dict()), shape(ours.as_dict())
    assert real_shape - REMOVED <= our_shape, sorted(real_shape - our_shape)
    assert our_shape - real_shape <= NEWER, sorted(our_shape - real_shape)
    for model in (real, ours):  # the attributes the rebooter reads parse the same way
        assert model.properties.provisioning_state == "Succeeded"
        assert model.properties.agent_pool_profiles[0].os_type == "Linux"
        assert model.properties.agent_pool_profiles[0].mode == "System"
        assert isinstance(model.properties.disable_local_accounts, bool)


def test_run_command_exchange_has_the_recorded_shape(replay, sandbox) -> None:
    client, interactions = replay
    real = client.managed_clusters.begin_run_command("clitest000001", "cmdtest000002",
                                                     RunCommandRequest(command="kubectl get pods -A", context=""),
                                                     polling_interval=0).result()
    c = sandbox.scenario.cluster
    ours = container_service(sandbox).managed_clusters.begin_run_command(
        c.resource_group, c.name, RunCommandRequest(command="kubectl get pods -A", context=""),
        polling_interval=0.05).result()
    assert isinstance(real, RunCommandResult) and isinstance(ours, RunCommandResult)
    assert shape(real.as_dict()) == shape(ours.as_dict())
    assert real.logs.startswith("NAMESPACE ") and ours.logs.startswith("NAMESPACE ")
    # The intermediate 202 body parses to the same shape too.
    running_real = interactions[2]["response"]["body"]
    post = container_service(sandbox).send_request(HttpRequest(
        "POST", f"{sandbox.cluster_resource_id}/runCommand?api-version=2026-08-01", json={"command": "sleep 1"}))
    running_ours = container_service(sandbox).send_request(HttpRequest("GET", post.headers["Location"])).json()
    assert shape(RunCommandResult(running_real).as_dict()) == shape(RunCommandResult(running_ours).as_dict())
    assert post.status_code == 202 and interactions[1]["response"]["status"] == 202
    assert {k.lower() for k in post.headers} >= {"location"}
    assert not {"retry-after", "azure-asyncoperation"} & {k.lower() for k in post.headers}
