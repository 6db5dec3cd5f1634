"""The ARM emulator through the production SDKs (azure-mgmt-containerservice 41.8.0)."""

from __future__ import annotations

import base64
import io
import zipfile

import pytest
import requests
import yaml
from azure.core.exceptions import HttpResponseError
from azure.mgmt.containerservice.models import RunCommandRequest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from lab.sandbox.runcommand import OUTPUT_CAP

from .sandbox_testkit import SMALL, container_service, wait_for

FOUR_POOLS = SMALL.replace("  - {name: spot, count: 1}", "  - {name: spot, count: 1}\n  - {name: extra, count: 1}")


def test_managed_cluster_get(sandbox) -> None:
    c = sandbox.scenario.cluster
    mc = container_service(sandbox).managed_clusters.get(c.resource_group, c.name)
    assert mc.id == sandbox.cluster_resource_id and mc.name == "aks-test" and mc.location == "westeurope"
    assert mc.type == "Microsoft.ContainerService/ManagedClusters"
    assert mc.properties.provisioning_state == "Succeeded" and mc.properties.power_state.code == "Running"
    assert mc.properties.kubernetes_version == mc.properties.current_kubernetes_version == "1.30.5"
    assert mc.properties.node_resource_group == c.node_resource_group
    assert mc.properties.enable_rbac is True and mc.properties.disable_local_accounts is False
    assert mc.properties.aad_profile is None
    assert mc.properties.auto_upgrade_profile.node_os_upgrade_channel == "Unmanaged"
    assert mc.properties.fqdn.endswith(".hcp.westeurope.azmk8s.io")
    pools = {p.name: p for p in mc.properties.agent_pool_profiles}
    assert set(pools) == {"system", "user", "spot"}
    user = pools["user"]
    assert (user.count, user.mode, user.os_type, user.os_sku, user.type) == (3, "User", "Linux", "Ubuntu",
                                                                             "VirtualMachineScaleSets")
    assert user.availability_zones == ["1", "2", "3"] and user.node_image_version.startswith("AKSUbuntu-")
    assert user.provisioning_state == "Succeeded" and user.power_state.code == "Running"
    assert user.orchestrator_version == "1.30.5" and user.upgrade_settings.max_surge == "10%"


def test_agent_pools_are_paged(make_sandbox) -> None:
    sb = make_sandbox(FOUR_POOLS)
    c = sb.scenario.cluster
    pools = list(container_service(sb).agent_pools.list(c.resource_group, c.name))
    assert [p.name for p in pools] == ["system", "user", "spot", "extra"]
    assert pools[1].id == f"{sb.cluster_resource_id}/agentPools/user"
    assert pools[1].type == "Microsoft.ContainerService/managedClusters/agentPools"
    pages = [path for method, path, status in sb.arm.requests if path.split("?")[0].endswith("/agentPools")]
    assert len(pages) == 2 and "$skipToken=2" in pages[1]
    one = container_service(sb).agent_pools.get(c.resource_group, c.name, "spot")
    assert one.count == 1 and one.mode == "User"


def test_user_credentials_reach_the_kubernetes_api(sandbox) -> None:
    c = sandbox.scenario.cluster
    creds = container_service(sandbox).managed_clusters.list_cluster_user_credentials(c.resource_group, c.name)
    assert creds.kubeconfigs[0].name == "clusterUser"
    config = yaml.safe_load(bytes(creds.kubeconfigs[0].value).decode())
    assert config["clusters"][0]["cluster"]["server"] == sandbox.kube_url
    ca = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
    assert ca == open(sandbox.ca_file).read()
    configuration = k8s.Configuration()
    k8s_config.load_kube_config_from_dict(config, client_configuration=configuration)
    with k8s.ApiClient(configuration) as api:
        names = [n.metadata.name for n in k8s.CoreV1Api(api).list_node().items]
    assert sorted(names) == sorted(n.name for n in sandbox.scenario.nodes)


def test_admin_credentials_refused_without_local_accounts(make_sandbox) -> None:
    sb = make_sandbox(SMALL.replace("name: aks-test}", "name: aks-test, disableLocalAccounts: true, aadEnabled: true}"))
    c = sb.scenario.cluster
    cs = container_service(sb, retry_total=0)
    with pytest.raises(HttpResponseError) as info:
        cs.managed_clusters.list_cluster_admin_credentials(c.resource_group, c.name)
    assert info.value.status_code == 400 and info.value.error.code == "BadRequest"
    assert "disable local accounts" in info.value.error.message
    mc = cs.managed_clusters.get(c.resource_group, c.name)
    assert mc.properties.aad_profile.managed is True and mc.properties.disable_local_accounts is True
    user = yaml.safe_load(bytes(cs.managed_clusters.list_cluster_user_credentials(
        c.resource_group, c.name).kubeconfigs[0].value).decode())
    assert user["users"][0]["user"]["exec"]["command"] == "kubelogin"


def test_run_command_runs_kubectl_for_real(sandbox) -> None:
    c = sandbox.scenario.cluster
    poller = container_service(sandbox).managed_clusters.begin_run_command(
        c.resource_group, c.name, RunCommandRequest(command="kubectl get nodes -o wide"), polling_interval=0.05)
    result = poller.result()
    assert result.provisioning_state == "Succeeded" and result.exit_code == 0
    assert result.started_at is not None and result.finished_at >= result.started_at
    lines = result.logs.splitlines()
    assert lines[0].split()[:2] == ["NAME", "STATUS"]
    for node in sandbox.scenario.nodes:
        assert any(line.startswith(node.name + " ") for line in lines), node.name
    assert [e["phase"] for e in sandbox.timeline.events("run_command", id=result.id)] == ["submitted", "started",
                                                                                            "finished"]


def test_run_command_without_polling_then_command_results(sandbox) -> None:
    c = sandbox.scenario.cluster
    cs = container_service(sandbox)
    poller = cs.managed_clusters.begin_run_command(c.resource_group, c.name,
                                                   RunCommandRequest(command="sleep 0.3; echo done; exit 3"),
                                                   polling=False)
    initial = poller.polling_method()._initial_response.http_response
    assert initial.status_code == 202 and initial.text() == ""
    assert "Retry-After" not in initial.headers and "Azure-AsyncOperation" not in initial.headers
    location = initial.headers["Location"]
    assert "/commandResults/" in location and "api-version=" in location
    command_id = location.split("/commandResults/")[1].split("?")[0]
    assert cs.managed_clusters.get_command_result(c.resource_group, c.name, command_id) is None  # 202 Running
    result = wait_for(lambda: cs.managed_clusters.get_command_result(c.resource_group, c.name, command_id))
    assert result.id == command_id and result.provisioning_state == "Succeeded"
    assert result.exit_code == 3 and result.logs == "done\n"


def test_run_command_wire_format(sandbox) -> None:
    c = sandbox.scenario.cluster
    base = f"{sandbox.arm_url}{sandbox.cluster_resource_id}"
    auth = {"Authorization": "Bearer x"}
    post = requests.post(f"{base}/runCommand?api-version=2026-08-01", json={"command": "sleep 0.2"},
                         headers=auth, verify=sandbox.ca_file)
    assert post.status_code == 202 and post.content == b""
    assert set(post.headers) >= {"Location"} and not {"Retry-After", "Azure-AsyncOperation"} & set(post.headers)
    running = requests.get(post.headers["Location"], headers=auth, verify=sandbox.ca_file)
    command_id = post.headers["Location"].split("/commandResults/")[1].split("?")[0]
    assert running.status_code == 202
    assert running.json() == {"id": command_id, "properties": {"provisioningState": "Running"}}
    done = wait_for(lambda: (r := requests.get(post.headers["Location"], headers=auth, verify=sandbox.ca_file))
                    .status_code == 200 and r)
    assert set(done.json()["properties"]) == {"provisioningState", "exitCode", "startedAt", "finishedAt", "logs"}
    missing = requests.get(f"{base}/commandResults/nope?api-version=2026-08-01", headers=auth, verify=sandbox.ca_file)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NotFound"
    assert c.name in post.headers["Location"]


def test_run_command_context_output_cap_and_timeout(make_sandbox) -> None:
    sb = make_sandbox(runCommandTimeoutSeconds=1.5)
    c = sb.scenario.cluster
    cs = container_service(sb)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("script.sh", "echo from-context; ls\n")
        archive.writestr("data/values.txt", "42\n")
    context = base64.b64encode(buf.getvalue()).decode()
    result = cs.managed_clusters.begin_run_command(
        c.resource_group, c.name, RunCommandRequest(command="bash script.sh; cat data/values.txt", context=context),
        polling_interval=0.05).result()
    assert result.logs.split() == ["from-context", "data", "script.sh", "42"]
    big = cs.managed_clusters.begin_run_command(
        c.resource_group, c.name, RunCommandRequest(command="head -c 2000000 /dev/zero | tr '\\0' x"),
        polling_interval=0.05).result()
    assert big.exit_code == 0 and len(big.logs) == OUTPUT_CAP
    slow = cs.managed_clusters.begin_run_command(c.resource_group, c.name, RunCommandRequest(command="sleep 30"),
                                                 polling_interval=0.1).result()
    assert slow.provisioning_state == "Failed" and "did not finish within 1.5s" in slow.reason


def test_bad_context_is_a_400(sandbox) -> None:
    c = sandbox.scenario.cluster
    with pytest.raises(HttpResponseError) as info:
        container_service(sandbox, retry_total=0).managed_clusters.begin_run_command(
            c.resource_group, c.name, RunCommandRequest(command="ls", context="bm90IGEgemlw"))
    assert info.value.status_code == 400 and info.value.error.code == "InvalidParameter"


def test_authentication_and_api_version_are_required(sandbox) -> None:
    url = f"{sandbox.arm_url}{sandbox.cluster_resource_id}"
    no_auth = requests.get(f"{url}?api-version=2026-08-01", verify=sandbox.ca_file)
    assert no_auth.status_code == 401 and no_auth.json()["error"]["code"] == "AuthenticationFailed"
    no_version = requests.get(url, headers={"Authorization": "Bearer t"}, verify=sandbox.ca_file)
    assert no_version.status_code == 400 and no_version.json()["error"]["code"] == "MissingApiVersionParameter"
    other = requests.get(url.replace("aks-test", "aks-other") + "?api-version=1", headers={"Authorization": "Bearer t"},
                         verify=sandbox.ca_file)
    assert other.status_code == 404 and other.json()["error"]["code"] == "ResourceNotFound"
    lower = requests.get(url.replace("managedClusters", "managedclusters").replace("resourceGroups", "resourcegroups")
                         + "?api-version=1", headers={"Authorization": "Bearer t"}, verify=sandbox.ca_file)
    assert lower.status_code == 200


def test_the_command_runs_in_a_command_pod_like_on_aks(sandbox) -> None:
    c = sandbox.scenario.cluster
    cs = container_service(sandbox)
    result = cs.managed_clusters.begin_run_command(
        c.resource_group, c.name, RunCommandRequest(command="kubectl get pods -n aks-command --no-headers"),
        polling_interval=0.05).result()
    assert result.logs.startswith(f"command-{result.id} ") and " Running " in result.logs
    assert wait_for(lambda: not sandbox.cluster.store.list("pods", "aks-command"))  # deleted when done


def test_run_command_fails_when_its_pod_cannot_be_scheduled(sandbox) -> None:
    c = sandbox.scenario.cluster
    for node in sandbox.scenario.nodes:
        sandbox.cluster.store.patch("nodes", node.name, {"spec": {"unschedulable": True}},
                                    "application/merge-patch+json")
    result = container_service(sandbox).managed_clusters.begin_run_command(
        c.resource_group, c.name, RunCommandRequest(command="true"), polling_interval=0.05).result()
    assert result.provisioning_state == "Failed" and "could not be scheduled" in result.reason
