"""Readers for the workload, PDB, timing and fault sections of a scenario file, and the node
references (``pool/3``) they use; lab.sandbox.scenario reads the rest and calls these."""

from __future__ import annotations

import re
from typing import Any

from lab.sandbox.model import (
    KUBELET_FAULTS,
    NODE_FAULTS,
    SCENARIO_FAULT_TYPES,
    TAINT_EFFECTS,
    Budget,
    FaultSpec,
    NodeSpec,
    PdbSpec,
    PoolSpec,
    Taint,
    Timings,
    WorkloadSpec,
)
from lab.sandbox.schema import Errors, Reader

DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
_NAME_PART = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_PREFIX = r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?"


class NodeResolver:
    """Turns node references ("pool/3", "pool/0-4", "pool/*" or a node name) into node names."""

    def __init__(self, pools: list[PoolSpec], nodes: list[NodeSpec]) -> None:
        self.pools = {p.name: p for p in pools}
        self.by_pool = {p.name: [n.name for n in nodes if n.pool == p.name] for p in pools}
        self.names = {n.name for n in nodes}
        self.os = {n.name: n.os_type for n in nodes}

    def resolve(self, errors: Errors, path: str, ref: Any) -> list[str]:
        if not isinstance(ref, str):
            errors.add(path, 'a node reference ("<pool>/<index>", "<pool>/<a>-<b>", "<pool>/*" or a node name)', ref)
            return []
        if ref in self.names:
            return [ref]
        m = re.fullmatch(r"([a-z0-9]+)/(\*|\d+|\d+-\d+)", ref)
        if not m:
            errors.add(path, 'a node reference ("<pool>/<index>", "<pool>/<a>-<b>", "<pool>/*" or a node name)', ref)
            return []
        pool, sel = m.groups()
        if pool not in self.by_pool:
            errors.add(path, f"no pool named {pool!r} (pools: {', '.join(self.by_pool) or 'none'})")
            return []
        names = self.by_pool[pool]
        if sel == "*":
            return list(names)
        lo, _, hi = sel.partition("-")
        lo_i, hi_i = int(lo), int(hi or lo)
        if lo_i > hi_i or hi_i >= len(names):
            errors.add(path, f"index out of range: pool {pool!r} has {len(names)} node(s) (0-{len(names) - 1})")
            return []
        return names[lo_i:hi_i + 1]


def label_key_ok(key: str) -> bool:
    """A Kubernetes label/annotation/taint key: optional DNS-subdomain prefix, then a name part."""
    prefix, _, name = key.rpartition("/")
    return bool(re.fullmatch(_NAME_PART, name)) and (not prefix or bool(re.fullmatch(_PREFIX, prefix)))


def read_taints(errors: Errors, r: Reader, key: str) -> list[Taint]:
    out = []
    for path, item in r.items(key):
        t = Reader(errors, item, path, ("key", "value", "effect"))
        k = t.string("key", expected="a taint key")
        if k and not label_key_ok(k):
            errors.add(t.at("key"), "a taint key (like ToBeDeletedByClusterAutoscaler or example.com/x)", k)
        out.append(Taint(k, t.string("value", default=""), t.enum("effect", TAINT_EFFECTS, "NoSchedule")))
    return out


def _budget(errors: Errors, data: Any, path: str) -> Budget | None:
    """A PDB budget from a mapping holding minAvailable or maxUnavailable (exactly one)."""
    if not isinstance(data, dict):
        return None  # the caller's Reader already reported "expected a mapping"
    values: dict[str, Any] = {}
    bad = False
    for key in ("minAvailable", "maxUnavailable"):
        if data.get(key) is None:
            continue
        value = data[key]
        ok_int = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        ok_pct = isinstance(value, str) and re.fullmatch(r"(100|[1-9]?[0-9])%", value)
        if not (ok_int or ok_pct):
            errors.add(f"{path}.{key}", 'an integer >= 0 or a percentage like "50%"', value)
            bad = True
            continue
        values[key] = value
    if len(values) != 1:
        if not bad:
            errors.add(path, "set exactly one of minAvailable or maxUnavailable")
        return None
    return Budget(values.get("minAvailable"), values.get("maxUnavailable"))


_KINDS = {
    "deployments": ("Deployment", ("name", "namespace", "replicas", "pools", "pdb", "emptyDir", "labels")),
    "statefulsets": ("StatefulSet", ("name", "namespace", "replicas", "pools", "pdb", "emptyDir", "labels")),
    "daemonsets": ("DaemonSet", ("name", "namespace", "pools", "emptyDir", "labels")),
    "pods": ("Pod", ("name", "namespace", "node", "pool", "emptyDir", "labels")),
    "mirrorPods": ("MirrorPod", ("name", "namespace", "node", "labels")),
}


def read_workloads(errors: Errors, top: Reader, pools: list[PoolSpec], resolver: NodeResolver) -> list[WorkloadSpec]:
    w = Reader(errors, top.raw("workloads"), "workloads", _KINDS)
    linux_pools = {p.name for p in pools if p.os_type == "Linux"}
    out: list[WorkloadSpec] = []
    seen: set[tuple[str, str, str]] = set()
    for section, (kind, fields) in _KINDS.items():
        for path, item in w.items(section):
            r = Reader(errors, item, path, fields)
            name = r.string("name", pattern=DNS_LABEL, expected="a DNS-1123 label (lowercase, digits, -)")
            namespace = r.string("namespace", "kube-system" if kind == "MirrorPod" else "default", DNS_LABEL,
                                 "a namespace name (DNS-1123 label)")
            if (kind, namespace, name) in seen:
                errors.add(r.at("name"), f"duplicate {kind} {namespace}/{name}")
            seen.add((kind, namespace, name))
            pool_names = r.strings("pools", DNS_LABEL, "a pool name") if "pools" in fields else []
            if r.has("pool"):
                pool_names = [r.string("pool", pattern=DNS_LABEL, expected="a pool name")]
            for i, pool in enumerate(pool_names):
                if pool not in linux_pools:
                    where = r.at("pool") if r.has("pool") else f"{r.at('pools')}[{i}]"
                    errors.add(where, f"no Linux pool named {pool!r} (Linux pools: {', '.join(sorted(linux_pools))})")
            nodes: list[str] = []
            if "node" in fields and r.has("node"):
                nodes = resolver.resolve(errors, r.at("node"), r.raw("node"))
                for node in nodes:
                    if resolver.os.get(node) != "Linux":
                        errors.add(r.at("node"), f"{node} is not a Linux node")
                if kind == "Pod" and len(nodes) > 1:
                    errors.add(r.at("node"), f"a bare pod is bound to one node, this matches {len(nodes)}")
            if kind == "MirrorPod" and not r.has("node"):
                errors.add(r.at("node"), "required field is missing (a mirror pod lives on a node)")
            replicas = r.integer("replicas", 1, minimum=0, maximum=10000) if "replicas" in fields else 1
            out.append(WorkloadSpec(
                kind=kind, name=name, namespace=namespace, replicas=replicas, pools=tuple(pool_names),
                nodes=tuple(nodes), pdb=_pdb(errors, r),
                empty_dir=r.boolean("emptyDir", False) if "emptyDir" in fields else False,
                labels=tuple(r.string_map("labels", label_key_ok).items()),
            ))
    return out


def _pdb(errors: Errors, r: Reader) -> Budget | None:
    if not r.has("pdb"):
        return None
    Reader(errors, r.raw("pdb"), r.at("pdb"), ("minAvailable", "maxUnavailable"))
    return _budget(errors, r.raw("pdb"), r.at("pdb"))


def read_pdbs(errors: Errors, top: Reader) -> list[PdbSpec]:
    out = []
    for path, item in top.items("pdbs"):
        r = Reader(errors, item, path, ("name", "namespace", "selector", "minAvailable", "maxUnavailable"))
        selector = r.string_map("selector", label_key_ok)
        if not selector:
            errors.add(r.at("selector"), "a non-empty mapping of labels the PDB selects")
        budget = _budget(errors, r.data, r.path)
        out.append(PdbSpec(
            name=r.string("name", pattern=DNS_LABEL, expected="a DNS-1123 label"),
            namespace=r.string("namespace", "default", DNS_LABEL, "a namespace name"),
            match_labels=tuple(selector.items()), budget=budget or Budget(min_available=0),
        ))
    return out


_TIMINGS = {
    "podStartSeconds": "pod_start_seconds", "podTerminationSeconds": "pod_termination_seconds",
    "rebootSeconds": "reboot_seconds", "recreateDelaySeconds": "recreate_delay_seconds",
    "runCommandLatencySeconds": "run_command_latency_seconds",
    "probeCompletionSeconds": "probe_completion_seconds",
    "runCommandTimeoutSeconds": "run_command_timeout_seconds", "armOperationSeconds": "arm_operation_seconds",
}


def read_timings(errors: Errors, top: Reader) -> Timings:
    r = Reader(errors, top.raw("timings"), "timings", _TIMINGS)
    defaults = Timings()
    values = {attr: r.number(key, getattr(defaults, attr), minimum=0) for key, attr in _TIMINGS.items()}
    if r.has("runCommandTimeoutSeconds") and values["run_command_timeout_seconds"] <= 0:
        errors.add(r.at("runCommandTimeoutSeconds"), "a number of seconds > 0", r.raw("runCommandTimeoutSeconds"))
    return Timings(**values)


_WINDOW = ("type", "start", "duration", "count")
_FAULT_FIELDS = {
    "kubeApiError": _WINDOW + ("status", "methods", "path"),
    "kubeApiTimeout": _WINDOW + ("delay", "methods", "path"),
    "kubeApiThrottle": _WINDOW + ("retryAfter", "methods", "path"),
    "armThrottle": _WINDOW + ("retryAfter", "methods", "path"),
    "armError": _WINDOW + ("status", "methods", "path"),
    "nodeNeverReturns": ("type", "node"),
    "nodeReturnsNotReady": ("type", "node"),
    "nodeRerunsRebootPod": ("type", "node"),
    "runCommandFailed": _WINDOW + ("reason", "commandContains"),
    "runCommandNeverStarts": _WINDOW + ("commandContains",),
    "runCommandSlow": _WINDOW + ("extraSeconds", "commandContains"),
}
_METHODS = r"GET|POST|PUT|PATCH|DELETE"


def read_faults(errors: Errors, top: Reader, resolver: NodeResolver) -> list[FaultSpec]:
    out = []
    for path, item in top.items("faults"):
        kind = item.get("type") if isinstance(item, dict) else None
        if not isinstance(item, dict):
            errors.add(path, "a mapping", item)
            continue
        if kind not in SCENARIO_FAULT_TYPES:
            errors.add(f"{path}.type", "one of " + ", ".join(SCENARIO_FAULT_TYPES), kind)
            continue
        r = Reader(errors, item, path, _FAULT_FIELDS[kind])
        nodes: list[str] = []
        if kind in NODE_FAULTS + KUBELET_FAULTS:
            if not r.has("node"):
                errors.add(r.at("node"), "required field is missing")
            else:
                nodes = resolver.resolve(errors, r.at("node"), r.raw("node"))
        duration = r.number("duration", None, minimum=0) if r.has("duration") else None
        count = r.integer("count", None, minimum=1) if r.has("count") else None
        out.append(FaultSpec(
            type=kind, start=r.number("start", 0.0), duration=duration, count=count,
            status=r.integer("status", 503, minimum=500, maximum=599),
            retry_after=r.integer("retryAfter", 1, minimum=0, maximum=3600),
            delay=r.number("delay", 30.0), methods=tuple(m.upper() for m in r.strings("methods", _METHODS,
                                                                                       "an HTTP method")),
            path=r.string("path", "", r"\S+", "a part of the request path, like /api/v1/nodes or runCommand"),
            nodes=tuple(nodes), reason=r.string("reason", "ImagePullBackOff", r"\S.{0,200}", "a failure reason"),
            extra_seconds=r.number("extraSeconds", 5.0), command_contains=r.string("commandContains", ""),
        ))
    return out

