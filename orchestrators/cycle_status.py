"""The cycle's custom status and summary (CycleStatus), beside node_run.py's NodeRun for one node.

Deterministic like the orchestrator that owns it: time comes from the context only.
"""

from __future__ import annotations

import logging
from typing import Any

from orchestrators.context import OrchestrationContext
from orchestrators.durable import seconds_between
from rebooter import outcomes
from rebooter.config import logs

log = logging.getLogger("rebooter.orchestrators")


class CycleStatus:
    """The cycle's custom status, shown in the portal: where we are and what was decided."""

    def __init__(self, context: OrchestrationContext, cluster_id: str, reason: str) -> None:
        self.context = context
        self.cluster = cluster_id
        self.reason = reason
        self.total = 0
        self.results: list[dict[str, Any]] = []
        self.skipped: list[dict[str, str]] = []
        self.not_applicable: list[dict[str, str]] = []
        self.up_to_date: list[str] = []
        self.current: list[str] = []
        self.current_step = ""
        self.started = context.current_utc_datetime

    def counts(self) -> dict[str, int]:
        done = sum(1 for r in self.results if r["result"] == outcomes.NodeResult.PATCHED)
        return {"total": self.total, "patched": done, "failed": len(self.results) - done,
                "skipped": len(self.skipped), "upToDate": len(self.up_to_date)}

    def _publish(self) -> None:
        self.context.set_custom_status(
            {
                "cluster": self.cluster,
                "step": self.current_step,
                "currentNodes": self.current,
                "done": len(self.results),
                "total": self.total,
                "skipped": self.skipped,
                "notApplicable": self.not_applicable,
                "reason": self.reason,
            }
        )

    def snapshot(self) -> dict[str, Any]:
        """What a continued execution needs to go on reporting (results without their steps:
        each node's full steps stay in its patch_node instance and in the logs)."""
        compact = [{k: v for k, v in r.items() if k != "steps"} for r in self.results]
        return {"results": compact, "skipped": self.skipped, "notApplicable": self.not_applicable,
                "upToDate": self.up_to_date, "total": self.total}

    def restore(self, state: dict[str, Any]) -> None:
        self.results = list(state.get("results", []))
        self.skipped = list(state.get("skipped", []))
        self.not_applicable = list(state.get("notApplicable", []))
        self.up_to_date = list(state.get("upToDate", []))
        self.total = int(state.get("total", 0))

    def step(self, name: str, current: list[str] | None = None) -> None:
        self.current_step = name
        self.current = current or []
        self._publish()

    def add_result(self, result: dict[str, Any]) -> None:
        self.results.append(result)
        self._publish()

    def finish(self, outcome: outcomes.CycleOutcome, reason: str = "", **extra: Any) -> dict[str, Any]:
        if not self.context.is_replaying:
            logs.event(log, "cycle", logging.WARNING if outcome in outcomes.CYCLE_WARNED else logging.INFO,
                       cluster=self.cluster, instanceId=self.context.instance_id, result=outcome, reason=reason,
                       durationSeconds=seconds_between(self.started, self.context.current_utc_datetime),
                       **self.counts())
        self.current_step = outcome
        self.current = []
        self._publish()
        return {
            "cluster": self.cluster,
            "outcome": outcome,
            "reason": reason,
            "counts": self.counts(),
            "nodes": self.results,
            "skipped": self.skipped,
            "notApplicable": self.not_applicable,
            "upToDate": self.up_to_date,
            **extra,
        }
