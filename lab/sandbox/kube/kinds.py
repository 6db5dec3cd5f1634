"""The resource kinds the emulator serves, described once for the store, the server and discovery.

A kind is addressed by its plural resource name (``"pods"``), as in the API paths, so the
store, the URL router and the discovery documents all agree on one key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class KindInfo:
    """What the API server knows about one resource."""

    plural: str
    kind: str
    group: str  # "" for the core group
    version: str
    namespaced: bool
    has_status: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    singular: str = ""
    verbs: tuple[str, ...] = tuple(ALL_VERBS)
    subresources: dict[str, str] = field(default_factory=dict)  # name -> kind

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """The qualified resource as it appears in error messages ("deployments.apps")."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


KINDS: dict[str, KindInfo] = {
    k.plural: k
    for k in [
        KindInfo("namespaces", "Namespace", "", "v1", False, True, ("ns",), singular="namespace",
                 verbs=("create", "delete", "get", "list", "patch", "update", "watch")),
        KindInfo("nodes", "Node", "", "v1", False, True, ("no",), singular="node"),
        KindInfo("pods", "Pod", "", "v1", True, True, ("po",), ("all",), singular="pod",
                 subresources={"eviction": "Eviction", "log": "Pod", "binding": "Binding"}),
        KindInfo("events", "Event", "", "v1", True, False, ("ev",), singular="event"),
        KindInfo("poddisruptionbudgets", "PodDisruptionBudget", "policy", "v1", True, True, ("pdb",),
                 singular="poddisruptionbudget"),
        KindInfo("daemonsets", "DaemonSet", "apps", "v1", True, True, ("ds",), ("all",), singular="daemonset"),
        KindInfo("replicasets", "ReplicaSet", "apps", "v1", True, True, ("rs",), ("all",), singular="replicaset",
                 subresources={"scale": "Scale"}),
        KindInfo("statefulsets", "StatefulSet", "apps", "v1", True, True, ("sts",), ("all",),
                 singular="statefulset", subresources={"scale": "Scale"}),
        KindInfo("deployments", "Deployment", "apps", "v1", True, True, ("deploy",), ("all",),
                 singular="deployment", subresources={"scale": "Scale"}),
    ]
}

BY_KIND: dict[str, KindInfo] = {k.kind: k for k in KINDS.values()}

# The group/versions served, in the order discovery lists them.
GROUP_VERSIONS: list[tuple[str, str]] = [("", "v1"), ("apps", "v1"), ("policy", "v1")]


def kind_info(plural: str) -> KindInfo:
    """The KindInfo for a plural resource name; KeyError for a kind the emulator does not serve."""
    return KINDS[plural]


def kinds_in(group: str, version: str) -> list[KindInfo]:
    return [k for k in KINDS.values() if k.group == group and k.version == version]
