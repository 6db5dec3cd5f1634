"""The probe pod: one short-lived pod per node that prints what the node says about itself.

One builder for both users, so they cannot drift apart: the run-command probe script
(``kubectl create -f`` of these manifests, one per node of a pool, ``generate_name=True``)
and the post-reboot health check (one deterministic name per node, created through the API).
What the pod looks like is fixed by ``rebooter.contract``: pinned with ``nodeName``, tolerating
every taint, ``restartPolicy: Never``, the host's ``/var/run`` read-only at ``/host/var/run``,
running ``NODE_PROBE_SCRIPT`` which prints exactly one JSON line (``contract.probe_line``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from rebooter import contract
from rebooter.config import names

PROBE_CONTAINER = "probe"
PLACEHOLDER = re.compile(r"^__[A-Z0-9_]+__$")
ACTIVE_DEADLINE_SECONDS = 120  # a probe that has not finished by then is stuck: the kubelet kills it


def _checked(value: object, check: Callable[[object], str]) -> str:
    """Validate a name, or accept a ``__PLACEHOLDER__`` a script will replace (see probe_pod_manifest)."""
    if isinstance(value, str) and PLACEHOLDER.match(value):
        return value
    return check(value)


def probe_pod_manifest(node: str, run_id: str, generate_name: bool) -> dict[str, Any]:
    """The probe pod for ``node`` as an API object (JSON-ready dict).

    ``run_id`` labels the pods of one probe run (``contract.RUN_LABEL``) so they can be
    listed and deleted together. With ``generate_name`` the server picks a unique name
    (``rebooter-probe-<node>-xxxxx``); without it the name is :func:`rebooter.contract.probe_pod_name`, so
    creating it twice is one pod (409 the second time).

    ``node`` and ``run_id`` are validated; a ``__PLACEHOLDER__`` (upper-case between double
    underscores) is accepted instead, for a template whose placeholders a script fills in per
    node (the run-command runner does, with sed): substituting real, valid values gives the
    same manifest as calling this function with them (for node names of usual AKS length).
    """
    _checked(node, names.check_node_name)
    _checked(run_id, names.check_label_value)
    labels = {contract.ROLE_LABEL: contract.ROLE_PROBE, contract.RUN_LABEL: run_id}
    if len(node) <= 63:  # label values are limited to 63 characters; AKS node names fit
        labels[contract.NODE_LABEL] = node
    metadata: dict[str, Any] = {"namespace": contract.PROBE_NAMESPACE, "labels": labels}
    if generate_name:
        metadata["generateName"] = contract.probe_pod_generate_name(node)
    else:
        metadata["name"] = contract.probe_pod_name(node, run_id)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {
            "nodeName": node,
            "restartPolicy": "Never",
            "activeDeadlineSeconds": ACTIVE_DEADLINE_SECONDS,
            "terminationGracePeriodSeconds": 0,
            "automountServiceAccountToken": False,
            "tolerations": [{"operator": "Exists"}],
            "containers": [
                {
                    "name": PROBE_CONTAINER,
                    "image": contract.PROBE_IMAGE,
                    "command": ["sh", "-c", contract.NODE_PROBE_SCRIPT],
                    "env": [
                        {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                        {"name": "HOST_ROOT", "value": "/host"},
                    ],
                    "resources": {
                        "requests": {"cpu": "10m", "memory": "16Mi"},
                        "limits": {"cpu": "100m", "memory": "64Mi"},
                    },
                    "volumeMounts": [{"name": "host-var-run", "mountPath": "/host/var/run", "readOnly": True}],
                }
            ],
            "volumes": [{"name": "host-var-run", "hostPath": {"path": "/var/run", "type": "Directory"}}],
        },
    }


def parse_probe_output(log: str) -> dict[str, Any]:
    """The probe's JSON line from a pod log (the last line that parses as a JSON object).

    Raises ValueError when there is none, with the start of the log so the cause is visible.
    """
    for line in reversed((log or "").splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict) and "bootId" in value:
                return value
    raise ValueError(f"no probe line in the pod log: {(log or '')[:200]!r}")
