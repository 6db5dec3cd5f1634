"""The activities blueprint: every activity is a plain function ``(payload: dict) -> dict``.

The functions live in small modules by concern (cluster: ARM and inventory; nodes: cordon,
drain, reboot, health; safety: blockers and maintenance windows; marks: labels and
annotations; notify: notifications); this file only turns them into Durable activities.
"""

from __future__ import annotations

import azure.durable_functions as df

from activities import cluster, marks, nodes, notify, safety

bp = df.Blueprint()

ACTIVITIES = [
    cluster.describe_cluster,
    cluster.probe_pool,
    cluster.fetch_probe_result,
    cluster.list_nodes,
    cluster.preflight_node,
    safety.check_blockers,
    safety.read_aks_maintenance_window,
    marks.mark_node,
    notify.notify,
    nodes.cordon_node,
    nodes.uncordon_node,
    nodes.drain_node,
    nodes.reboot_node,
    nodes.check_node_health,
    nodes.set_pending_taint,
    nodes.finish_node,
]

for _activity in ACTIVITIES:
    bp.function_name(_activity.__name__)(bp.activity_trigger(input_name="payload")(_activity))
