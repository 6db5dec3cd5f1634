"""Kubernetes objects for the scenario's workloads: Deployments (with their ReplicaSet),
StatefulSets, DaemonSets, bare pods, mirror pods and PodDisruptionBudgets.

Pod templates carry what kubectl drain looks at: controller ownerReferences, emptyDir
volumes, the mirror-pod annotation; and what the sandbox scheduler looks at: an OS node
selector and, for pool-pinned workloads, a required node affinity on the agent pool label.
"""

from __future__ import annotations

import copy

from lab.sandbox.model import Budget, PdbSpec, WorkloadSpec
from lab.sandbox.naming import template_hash

IMAGE = "mcr.microsoft.com/azurelinux/base/nginx:1.25"
DS_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]
POD_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]


def owner(obj: dict) -> dict:
    """A controller ownerReference pointing at obj."""
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def selector_labels(w: WorkloadSpec) -> dict[str, str]:
    return {"app": w.name}


def pod_template(w: WorkloadSpec) -> dict:
    container: dict = {"name": w.name, "image": IMAGE, "ports": [{"containerPort": 80, "protocol": "TCP"}],
                       "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}
    spec: dict = {"containers": [container], "nodeSelector": {"kubernetes.io/os": "linux"},
                  "terminationGracePeriodSeconds": 30}
    if w.pools:
        spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "kubernetes.azure.com/agentpool", "operator": "In", "values": list(w.pools)}]}]}}}
    if w.empty_dir:
        spec["volumes"] = [{"name": "scratch", "emptyDir": {}}]
        container["volumeMounts"] = [{"name": "scratch", "mountPath": "/scratch"}]
    if w.kind == "DaemonSet":
        spec["tolerations"] = list(DS_TOLERATIONS)
    else:
        spec["tolerations"] = list(POD_TOLERATIONS)
    return {"metadata": {"labels": {**selector_labels(w), **dict(w.labels)}}, "spec": spec}


def deployment(w: WorkloadSpec) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": w.name, "namespace": w.namespace, "labels": selector_labels(w),
                         "annotations": {"deployment.kubernetes.io/revision": "1"}},
            "spec": {"replicas": w.replicas, "selector": {"matchLabels": selector_labels(w)},
                     "template": pod_template(w), "progressDeadlineSeconds": 600,
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}}}


def replicaset(w: WorkloadSpec, deploy: dict) -> dict:
    h = template_hash(f"{w.namespace}/{w.name}")
    template = pod_template(w)
    template["metadata"]["labels"]["pod-template-hash"] = h
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"{w.name}-{h}", "namespace": w.namespace,
                         "labels": {**selector_labels(w), "pod-template-hash": h},
                         "annotations": {"deployment.kubernetes.io/desired-replicas": str(w.replicas),
                                         "deployment.kubernetes.io/max-replicas": str(w.replicas + 1),
                                         "deployment.kubernetes.io/revision": "1"},
                         "ownerReferences": [owner(deploy)]},
            "spec": {"replicas": w.replicas, "selector": {"matchLabels": {**selector_labels(w), "pod-template-hash": h}},
                     "template": template}}


def statefulset(w: WorkloadSpec) -> dict:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": w.name, "namespace": w.namespace, "labels": selector_labels(w)},
            "spec": {"replicas": w.replicas, "serviceName": w.name, "selector": {"matchLabels": selector_labels(w)},
                     "template": pod_template(w), "podManagementPolicy": "OrderedReady",
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}}}


def daemonset(w: WorkloadSpec) -> dict:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": w.name, "namespace": w.namespace, "labels": selector_labels(w)},
            "spec": {"selector": {"matchLabels": selector_labels(w)}, "template": pod_template(w),
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}}}


def controlled_pod(template: dict, owner_obj: dict, name: str = "", generate: str = "") -> dict:
    """A pod from a controller's template, owned by it (name or generateName)."""
    meta: dict = {"labels": dict(template["metadata"].get("labels") or {}), "ownerReferences": [owner(owner_obj)],
                  "namespace": owner_obj["metadata"]["namespace"]}
    if name:
        meta["name"] = name
    else:
        meta["generateName"] = generate
    return {"metadata": meta, "spec": copy.deepcopy(template["spec"])}


def bare_pod(w: WorkloadSpec, node: str = "") -> dict:
    template = pod_template(w)
    if node:
        template["spec"]["nodeName"] = node
    return {"metadata": {"name": w.name, "namespace": w.namespace, **template["metadata"]}, "spec": template["spec"]}


def mirror_pod(w: WorkloadSpec, node_obj: dict) -> dict:
    """A static pod's API mirror: named <name>-<node>, owned by the Node, with the config.mirror annotation."""
    node = node_obj["metadata"]["name"]
    template = pod_template(w)
    template["spec"]["nodeName"] = node
    template["spec"].pop("affinity", None)
    template["spec"]["tolerations"] = [{"operator": "Exists", "effect": "NoExecute"}]
    return {"metadata": {"name": f"{w.name}-{node}", "namespace": w.namespace, **template["metadata"],
                         "annotations": {"kubernetes.io/config.mirror": template_hash(w.name + node),
                                         "kubernetes.io/config.source": "file",
                                         "kubernetes.io/config.hash": template_hash(w.name + node)},
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": node,
                                              "uid": node_obj["metadata"]["uid"], "controller": True}]},
            "spec": template["spec"]}


def command_pod(command_id: str) -> dict:
    """The pod AKS starts for a run-command (kubectl, helm and jq inside; 200m / 500Mi requested)."""
    return {"metadata": {"name": f"command-{command_id}", "namespace": "aks-command"},
            "spec": {"restartPolicy": "Never", "nodeSelector": {"kubernetes.io/os": "linux"},
                     "tolerations": list(POD_TOLERATIONS),
                     "containers": [{"name": "command", "image": "mcr.microsoft.com/aks/command/runtime:master.241021.1",
                                     "resources": {"requests": {"cpu": "200m", "memory": "500Mi"},
                                                   "limits": {"cpu": "500m", "memory": "1Gi"}}}]}}


def pdb(name: str, namespace: str, match_labels: dict[str, str], budget: Budget) -> dict:
    spec: dict = {"selector": {"matchLabels": dict(match_labels)}}
    if budget.min_available is not None:
        spec["minAvailable"] = budget.min_available
    else:
        spec["maxUnavailable"] = budget.max_unavailable
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def workload_pdb(w: WorkloadSpec) -> dict | None:
    return pdb(f"{w.name}-pdb", w.namespace, selector_labels(w), w.pdb) if w.pdb else None


def extra_pdb(p: PdbSpec) -> dict:
    return pdb(p.name, p.namespace, dict(p.match_labels), p.budget)
