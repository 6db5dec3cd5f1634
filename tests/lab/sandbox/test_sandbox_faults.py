"""Every fault kind, as a client sees it."""

from __future__ import annotations

import time

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.containerservice.models import RunCommandRequest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import MaxRetryError, ReadTimeoutError

from .sandbox_testkit import SMALL, container_service, wait_for


def core(sb, retries: int = 0) -> k8s.CoreV1Api:
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(config_file=sb.kubeconfig_path, client_configuration=configuration)
    configuration.retries = retries
    return k8s.CoreV1Api(k8s.ApiClient(configuration))


def test_kube_api_5xx_window(sandbox) -> None:
    api = core(sandbox)
    sandbox.faults.add(type="kubeApiError", status=503, duration=0.4, path="/api/v1/nodes")
    with pytest.raises(ApiException) as info:
        api.list_node()
    assert info.value.status == 503
    assert api.list_namespaced_pod("kube-system").items  # other paths are fine
    time.sleep(0.45)
    assert len(api.list_node().items) == len(sandbox.scenario.nodes)
    assert sandbox.timeline.events("kube_fault", fault="kubeApiError")


def test_kube_api_timeout(sandbox) -> None:
    api = core(sandbox)
    sandbox.faults.add(type="kubeApiTimeout", delay=1, count=1, methods=["GET"])
    began = time.monotonic()
    with pytest.raises((ReadTimeoutError, MaxRetryError)):
        api.list_node(_request_timeout=0.3)
    assert time.monotonic() - began < 0.9
    assert api.list_node(_request_timeout=2).items  # count: 1, the next request is answered
    time.sleep(max(0.0, 1.2 - (time.monotonic() - began)))  # let the hung request end before the sandbox stops


def test_kube_api_429_storm(sandbox) -> None:
    api = core(sandbox)
    sandbox.faults.add(type="kubeApiThrottle", retryAfter=2, count=3)
    statuses = []
    for _ in range(4):
        try:
            api.read_node(sandbox.scenario.nodes[0].name)
            statuses.append(200)
        except ApiException as err:
            statuses.append(err.status)
            assert err.headers["Retry-After"] == "2"
    assert statuses == [429, 429, 429, 200]


def test_scenario_fault_window_from_yaml(make_sandbox) -> None:
    sb = make_sandbox(SMALL + "faults:\n  - {type: kubeApiError, status: 500, start: 0, duration: 0.5}\n")
    with pytest.raises(ApiException) as info:
        core(sb).list_node()
    assert info.value.status == 500
    time.sleep(0.55)
    assert core(sb).list_node().items


def test_node_never_comes_back(sandbox) -> None:
    node = sandbox.scenario.nodes_of("user")[1].name
    sandbox.faults.add(type="nodeNeverReturns", node=node)
    sandbox.cluster.reboot_node(node)
    assert wait_for(lambda: sandbox.timeline.events("reboot", node=node, phase="never_back"))
    ready = next(c for c in core(sandbox).read_node(node).status.conditions if c.type == "Ready")
    assert (ready.status, ready.reason) == ("Unknown", "NodeStatusUnknown")
    assert sandbox.cluster.host_facts(node).sentinel  # it never booted again


def test_node_comes_back_not_ready(make_sandbox) -> None:
    sb = make_sandbox(SMALL + "faults:\n  - {type: nodeReturnsNotReady, node: user/1}\n")
    node = sb.scenario.nodes_of("user")[1].name
    before = sb.cluster.host_facts(node).boot_id
    sb.cluster.reboot_node(node)
    assert wait_for(lambda: sb.timeline.events("reboot", node=node, phase="up"))
    obj = core(sb).read_node(node)
    ready = next(c for c in obj.status.conditions if c.type == "Ready")
    assert (ready.status, ready.reason) == ("False", "KubeletNotReady")
    assert obj.status.node_info.boot_id != before
    assert "node.kubernetes.io/not-ready" in {t.key for t in obj.spec.taints}


def _run(sb, command: str, **kwargs):
    c = sb.scenario.cluster
    return container_service(sb).managed_clusters.begin_run_command(
        c.resource_group, c.name, RunCommandRequest(command=command), polling_interval=0.05, **kwargs)


def test_run_command_failed_with_reason(sandbox) -> None:
    sandbox.faults.add(type="runCommandFailed", reason="ImagePullBackOff", count=1)
    failed = _run(sandbox, "kubectl get nodes").result()
    assert failed.provisioning_state == "Failed" and failed.reason == "ImagePullBackOff"
    assert failed.exit_code is None and not failed.logs
    assert _run(sandbox, "true").result().provisioning_state == "Succeeded"


def test_run_command_never_starts(sandbox) -> None:
    sandbox.faults.add(type="runCommandNeverStarts", commandContains="probe")
    c = sandbox.scenario.cluster
    cs = container_service(sandbox)
    poller = _run(sandbox, "echo probe", polling=False)
    command_id = poller.polling_method()._initial_response.http_response.headers["Location"] \
        .split("/commandResults/")[1].split("?")[0]
    assert wait_for(lambda: sandbox.timeline.events("run_command", id=command_id, phase="never_started"))
    for _ in range(3):
        assert cs.managed_clusters.get_command_result(c.resource_group, c.name, command_id) is None
        time.sleep(0.05)
    assert _run(sandbox, "echo other").result().logs == "other\n"


def test_run_command_slow(sandbox) -> None:
    sandbox.faults.add(type="runCommandSlow", extraSeconds=0.8, count=1)
    began = time.monotonic()
    result = _run(sandbox, "echo late").result()
    assert result.logs == "late\n" and time.monotonic() - began >= 0.8


def test_arm_throttling(sandbox) -> None:
    c = sandbox.scenario.cluster
    sandbox.faults.add(type="armThrottle", retryAfter=1, count=1)
    with pytest.raises(HttpResponseError) as info:
        container_service(sandbox, retry_total=0).managed_clusters.get(c.resource_group, c.name)
    assert info.value.status_code == 429 and info.value.response.headers["Retry-After"] == "1"
    assert info.value.error.code == "TooManyRequests"
    sandbox.faults.add(type="armThrottle", retryAfter=1, count=1)
    began = time.monotonic()  # the SDK's retry policy honours Retry-After and gets through
    assert container_service(sandbox).managed_clusters.get(c.resource_group, c.name).name == c.name
    assert time.monotonic() - began >= 1
    assert [s for _, p, s in sandbox.arm.requests[-2:]] == [429, 200]


def test_arm_5xx(sandbox) -> None:
    c = sandbox.scenario.cluster
    sandbox.faults.add(type="armError", status=503, count=1, path="runCommand")
    with pytest.raises(HttpResponseError) as info:
        container_service(sandbox, retry_total=0).managed_clusters.begin_run_command(
            c.resource_group, c.name, RunCommandRequest(command="true"))
    assert info.value.status_code == 503 and info.value.error.code == "InternalServerError"
