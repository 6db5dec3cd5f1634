"""The orchestrators blueprint: patch_cycle (one cluster) and patch_node (one node)."""

from __future__ import annotations

import azure.durable_functions as df

from orchestrators.patch_cycle import patch_cycle
from orchestrators.patch_node import patch_node

bp = df.Blueprint()

for _orchestrator in (patch_cycle, patch_node):
    bp.orchestration_trigger(context_name="context")(_orchestrator)
