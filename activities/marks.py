"""mark_node: set or remove labels and annotations on a node (idempotent merge patch).

{cluster, node, settings (credential, kubeAuth), labels?: {key: value | null}, annotations?: {key: value | null}}
-> {node, labels, annotations} as the node carries them afterwards.
"""

from __future__ import annotations

from typing import Any

from rebooter.arm import clients
from rebooter.config import names
from rebooter.kube import marks


def mark_node(payload: dict[str, Any]) -> dict[str, Any]:
    cluster = names.parse_cluster_id(payload.get("cluster")).resource_id
    node = names.check_node_name(payload.get("node"))
    return marks.mark(clients.kube_api(cluster, clients.access_of(payload)), node, payload.get("labels"), payload.get("annotations"))
