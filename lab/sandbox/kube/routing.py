"""URL grammar of the Kubernetes REST API: which resource, namespace, name and subresource a path means."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ApiError
from .kinds import GROUP_VERSIONS, KINDS, KindInfo


@dataclass(frozen=True)
class Target:
    info: KindInfo
    namespace: str | None  # None: all namespaces (or a cluster-scoped kind)
    name: str | None  # None: the collection
    sub: str | None  # subresource: status, eviction, log, binding, scale
    watch: bool = False  # the legacy /watch/ path prefix


def _not_found() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource")


def parse(path: str) -> Target | None:
    """Resolve /api/v1/... or /apis/{g}/{v}/...; None if the path is not a resource path (discovery etc.)."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 3 and parts[0] == "api" and parts[1] == "v1":
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if (group, version) not in GROUP_VERSIONS:
        raise _not_found()
    watch = False
    if rest and rest[0] == "watch":
        watch, rest = True, rest[1:]
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces" and _namespaced(rest[2], group, version):
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        raise _not_found()
    info = KINDS.get(rest[0])
    if info is None or info.group != group or info.version != version:
        raise _not_found()
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if info.namespaced and name is not None and namespace is None:
        raise _not_found()
    if sub is not None and sub not in info.subresources and not (sub == "status" and info.has_status):
        raise _not_found()
    return Target(info, namespace, name, sub, watch)


def _namespaced(plural: str, group: str, version: str) -> bool:
    info = KINDS.get(plural)
    return info is not None and info.namespaced and info.group == group and info.version == version
