"""The VMSS reboot path through the real azure-mgmt-compute client, against a recording HTTPS endpoint."""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rebooter.arm.clients import SandboxCredential
from rebooter.kube.reboot import MachineRef, parse_provider_id, request_reboot
from tests.helpers.kube import SUB

NODE = "aks-pool1-12345678-vmss00000a"


@pytest.fixture
def arm(sandbox_certs):
    """A tiny HTTPS endpoint that answers a restart POST like ARM (202 + Location) and records it."""
    seen: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            seen.append(("POST", self.path))
            self.send_response(202)
            self.send_header("Location", f"https://127.0.0.1:{self.server.server_port}/operations/1")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):  # noqa: N802
            seen.append(("GET", self.path))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = sandbox_certs.server_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_vmss_restart_with_the_real_sdk_does_not_wait_for_the_operation(kube, arm, sandbox_certs):
    from azure.mgmt.compute import ComputeManagementClient

    url, seen = arm
    kube.add_node(NODE, boot_id="boot-1")

    def compute(subscription_id):
        return ComputeManagementClient(SandboxCredential(), subscription_id, base_url=url,
                                       connection_verify=sandbox_certs.ca_file, retry_total=0)

    result = request_reboot(kube.api, NODE, "boot-1", "vmss", compute=compute)
    assert result["status"] == "requested" and result["vmss"] == "aks-pool1-12345678-vmss" and result["instance"] == "10"
    assert len(seen) == 1  # the POST only: no polling of the long-running operation
    method, path = seen[0]
    assert method == "POST"
    assert path.split("?")[0] == (f"/subscriptions/{SUB}/resourceGroups/mc_rg_aks1_westeurope/providers/"
                                  "Microsoft.Compute/virtualMachineScaleSets/aks-pool1-12345678-vmss/"
                                  "virtualMachines/10/restart")
    assert request_reboot(kube.api, NODE, "boot-1", "vmss", compute=compute)["status"] == "requested"
    assert len(seen) == 1  # asked once per boot ID


def test_arm_failure_is_a_clear_error(kube):
    from rebooter.kube.reboot import RebootRequestError

    class Refusing:
        class virtual_machine_scale_set_vms:  # noqa: N801
            @staticmethod
            def begin_restart(*args, **kwargs):
                raise RuntimeError("(AuthorizationFailed) no permission")

    kube.add_node(NODE, boot_id="boot-1")
    with pytest.raises(RebootRequestError, match="ARM restart of mc_rg_aks1_westeurope/aks-pool1-12345678-vmss/"
                                                 "virtualMachines/10 failed: .*AuthorizationFailed"):
        request_reboot(kube.api, NODE, "boot-1", "vmss", compute=lambda sub: Refusing())
    assert kube.node(NODE)["metadata"]["annotations"].get("rebooter.aks.io/reboot-state") is None


@pytest.mark.parametrize("provider_id, expected", [
    (f"azure:///subscriptions/{SUB}/resourceGroups/MC_rg_aks1_westeurope/providers/Microsoft.Compute/"
     "virtualMachineScaleSets/aks-nodepool1-123-vmss/virtualMachines/3",
     MachineRef(SUB, "MC_rg_aks1_westeurope", "aks-nodepool1-123-vmss", "3")),
    (f"azure:///subscriptions/{SUB}/resourceGroups/mc_rg/providers/Microsoft.Compute/virtualMachines/aks-pool-1-vm",
     MachineRef(SUB, "mc_rg", "", "aks-pool-1-vm")),
])
def test_parse_provider_id(provider_id, expected):
    assert parse_provider_id(provider_id) == expected


@pytest.mark.parametrize("bad", ["", "kind://docker/node", "azure:///subscriptions/x/resourceGroups/rg/providers/"
                                 "Microsoft.Compute/virtualMachines/vm", "azure:///subscriptions/" + SUB +
                                 "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/a/../b"])
def test_parse_provider_id_refuses_anything_else(bad):
    with pytest.raises(ValueError, match="expected an Azure providerID"):
        parse_provider_id(bad)
