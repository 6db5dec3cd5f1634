"""Asking a node to reboot: a privileged pod on the node (kured's way) or an ARM VM restart.

Idempotent by construction. A boot ID different from the one the caller saw means the node has
already rebooted: nothing is done. The reboot pod has a deterministic name, so a second create
is a 409. The ARM restart is not idempotent by itself (each call restarts the VM), so once it is
accepted the node is annotated with the boot ID it was requested from, and a repeated call for
that boot ID does not call ARM again. A crash between the two can at worst restart the VM twice,
never zero times.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from rebooter import contract
from rebooter.contract import REBOOT_FROM_BOOT_ID_ANNOTATION
from rebooter.kube.kubeapi import KubeError, call_json, error_message
from rebooter.kube.nodeinfo import annotations, boot_id, read_node

METHODS = ("pod", "vmss")
_RG = r"(?P<rg>[-\w._()]{1,90})"
_SUB = r"(?P<sub>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
_VMSS_ID = re.compile(
    rf"^azure:///subscriptions/{_SUB}/resourceGroups/{_RG}/providers/Microsoft\.Compute"
    r"/virtualMachineScaleSets/(?P<vmss>[-\w.]{1,80})/virtualMachines/(?P<instance>[-\w.]{1,80})$",
    re.IGNORECASE,
)
_VM_ID = re.compile(
    rf"^azure:///subscriptions/{_SUB}/resourceGroups/{_RG}/providers/Microsoft\.Compute"
    r"/virtualMachines/(?P<vm>[-\w.]{1,80})$",
    re.IGNORECASE,
)


class RebootRequestError(Exception):
    """ARM refused or failed the VM restart request."""


@dataclass(frozen=True)
class MachineRef:
    """Where a node's VM lives in ARM, from its ``spec.providerID``."""

    subscription_id: str
    resource_group: str
    vmss: str  # "" for a standalone VM (availability set / VirtualMachines pools)
    instance: str  # VMSS instance ID, or the VM name


def parse_provider_id(provider_id: str) -> MachineRef:
    """Parse an Azure providerID; raise ValueError with the expected forms otherwise."""
    if match := _VMSS_ID.match(provider_id or ""):
        return MachineRef(match["sub"], match["rg"], match["vmss"], match["instance"])
    if match := _VM_ID.match(provider_id or ""):
        return MachineRef(match["sub"], match["rg"], "", match["vm"])
    raise ValueError(
        "expected an Azure providerID like azure:///subscriptions/<sub>/resourceGroups/<rg>/providers/"
        "Microsoft.Compute/virtualMachineScaleSets/<vmss>/virtualMachines/<id> (or .../virtualMachines/<name>),"
        f" got {provider_id!r}"
    )


def reboot_pod_manifest(node: str, from_boot_id: str) -> dict[str, Any]:
    """The reboot pod, exactly as ``rebooter.contract`` describes it."""
    labels = {contract.ROLE_LABEL: contract.ROLE_REBOOT}
    if len(node) <= 63:
        labels[contract.NODE_LABEL] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": contract.reboot_pod_name(node),
            "namespace": contract.REBOOT_NAMESPACE,
            "labels": labels,
            "annotations": {REBOOT_FROM_BOOT_ID_ANNOTATION: from_boot_id},
        },
        "spec": {
            "nodeName": node,
            "restartPolicy": "Never",
            # restartPolicy Never is at least once (kubernetes/kubernetes#83705): the script's boot ID
            # check makes a second run a no-op, and the deadline bounds any run.
            "activeDeadlineSeconds": contract.REBOOT_ACTIVE_DEADLINE_SECONDS,
            "terminationGracePeriodSeconds": 0,
            "automountServiceAccountToken": False,
            "tolerations": [{"operator": "Exists"}],
            "containers": [
                {
                    "name": "reboot",
                    "image": contract.REBOOT_IMAGE,
                    "command": list(contract.REBOOT_COMMAND),
                    "env": [{"name": contract.EXPECTED_BOOT_ID_ENV, "value": from_boot_id}],
                    "securityContext": {"privileged": True},
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                    "volumeMounts": [{"name": "host-root", "mountPath": contract.HOST_ROOT}],
                }
            ],
            "volumes": [{"name": "host-root", "hostPath": {"path": "/", "type": "Directory"}}],
        },
    }


def _request_by_pod(api: k8s.ApiClient, node: str, from_boot_id: str) -> dict[str, Any]:
    core = k8s.CoreV1Api(api)
    name, namespace = contract.reboot_pod_name(node), contract.REBOOT_NAMESPACE
    for attempt in (1, 2):
        try:
            call_json(core.create_namespaced_pod, namespace, reboot_pod_manifest(node, from_boot_id))
            return {"pod": name, "created": True}
        except ApiException as exc:
            if exc.status != 409:
                raise KubeError(f"create reboot pod {namespace}/{name}: {error_message(exc)}") from None
        try:
            existing = call_json(core.read_namespaced_pod, name, namespace)
        except ApiException as exc:
            if exc.status == 404 and attempt == 1:  # deleted in between: create it again
                continue
            raise KubeError(f"read reboot pod {namespace}/{name}: {error_message(exc)}") from None
        if annotations(existing).get(REBOOT_FROM_BOOT_ID_ANNOTATION) == from_boot_id:
            return {"pod": name, "created": False, "podPhase": (existing.get("status") or {}).get("phase", "")}
        if attempt == 2:
            break
        # A reboot pod left from an earlier reboot (another boot ID): it cannot reboot this boot. Remove it now.
        try:
            call_json(core.delete_namespaced_pod, name, namespace, body={"gracePeriodSeconds": 0})
        except ApiException as exc:
            if exc.status != 404:
                raise KubeError(f"delete stale reboot pod {namespace}/{name}: {error_message(exc)}") from None
    raise KubeError(f"reboot pod {namespace}/{name} from an earlier reboot is still terminating; call again")


def _request_by_arm(obj: dict[str, Any], from_boot_id: str, compute: Callable[[str], Any]) -> dict[str, Any]:
    if annotations(obj).get(REBOOT_FROM_BOOT_ID_ANNOTATION) == from_boot_id and (
        annotations(obj).get(contract.REBOOT_STATE_ANNOTATION) == contract.REBOOT_STATE_REBOOTING
    ):
        return {"alreadyRequested": True}
    ref = parse_provider_id((obj.get("spec") or {}).get("providerID", ""))
    client = compute(ref.subscription_id)
    # polling=False: ARM accepted the restart; the orchestrator watches the node, not the LRO.
    try:
        if ref.vmss:
            client.virtual_machine_scale_set_vms.begin_restart(ref.resource_group, ref.vmss, ref.instance, polling=False)
        else:
            client.virtual_machines.begin_restart(ref.resource_group, ref.instance, polling=False)
    except Exception as exc:
        target = f"{ref.vmss}/virtualMachines/{ref.instance}" if ref.vmss else ref.instance
        raise RebootRequestError(f"ARM restart of {ref.resource_group}/{target} failed: {exc}") from exc
    return {"vmss": ref.vmss, "instance": ref.instance, "resourceGroup": ref.resource_group}


def request_reboot(
    api: k8s.ApiClient,
    node: str,
    from_boot_id: str,
    method: str = "pod",
    compute: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """Ask the node to reboot unless it already has. Returns ``{"status": "rebooted"|"requested", "method", ...}``."""
    if method not in METHODS:
        raise ValueError(f"expected a reboot method in {METHODS}, got {method!r}")
    if not isinstance(from_boot_id, str) or not from_boot_id:
        raise ValueError(f"expected the node's boot ID before the reboot (bootId), got {from_boot_id!r}")
    obj = read_node(api, node)
    current = boot_id(obj)
    if current and current != from_boot_id:
        return {"status": "rebooted", "method": method, "bootId": current}
    if method == "pod":
        detail = _request_by_pod(api, node, from_boot_id)
    else:
        if compute is None:
            from rebooter.arm.clients import compute as compute_factory

            compute = compute_factory
        detail = _request_by_arm(obj, from_boot_id, compute)
    patch = {"metadata": {"annotations": {
        contract.REBOOT_STATE_ANNOTATION: contract.REBOOT_STATE_REBOOTING,
        REBOOT_FROM_BOOT_ID_ANNOTATION: from_boot_id,
    }}}
    try:
        call_json(k8s.CoreV1Api(api).patch_node, node, patch)
    except ApiException as exc:
        raise KubeError(f"annotate {node} as rebooting: {error_message(exc)}") from None
    return {"status": "requested", "method": method, "bootId": from_boot_id, **detail}
