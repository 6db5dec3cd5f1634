"""The JSON documents the ARM emulator answers with, shaped like real ARM responses.

The managed cluster document follows the recorded real response in
tests/fixtures/arm/aks-run-command.recorded.json (same properties), plus the newer
``autoUpgradeProfile`` and, on Entra ID clusters, ``aadProfile``. Error bodies are ARM's
``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import uuid
from typing import Any

from lab.sandbox.model import PoolSpec, Scenario


def error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def _pool_properties(scenario: Scenario, pool: PoolSpec) -> dict[str, Any]:
    state = scenario.cluster.provisioning_state
    props: dict[str, Any] = {
        "count": pool.count, "vmSize": pool.vm_size, "osDiskSizeGB": 128, "osDiskType": "Managed",
        "kubeletDiskType": "OS", "maxPods": pool.max_pods, "type": "VirtualMachineScaleSets",
        "enableAutoScaling": False, "provisioningState": state,
        "powerState": {"code": scenario.cluster.power_state},
        "orchestratorVersion": pool.orchestrator_version, "currentOrchestratorVersion": pool.orchestrator_version,
        "enableNodePublicIP": False, "mode": pool.mode, "enableEncryptionAtHost": False, "enableUltraSSD": False,
        "osType": pool.os_type, "osSKU": pool.os_sku, "nodeImageVersion": pool.node_image_version,
        "upgradeSettings": {"maxSurge": "10%"}, "enableFIPS": False,
    }
    if pool.zones:
        props["availabilityZones"] = list(pool.zones)
    if pool.taints:
        props["nodeTaints"] = [f"{t.key}={t.value}:{t.effect}" if t.value else f"{t.key}:{t.effect}"
                               for t in pool.taints]
    if pool.labels:
        props["nodeLabels"] = dict(pool.labels)
    return props


def agent_pool(scenario: Scenario, pool: PoolSpec) -> dict:
    return {
        "id": f"{scenario.cluster.resource_id}/agentPools/{pool.name}", "name": pool.name,
        "type": "Microsoft.ContainerService/managedClusters/agentPools",
        "properties": _pool_properties(scenario, pool),
    }


def managed_cluster(scenario: Scenario) -> dict:
    c = scenario.cluster
    node_rg_id = f"/subscriptions/{c.subscription_id}/resourcegroups/{c.node_resource_group}"
    props: dict[str, Any] = {
        "provisioningState": c.provisioning_state, "powerState": {"code": c.power_state},
        "kubernetesVersion": c.kubernetes_version, "currentKubernetesVersion": c.kubernetes_version,
        "dnsPrefix": c.dns_prefix, "fqdn": c.fqdn, "azurePortalFQDN": c.fqdn.replace(".hcp.", ".portal.hcp."),
        "agentPoolProfiles": [{"name": p.name, **_pool_properties(scenario, p)} for p in scenario.pools],
        "linuxProfile": {"adminUsername": "azureuser", "ssh": {"publicKeys": [{"keyData": "ssh-rsa AAAAB3NzaC1yc2E sandbox"}]}},
        "servicePrincipalProfile": {"clientId": "msi"},
        "nodeResourceGroup": c.node_resource_group, "enableRBAC": True,
        "networkProfile": {
            "networkPlugin": "azure", "networkPluginMode": "overlay", "loadBalancerSku": "Standard",
            "podCidr": "10.244.0.0/16", "serviceCidr": "10.0.0.0/16", "dnsServiceIP": "10.0.0.10",
            "outboundType": "loadBalancer", "podCidrs": ["10.244.0.0/16"], "serviceCidrs": ["10.0.0.0/16"],
            "ipFamilies": ["IPv4"],
            "loadBalancerProfile": {"managedOutboundIPs": {"count": 1}, "effectiveOutboundIPs": [
                {"id": f"{node_rg_id}/providers/Microsoft.Network/publicIPAddresses/{_uuid(c.name, 'pip')}"}]},
        },
        "maxAgentPools": 100,
        "identityProfile": {"kubeletidentity": {
            "resourceId": f"{node_rg_id}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{c.name}-agentpool",
            "clientId": _uuid(c.name, "kubelet-client"), "objectId": _uuid(c.name, "kubelet-object")}},
        "disableLocalAccounts": c.disable_local_accounts,
        "securityProfile": {},
        "autoUpgradeProfile": {"upgradeChannel": c.upgrade_channel, "nodeOSUpgradeChannel": c.node_os_upgrade_channel},
    }
    if c.disable_run_command:
        props["apiServerAccessProfile"] = {"disableRunCommand": True}
    if c.aad_enabled:
        props["aadProfile"] = {"managed": True, "enableAzureRBAC": True, "tenantID": c.tenant_id,
                               "adminGroupObjectIDs": []}
    return {
        "id": c.resource_id, "location": c.location, "name": c.name,
        "type": "Microsoft.ContainerService/ManagedClusters", "properties": props,
        "identity": {"type": "SystemAssigned", "principalId": _uuid(c.name, "principal"), "tenantId": c.tenant_id},
        "sku": {"name": "Base", "tier": "Free"},
    }


def vmss(scenario: Scenario, pool: PoolSpec) -> dict:
    c = scenario.cluster
    doc = {
        "name": pool.vmss, "type": "Microsoft.Compute/virtualMachineScaleSets", "location": c.location,
        "id": f"/subscriptions/{c.subscription_id}/resourceGroups/{c.node_resource_group}"
              f"/providers/Microsoft.Compute/virtualMachineScaleSets/{pool.vmss}",
        "sku": {"name": pool.vm_size, "tier": "Standard", "capacity": pool.count},
        "tags": {"aks-managed-poolName": pool.name, "aks-managed-orchestrator": f"Kubernetes:{pool.orchestrator_version}",
                 "aks-managed-createOperationID": _uuid(pool.name, "create")},
        "properties": {"provisioningState": "Succeeded", "orchestrationMode": "Uniform",
                       "uniqueId": _uuid(pool.vmss, "unique"), "overprovision": False,
                       "upgradePolicy": {"mode": "Manual"}},
    }
    if pool.zones:
        doc["zones"] = list(pool.zones)
    return doc


def vmss_vm(scenario: Scenario, pool: PoolSpec, node_name: str, instance_id: int, zone: str) -> dict:
    c = scenario.cluster
    doc = {
        "name": f"{pool.vmss}_{instance_id}", "instanceId": str(instance_id), "location": c.location,
        "type": "Microsoft.Compute/virtualMachineScaleSets/virtualMachines",
        "id": f"/subscriptions/{c.subscription_id}/resourceGroups/{c.node_resource_group}"
              f"/providers/Microsoft.Compute/virtualMachineScaleSets/{pool.vmss}/virtualMachines/{instance_id}",
        "sku": {"name": pool.vm_size, "tier": "Standard"},
        "properties": {"latestModelApplied": True, "vmId": _uuid(node_name, "vm"), "provisioningState": "Succeeded",
                       "hardwareProfile": {"vmSize": pool.vm_size},
                       "osProfile": {"computerName": node_name, "adminUsername": "azureuser"}},
    }
    if pool.zones:
        doc["zones"] = [zone.rsplit("-", 1)[-1]]
    return doc


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))
