"""Validation of every name that reaches a shell, a URL or the Kubernetes API.

Pool and node names end up inside run-command scripts and API paths; a cluster ID becomes
an ARM URL and the durable instance ID. They are checked here, once, with messages that say
what was expected, before anything is started.

Every pattern is applied with ``fullmatch``: ``$`` also matches before a trailing newline, so
``re.match(r"^...$")`` would let "node\n" through.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_POOL = re.compile(r"^[a-z][a-z0-9]{0,11}$")
_CLUSTER_ID = re.compile(
    r"^/subscriptions/(?P<sub>[0-9a-fA-F-]{36})/resourceGroups/(?P<rg>[-\w._()]{1,90})"
    r"/providers/Microsoft\.ContainerService/managedClusters/(?P<name>[a-zA-Z0-9][-_a-zA-Z0-9]{0,62})$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ClusterRef:
    subscription_id: str
    resource_group: str
    name: str

    @property
    def resource_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.ContainerService/managedClusters/{self.name}"
        )

    @property
    def key(self) -> str:
        """A stable, case-insensitive key: the durable instance ID and entity key of this cluster."""
        return f"{self.subscription_id}.{self.resource_group}.{self.name}".lower()


def parse_cluster_id(value: object) -> ClusterRef:
    """Parse an AKS resource ID or raise ValueError saying what the grammar is."""
    if not isinstance(value, str) or not (match := _CLUSTER_ID.fullmatch(value.strip())):
        raise ValueError(
            "expected an AKS resource ID like /subscriptions/<guid>/resourceGroups/<group>"
            f"/providers/Microsoft.ContainerService/managedClusters/<name>, got {value!r}"
        )
    rg = match["rg"]
    if rg.endswith("."):
        raise ValueError(f"resource group name may not end with a period, got {rg!r}")
    return ClusterRef(match["sub"].lower(), rg, match["name"])


def configured_named(configured: Iterable[str], wanted: str) -> list[str]:
    """The configured clusters (resource IDs) that ``wanted`` names: the one whose
    subscription.resourcegroup.name key it is, else every one with that name (in any case).
    More than one means a name clusters in different resource groups share: the caller asks for
    the key instead. The HTTP routes and REBOOTER_CLUSTER_OVERRIDES both look clusters up here."""
    wanted = wanted.strip().lower()
    refs = [(c, parse_cluster_id(c)) for c in configured]
    return [c for c, r in refs if r.key == wanted] or [c for c, r in refs if r.name.lower() == wanted]


def check_node_name(value: object) -> str:
    """Node names are DNS-1123 subdomains (<= 253 chars)."""
    if not isinstance(value, str) or len(value) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(value):
        raise ValueError(f"expected a node name (DNS-1123 subdomain: lower-case a-z, 0-9, '-', '.'), got {value!r}")
    return value


def check_pool_name(value: object) -> str:
    """AKS agent pool names: lower-case letter first, then letters and digits, at most 12."""
    if not isinstance(value, str) or not _POOL.fullmatch(value):
        raise ValueError(f"expected an agent pool name (a-z then a-z0-9, at most 12 characters), got {value!r}")
    return value


def check_label_value(value: object) -> str:
    """Used for run ids and other values placed in labels and shell arguments."""
    if not isinstance(value, str) or len(value) > 63 or not _DNS1123_LABEL.fullmatch(value):
        raise ValueError(f"expected a DNS-1123 label (a-z0-9 and '-', at most 63), got {value!r}")
    return value


_INSTANCE_ID = re.compile(r"^[\w.:()\-]{1,300}$")


def check_instance_id(value: object) -> str:
    """Patch-cycle instance IDs as this app makes them (patch-cycle.<sub>.<group>.<name>[:<node>])."""
    if not isinstance(value, str) or not _INSTANCE_ID.fullmatch(value):
        raise ValueError(f"expected a patch-cycle instance id (letters, digits, . _ : ( ) -), got {value!r}")
    return value
