"""Names AKS gives to VMSS nodes, scale sets and provider IDs, reproduced for the sandbox.

Real AKS names a Linux VMSS node ``aks-<pool>-<8 digits>-vmss<instance id in base 36,
6 chars>``, a Windows one ``aks<pool><instance id in base 36, 6 chars>`` (Windows computer
names are limited to 15 characters, hence the 6-character Windows pool names), and sets
``spec.providerID`` to the VMSS VM's resource ID with a lower-cased node resource group.
The 8 digits are the same for every pool of a cluster.

Kept apart from the app's name validation and provider-ID parsing (rebooter's names and reboot
modules) on purpose: the sandbox is an independent oracle of what AKS produces.
"""

from __future__ import annotations

import hashlib
import random

_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
# Kubernetes' rand.SafeEncodeString alphabet (no vowels, no confusable characters).
_SAFE = "bcdfghjklmnpqrstvwxz2456789"


def base36(number: int, width: int = 6) -> str:
    out = ""
    while number:
        number, digit = divmod(number, 36)
        out = _B36[digit] + out
    return out.rjust(width, "0")


def cluster_number(subscription_id: str, resource_group: str, name: str) -> str:
    """The 8-digit number shared by all scale sets of one cluster (stable per cluster)."""
    digest = hashlib.sha256(f"{subscription_id}/{resource_group}/{name}".lower().encode()).hexdigest()
    return f"{int(digest, 16) % 10**8:08d}"


def vmss_name(pool: str, number: str) -> str:
    return f"aks-{pool}-{number}-vmss"


def node_name(pool: str, number: str, instance_id: int, os_type: str) -> str:
    if os_type == "Windows":
        return f"aks{pool}{base36(instance_id)}"
    return f"{vmss_name(pool, number)}{base36(instance_id)}"


def provider_id(subscription_id: str, node_resource_group: str, vmss: str, instance_id: int) -> str:
    return (
        f"azure:///subscriptions/{subscription_id}/resourceGroups/{node_resource_group.lower()}"
        f"/providers/Microsoft.Compute/virtualMachineScaleSets/{vmss}/virtualMachines/{instance_id}"
    )


def suffix(rng: random.Random, length: int = 5) -> str:
    """A random name suffix like the ones Kubernetes controllers generate."""
    return "".join(rng.choice(_SAFE) for _ in range(length))


def template_hash(name: str) -> str:
    """A pod-template-hash-like 10-character value, stable for a workload name."""
    digest = int(hashlib.sha256(name.encode()).hexdigest(), 16)
    out = ""
    for _ in range(10):
        digest, i = divmod(digest, len(_SAFE))
        out += _SAFE[i]
    return out
