"""Discovery documents (/api, /api/v1, /apis, /apis/{g}/{v}) and /version, in the legacy (unaggregated) form.

kubectl asks for aggregated discovery first (``Accept: ...;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList``)
and falls back to these documents when the answer is plain ``application/json``. ``kubectl drain``
evicts only if ``/api/v1`` lists ``pods/eviction`` with kind Eviction, group policy, version v1
(otherwise it silently deletes pods), so that entry is spelled out here.
"""

from __future__ import annotations

from .kinds import GROUP_VERSIONS, KindInfo, kinds_in

_STATUS_VERBS = ["get", "patch", "update"]
_SCALE = {"group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": _STATUS_VERBS}


def _resource(info: KindInfo) -> dict:
    entry: dict = {
        "name": info.plural,
        "singularName": info.singular,
        "namespaced": info.namespaced,
        "kind": info.kind,
        "verbs": list(info.verbs),
    }
    if info.short_names:
        entry["shortNames"] = list(info.short_names)
    if info.categories:
        entry["categories"] = list(info.categories)
    return entry


def _subresources(info: KindInfo) -> list[dict]:
    out = []
    base = {"singularName": "", "namespaced": info.namespaced}
    if info.has_status:
        out.append({**base, "name": f"{info.plural}/status", "kind": info.kind, "verbs": _STATUS_VERBS})
    for sub, kind in info.subresources.items():
        name = f"{info.plural}/{sub}"
        if sub == "eviction":
            out.append({**base, "name": name, "group": "policy", "version": "v1", "kind": kind, "verbs": ["create"]})
        elif sub == "log":
            out.append({**base, "name": name, "kind": kind, "verbs": ["get"]})
        elif sub == "binding":
            out.append({**base, "name": name, "kind": kind, "verbs": ["create"]})
        elif sub == "scale":
            out.append({**base, "name": name, **_SCALE})
    return out


def resource_list(group: str, version: str) -> dict | None:
    """APIResourceList for one group/version, or None if it is not served."""
    if (group, version) not in GROUP_VERSIONS:
        return None
    resources: list[dict] = []
    for info in sorted(kinds_in(group, version), key=lambda k: k.plural):
        resources.append(_resource(info))
        resources.extend(_subresources(info))
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


def core_versions(server_address: str) -> dict:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group(group: str) -> dict:
    versions = [{"groupVersion": f"{g}/{v}", "version": v} for g, v in GROUP_VERSIONS if g == group]
    return {"name": group, "versions": versions, "preferredVersion": versions[0]}


def group_list() -> dict:
    groups = []
    for g, _ in GROUP_VERSIONS:
        if g and all(x["name"] != g for x in groups):
            groups.append(_group(g))
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(name: str) -> dict | None:
    if not name or all(g != name for g, _ in GROUP_VERSIONS):
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name)}


def version_info(git_version: str) -> dict:
    """What /version answers (kubectl version, the Python client's VersionApi)."""
    core = git_version.lstrip("v").split("-")[0].split("+")[0]
    major, minor = core.split(".")[:2]
    return {
        "major": major,
        "minor": minor,
        "emulationMajor": major,
        "emulationMinor": minor,
        "minCompatibilityMajor": major,
        "minCompatibilityMinor": str(max(0, int(minor) - 1)),
        "gitVersion": git_version,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.25.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    }
