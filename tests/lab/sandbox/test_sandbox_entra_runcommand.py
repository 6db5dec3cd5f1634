"""Run-command on Entra ID clusters and on clusters where it is disabled, as AKS answers.

The sandbox is strict where AKS is: an Entra ID (``aadProfile.managed``) cluster refuses a
run-command without ``clusterToken``; a token whose audience is not the AKS server app runs
but its kubectl is refused; ``apiServerAccessProfile.disableRunCommand`` refuses every command.
The app's probe (rebooter.aks) sends the token like the Azure CLI does.
"""

from __future__ import annotations

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.containerservice.models import RunCommandRequest

from lab.sandbox.runcommand import token_audience
from rebooter.arm import aks, probe
from rebooter.arm.clients import AKS_AAD_SERVER_SCOPE, SandboxCredential, arm_scope
from rebooter.config import names
from rebooter.policy import plan

from .sandbox_testkit import SMALL, wait_for

AAD = SMALL.replace("name: aks-test}", "name: aks-test, aadEnabled: true}")
DISABLED = SMALL.replace("name: aks-test}", "name: aks-test, disableRunCommand: true}")


def _arm(sb) -> ContainerServiceClient:
    return ContainerServiceClient(SandboxCredential(), sb.scenario.cluster.subscription_id, base_url=sb.arm_url,
                                  connection_verify=sb.ca_file, retry_total=0,
                                  credential_scopes=[arm_scope(sb.arm_url)])


def _token(scope: str) -> str:
    return SandboxCredential().get_token(scope).token


def _post(sb, body: dict) -> requests.Response:
    return requests.post(f"{sb.arm_url}{sb.cluster_resource_id}/runCommand?api-version=2026-08-01", json=body,
                         headers={"Authorization": "Bearer t"}, verify=sb.ca_file)


def _probe(sb, cluster_token) -> dict:
    arm, ref = _arm(sb), names.parse_cluster_id(sb.cluster_resource_id)
    submitted = aks.submit_probe(arm, ref, "user", 10, cluster_token=cluster_token)
    return wait_for(lambda: (r := aks.fetch_probe(arm, ref, "user", submitted["commandId"]))["status"] == "done" and r,
                    timeout=60)


def test_sandbox_tokens_carry_their_audience() -> None:
    assert token_audience(_token(AKS_AAD_SERVER_SCOPE)) == "6dae42f8-4368-4678-94ff-3960e28e3630"
    assert token_audience(_token("https://management.azure.com/.default")) == "https://management.azure.com"
    assert token_audience("opaque") is None


def test_entra_cluster_refuses_a_command_without_cluster_token(make_sandbox) -> None:
    sb = make_sandbox(AAD)
    refused = _post(sb, {"command": "kubectl get nodes"})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "MissingAADClusterToken"
    assert not sb.timeline.events("run_command")  # nothing ran


def test_entra_cluster_runs_the_probe_with_the_server_app_token(make_sandbox) -> None:
    sb = make_sandbox(AAD)
    result = _probe(sb, lambda: _token(AKS_AAD_SERVER_SCOPE))
    assert {n["node"] for n in result["nodes"]} == {n.name for n in sb.scenario.nodes_of("user")}
    assert any(n["rebootRequired"] for n in result["nodes"])


def test_entra_cluster_token_for_another_audience_is_unauthorized(make_sandbox) -> None:
    sb = make_sandbox(AAD)
    with pytest.raises(probe.ProbeError, match=r"exited with code 1: error: You must be logged in to the server"):
        _probe(sb, lambda: _token("https://management.azure.com/.default"))


def test_the_probe_refuses_to_run_on_entra_clusters_without_a_token_source(make_sandbox) -> None:
    sb = make_sandbox(AAD)
    with pytest.raises(RuntimeError, match="Entra ID"):
        aks.submit_probe(_arm(sb), names.parse_cluster_id(sb.cluster_resource_id), "user", 10)


def test_local_account_cluster_needs_no_token(make_sandbox) -> None:
    sb = make_sandbox()
    asked: list[str] = []
    result = _probe(sb, lambda: asked.append("token") or "unused")
    assert result["nodes"] and asked == []  # like the CLI: only aadProfile.managed clusters get one


def test_disabled_run_command_is_refused_and_the_cluster_is_skipped(make_sandbox) -> None:
    sb = make_sandbox(DISABLED)
    c = sb.scenario.cluster
    with pytest.raises(HttpResponseError) as err:
        _arm(sb).managed_clusters.begin_run_command(c.resource_group, c.name, RunCommandRequest(command="true"),
                                                    polling=False)
    assert err.value.status_code == 400 and err.value.error.code == "RunCommandDisabled"
    described = aks.describe_cluster(_arm(sb), names.parse_cluster_id(sb.cluster_resource_id))
    assert described["runCommandDisabled"] is True and described["aadManaged"] is False
    assert "run-command is disabled" in plan.cluster_skip_reason(described)


def test_a_fetch_with_wait_seconds_reads_arm_until_the_result_is_there(make_sandbox) -> None:
    """fetch_probe with wait_seconds reads the pending result again (202, no Retry-After) every
    ARM_POLL_SECONDS until it is there, in one call; without it, one read. The pause is recorded
    instead of slept, so the test does not depend on how fast the machine is."""
    sb = make_sandbox()
    arm, ref = _arm(sb), names.parse_cluster_id(sb.cluster_resource_id)
    submitted = aks.submit_probe(arm, ref, "user", 10)
    once = aks.fetch_probe(arm, ref, "user", submitted["commandId"])
    assert once == {"pool": "user", "status": "running"}  # the command takes the scenario's latency at least
    pauses: list[float] = []
    result = aks.fetch_probe(arm, ref, "user", submitted["commandId"], wait_seconds=200,
                             sleep=lambda s: (pauses.append(s), __import__("time").sleep(0.05)))
    assert result["status"] == "done" and result["nodes"], result
    assert pauses and set(pauses) == {aks.ARM_POLL_SECONDS}
    # A bound too short for one more read: the answer says the wait ran to its bound.
    again = aks.submit_probe(arm, ref, "user", 10)
    assert aks.fetch_probe(arm, ref, "user", again["commandId"], wait_seconds=0.5, sleep=pauses.append) == {
        "pool": "user", "status": "running", "waited": True}


def test_the_probe_reads_every_answer_from_one_pod_list_not_one_log_per_node(make_sandbox) -> None:
    """The probe pods write their line as the termination message too; the runner script reads
    the answers from its one pod list (kubectl get ... terminated.message) and asks for no log."""
    sb = make_sandbox()
    result = _probe(sb, None)
    nodes = [n.name for n in sb.scenario.nodes if n.pool == "user"]
    assert sorted(f["node"] for f in result["nodes"]) == sorted(nodes) and result["errors"] == []
    assert [r.path for r in sb.kube.requests if r.path.endswith("/log")] == []
